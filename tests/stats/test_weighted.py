"""Weighted (design-based) estimates: references, and a sampling simulation."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyarrow as pa
import pytest
import statsmodels.api as sm
from numpy.typing import NDArray
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, r2_score

from heldout._errors import MetricError
from heldout.data._sample import stratified_sample
from heldout.scoring import ScoreRows, StatBlock, score_classification, score_regression
from heldout.stats import StatsConfig, compare_all, estimate_all, mde_for, point_value
from heldout.stats._weighted import (
    linearized_variance,
    weighted_block,
    weighted_mean_interval,
    weighted_paired,
)

LABELS = ("a", "b", "c")


def _classified(
    y: NDArray[np.int64],
    pred: NDArray[np.int64],
    w: NDArray[np.float64] | None,
    *,
    proba: bool = False,
) -> ScoreRows:
    p = None
    if proba:
        p = np.full((y.shape[0], 3), 0.1)
        p[np.arange(y.shape[0]), pred] = 0.8
    metrics = ["accuracy", "macro_f1", "f1:b"] + (["roc_auc"] if proba else [])
    rows = score_classification(y, pred, labels=LABELS, metrics=metrics, model="m", proba=p)
    return replace(rows, weights=w)


def test_linearized_se_equals_statsmodels_wls_hc1() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    w = rng.choice([1.0, 4.0, 9.5], size=300)
    fit = sm.WLS(x, np.ones(300), weights=w).fit(cov_type="HC1")
    est = weighted_mean_interval(x, w, confidence=0.95)
    assert est.value == pytest.approx(float(fit.params[0]), rel=1e-12)
    assert np.sqrt(linearized_variance(x, w)) == pytest.approx(float(fit.bse[0]), rel=1e-10)
    assert est.method == "weighted-linearized"


def test_clustered_linearized_se_equals_statsmodels_cluster_robust() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=240)
    w = rng.choice([1.0, 3.0], size=240)
    groups = np.arange(240) // 6
    fit = sm.WLS(x, np.ones(240), weights=w).fit(
        cov_type="cluster", cov_kwds={"groups": groups, "use_correction": False}
    )
    ours = np.sqrt(linearized_variance(x, w, cluster=groups))
    # statsmodels without its small-sample factor is sum over clusters; ours adds G/(G-1)
    g = 40
    assert ours == pytest.approx(float(fit.bse[0]) * np.sqrt(g / (g - 1)), rel=1e-10)


def test_weighted_paired_matches_wls_on_differences() -> None:
    rng = np.random.default_rng(2)
    a = rng.integers(0, 2, 500).astype(float)
    b = np.where(rng.random(500) < 0.8, a, 1 - a)
    w = rng.choice([1.0, 2.0, 5.0], size=500)
    fit = sm.WLS(a - b, np.ones(500), weights=w).fit(cov_type="HC1", use_t=True)
    diff = weighted_paired(a, b, w)
    assert diff.delta == pytest.approx(float(fit.params[0]))
    # statsmodels' HC t-test uses df_resid = n - 1, as ours does
    assert diff.p_value == pytest.approx(float(fit.pvalues[0]), rel=1e-8)
    low, high = fit.conf_int(0.05)[0]
    assert (diff.ci_low, diff.ci_high) == pytest.approx((low, high), rel=1e-8)


def test_weighted_accuracy_and_f1_equal_sklearn_sample_weight() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 600)
    pred = np.where(rng.random(600) < 0.7, y, rng.integers(0, 3, 600))
    w = rng.choice([1.0, 2.5, 12.0], size=600)
    rows = _classified(y, pred, w)
    est = estimate_all(rows, config=StatsConfig(n_resamples=200))
    assert est["accuracy"].value == pytest.approx(accuracy_score(y, pred, sample_weight=w))
    assert est["macro_f1"].value == pytest.approx(
        f1_score(y, pred, average="macro", sample_weight=w)
    )
    assert est["f1:b"].value == pytest.approx(
        f1_score(y, pred, labels=[1], average="macro", sample_weight=w)
    )
    assert point_value(rows, "macro_f1") == pytest.approx(est["macro_f1"].value)
    assert est["accuracy"].method == "weighted-linearized"
    assert est["macro_f1"].method == "bootstrap-percentile-weighted"
    # the unweighted value differs: the weights do something
    assert abs(point_value(replace(rows, weights=None), "accuracy") - est["accuracy"].value) > 1e-3


def test_weighted_regression_metrics_equal_sklearn_sample_weight() -> None:
    rng = np.random.default_rng(4)
    y = rng.normal(size=400)
    pred = y + rng.normal(scale=0.5, size=400)
    w = rng.choice([1.0, 3.0, 7.0], size=400)
    rows = replace(score_regression(y, pred, metrics=["mae", "r2"], model="m"), weights=w)
    est = estimate_all(rows, config=StatsConfig(n_resamples=100))
    assert est["mae"].value == pytest.approx(mean_absolute_error(y, pred, sample_weight=w))
    assert est["r2"].value == pytest.approx(r2_score(y, pred, sample_weight=w))


def test_weighted_block_sums_are_weighted_sums() -> None:
    rng = np.random.default_rng(5)
    codes = rng.integers(0, 4, 1000)
    w = rng.choice([1.0, 2.0, 8.0], size=1000)
    block = StatBlock.cells(codes, 4)
    weighted = weighted_block(block, w)
    expected = np.bincount(codes, weights=w, minlength=4)
    np.testing.assert_allclose(weighted.sums(), expected)
    assert weighted.n_cells <= 12  # a few cells: the bootstrap keeps its multinomial draw
    dense = weighted_block(StatBlock.dense(rng.normal(size=(50, 2))), rng.random(50) + 0.5)
    assert dense.n_cells == 50


def test_auc_with_weights_is_refused_not_computed_unweighted() -> None:
    rng = np.random.default_rng(6)
    y = rng.integers(0, 3, 200)
    pred = np.where(rng.random(200) < 0.7, y, rng.integers(0, 3, 200))
    rows = _classified(y, pred, np.full(200, 2.0), proba=True)
    with pytest.raises(MetricError, match=r"roc_auc.*no weighted estimate"):
        estimate_all(rows, config=StatsConfig(n_resamples=50))
    with pytest.raises(MetricError, match="roc_auc"):
        compare_all(rows, rows, config=StatsConfig(n_resamples=50))


def test_bad_weights_raise_metric_error() -> None:
    rows = _classified(np.array([0, 1, 2, 0]), np.array([0, 1, 1, 0]), np.array([1.0, -1.0, 2, 2]))
    with pytest.raises(MetricError, match="positive finite"):
        estimate_all(rows, config=StatsConfig(n_resamples=50))


def test_weighted_comparison_names_its_tests_and_mde() -> None:
    rng = np.random.default_rng(7)
    y = rng.integers(0, 3, 500)
    a = np.where(rng.random(500) < 0.8, y, rng.integers(0, 3, 500))
    b = np.where(rng.random(500) < 0.6, y, rng.integers(0, 3, 500))
    w = rng.choice([1.0, 4.0], size=500)
    cand, base = _classified(y, a, w), _classified(y, b, w)
    diffs = compare_all(cand, base, config=StatsConfig(n_resamples=300))
    assert diffs["accuracy"].test == "weighted-paired-linearized"
    assert diffs["macro_f1"].test.endswith("-weighted")
    assert diffs["accuracy"].delta == pytest.approx(
        accuracy_score(y, a, sample_weight=w) - accuracy_score(y, b, sample_weight=w)
    )
    assert diffs["accuracy"].verdict == "better"
    mde = mde_for(cand, base, "accuracy", config=StatsConfig())
    assert "weighted" in mde.basis and mde.effect > 0
    with pytest.raises(MetricError, match="different sampling weights"):
        compare_all(cand, replace(base, weights=None), config=StatsConfig())


def _population(seed: int, size: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """A population where the rare class is also the hard one."""
    rng = np.random.default_rng(seed)
    y = rng.choice(3, size=size, p=[0.75, 0.2, 0.05])
    right = rng.random(size) < np.array([0.95, 0.7, 0.4])[y]
    wrong = (y + rng.integers(1, 3, size)) % 3
    return y, np.where(right, y, wrong)


@pytest.mark.slow
def test_stratified_sample_with_weights_recovers_the_population_metric() -> None:
    y, pred = _population(11, 20_000)
    table = pa.table({"label": [LABELS[i] for i in y]})
    truth_acc = accuracy_score(y, pred)
    truth_f1 = f1_score(y, pred, average="macro")
    config = StatsConfig(n_resamples=400)
    seeds = 300
    found: dict[str, list[tuple[float, float, float]]] = {"w_acc": [], "u_acc": [], "w_f1": []}
    for seed in range(seeds):
        drawn = stratified_sample(table, n=400, stratify="label", min_per_class=60, seed=seed)
        yi, pi = y[drawn.rows], pred[drawn.rows]
        weighted = estimate_all(_classified(yi, pi, drawn.weights), config=config)
        plain = estimate_all(_classified(yi, pi, None), config=config)
        for key, est in (
            ("w_acc", weighted["accuracy"]),
            ("u_acc", plain["accuracy"]),
            ("w_f1", weighted["macro_f1"]),
        ):
            found[key].append((est.value, est.ci_low, est.ci_high))

    def summary(key: str, truth: float) -> tuple[float, float, float]:
        arr = np.asarray(found[key])
        bias = float(arr[:, 0].mean() - truth)
        mc_se = float(arr[:, 0].std(ddof=1) / np.sqrt(seeds))
        cover = float(np.mean((arr[:, 1] <= truth) & (truth <= arr[:, 2])))
        return bias, mc_se, cover

    bias, mc_se, cover = summary("w_acc", truth_acc)
    assert abs(bias) < 3.5 * mc_se, (bias, mc_se)
    assert 0.92 <= cover <= 0.99, cover
    bias, mc_se, cover = summary("u_acc", truth_acc)
    assert bias < -0.03 and abs(bias) > 10 * mc_se, (bias, mc_se)
    assert cover < 0.6, cover
    bias, mc_se, cover = summary("w_f1", truth_f1)
    assert abs(bias) < 0.01, (bias, mc_se)
    assert 0.92 <= cover <= 0.99, cover
