"""The streamed leakage check reports what check_leakage reports on the same data."""

from __future__ import annotations

import numpy as np
import pytest

from heldout.data import check_leakage
from heldout.data._leakage_stream import LeakageIndex, check_leakage_stream

WORDS = [f"w{i}" for i in range(400)]


def _corpus(seed: int) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)

    def doc(n: int) -> list[str]:
        return [str(w) for w in rng.choice(WORDS, size=n)]

    evals = [doc(int(rng.integers(20, 40))) for _ in range(60)]
    trains = [doc(int(rng.integers(20, 40))) for _ in range(150)]
    boiler = doc(15)
    for i in range(0, 30, 3):
        trains[i] = " ".join(evals[i]).upper().split()  # exact after normalising
    for i in range(1, 30, 3):
        edited = list(evals[i])
        edited[int(rng.integers(0, len(edited)))] = "zzz"  # near-duplicate
        trains[40 + i] = edited
    for i in range(2, 30, 3):
        trains[80 + i] = doc(5) + evals[i][3:17] + doc(5)  # shares a 13-gram and more
    for i in range(100, 130):
        trains[i] = boiler + trains[i]  # a boilerplate n-gram in 30 training rows
    evals[50] = boiler + evals[50]
    trains[140] = trains[141] = list(evals[55])  # duplicated training text
    return [" ".join(e) for e in evals], [" ".join(t) for t in trains]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("chunk", [3, 1000])
def test_streamed_report_equals_check_leakage(seed: int, chunk: int) -> None:
    evals, trains = _corpus(seed)
    eval_ids = np.array([f"e{i}" for i in range(len(evals))], dtype=object)
    train_ids = np.array([f"t{i}" for i in range(len(trains))], dtype=object)
    whole = check_leakage(
        eval_ids,
        np.array(evals, dtype=object),
        train_ids,
        np.array(trains, dtype=object),
        ngram=13,
        near=0.8,
        seed=seed,
    )
    chunks = [
        (train_ids[i : i + chunk], trains[i : i + chunk]) for i in range(0, len(trains), chunk)
    ]
    streamed = check_leakage_stream(eval_ids, evals, chunks, ngram=13, near=0.8, seed=seed)
    assert whole.exact and whole.ngram_overlap and whole.near  # every check has findings
    assert streamed == whole


def test_auto_ngram_and_train_rows_are_reported() -> None:
    evals, trains = _corpus(3)
    index = LeakageIndex(np.array([f"e{i}" for i in range(60)], dtype=object), evals, ngram="auto")
    index.add(np.array([f"t{i}" for i in range(150)], dtype=object), trains)
    report = index.report(train_path="train.jsonl")
    assert index.train_rows == report.train_rows == 150
    assert 8 <= report.ngram <= 13 and report.ngram_rule.startswith("auto")
