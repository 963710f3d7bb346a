from __future__ import annotations

import json
import math

import numpy as np
import pytest
from sklearn.metrics import (
    average_precision_score,
    fbeta_score,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)

from heldout import DataError, MetricError
from heldout.analysis import (
    CoverageCurve,
    Curves,
    ThresholdChoice,
    choose_threshold,
    coverage_accuracy,
    curves,
)
from heldout.stats import HeldoutStatsWarning, StatsConfig

CONFIG = StatsConfig(n_resamples=300, seed=3)


def _scores(n: int, seed: int, decimals: int | None = 2) -> tuple[np.ndarray, np.ndarray]:
    """Labels and a noisy score (rounded, so many thresholds are tied)."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.35).astype(np.int64)
    score = 1.0 / (1.0 + np.exp(-(1.6 * y - 0.8 + rng.normal(0, 1, n))))
    return y, score if decimals is None else np.round(score, decimals)


def _negative_on_top(y: np.ndarray, score: np.ndarray) -> np.ndarray:
    """The scores with a negative example ranked above every other example."""
    out = score.copy()
    out[np.flatnonzero(y == 0)[0]] = score.max() + 0.5
    return out


def _brute_force(y: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every candidate threshold (highest first, ``inf`` = nothing) and its predictions."""
    thresholds = np.r_[np.inf, np.unique(score)[::-1]]
    return thresholds, score[None, :] >= thresholds[:, None]


def test_curves_equal_sklearn_arrays_and_areas() -> None:
    y, score = _scores(2000, seed=1)
    found = curves(y, score)
    fpr, tpr, roc_thr = roc_curve(y, score, drop_intermediate=False)
    precision, recall, pr_thr = precision_recall_curve(y, score)
    np.testing.assert_array_equal(found.fpr, fpr)
    np.testing.assert_array_equal(found.tpr, tpr)
    np.testing.assert_array_equal(found.roc_thresholds, roc_thr)
    np.testing.assert_array_equal(found.precision, precision)
    np.testing.assert_array_equal(found.recall, recall)
    np.testing.assert_array_equal(found.pr_thresholds, pr_thr)
    assert found.roc_auc == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    assert found.average_precision == pytest.approx(average_precision_score(y, score), abs=1e-12)
    assert not found.subsampled and found.n_positive == y.sum()


def test_multiclass_curves_are_one_vs_rest_for_the_named_class() -> None:
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 600)
    proba = rng.dirichlet(np.ones(3), 600)
    proba[np.arange(600), y] += 0.3
    proba /= proba.sum(axis=1, keepdims=True)
    found = curves(y, proba, labels=("a", "b", "c"), positive_label="c")
    fpr, tpr, _ = roc_curve(y, proba[:, 2], pos_label=2, drop_intermediate=False)
    np.testing.assert_array_equal(found.fpr, fpr)
    np.testing.assert_array_equal(found.tpr, tpr)
    assert found.positive_label == "c"
    same = curves(y == 2, proba[:, 2])
    np.testing.assert_array_equal(same.precision, found.precision)


def test_subsampled_curves_keep_exact_values_at_the_retained_thresholds() -> None:
    y, score = _scores(5000, seed=3, decimals=None)
    full = curves(y, score)
    small = curves(y, score, max_points=100)
    assert small.subsampled
    assert len(small.roc_thresholds) <= 100 and len(small.pr_thresholds) <= 99
    roc_at = {t: (f, r) for t, f, r in zip(full.roc_thresholds, full.fpr, full.tpr, strict=True)}
    for t, f, r in zip(small.roc_thresholds, small.fpr, small.tpr, strict=True):
        assert roc_at[t] == (f, r)
    pr_at = {
        t: (p, r) for t, p, r in zip(full.pr_thresholds, full.precision, full.recall, strict=False)
    }
    for t, p, r in zip(small.pr_thresholds, small.precision, small.recall, strict=False):
        assert pr_at[t] == (p, r)
    assert small.roc_thresholds[0] == np.inf and small.fpr[-1] == 1.0 and small.tpr[-1] == 1.0
    assert small.pr_thresholds[0] == full.pr_thresholds[0]
    assert (small.precision[-1], small.recall[-1]) == (1.0, 0.0)
    assert small.roc_auc == full.roc_auc


