"""Generation metrics against sacrebleu and rouge-score."""

from __future__ import annotations

import numpy as np
import pytest
import sacrebleu
from rouge_score import rouge_scorer

from heldout import DataError, MetricError
from heldout.scoring import (
    available_metrics,
    metric_value,
    normalize_answer,
    score_generation,
    score_generation_pair,
)

WORDS = [
    "The",
    "the",
    "a",
    "an",
    "cat",
    "dog",
    "sat",
    "on",
    "mat",
    "ran",
    "quickly",
    "running",
    "houses",
    "big",
    ",",
    ".",
    "!",
    "?",
    "'quoted'",
    "(x)",
]


def corpus(n: int, seed: int, max_refs: int = 3) -> tuple[list[str], list[str], list[list[str]]]:
    """Two models' predictions and a varying number of references (some texts empty)."""
    rng = np.random.default_rng(seed)

    def text() -> str:
        return " ".join(rng.choice(WORDS, rng.integers(0, 14)))

    refs = [[text() for _ in range(rng.integers(1, max_refs + 1))] for _ in range(n)]
    first = [text() for _ in range(n)]
    # The second model repeats some of the first model's predictions.
    second = [p if rng.random() < 0.3 else text() for p in first]
    return first, second, refs


def streams(refs: list[list[str]]) -> list[list[str | None]]:
    width = max(len(r) for r in refs)
    return [[r[k] if k < len(r) else None for r in refs] for k in range(width)]


SACREBLEU = {
    "bleu": sacrebleu.corpus_bleu,
    "chrf": sacrebleu.corpus_chrf,
    "ter": sacrebleu.corpus_ter,
}


@pytest.mark.parametrize("max_refs", [1, 3], ids=["one-reference", "varying-references"])
def test_corpus_scores_equal_sacrebleu(max_refs: int) -> None:
    predictions, _, refs = corpus(250, seed=max_refs, max_refs=max_refs)
    rows = score_generation(predictions, refs, metrics=list(SACREBLEU), model="m")
    for name, corpus_score in SACREBLEU.items():
        expected = corpus_score(predictions, streams(refs)).score
        assert metric_value(rows, name) == pytest.approx(expected, abs=1e-9), name
        assert rows.metric(name).kind == "bootstrap"
    assert rows.metric("ter").higher_is_better is False
    assert rows.metric("bleu").params["tokenize"] == "13a"
    assert rows.metric("bleu").params["scale"] == "0-100"


@pytest.mark.parametrize(
    ("predictions", "references"),
    [
        (["", ""], [["a cat"], ["the dog"]]),  # nothing generated
        (["cat"], [["the cat sat on the mat"]]),  # too short for 4-grams
        (["the cat sat on the mat"], [["the cat sat on the mat"]]),  # perfect
        (["x y z w v"], [[""]]),  # empty reference
        (["cat dog mat sat", "on"], [["dog cat sat mat"], ["on"]]),  # no 2/3/4-gram matches
    ],
)
def test_degenerate_corpora_equal_sacrebleu(
    predictions: list[str], references: list[list[str]]
) -> None:
    rows = score_generation(predictions, references, metrics=list(SACREBLEU), model="m")
    for name, corpus_score in SACREBLEU.items():
        expected = corpus_score(predictions, streams(references)).score
        assert metric_value(rows, name) == pytest.approx(expected, abs=1e-9), name


def test_rouge_equals_rouge_score_best_reference() -> None:
    predictions, _, refs = corpus(150, seed=4)
    types = ["rouge1", "rouge2", "rougeL"]
    rows = score_generation(predictions, refs, metrics=types, model="m")
    scorer = rouge_scorer.RougeScorer(types, use_stemmer=True)
    for name in types:
        expected = [
            scorer.score_multi(r, p)[name].fmeasure for p, r in zip(predictions, refs, strict=True)
        ]
        np.testing.assert_allclose(rows.per_example[name], expected, rtol=0, atol=1e-12)
        assert metric_value(rows, name) == pytest.approx(np.mean(expected), abs=1e-12)
        assert rows.metric(name).params["use_stemmer"] is True


def test_exact_match_and_token_f1_use_squad_normalisation_and_the_best_reference() -> None:
    predictions = ["The Eiffel Tower!", "Paris, France", "", "blue"]
    references = [["eiffel tower"], ["London", "paris"], ["an"], ["red"]]
    rows = score_generation(predictions, references, metrics=["exact_match", "token_f1"], model="m")
    assert rows.per_example["exact_match"].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert rows.per_example["token_f1"].tolist() == pytest.approx([1.0, 2 / 3, 1.0, 0.0])
    assert rows.metric("exact_match").binary
    assert normalize_answer("  The  (quick) a-b AN  fox. ") == "quick ab fox"


def test_pair_scores_equal_two_separate_scorings() -> None:
    first, second, refs = corpus(200, seed=5)
    names = available_metrics("generation")
    pair = score_generation_pair(
        first, second, refs, metrics=names, candidate="tuned", baseline="base"
    )
    assert (pair.candidate.model, pair.baseline.model) == ("tuned", "base")
    for rows, predictions in ((pair.candidate, first), (pair.baseline, second)):
        alone = score_generation(predictions, refs, metrics=names, model=rows.model)
        for name in names:
            np.testing.assert_array_equal(
                rows.blocks[name].rows(), alone.blocks[name].rows(), err_msg=name
            )


def test_worker_processes_give_the_same_scores_as_one_process() -> None:
    first, second, refs = corpus(120, seed=6)
    names = ["bleu", "chrf", "ter", "rougeL", "token_f1"]
    kwargs = {"metrics": names, "candidate": "a", "baseline": "b"}
    serial = score_generation_pair(first, second, refs, workers=1, **kwargs)  # type: ignore[arg-type]
    parallel = score_generation_pair(first, second, refs, workers=2, **kwargs)  # type: ignore[arg-type]
    for one, many in zip(serial, parallel, strict=True):
        for name in names:
            np.testing.assert_array_equal(one.blocks[name].rows(), many.blocks[name].rows())


def test_a_bare_string_counts_as_one_reference() -> None:
    rows = score_generation(["a cat"], ["a cat"], metrics=["exact_match", "bleu"], model="m")
    assert metric_value(rows, "exact_match") == 1.0


@pytest.mark.parametrize(
    ("predictions", "references", "message"),
    [
        (["a", "b"], [["a"]], "2 predictions for 1 examples"),
        (["a"], [[]], "example 0 has no reference"),
        ([None], [["a"]], "prediction must be a string"),
    ],
)
def test_malformed_inputs_are_rejected_with_the_reason(
    predictions: list[str], references: list[list[str]], message: str
) -> None:
    with pytest.raises(DataError, match=message):
        score_generation(predictions, references, metrics=["bleu"], model="m")


def test_unknown_generation_metric_suggests_the_close_name() -> None:
    with pytest.raises(MetricError, match='did you mean "rougeL"'):
        score_generation(["a"], [["a"]], metrics=["rouge_l"], model="m")
