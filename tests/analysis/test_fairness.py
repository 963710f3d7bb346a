"""Fairness rates and gaps, checked against fairlearn, and their intervals by simulation."""

from __future__ import annotations

import json
import math
import time
import warnings
from typing import Any

import numpy as np
import pytest
from fairlearn import metrics as fm
from numpy.typing import NDArray
from scipy import stats as sps

from heldout._errors import MetricError
from heldout.analysis import (
    GAP_METRICS,
    FairnessComparison,
    FairnessReport,
    ScoreGapReport,
    fairness,
    fairness_pair,
    score_gap,
)
from heldout.analysis import _fairness as module
from heldout.stats import HeldoutStatsWarning, StatsConfig

FAIRLEARN_GAPS = {
    "demographic_parity_difference": fm.demographic_parity_difference,
    "demographic_parity_ratio": fm.demographic_parity_ratio,
    "equalized_odds_difference": fm.equalized_odds_difference,
    "equalized_odds_ratio": fm.equalized_odds_ratio,
    "equal_opportunity_difference": fm.equal_opportunity_difference,
}
FAIRLEARN_RATES = {
    "selection_rate": fm.selection_rate,
    "true_positive_rate": fm.true_positive_rate,
    "false_positive_rate": fm.false_positive_rate,
}