def test_target_recall_is_reached_by_the_highest_such_threshold() -> None:
    y, score = _scores(1500, seed=4)
    pick = choose_threshold(y, score, target="recall", value=0.9, config=CONFIG)
    predicted = score >= pick.threshold
    assert recall_score(y, predicted) >= 0.9
    assert pick.recall.value == pytest.approx(recall_score(y, predicted), abs=1e-12)
    higher = np.unique(score[score > pick.threshold])
    assert recall_score(y, score >= higher.min()) < 0.9
    assert pick.reached
    assert pick.recall.ci_low <= pick.recall.value <= pick.recall.ci_high


def test_target_precision_gives_the_most_recall_at_that_precision() -> None:
    y, score = _scores(1500, seed=5)
    pick = choose_threshold(y, score, target="precision", value=0.7, config=CONFIG)
    thresholds, predicted = _brute_force(y, score)
    tp = (predicted & (y == 1)).sum(axis=1)
    n_pred = predicted.sum(axis=1)
    ok = (n_pred > 0) & (tp >= 0.7 * n_pred)
    assert pick.threshold == thresholds[ok][-1]
    assert pick.precision.value >= 0.7


def test_cost_optimal_threshold_equals_brute_force() -> None:
    y, score = _scores(1200, seed=6)
    for costs in ({"fn": 10, "fp": 1}, {"fn": 1, "fp": 4, "tp": -0.5, "tn": 0.1}):
        pick = choose_threshold(y, score, target="cost", costs=costs, config=CONFIG)
        thresholds, predicted = _brute_force(y, score)
        pos = y == 1
        counts = {
            "tp": (predicted & pos).sum(axis=1),
            "fp": (predicted & ~pos).sum(axis=1),
            "fn": (~predicted & pos).sum(axis=1),
            "tn": (~predicted & ~pos).sum(axis=1),
        }
        cost = sum(costs.get(k, 0.0) * counts[k] for k in counts) / y.size
        assert pick.threshold == thresholds[np.argmin(cost)]
        assert pick.cost.value == pytest.approx(cost.min(), abs=1e-12)
        assert pick.costs == {k: float(costs.get(k, 0.0)) for k in ("tp", "fp", "fn", "tn")}


def test_fbeta_threshold_equals_brute_force_and_metrics_equal_sklearn() -> None:
    y, score = _scores(800, seed=7)
    pick = choose_threshold(y, score, target="fbeta", beta=2.0, config=CONFIG)
    thresholds, predicted = _brute_force(y, score)
    values = [fbeta_score(y, p, beta=2.0, zero_division=0) for p in predicted[1:]]
    assert pick.threshold == thresholds[1 + int(np.argmax(values))]
    at = score >= pick.threshold
    assert pick.fbeta.value == pytest.approx(max(values), abs=1e-12)
    assert pick.precision.value == pytest.approx(precision_score(y, at), abs=1e-12)
    assert pick.recall.value == pytest.approx(recall_score(y, at), abs=1e-12)
    assert pick.selection_rate.value == pytest.approx(at.mean(), abs=1e-12)
    for est in (pick.precision, pick.recall, pick.fbeta, pick.selection_rate):
        assert est.ci_low <= est.value <= est.ci_high
        assert est.method == "bootstrap-percentile" and est.n == y.size


def test_an_unreachable_precision_warns_and_takes_the_best_one() -> None:
    y, score = _scores(500, seed=8)
    score = _negative_on_top(y, score)
    with pytest.warns(HeldoutStatsWarning, match="no threshold reaches precision"):
        pick = choose_threshold(y, score, target="precision", value=1.0, config=CONFIG)
    assert not pick.reached
    _, predicted = _brute_force(y, score)
    tp = (predicted & (y == 1)).sum(axis=1)[1:]
    best = (tp / predicted.sum(axis=1)[1:]).max()
    assert pick.precision.value == pytest.approx(best)


