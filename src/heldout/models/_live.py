"""Live models on a task: which calls to make, and what their answers mean.

:func:`plan_calls` turns a task's prompts into the requests one model must answer:

- classification by ``generate``: one generation per example (and per sample), read back
  with :func:`parse_label`;
- classification by ``loglikelihood``: one request per label, the label's verbaliser as
  the continuation; the softmax over labels gives probabilities, so AUC and calibration
  work;
- classification by a classifier head (``classify``): one request per example;
- multiple choice by ``loglikelihood``: one request per option, ``context + " " + option``
  (lm-evaluation-harness's convention), chosen by the highest log-likelihood
  (``accuracy``) and by the highest log-likelihood per UTF-8 byte (``accuracy_norm``);
- multiple choice by ``generate``: the generated letter, read with :func:`parse_choice`;
- regression: a generated number (:func:`parse_number`); generation: the text itself.

:func:`read_answers` turns the responses back into :class:`Predictions`.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from heldout._errors import DataError, ModelError, SpecError
from heldout.models._parse import parse_choice, parse_label, parse_number
from heldout.models._predictions import CallStats, Predictions
from heldout.models._protocol import Prompt, Request, RequestKind, Response, SamplingParams
from heldout.spec import PriceSpec, SamplingSpec, TaskSpec

__all__ = [
    "LETTERS",
    "Plan",
    "check_choices",
    "choice_targets",
    "continuation",
    "option_letters",
    "plan_calls",
    "read_answers",
    "sampling_for",
    "task_mode",
]

#: Option letters of multiple-choice tasks.
LETTERS = tuple(string.ascii_uppercase)

Mode = Literal["generate", "loglikelihood", "classify"]


@dataclass(frozen=True, eq=False)
class Plan:
    """The calls one model makes for one task.

    Attributes:
        model: the model's name in the spec.
        mode: how the task is asked (``generate``, ``loglikelihood`` or ``classify``).
        requests: every call, in order.
        example: the example each request belongs to.
        option: the label or option a ``loglikelihood`` request scores, or the sample
            index of a ``generate`` request.
        n: number of examples.
        samples: draws per example (``generate`` only; 1 otherwise).
    """

    model: str
    mode: Mode
    requests: tuple[Request, ...]
    example: NDArray[np.int64]
    option: NDArray[np.int64]
    n: int
    samples: int


def sampling_for(*specs: SamplingSpec | None) -> tuple[SamplingParams, int]:
    """Sampling parameters and the number of samples: later specs override earlier ones."""
    merged: dict[str, Any] = {}
    for spec in specs:
        if spec is not None:
            merged.update({k: v for k, v in spec.model_dump().items() if v is not None})
    samples = int(merged.pop("samples", 1))
    if "stop" in merged:
        merged["stop"] = tuple(merged["stop"])
    return SamplingParams(**merged), samples


def continuation(text: str) -> str:
    """A label verbaliser or an option as a continuation: a leading space unless it has
    its own leading whitespace (the context is never left ending in a space)."""
    return text if text[:1].isspace() else " " + text


def task_mode(task: TaskSpec, model: str, supports: frozenset[RequestKind]) -> Mode:
    """How ``model`` is asked ``task``, refusing a kind the backend cannot answer."""
    if task.type == "classification" and "classify" in supports:
        return "classify"
    mode: Mode = task.method if task.type in ("classification", "multiple_choice") else "generate"
    if mode not in supports:
        if mode == "loglikelihood":
            raise ModelError(
                f'models.{model}: cannot score log-likelihoods (task "{task.name}" has method: '
                "loglikelihood). Use method: generate, or a backend that returns prompt "
                "log-probabilities (hf, or openai with endpoint: completions on vLLM)"
            )
        raise ModelError(
            f'models.{model}: cannot generate text (task "{task.name}" is {task.type}). '
            "Use a generative model, or a predictions file"
        )
    return mode


def plan_calls(
    task: TaskSpec,
    *,
    model: str,
    supports: frozenset[RequestKind],
    prompts: Sequence[Prompt],
    text_prompts: Sequence[str],
    labels: Sequence[str],
    choices: Sequence[Sequence[str]] | None,
    params: SamplingParams,
    samples: int,
) -> Plan:
    """The requests ``model`` must answer for ``task``.

    Args:
        prompts: per example, the prompt as the task's prompt spec renders it (chat
            messages or text) — for ``generate``.
        text_prompts: per example, the prompt as plain text — the context of
            ``loglikelihood`` and the input of ``classify``.
        labels: the task's labels (classification).
        choices: per example, the options (multiple choice).
    """
    mode = task_mode(task, model, supports)
    n = len(prompts) if mode == "generate" else len(text_prompts)
    requests: list[Request] = []
    example: list[int] = []
    option: list[int] = []
    if mode == "classify":
        requests = [Request("classify", p) for p in text_prompts]
        example = list(range(n))
        option = [0] * n
    elif mode == "loglikelihood":
        if task.type == "classification":
            verbal = task.verbalizers or {}
            conts = [continuation(verbal.get(label, label)) for label in labels]
            for i, context in enumerate(text_prompts):
                for j, cont in enumerate(conts):
                    requests.append(Request("loglikelihood", context, continuation=cont))
                    example.append(i)
                    option.append(j)
        else:
            assert choices is not None
            for i, context in enumerate(text_prompts):
                for j, choice in enumerate(choices[i]):
                    requests.append(
                        Request("loglikelihood", context, continuation=continuation(choice))
                    )
                    example.append(i)
                    option.append(j)
    else:
        for k in range(samples):
            for i, prompt in enumerate(prompts):
                requests.append(Request("generate", prompt, params=params, sample=k))
                example.append(i)
                option.append(k)
    return Plan(
        model=model,
        mode=mode,
        requests=tuple(requests),
        example=np.asarray(example, dtype=np.int64),
        option=np.asarray(option, dtype=np.int64),
        n=n,
        samples=samples if mode == "generate" else 1,
    )


def read_answers(
    plan: Plan,
    responses: Sequence[Response],
    task: TaskSpec,
    *,
    labels: Sequence[str],
    choices: Sequence[Sequence[str]] | None,
    on_error: Literal["error", "drop", "wrong"],
    price: PriceSpec | None,
    source: Path,
) -> Predictions:
    """Turn one model's responses into predictions aligned with the examples.

    An example whose call failed is absent (``on_error: drop``), wrong (``wrong``), or
    stops the run once every call is made (``error``). A generated answer that names no
    label, option or number is an invalid prediction: wrong for classification and
    multiple choice; for regression, where there is no wrong number, it is absent.

    Raises:
        ModelError: calls failed and ``on_error`` is ``error``.
    """
    n = plan.n
    failed = np.zeros(n, dtype=bool)
    errors = np.full(n, None, dtype=object)
    for i, r in zip(plan.example, responses, strict=True):
        if r.error is not None and not failed[i]:
            failed[i] = True
            errors[i] = r.error
    if failed.any() and on_error == "error":
        first = int(np.flatnonzero(failed)[0])
        raise ModelError(
            f'models.{plan.model}: {int(failed.sum())} of {n} examples failed on task "{task.name}" '
            f"(first: {errors[first]}). Finished calls are kept: rerun to retry the rest, or set "
            f"models.{plan.model}.on_error: drop (leave them out) or wrong (score them as wrong)"
        )
    proba = None
    choice_norm = None
    draws = None
    if plan.mode == "classify":
        values, valid, proba = _from_classifier(plan, responses, labels)
    elif plan.mode == "loglikelihood":
        values, valid, proba, choice_norm = _from_loglikelihoods(
            plan, responses, task, labels, choices
        )
    else:
        per_draw = [
            _from_texts(plan, responses, k, task, labels, choices) for k in range(plan.samples)
        ]
        values, valid = per_draw[0]
        if plan.samples > 1:
            draws = tuple(per_draw)
    present = np.ones(n, dtype=bool)
    if task.type == "regression":
        # no "wrong" number exists: an unreadable one (in any draw) leaves the example out
        present &= valid
        for _, draw_valid in draws or ():
            present &= draw_valid
    if on_error == "drop":
        present &= ~failed
    valid = valid & ~failed
    values = values.copy()
    values[~valid] = None if task.type != "generation" else ""
    if task.type == "generation":
        values[failed] = ""
    return Predictions(
        model=plan.model,
        source=source,
        present=present,
        values=values,
        valid=valid,
        proba=proba,
        draws=draws,
        choice_norm=choice_norm,
        calls=_call_stats(plan, responses, price),
        errors=errors if failed.any() else None,
    )


def _from_classifier(
    plan: Plan, responses: Sequence[Response], labels: Sequence[str]
) -> tuple[NDArray[Any], NDArray[np.bool_], NDArray[np.float64]]:
    n, c = plan.n, len(labels)
    proba = np.full((n, c), 1.0 / c)
    values = np.full(n, None, dtype=object)
    valid = np.zeros(n, dtype=bool)
    for i, r in zip(plan.example, responses, strict=True):
        if r.probabilities is None:
            continue
        unknown = sorted(set(r.probabilities) - set(labels))
        if unknown:
            raise SpecError(
                f"models.{plan.model}: the classifier's classes ({', '.join(r.probabilities)}) "
                f"are not the task's labels ({', '.join(labels)}). Set task labels: to its classes"
            )
        row = np.array([float(r.probabilities.get(label, 0.0)) for label in labels])
        proba[i] = row / row.sum() if row.sum() > 0 else 1.0 / c
        values[i] = labels[int(np.argmax(row))]
        valid[i] = True
    return values, valid, proba


def _from_loglikelihoods(
    plan: Plan,
    responses: Sequence[Response],
    task: TaskSpec,
    labels: Sequence[str],
    choices: Sequence[Sequence[str]] | None,
) -> tuple[NDArray[Any], NDArray[np.bool_], NDArray[np.float64] | None, NDArray[Any] | None]:
    n = plan.n
    width = len(labels) if task.type == "classification" else max(len(c) for c in choices or [[]])
    ll = np.full((n, width), -np.inf)
    ok = np.zeros((n, width), dtype=bool)
    for i, j, r in zip(plan.example, plan.option, responses, strict=True):
        if r.error is None and r.logprob is not None:
            ll[i, j] = r.logprob
            ok[i, j] = True
    values = np.full(n, None, dtype=object)
    if task.type == "classification":
        valid: NDArray[np.bool_] = np.asarray(ok.all(axis=1), dtype=bool)
        safe = np.where(ok, ll, -1e300)
        shifted = np.exp(safe - safe.max(axis=1, keepdims=True))
        proba = shifted / shifted.sum(axis=1, keepdims=True)
        proba[~valid] = 1.0 / width
        best = np.argmax(safe, axis=1)
        for i in np.flatnonzero(valid):
            values[i] = labels[int(best[i])]
        return values, valid, proba, None
    assert choices is not None
    n_options = np.array([len(c) for c in choices])
    valid = np.array([bool(ok[i, : n_options[i]].all()) for i in range(n)], dtype=bool)
    norm = np.full(n, None, dtype=object)
    for i in map(int, np.flatnonzero(valid)):
        scores = ll[i, : n_options[i]]
        lengths = np.array([max(len(c.encode("utf-8")), 1) for c in choices[i]], dtype=np.float64)
        values[i] = LETTERS[int(np.argmax(scores))]
        norm[i] = LETTERS[int(np.argmax(scores / lengths))]
    return values, valid, None, norm


def _from_texts(
    plan: Plan,
    responses: Sequence[Response],
    sample: int,
    task: TaskSpec,
    labels: Sequence[str],
    choices: Sequence[Sequence[str]] | None,
) -> tuple[NDArray[Any], NDArray[np.bool_]]:
    n = plan.n
    values = np.full(n, None, dtype=object)
    valid = np.zeros(n, dtype=bool)
    pick = np.flatnonzero(plan.option == sample)
    for at in map(int, pick):
        i = int(plan.example[at])
        r = responses[at]
        if r.error is not None or r.text is None:
            continue
        text = r.text
        value: Any
        if task.type == "classification":
            value = parse_label(text, labels, verbalizers=task.verbalizers)
        elif task.type == "multiple_choice":
            assert choices is not None
            index = parse_choice(text, len(choices[i]), choices=choices[i])
            value = None if index is None else LETTERS[index]
        elif task.type == "regression":
            value = parse_number(text)
        else:
            value = text
        values[i] = value
        valid[i] = value is not None
    return values, valid


def _call_stats(plan: Plan, responses: Sequence[Response], price: PriceSpec | None) -> CallStats:
    n = plan.n
    latency = np.array(
        [r.latency_s for r in responses if r.error is None and r.latency_s is not None],
        dtype=np.float64,
    )
    tokens_in = np.zeros(n)
    tokens_out = np.zeros(n)
    spent = np.zeros(n)
    known_in = np.zeros(n, dtype=bool)
    known_out = np.zeros(n, dtype=bool)
    for i, r in zip(plan.example, responses, strict=True):
        if r.error is None and r.latency_s is not None:
            spent[i] += r.latency_s
        if r.input_tokens is not None:
            tokens_in[i] += r.input_tokens
            known_in[i] = True
        if r.output_tokens is not None:
            tokens_out[i] += r.output_tokens
            known_out[i] = True
    tokens_in[~known_in] = np.nan
    tokens_out[~known_out] = np.nan
    cost = None
    if price is not None:
        cost = (tokens_in * price.input + tokens_out * price.output) / 1e6
    return CallStats(
        latency_s=latency,
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        cost=cost,
        example_latency_s=spent,
        calls=len(responses),
        failed=sum(r.error is not None for r in responses),
    )


def option_letters(choices: Sequence[Sequence[str]]) -> tuple[str, ...]:
    """The labels of a multiple-choice task: one letter per option of its longest item."""
    most = max((len(c) for c in choices), default=0)
    return LETTERS[:most]


def check_choices(
    raw: Sequence[Any] | NDArray[Any], *, locate: Callable[[int], str], column: str
) -> list[list[str]]:
    """The options of every example, as lists of at least two texts.

    Raises:
        DataError: an example's options are not a list of 2 to 26 texts.
    """
    out: list[list[str]] = []
    for i, value in enumerate(raw):
        options = list(value) if isinstance(value, list | tuple | np.ndarray) else None
        if not options or not all(isinstance(o, str) for o in options) or len(options) < 2:
            raise DataError(
                f'{locate(i)}: column "{column}" (dataset.choices) must hold a list of at least '
                f"two option texts, got {value!r}"
            )
        if len(options) > len(LETTERS):
            raise DataError(
                f"{locate(i)}: {len(options)} options; at most {len(LETTERS)} are supported"
            )
        out.append([str(o) for o in options])
    return out


def choice_targets(
    targets: Sequence[Any] | NDArray[Any],
    choices: Sequence[Sequence[str]],
    *,
    locate: Callable[[int], str],
    column: str,
) -> NDArray[np.object_]:
    """The correct option of every example as a letter.

    A target may be the option's 0-based index, its letter, or its exact text.

    Raises:
        DataError: a target names no option.
    """
    out = np.empty(len(targets), dtype=object)
    for i, (target, options) in enumerate(zip(targets, choices, strict=True)):
        text = str(target).strip()
        index: int | None = None
        if text.isdigit() and int(text) < len(options):
            index = int(text)
        elif len(text) == 1 and text.upper() in LETTERS[: len(options)]:
            index = LETTERS.index(text.upper())
        elif text in options:
            index = options.index(text)
        if index is None:
            raise DataError(
                f'{locate(i)}: target "{target}" (column "{column}") is not an option: give the '
                f"option's 0-based index (0-{len(options) - 1}), its letter "
                f"(A-{LETTERS[len(options) - 1]}) or its exact text"
            )
        out[i] = LETTERS[index]
    return out
