from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss, log_loss

from heldout import DataError, MetricError
from heldout.analysis import (
    CalibrationComparison,
    CalibrationReport,
    calibration,
    calibration_pair,
)
from heldout.analysis import _calibration as cal
from heldout.stats import StatsConfig

LABELS = ("no", "yes")
CONFIG = StatsConfig(n_resamples=300, seed=7)


def _binary_case(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Outcomes drawn from a known probability ``p``."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.02, 0.98, n)
    return (rng.random(n) < p).astype(np.int64), p


def _two_columns(p: np.ndarray) -> np.ndarray:
    return np.c_[1.0 - p, p]


def _sharpened(p: np.ndarray, temperature: float) -> np.ndarray:
    """``p`` with its logit divided by ``temperature`` (< 1: overconfident)."""
    logit = np.log(p / (1.0 - p)) / temperature
    return 1.0 / (1.0 + np.exp(-logit))


def _multiclass_case(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 1.5, (n, 3))
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = (rng.random(n)[:, None] > np.cumsum(proba, axis=1)).sum(axis=1)
    return y.astype(np.int64), proba


@pytest.mark.parametrize("positive_label", [None, "no"])
def test_binary_brier_and_log_loss_equal_sklearn(positive_label: str | None) -> None:
    y, p = _binary_case(700, seed=1)
    proba = _two_columns(p)
    report = calibration(y, proba, labels=LABELS, positive_label=positive_label, config=CONFIG)
    pos = 0 if positive_label == "no" else 1
    expected_brier = brier_score_loss(y == pos, proba[:, pos])
    assert report.brier.value == pytest.approx(expected_brier, abs=1e-12)
    assert report.log_loss.value == pytest.approx(log_loss(y, proba, labels=[0, 1]), abs=1e-12)
    assert report.kind == "binary"
    assert report.positive_label == LABELS[pos]


def test_multiclass_is_top_label_with_sklearns_multiclass_brier() -> None:
    y, proba = _multiclass_case(900, seed=2)
    report = calibration(y, proba, labels=("a", "b", "c"), bins=10, config=CONFIG)
    assert report.kind == "top-label" and report.positive_label is None
    # scikit-learn >= 1.7 keeps the multiclass Brier score in [0, 2] (no halving).
    expected = brier_score_loss(y, proba, labels=[0, 1, 2])
    assert report.brier.value == pytest.approx(expected, abs=1e-12)
    assert report.log_loss.value == pytest.approx(log_loss(y, proba, labels=[0, 1, 2]), abs=1e-12)
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == y
    assert sum(r.n for r in report.rows) == y.size
    for row in report.rows:
        inside = (confidence > row.lower) & (confidence <= row.upper)
        if row is report.rows[0]:
            inside |= confidence == row.lower
        assert row.n == inside.sum()
        assert row.mean_confidence == pytest.approx(confidence[inside].mean(), abs=1e-12)
        assert row.observed == pytest.approx(correct[inside].mean(), abs=1e-12)


def test_uniform_bins_equal_sklearn_calibration_curve() -> None:
    y, p = _binary_case(2000, seed=3)
    p = np.round(p, 2)  # values on the bin edges go where scikit-learn puts them
    report = calibration(y, _two_columns(p), labels=LABELS, strategy="uniform", config=CONFIG)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=15, strategy="uniform")
    np.testing.assert_allclose([r.observed for r in report.rows], prob_true, atol=1e-12)
    np.testing.assert_allclose([r.mean_confidence for r in report.rows], prob_pred, atol=1e-12)
    counts = np.array([r.n for r in report.rows])
    expected_ece = np.sum(counts / p.size * np.abs(prob_true - prob_pred))
    assert report.ece.value == pytest.approx(expected_ece, abs=1e-12)
    expected_mce = np.max(np.abs(prob_true - prob_pred))
    assert report.mce.value == pytest.approx(expected_mce, abs=1e-12)
    for row in report.rows:
        assert row.observed_low <= row.observed <= row.observed_high
        assert row.upper - row.lower == pytest.approx(1 / 15)


def test_quantile_bins_hold_equal_mass() -> None:
    y, p = _binary_case(1500, seed=4)
    report = calibration(y, _two_columns(p), labels=LABELS, config=CONFIG)
    assert [r.n for r in report.rows] == [100] * 15
    assert report.rows[0].lower == 0.0 and report.rows[-1].upper == 1.0