@pytest.mark.parametrize("decimals", [2, None])  # few thresholds, or more than the grid
def test_threshold_spread_re_chooses_the_threshold_per_resample(decimals: int | None) -> None:
    y, score = _scores(3000, seed=9, decimals=decimals)
    pick = choose_threshold(
        y, score, target="recall", value=0.8, threshold_spread=True, config=CONFIG
    )
    spread = pick.threshold_spread
    assert spread is not None and spread.value == pick.threshold
    assert spread.ci_low < pick.threshold < spread.ci_high
    assert spread.ci_high - spread.ci_low < 0.3
    assert spread.method == "bootstrap-percentile-rechosen"


def test_coverage_accuracy_rises_as_the_model_abstains_more() -> None:
    rng = np.random.default_rng(10)
    n = 100_000
    confidence = rng.uniform(0.4, 1.0, n)
    y = rng.integers(0, 4, n)
    right = rng.random(n) < confidence
    pred = np.where(right, y, (y + 1) % 4)
    pred[:50] = -1  # no valid answer: always wrong
    curve = coverage_accuracy(y, pred, confidence, target_accuracy=0.9)
    accuracy = [p.accuracy for p in curve.points]
    coverage = [p.coverage for p in curve.points]
    assert len(curve.points) == 20
    assert np.all(np.diff(accuracy) > 0)
    np.testing.assert_allclose(coverage, 1 - np.arange(20) / 20, atol=1e-12)
    assert curve.points[0].accuracy == pytest.approx(np.mean(pred == y))
    target = curve.at_target
    assert target is not None and target.accuracy >= 0.9
    # The most coverage at that accuracy, over every possible cutoff.
    below = confidence < target.cutoff
    candidate = confidence[below].max()
    kept = confidence >= candidate
    assert np.mean(pred[kept] == y[kept]) < 0.9
    for p in curve.points:
        assert p.accuracy_low <= p.accuracy <= p.accuracy_high


def test_results_round_trip_through_json() -> None:
    y, score = _scores(400, seed=11)
    found = curves(y, score, max_points=50)
    back = Curves.from_dict(json.loads(json.dumps(found.to_dict(), allow_nan=False)))
    np.testing.assert_array_equal(back.roc_thresholds, found.roc_thresholds)
    np.testing.assert_array_equal(back.precision, found.precision)
    assert back.roc_auc == found.roc_auc
    # Costs that make predicting nothing best: the threshold is +inf.
    costly = _negative_on_top(y, score)
    pick = choose_threshold(y, costly, target="cost", costs={"fn": 1, "fp": 1000}, config=CONFIG)
    assert pick.threshold == math.inf and pick.selection_rate.value == 0.0
    document = json.loads(json.dumps(pick.to_dict(), allow_nan=False))
    assert document["threshold"] is None
    assert ThresholdChoice.from_dict(document) == pick
    curve = coverage_accuracy(y, (score > 0.5).astype(int), np.abs(score - 0.5), n_cutoffs=5)
    assert CoverageCurve.from_dict(json.loads(json.dumps(curve.to_dict()))) == curve


def test_inputs_that_cannot_be_analysed_are_refused() -> None:
    y, score = _scores(100, seed=12)
    with pytest.raises(MetricError, match="both positive and negative"):
        curves(np.ones(5, dtype=int), np.arange(5.0))
    with pytest.raises(MetricError, match="positive_label"):
        curves(np.array([0, 1, 2]), np.eye(3), labels=("a", "b", "c"))
    with pytest.raises(DataError, match="0/1"):
        curves(np.array([0, 1, 2]), np.arange(3.0))
    with pytest.raises(MetricError, match="needs value"):
        choose_threshold(y, score, target="recall", config=CONFIG)
    with pytest.raises(MetricError, match="fn and fp"):
        choose_threshold(y, score, target="cost", costs={"fn": 1}, config=CONFIG)
    with pytest.raises(MetricError, match="only used with"):
        choose_threshold(y, score, target="fbeta", costs={"fn": 1, "fp": 1}, config=CONFIG)
