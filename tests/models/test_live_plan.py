"""Which calls a task needs from a live model, and what the answers mean."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from heldout import DataError, ModelError
from heldout.models import (
    Request,
    Response,
    SamplingParams,
    check_choices,
    choice_targets,
    continuation,
    plan_calls,
    read_answers,
    sampling_for,
)
from heldout.spec import DatasetSpec, PriceSpec, SamplingSpec, TaskSpec

DATA = DatasetSpec(path="d.jsonl")


def _task(**kw: object) -> TaskSpec:
    return TaskSpec.model_validate({"type": "classification", "dataset": DATA, **kw})


def test_sampling_merges_task_then_model() -> None:
    params, samples = sampling_for(
        SamplingSpec(temperature=0.7, max_tokens=32, samples=4),
        SamplingSpec(max_tokens=8, stop=("\n",)),
    )
    assert params == SamplingParams(temperature=0.7, max_tokens=8, stop=("\n",))
    assert samples == 4
    assert sampling_for(None, None) == (SamplingParams(), 1)


def test_continuations_get_one_leading_space() -> None:
    assert continuation("Paris") == " Paris"
    assert continuation(" Paris") == " Paris"
    assert continuation("\nParis") == "\nParis"


def test_loglikelihood_classification_plans_one_call_per_label() -> None:
    task = _task(method="loglikelihood", verbalizers={"neg": "bad"})
    plan = plan_calls(
        task,
        model="m",
        supports=frozenset({"generate", "loglikelihood"}),
        prompts=[],
        text_prompts=["Review: fine.\nSentiment:", "Review: awful.\nSentiment:"],
        labels=("neg", "pos"),
        choices=None,
        params=SamplingParams(),
        samples=1,
    )
    assert [r.continuation for r in plan.requests] == [" bad", " pos", " bad", " pos"]
    assert list(plan.example) == [0, 0, 1, 1]
    responses = [
        Response(logprob=-2.0),
        Response(logprob=-1.0),
        Response(logprob=-0.5),
        Response(error="HTTP 500 after 7 attempts"),
    ]
    pred = read_answers(
        plan,
        responses,
        task,
        labels=("neg", "pos"),
        choices=None,
        on_error="wrong",
        price=None,
        source=Path("m"),
    )
    assert list(pred.values) == ["pos", None]
    assert list(pred.valid) == [True, False]
    assert pred.proba is not None
    assert pred.proba[0] == pytest.approx([1 / (1 + np.e), np.e / (1 + np.e)])
    assert list(pred.present) == [True, True]
    assert pred.errors is not None and pred.errors[1] == "HTTP 500 after 7 attempts"


def test_samples_plan_one_call_per_draw_and_keep_each_draw() -> None:
    task = _task()
    plan = plan_calls(
        task,
        model="m",
        supports=frozenset({"generate"}),
        prompts=["a?", "b?"],
        text_prompts=[],
        labels=("neg", "pos"),
        choices=None,
        params=SamplingParams(temperature=1.0, seed=10),
        samples=3,
    )
    assert len(plan.requests) == 6
    assert [r.sample for r in plan.requests] == [0, 0, 1, 1, 2, 2]
    assert plan.requests[2].to_dict()["params"]["seed"] == 11
    texts = ["pos", "neg", "neg", "neg", "pos", "maybe"]
    pred = read_answers(
        plan,
        [Response(text=t, input_tokens=3, output_tokens=1, latency_s=0.5) for t in texts],
        task,
        labels=("neg", "pos"),
        choices=None,
        on_error="drop",
        price=PriceSpec(input=1.0, output=2.0),
        source=Path("m"),
    )
    assert pred.draws is not None and len(pred.draws) == 3
    assert list(pred.draws[2][0]) == ["pos", None]
    assert list(pred.values) == ["pos", "neg"]
    assert pred.calls is not None
    assert list(pred.calls.input_tokens) == [9.0, 9.0]
    assert pred.calls.cost is not None
    assert list(pred.calls.cost) == pytest.approx([(9 * 1 + 3 * 2) / 1e6] * 2)


def test_on_error_error_names_the_model_and_the_first_error() -> None:
    task = _task()
    plan = plan_calls(
        task,
        model="gpt",
        supports=frozenset({"generate"}),
        prompts=["a?"],
        text_prompts=[],
        labels=("neg", "pos"),
        choices=None,
        params=SamplingParams(),
        samples=1,
    )
    with pytest.raises(ModelError, match=r"models\.gpt: 1 of 1 examples failed .*HTTP 401"):
        read_answers(
            plan,
            [Response(error="HTTP 401: check OPENAI_API_KEY")],
            task,
            labels=("neg", "pos"),
            choices=None,
            on_error="error",
            price=None,
            source=Path("gpt"),
        )


def test_a_chat_only_backend_refuses_loglikelihood_before_any_call() -> None:
    with pytest.raises(ModelError, match="Use method: generate"):
        plan_calls(
            _task(method="loglikelihood"),
            model="gpt",
            supports=frozenset({"generate"}),
            prompts=[],
            text_prompts=["x"],
            labels=("neg", "pos"),
            choices=None,
            params=SamplingParams(),
            samples=1,
        )


def test_a_classifier_head_answers_classification_directly() -> None:
    plan = plan_calls(
        _task(),
        model="bert",
        supports=frozenset({"classify"}),
        prompts=[],
        text_prompts=["good", "bad"],
        labels=("neg", "pos"),
        choices=None,
        params=SamplingParams(),
        samples=1,
    )
    assert plan.requests == (Request("classify", "good"), Request("classify", "bad"))
    pred = read_answers(
        plan,
        [
            Response(probabilities={"neg": 0.2, "pos": 0.8}),
            Response(probabilities={"neg": 0.9, "pos": 0.1}),
        ],
        _task(),
        labels=("neg", "pos"),
        choices=None,
        on_error="error",
        price=None,
        source=Path("bert"),
    )
    assert list(pred.values) == ["pos", "neg"]
    assert pred.proba is not None and pred.proba[1] == pytest.approx([0.9, 0.1])


def test_choice_targets_accept_index_letter_or_text() -> None:
    choices = [["red", "green"], ["cat", "dog", "mouse"], ["x", "y"]]
    letters = choice_targets(["1", "c", "x"], choices, locate=lambda i: f"f:{i + 1}", column="a")
    assert list(letters) == ["B", "C", "A"]
    with pytest.raises(DataError, match=r"f:1: target \"blue\" .* 0-based index \(0-1\)"):
        choice_targets(["blue"], choices[:1], locate=lambda i: f"f:{i + 1}", column="a")


def test_choices_must_be_lists_of_at_least_two_texts() -> None:
    assert check_choices([["a", "b"]], locate=str, column="o") == [["a", "b"]]
    for bad in (["a"], "a,b", [1, 2], None):
        with pytest.raises(DataError, match='column "o"'):
            check_choices([bad], locate=lambda i: "f:1", column="o")


def test_whitespace_in_stop_strings_and_templates_is_kept() -> None:
    task = _task(
        prompt={"template": "Q: {{ input }}\nA:", "system": " be brief "},
        sampling={"stop": ["\n", "\n\n"]},
    )
    assert task.sampling is not None and task.sampling.stop == ("\n", "\n\n")
    assert task.prompt.template == "Q: {{ input }}\nA:"
    assert task.prompt.system == " be brief "