def test_quantile_bins_keep_ties_together_whatever_the_order() -> None:
    y, p = _binary_case(1000, seed=5)
    p = np.round(p, 1)  # eleven distinct confidences, many ties
    report = calibration(y, _two_columns(p), labels=LABELS, config=CONFIG)
    for value in np.unique(p):
        holding = [r for r in report.rows if r.lower < value <= r.upper or value == r.lower == 0]
        assert len(holding) == 1
    assert len(report.rows) <= 11
    perm = np.random.default_rng(0).permutation(p.size)
    shuffled = calibration(y[perm], _two_columns(p[perm]), labels=LABELS, config=CONFIG)
    assert [(r.lower, r.upper, r.n) for r in shuffled.rows] == [
        (r.lower, r.upper, r.n) for r in report.rows
    ]
    assert shuffled.ece.value == pytest.approx(report.ece.value, abs=1e-12)


@pytest.mark.parametrize("kind", ["squared", "overconfident"])
def test_a_known_miscalibration_is_found(kind: str) -> None:
    y, p = _binary_case(3000, seed=6)
    reported = p**2 if kind == "squared" else _sharpened(p, 0.5)
    report = calibration(y, _two_columns(reported), labels=LABELS, config=CONFIG)
    assert report.ece.ci_low > 0.0
    # The interval clears the ECE a perfectly calibrated model would show, too.
    assert report.ece.ci_low > 3 * report.ece_if_calibrated
    assert report.calibrated_p_value < 0.01
    middle = [r for r in report.rows if 0.2 < r.mean_confidence < 0.8]
    if kind == "squared":  # p^2 < p: outcomes are more frequent than reported
        assert all(r.gap > 0 for r in middle)
    else:  # too far from 1/2 on both sides
        assert all(r.gap < 0 for r in report.rows if r.mean_confidence > 0.6)
        assert all(r.gap > 0 for r in report.rows if r.mean_confidence < 0.4)


def test_a_calibrated_model_shows_only_the_finite_sample_floor() -> None:
    """ECE of a perfectly calibrated model is not 0, and its interval does not hold 0.

    Each bin's gap is sampling noise whose absolute value averages about
    ``sqrt(2 / pi) * sqrt(p (1 - p) / n_bin)``, so ECE is biased upward by that much
    (``ece_if_calibrated``), and a bootstrap replicate adds a second layer of the same
    noise (about ``sqrt(2)`` times the floor). The percentile interval therefore lies
    between about the floor and twice the floor: it holds values near the floor, not 0, and
    the consistency-resampling p-value does not reject calibration.
    """
    y, p = _binary_case(4000, seed=0)
    report = calibration(y, _two_columns(p), labels=LABELS, config=CONFIG)
    floor = report.ece_if_calibrated
    # Bins of n / 15 examples, and E[sqrt(p (1 - p))] = pi / 8 for p uniform on [0, 1].
    expected_floor = np.sqrt(2 / np.pi) * (np.pi / 8) / np.sqrt(4000 / 15)
    assert floor == pytest.approx(expected_floor, rel=0.1)
    assert report.ece.ci_low <= 1.25 * floor
    assert report.ece.ci_high <= 2.5 * floor
    assert report.ece.ci_high < 0.05
    assert report.calibrated_p_value > 0.05


def test_calibration_pair_finds_the_worse_calibrated_model() -> None:
    y, p = _binary_case(3000, seed=8)
    tuned = _two_columns(_sharpened(p, 0.6))
    base = _two_columns(p)
    found = calibration_pair(y, tuned, base, labels=LABELS, config=CONFIG)
    assert found.verdict == "worse calibrated"
    assert found.ece.verdict == "worse"
    assert found.ece.delta == pytest.approx(found.candidate.ece.value - found.baseline.ece.value)
    assert 0.0 < found.ece.ci_low <= found.ece.delta <= found.ece.ci_high
    assert found.ece.test == "paired-bootstrap"
    assert found.brier.delta > 0 and found.log_loss.delta > 0
    swapped = calibration_pair(y, base, tuned, labels=LABELS, config=CONFIG)
    assert swapped.verdict == "better calibrated"
    same = calibration_pair(y, base, base, labels=LABELS, config=CONFIG)
    assert same.verdict == "no significant difference"
    assert same.ece.delta == 0.0