def _fairlearn(y: NDArray[Any], pred: NDArray[Any], groups: NDArray[Any]) -> dict[str, Any]:
    """fairlearn's gaps and per-group rates on 0/1 labels (its own warnings silenced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gaps = {m: float(f(y, pred, sensitive_features=groups)) for m, f in FAIRLEARN_GAPS.items()}
        frame = fm.MetricFrame(
            metrics=FAIRLEARN_RATES, y_true=y, y_pred=pred, sensitive_features=groups
        )
        return {"gaps": gaps, "by_group": frame.by_group}


def _check_class(report_class: Any, y01: NDArray[Any], pred01: NDArray[Any], g: Any) -> None:
    ref = _fairlearn(y01, pred01, g)
    for gap in report_class.gaps:
        assert gap.estimate.value == pytest.approx(ref["gaps"][gap.metric], abs=1e-9), gap.metric
    for rates in report_class.groups:
        row = ref["by_group"].loc[rates.group]
        for name in FAIRLEARN_RATES:
            assert getattr(rates, name).value == pytest.approx(row[name], abs=1e-9), name


def _random_binary(seed: int, n_groups: int, n: int = 2000) -> tuple[Any, Any, Any]:
    rng = np.random.default_rng(seed)
    groups = np.array([f"g{i}" for i in range(n_groups)], dtype=object)[
        rng.integers(0, n_groups, n)
    ]
    y = rng.integers(0, 2, n)
    # group-dependent accuracy and a few invalid predictions
    acc = (0.6 + 0.3 * rng.random(n_groups))[_codes(groups)]
    pred = np.where(rng.random(n) < acc, y, 1 - y)
    pred[rng.random(n) < 0.03] = -1
    return y, pred, groups


def _codes(groups: NDArray[Any]) -> NDArray[np.int64]:
    return np.unique(groups.astype(str), return_inverse=True)[1].ravel()


@pytest.mark.parametrize(("seed", "n_groups"), [(0, 3), (1, 4), (2, 5)])
def test_binary_gaps_and_group_rates_match_fairlearn(seed: int, n_groups: int) -> None:
    y, pred, g = _random_binary(seed, n_groups)
    report = fairness(y, pred, g, labels=("no", "yes"), config=StatsConfig(n_resamples=50))
    assert report.positive_label == "yes" and len(report.classes) == 1 and report.worst == ()
    assert [gap.metric for gap in report.gaps] == list(GAP_METRICS)
    # an invalid prediction (-1) is a negative
    _check_class(report.classes[0], y, (pred == 1).astype(int), g)
    sizes = {r.group: r.n for r in report.classes[0].groups}
    assert sizes == {name: int(np.sum(g == name)) for name in np.unique(g.astype(str))}


def test_positive_label_picks_the_positive_class() -> None:
    y, pred, g = _random_binary(7, 3)
    config = StatsConfig(n_resamples=50)
    report = fairness(y, pred, g, labels=("no", "yes"), positive_label="no", config=config)
    assert report.positive_label == "no"
    flipped = fairness(
        (y == 0).astype(np.int64), (pred == 0).astype(np.int64), g, labels=("-", "+"), config=config
    )
    # the same point values; the resamples differ (an invalid prediction is its own cell)
    for gap, ref in zip(report.gaps, flipped.gaps, strict=True):
        assert (gap.label, ref.label) == ("no", "+")
        assert (gap.estimate.value, gap.lowest, gap.highest) == (
            ref.estimate.value,
            ref.lowest,
            ref.highest,
        )
    assert report.classes[0].groups == flipped.classes[0].groups


def test_each_class_of_a_multiclass_task_matches_fairlearn_one_vs_rest() -> None:
    rng = np.random.default_rng(11)
    n, labels = 3000, ("a", "b", "c")
    g = np.array(["x", "y", "z", "w"], dtype=object)[rng.integers(0, 4, n)]
    y = rng.integers(0, 3, n)
    pred = np.where(rng.random(n) < 0.7, y, rng.integers(-1, 3, n))
    report = fairness(y, pred, g, labels=labels, config=StatsConfig(n_resamples=100))
    assert report.positive_label is None
    assert [c.label for c in report.classes] == list(labels)
    for k, cls in enumerate(report.classes):
        _check_class(cls, (y == k).astype(int), (pred == k).astype(int), g)
    for gap in report.worst:
        per_class = [c.gaps[GAP_METRICS.index(gap.metric)].estimate.value for c in report.classes]
        expected = min(per_class) if gap.metric.endswith("_ratio") else max(per_class)
        assert gap.worst_of_classes and gap.estimate.value == expected
        assert gap.label == labels[per_class.index(expected)]
        # the interval of a maximum over near-tied classes may sit beside its point value
        assert 0.0 <= gap.estimate.ci_low <= gap.estimate.ci_high <= 1.0
    assert report.gaps == report.worst
    assert report.gap("demographic_parity_ratio", label="c") is report.classes[2].gaps[1]


def test_a_group_without_positives_is_nan_alone_and_zero_in_the_gaps_as_in_fairlearn() -> None:
    y, pred, g = _random_binary(5, 3)
    y[g == "g1"] = 0
    with pytest.warns(HeldoutStatsWarning, match="'g1' has no positives of 'yes'"):
        report = fairness(y, pred, g, labels=("no", "yes"), config=StatsConfig(n_resamples=50))
    g1 = next(r for r in report.classes[0].groups if r.group == "g1")
    assert math.isnan(g1.true_positive_rate.value) and g1.true_positive_rate.n == 0
    ref = _fairlearn(y, (pred == 1).astype(int), g)["gaps"]
    for gap in report.gaps:
        assert gap.estimate.value == pytest.approx(ref[gap.metric], abs=1e-9)
    # nan leaves the group out of the TPR gap
    with pytest.warns(HeldoutStatsWarning):
        skip = fairness(
            y, pred, g, labels=("no", "yes"), config=StatsConfig(), zero_division=math.nan
        )
    tpr = {r.group: r.true_positive_rate.value for r in skip.classes[0].groups}
    assert skip.gap("equal_opportunity_difference").estimate.value == pytest.approx(
        abs(tpr["g0"] - tpr["g2"])
    )


def _simulate(
    rng: np.random.Generator, per: int, base: Any, tpr: Any, fpr: Any
) -> tuple[Any, Any, Any]:
    k = len(base)
    gi = np.repeat(np.arange(k), per)
    y = (rng.random(gi.size) < np.asarray(base)[gi]).astype(np.int64)
    hit = rng.random(gi.size) < np.where(y == 1, np.asarray(tpr)[gi], np.asarray(fpr)[gi])
    groups = np.array([f"g{i}" for i in range(k)], dtype=object)[gi]
    return y, hit.astype(np.int64), groups


BASE, TPR, FPR = (0.4, 0.5, 0.6), (0.6, 0.7, 0.8), (0.1, 0.15, 0.2)


def _truth() -> dict[str, float]:
    sel = [b * t + (1 - b) * f for b, t, f in zip(BASE, TPR, FPR, strict=True)]
    return {
        "demographic_parity_difference": max(sel) - min(sel),
        "demographic_parity_ratio": min(sel) / max(sel),
        "equalized_odds_difference": max(max(TPR) - min(TPR), max(FPR) - min(FPR)),
        "equalized_odds_ratio": min(min(TPR) / max(TPR), min(FPR) / max(FPR)),
        "equal_opportunity_difference": max(TPR) - min(TPR),
    }


def test_gap_intervals_cover_the_true_gaps() -> None:
    truth, covered = _truth(), dict.fromkeys(GAP_METRICS, 0)
    seeds = 200
    for seed in range(seeds):
        y, pred, g = _simulate(np.random.default_rng(seed), 600, BASE, TPR, FPR)
        report = fairness(
            y, pred, g, labels=("n", "y"), config=StatsConfig(n_resamples=200, seed=seed)
        )
        for gap in report.gaps:
            covered[gap.metric] += gap.estimate.ci_low <= truth[gap.metric] <= gap.estimate.ci_high
    rates = {m: c / seeds for m, c in covered.items()}
    assert all(r >= 0.9 for r in rates.values()), rates


def test_a_planted_disparity_is_detected_and_parity_is_rejected_rarely() -> None:
    y, pred, g = _simulate(np.random.default_rng(0), 1000, BASE, TPR, FPR)
    planted = fairness(y, pred, g, labels=("n", "y"), config=StatsConfig(n_resamples=500))
    for gap in planted.gaps:
        assert gap.p_value < 0.01, gap
        if gap.metric.endswith("_ratio"):
            assert gap.estimate.ci_high < 1.0
        else:
            assert gap.estimate.ci_low > 0.0
    assert planted.gap("demographic_parity_difference").lowest == "g0"
    assert planted.gap("demographic_parity_difference").highest == "g2"

    seeds, rejected = 150, dict.fromkeys(GAP_METRICS, 0)
    for seed in range(seeds):
        y, pred, g = _simulate(np.random.default_rng(seed), 300, (0.5,) * 3, (0.7,) * 3, (0.2,) * 3)
        null = fairness(y, pred, g, labels=("n", "y"), config=StatsConfig(n_resamples=200))
        for gap in null.gaps:
            rejected[gap.metric] += gap.p_value < 0.05
    rates = {m: r / seeds for m, r in rejected.items()}
    assert all(r <= 0.1 for r in rates.values()), rates


def test_example_draws_and_cell_draws_give_the_same_intervals(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    y, pred, g = _simulate(np.random.default_rng(4), 400, BASE, TPR, FPR)
    config = StatsConfig(n_resamples=4000)
    by_cells = fairness(y, pred, g, labels=("n", "y"), config=config)
    monkeypatch.setattr(module, "_UNITS_PER_CELL", 10**9)
    by_examples = fairness(y, pred, g, labels=("n", "y"), config=config)
    for a, b in zip(by_cells.gaps, by_examples.gaps, strict=True):
        width = a.estimate.ci_high - a.estimate.ci_low
        assert a.estimate.value == b.estimate.value
        assert abs(a.estimate.ci_low - b.estimate.ci_low) < 0.1 * width
        assert abs(a.estimate.ci_high - b.estimate.ci_high) < 0.1 * width


def test_results_are_seeded() -> None:
    y, pred, g = _random_binary(3, 4)
    first = fairness(y, pred, g, labels=("n", "y"), config=StatsConfig(n_resamples=100, seed=5))
    again = fairness(y, pred, g, labels=("n", "y"), config=StatsConfig(n_resamples=100, seed=5))
    other = fairness(y, pred, g, labels=("n", "y"), config=StatsConfig(n_resamples=100, seed=6))
    assert first == again
    assert first.gaps[0].estimate.ci_low != other.gaps[0].estimate.ci_low


def test_small_groups_are_flagged() -> None:
    y, pred, g = _random_binary(8, 3, n=200)
    g[:10] = "tiny"
    report = fairness(y, pred, g, labels=("n", "y"), config=StatsConfig(n_resamples=50))
    small = {r.group: r.small for r in report.classes[0].groups}
    assert small == {"tiny": True, "g0": False, "g1": False, "g2": False}


def test_pair_values_are_each_models_gaps_and_identical_models_do_not_change() -> None:
    y, pred, g = _random_binary(9, 4)
    other = np.where(np.random.default_rng(1).random(y.size) < 0.8, y, 1 - y)
    config = StatsConfig(n_resamples=200)
    pair = fairness_pair(y, pred, other, g, labels=("n", "y"), config=config)
    alone = {
        "candidate": fairness(y, pred, g, labels=("n", "y"), config=config),
        "baseline": fairness(y, other, g, labels=("n", "y"), config=config),
    }
    assert [c.metric for c in pair.changes] == list(GAP_METRICS)
    for change in pair.changes:
        cand = alone["candidate"].gap(change.metric).estimate.value
        base = alone["baseline"].gap(change.metric).estimate.value
        assert change.candidate.value == cand and change.baseline.value == base
        assert change.change.delta == pytest.approx(cand - base)
        assert change.change.ci_low <= change.change.delta <= change.change.ci_high
    same = fairness_pair(y, pred, pred, g, labels=("n", "y"), config=config)
    for change in same.changes:
        assert (change.change.delta, change.change.ci_low, change.change.ci_high) == (0, 0, 0)
        assert change.change.verdict == "no significant difference"


def test_a_candidate_closer_to_parity_is_better() -> None:
    rng = np.random.default_rng(2)
    y, biased, g = _simulate(rng, 1500, BASE, TPR, FPR)
    fair_hit = rng.random(y.size) < np.where(y == 1, 0.7, 0.15)
    pair = fairness_pair(
        y, fair_hit.astype(np.int64), biased, g, labels=("n", "y"), config=StatsConfig()
    )
    for change in pair.changes:
        assert change.change.verdict == "better", change
        assert change.change.p_adjusted is not None and change.change.p_adjusted < 0.05
        assert (change.change.delta > 0) == change.metric.endswith("_ratio")


def test_changes_between_equally_fair_models_have_intervals_containing_zero() -> None:
    seeds, contains = 150, dict.fromkeys(GAP_METRICS, 0)
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        y, cand, g = _simulate(rng, 600, BASE, TPR, FPR)
        tpr, fpr = np.asarray(TPR)[_codes(g)], np.asarray(FPR)[_codes(g)]
        base = (rng.random(y.size) < np.where(y == 1, tpr, fpr)).astype(np.int64)
        pair = fairness_pair(
            y, cand, base, g, labels=("n", "y"), config=StatsConfig(n_resamples=200, seed=seed)
        )
        for change in pair.changes:
            contains[change.metric] += change.change.ci_low <= 0.0 <= change.change.ci_high
    rates = {m: c / seeds for m, c in contains.items()}
    assert all(r >= 0.88 for r in rates.values()), rates


def test_multiclass_pair_reports_each_class_and_the_worst() -> None:
    rng = np.random.default_rng(6)
    n, labels = 2000, ("a", "b", "c")
    g = np.array(["x", "y"], dtype=object)[rng.integers(0, 2, n)]
    y = rng.integers(0, 3, n)
    cand = np.where(rng.random(n) < 0.8, y, rng.integers(0, 3, n))
    base = np.where(rng.random(n) < 0.6, y, rng.integers(-1, 3, n))
    config = StatsConfig(n_resamples=100)
    pair = fairness_pair(y, cand, base, g, labels=labels, config=config)
    # 20 corrected tests need at least 2 * 20 / 0.05 resamples
    assert pair.n_resamples == 800
    assert len(pair.changes) == len(GAP_METRICS) * 4
    worst = fairness(y, cand, g, labels=labels, config=config).gap("equalized_odds_difference")
    assert pair.change("equalized_odds_difference").candidate.value == worst.estimate.value
    per_class = fairness(y, base, g, labels=labels, config=config).gap(
        "demographic_parity_ratio", label="b"
    )
    change = pair.change("demographic_parity_ratio", label="b")
    assert change.baseline.value == per_class.estimate.value


def test_score_gap_means_match_numpy_and_scipy() -> None:
    rng = np.random.default_rng(0)
    g = np.array(["en", "de", "fr"], dtype=object)[rng.integers(0, 3, 900)]
    x = rng.normal(0.5, 0.2, 900) + 0.1 * (g == "fr")
    report = score_gap(x, g, config=StatsConfig(n_resamples=500))
    means = {name: float(x[g == name].mean()) for name in ("de", "en", "fr")}
    for row in report.groups:
        part = x[g == row.group]
        low, high = sps.t.interval(0.95, part.size - 1, part.mean(), sps.sem(part))
        assert row.mean.value == pytest.approx(means[row.group], abs=1e-12)
        assert (row.mean.ci_low, row.mean.ci_high) == pytest.approx((low, high), abs=1e-12)
        assert row.mean.method == "clt"
    gap = report.gap
    assert gap.estimate.value == pytest.approx(max(means.values()) - min(means.values()))
    assert gap.highest == "fr" and gap.lowest == min(means, key=lambda k: means[k])
    assert gap.estimate.method == "bootstrap-percentile-stratified"
    assert gap.estimate.ci_low < gap.estimate.value < gap.estimate.ci_high
    judged = score_gap(rng.integers(0, 2, 900).astype(float), g, config=StatsConfig())
    assert all(r.mean.method == "wilson" for r in judged.groups)


def test_score_gap_interval_covers_the_truth_and_finds_a_planted_gap() -> None:
    seeds, covered, rejected_null = 100, 0, 0
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        g = np.repeat(np.array(["a", "b", "c"], dtype=object), 200)
        centre = np.repeat([0.4, 0.5, 0.6], 200)
        # skewed, continuous scores: every group of 200 is resampled example by example
        x = centre + rng.exponential(0.2, g.size) - 0.2
        gap = score_gap(x, g, config=StatsConfig(n_resamples=200, seed=seed)).gap
        covered += gap.estimate.ci_low <= 0.2 <= gap.estimate.ci_high
        null = score_gap(x - centre, g, config=StatsConfig(n_resamples=200, seed=seed)).gap
        rejected_null += null.p_value < 0.05
    assert covered / seeds >= 0.9
    assert rejected_null / seeds <= 0.1
    assert gap.p_value < 0.01 and gap.estimate.ci_low > 0


def test_large_continuous_groups_use_the_normal_limit_of_the_exact_bootstrap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(1)
    g = np.repeat(np.array(["a", "b"], dtype=object), 6000)
    x = rng.exponential(1.0, g.size) + 0.05 * (g == "b")
    config = StatsConfig(n_resamples=2000)
    fast = score_gap(x, g, config=config).gap
    assert fast.estimate.method == "bootstrap-percentile-stratified-clt"
    monkeypatch.setattr(module, "_EXACT_UNITS", 10**7)
    exact = score_gap(x, g, config=config).gap
    assert exact.estimate.method == "bootstrap-percentile-stratified"
    width = exact.estimate.ci_high - exact.estimate.ci_low
    assert fast.estimate.value == exact.estimate.value
    assert abs(fast.estimate.ci_low - exact.estimate.ci_low) < 0.1 * width
    assert abs(fast.estimate.ci_high - exact.estimate.ci_high) < 0.1 * width


def test_reports_survive_a_json_round_trip() -> None:
    y, pred, g = _random_binary(5, 3)
    y[g == "g1"] = 0  # a nan rate must come back as nan
    config = StatsConfig(n_resamples=50)
    with pytest.warns(HeldoutStatsWarning):
        report = fairness(y, pred, g, labels=("no", "yes"), config=config)
        multi = fairness(np.abs(y - pred) % 3, pred + 1, g, labels=("a", "b", "c"), config=config)
        pair = fairness_pair(y, pred, 1 - y, g, labels=("no", "yes"), config=config)
    scores = score_gap(np.arange(y.size) % 7 / 7.0, g, config=config)
    cases: list[tuple[Any, Any]] = [
        (report, FairnessReport),
        (multi, FairnessReport),
        (pair, FairnessComparison),
        (scores, ScoreGapReport),
    ]
    for original, cls in cases:
        text = json.dumps(original.to_dict(), allow_nan=False)
        back = cls.from_dict(json.loads(text))
        assert back.to_dict() == original.to_dict()
    g1 = FairnessReport.from_dict(report.to_dict()).classes[0].groups[1]
    assert g1.group == "g1" and math.isnan(g1.true_positive_rate.value)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"y_pred": np.array([0, 1, 2])}, r"y_pred\[2\] = 2 is not a label code"),
        ({"y_true": np.array([0, 1, -1])}, r"y_true\[2\] = -1"),
        ({"y_pred": np.array([0.0, 1.0, 1.0])}, "label codes"),
        ({"groups": np.array(["a", "b"], dtype=object)}, "one value per example"),
        ({"y_pred": np.array([0, 1])}, "lengths"),
        ({"positive_label": "maybe"}, "'maybe' is not one of the labels"),
    ],
)
def test_bad_inputs_name_the_problem(change: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {
        "y_true": np.array([0, 1, 1]),
        "y_pred": np.array([0, 1, -1]),
        "groups": np.array(["a", "b", "a"], dtype=object),
        "positive_label": None,
    }
    args.update(change)
    with pytest.raises(MetricError, match=match):
        fairness(
            args["y_true"],
            args["y_pred"],
            args["groups"],
            labels=("n", "y"),
            positive_label=args["positive_label"],
            config=StatsConfig(),
        )


@pytest.mark.slow
def test_a_million_rows_in_ten_groups() -> None:
    rng = np.random.default_rng(0)
    n = 1_000_000
    g = np.array([f"g{i}" for i in range(10)], dtype=object)[rng.integers(0, 10, n)]
    y = rng.integers(0, 2, n)
    pred = np.where(rng.random(n) < 0.8, y, 1 - y)
    # group g0 selects 5 points more often
    pred[(g == "g0") & (rng.random(n) < 0.1)] = 1
    start = time.perf_counter()
    report = fairness(y, pred, g, labels=("n", "y"), config=StatsConfig(n_resamples=1000))
    elapsed = time.perf_counter() - start
    print(f"fairness: 1,000,000 rows, 10 groups, 1,000 resamples: {elapsed:.2f} s")
    codes = _codes(g)
    sel = np.bincount(codes, weights=pred == 1) / np.bincount(codes)
    dpd = report.gap("demographic_parity_difference")
    assert dpd.estimate.value == pytest.approx(sel.max() - sel.min(), abs=1e-12)
    assert dpd.highest == "g0" and dpd.p_value < 0.01
    # the planted 0.05, plus the upward pull of the lowest of nine tied groups
    assert 0.05 <= dpd.estimate.value < 0.055
    assert 0.045 < dpd.estimate.ci_low < dpd.estimate.value < dpd.estimate.ci_high < 0.06
