from __future__ import annotations

import numpy as np

from heldout.analysis import slice_results
from heldout.scoring import score_classification
from heldout.stats import StatsConfig


def _rows(y: np.ndarray, pred: np.ndarray, model: str):  # type: ignore[no-untyped-def]
    return score_classification(
        y, pred, labels=("neg", "pos"), metrics=["f1", "accuracy"], model=model
    )


def test_a_worse_slice_is_found_among_many_slices() -> None:
    rng = np.random.default_rng(0)
    n_slices, per = 60, 200
    y = rng.integers(0, 2, n_slices * per)
    group = np.repeat([f"g{i:02d}" for i in range(n_slices)], per).astype(object)
    base = np.where(rng.random(y.size) < 0.8, y, 1 - y)
    tuned = np.where(rng.random(y.size) < 0.85, y, 1 - y)
    bad = group == "g07"
    tuned[bad] = np.where(rng.random(int(bad.sum())) < 0.45, y[bad], 1 - y[bad])
    rows = {"base": _rows(y, base, "base"), "tuned": _rows(y, tuned, "tuned")}
    found = slice_results(
        rows,
        {"group": group},
        metric="f1",
        candidate="tuned",
        baseline="base",
        clusters=None,
        config=StatsConfig(n_resamples=200),
        min_size=30,
    )
    assert len(found) == n_slices
    by_value = {s.value: s for s in found}
    worst = by_value["g07"].comparison
    assert worst is not None and worst.verdict == "worse"
    # the smallest bootstrap p-value survives Holm over 60 slices
    assert worst.p_adjusted is not None and worst.p_adjusted < 0.05
    others = [
        s.comparison.verdict for v, s in by_value.items() if v != "g07" and s.comparison is not None
    ]
    assert "worse" not in others


def test_small_slices_are_flagged_and_undefined_slices_do_not_fail() -> None:
    y = np.array([1, 0, 1, 0, 1, 1, 1, 1])
    pred = np.array([1, 0, 0, 0, 1, 1, 1, 0])
    rows = {
        "a": score_classification(
            y,
            pred,
            labels=("neg", "pos"),
            metrics=["roc_auc", "accuracy"],
            model="a",
            proba=np.column_stack([1 - pred * 0.8, pred * 0.8]),
        )
    }
    groups = np.array(["x", "x", "x", "x", "y", "y", "y", "y"], dtype=object)
    found = slice_results(
        rows,
        {"g": groups},
        metric="roc_auc",
        candidate=None,
        baseline=None,
        clusters=None,
        config=StatsConfig(n_resamples=100),
        min_size=5,
    )
    by_value = {s.value: s for s in found}
    assert all(s.small for s in found)
    assert by_value["y"].estimates["a"].method.startswith("undefined")  # one class only
    assert np.isnan(by_value["y"].estimates["a"].value)
    from sklearn.metrics import roc_auc_score

    assert by_value["x"].estimates["a"].value == roc_auc_score(y[:4], pred[:4] * 0.8)


def test_small_slices_are_never_called_worse() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 640)
    base = y.copy()
    tuned = np.where(rng.random(640) < 0.9, y, 1 - y)
    group = np.array(["big"] * 600 + ["tiny"] * 40, dtype=object)
    tuned[600:] = 1 - y[600:]  # the tiny slice is all wrong for the candidate
    rows = {"base": _rows(y, base, "base"), "tuned": _rows(y, tuned, "tuned")}
    found = {
        s.value: s
        for s in slice_results(
            rows,
            {"g": group},
            metric="accuracy",
            candidate="tuned",
            baseline="base",
            clusters=None,
            config=StatsConfig(n_resamples=200),
            min_size=50,
        )
    }
    tiny = found["tiny"].comparison
    assert found["tiny"].small and tiny is not None
    assert tiny.p_value < 1e-6  # clearly worse on its own...
    assert (
        tiny.verdict == "no significant difference" and tiny.p_adjusted is None
    )  # ...but never ranked
    assert found["big"].comparison is not None and found["big"].comparison.verdict == "worse"