def test_large_data_draw_bins_instead_of_examples_with_the_same_intervals(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    y, p = _binary_case(12_000, seed=9)
    proba = _two_columns(_sharpened(p, 0.8))
    config = StatsConfig(n_resamples=300, seed=1)
    exact = calibration_pair(y, proba, _two_columns(p), labels=LABELS, config=config)
    monkeypatch.setattr(cal, "_EXACT_LIMIT", 0)
    binned = calibration_pair(y, proba, _two_columns(p), labels=LABELS, config=config)
    assert binned.ece.test == "paired-bootstrap-binned"
    assert binned.candidate.ece.method == "bootstrap-percentile-binned"
    for a, b in (
        (exact.ece, binned.ece),
        (exact.candidate.ece, binned.candidate.ece),
        (exact.candidate.mce, binned.candidate.mce),
    ):
        width = a.ci_high - a.ci_low
        assert abs(a.ci_low - b.ci_low) < 0.2 * width
        assert abs(a.ci_high - b.ci_high) < 0.2 * width
    floor_exact = exact.candidate.ece_if_calibrated
    assert binned.candidate.ece_if_calibrated == pytest.approx(floor_exact, rel=0.05)


def test_bca_jackknife_equals_leaving_each_example_out() -> None:
    y, p = _binary_case(60, seed=10)
    binned = cal._bin(p, 5, "quantile")
    d = y - p
    counts, sums = cal._bin_sums(binned, d)
    ece, mce = cal._jackknife(binned, d, counts, sums, StatsConfig(ci_method="bca"))
    for i in range(y.size):
        keep = np.arange(y.size) != i
        c = np.bincount(binned.codes[keep], minlength=binned.k).astype(float)
        s = np.bincount(binned.codes[keep], weights=d[keep], minlength=binned.k)
        assert ece[i] == pytest.approx(cal._ece(c, s), abs=1e-12)
        assert mce[i] == pytest.approx(cal._mce(c, s), abs=1e-12)
    report = calibration(
        y,
        _two_columns(p),
        labels=LABELS,
        bins=5,
        config=StatsConfig(n_resamples=300, ci_method="bca"),
    )
    assert report.ece.method == "bootstrap-bca"


def test_reports_are_seeded_and_round_trip_through_json() -> None:
    y, p = _binary_case(500, seed=11)
    first = calibration_pair(y, _two_columns(p**1.5), _two_columns(p), labels=LABELS, config=CONFIG)
    again = calibration_pair(y, _two_columns(p**1.5), _two_columns(p), labels=LABELS, config=CONFIG)
    assert first == again
    text = json.dumps(first.to_dict(), allow_nan=False)
    assert CalibrationComparison.from_dict(json.loads(text)) == first
    report = first.candidate
    assert CalibrationReport.from_dict(json.loads(json.dumps(report.to_dict()))) == report
    assert report.n_resamples == 300 and report.seed == 7


def test_inputs_that_do_not_fit_are_refused_with_the_next_step() -> None:
    y, p = _binary_case(50, seed=12)
    proba = _two_columns(p)
    with pytest.raises(DataError, match=r"shape \(n, labels\)"):
        calibration(y, proba[:, :1], labels=LABELS, config=CONFIG)
    with pytest.raises(DataError, match="softmax"):
        calibration(y, proba * 2, labels=LABELS, config=CONFIG)
    with pytest.raises(MetricError, match="not a task label"):
        calibration(y, proba, labels=LABELS, positive_label="maybe", config=CONFIG)
    with pytest.raises(MetricError, match="bins"):
        calibration(y, proba, labels=LABELS, bins=0, config=CONFIG)
    with pytest.raises(MetricError, match="strategy"):
        calibration(y, proba, labels=LABELS, strategy="kmeans", config=CONFIG)  # type: ignore[arg-type]
    with pytest.raises(MetricError, match="binary tasks"):
        calibration(
            np.zeros(3, dtype=np.int64),
            np.full((3, 3), 1 / 3),
            labels=("a", "b", "c"),
            positive_label="a",
            config=CONFIG,
        )
