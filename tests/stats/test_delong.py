from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from heldout import MetricError
from heldout.stats import (
    HeldoutStatsWarning,
    delong_auc,
    delong_influence,
    delong_paired,
    influence_variance,
)


def _placements(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """O(m * n) placement values straight from DeLong's definition."""
    pos, neg = s[y == 1], s[y == 0]
    kernel = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    return kernel.mean(axis=1), kernel.mean(axis=0), float(kernel.mean())


def _reference_variance(y: np.ndarray, s: np.ndarray) -> float:
    v10, v01, _ = _placements(y, s)
    return float(v10.var(ddof=1) / v10.size + v01.var(ddof=1) / v01.size)


def _reference_paired_variance(y: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    a10, a01, _ = _placements(y, a)
    b10, b01, _ = _placements(y, b)
    s10, s01 = np.cov(a10, b10), np.cov(a01, b01)
    return float(
        (s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / a10.size
        + (s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]) / a01.size
    )


def _binary(n: int, seed: int, *, ties: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n)
    s = rng.normal(size=n) + 0.8 * y
    return y, (np.round(s, 1) if ties else s)


@pytest.mark.parametrize("ties", [False, True])
def test_binary_auc_equals_sklearn(ties: bool) -> None:
    y, s = _binary(700, 31, ties=ties)
    assert delong_influence(y, s).auc == pytest.approx(roc_auc_score(y, s), abs=1e-9)


@pytest.mark.parametrize("ties", [False, True])
def test_binary_variance_equals_brute_force_delong(ties: bool) -> None:
    y, s = _binary(400, 32, ties=ties)
    infl = delong_influence(y, s)
    assert infl.auc == pytest.approx(_placements(y, s)[2], abs=1e-12)
    assert influence_variance(infl) == pytest.approx(_reference_variance(y, s), rel=1e-10)


def test_delong_interval_is_normal_around_the_auc() -> None:
    y, s = _binary(300, 33, ties=False)
    est = delong_auc(y, s, confidence=0.9)
    half = stats.norm.ppf(0.95) * np.sqrt(_reference_variance(y, s))
    assert est.method == "delong"
    assert (est.ci_low, est.ci_high) == pytest.approx((est.value - half, est.value + half))


def test_two_column_scores_reproduce_binary_delong() -> None:
    y, s = _binary(250, 34, ties=True)
    p = stats.norm.cdf(s)
    binary = delong_influence(y, p)
    two = delong_influence(y, np.column_stack([1 - p, p]))
    assert two.auc == pytest.approx(binary.auc, abs=1e-12)
    assert influence_variance(two) == pytest.approx(influence_variance(binary), rel=1e-10)


def _multiclass(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, size=n)
    logits = rng.normal(size=(n, 4)) + 1.2 * np.eye(4)[y]
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, probs


def test_multiclass_macro_auc_equals_sklearn_ovr() -> None:
    y, probs = _multiclass(600, 35)
    ref = roc_auc_score(y, probs, multi_class="ovr", average="macro")
    assert delong_influence(y, probs).auc == pytest.approx(ref, abs=1e-9)


def test_multiclass_variance_agrees_with_bootstrap_of_macro_auc() -> None:
    y, probs = _multiclass(300, 36)
    rng = np.random.default_rng(0)
    boot = []
    # The point AUC equals sklearn's (test above); the faster one keeps this test quick.
    for _ in range(600):
        idx = rng.integers(0, 300, size=300)
        boot.append(delong_influence(y[idx], probs[idx]).auc)
    ratio = influence_variance(delong_influence(y, probs)) / np.var(boot, ddof=1)
    assert 0.75 < ratio < 1.33


def test_multiclass_class_without_positives_is_left_out_with_warning() -> None:
    y, probs = _multiclass(200, 37)
    keep = y != 2
    with pytest.warns(HeldoutStatsWarning, match=r"classes \[2\]"):
        infl = delong_influence(y[keep], probs[keep])
    per_class = [roc_auc_score(y[keep] == c, probs[keep][:, c]) for c in (0, 1, 3)]
    assert infl.auc == pytest.approx(np.mean(per_class), abs=1e-12)
    assert infl.n_classes == 3


def test_auc_with_one_class_raises_metric_error() -> None:
    with pytest.raises(MetricError, match="undefined"):
        delong_influence(np.ones(10, dtype=int), np.linspace(0, 1, 10))


@pytest.mark.parametrize(
    ("y", "scores", "message"),
    [
        (np.array([0, 1, 2]), np.array([0.1, 0.2, 0.3]), "labels must lie"),
        (np.array([0, 1]), np.array([0.1, np.nan]), "nan or infinite"),
        (np.array([0, 1, 1]), np.array([0.1, 0.2]), "shape"),
    ],
)
def test_auc_rejects_bad_input(y: np.ndarray, scores: np.ndarray, message: str) -> None:
    with pytest.raises(MetricError, match=message):
        delong_influence(y, scores)


def test_paired_delong_variance_equals_brute_force_covariance() -> None:
    y, a = _binary(350, 38, ties=True)
    b = np.round(a + np.random.default_rng(1).normal(scale=0.7, size=350), 1)
    diff = delong_paired(y, a, b, confidence=0.95)
    se = np.sqrt(_reference_paired_variance(y, a, b))
    delta = roc_auc_score(y, a) - roc_auc_score(y, b)
    assert diff.test == "delong"
    assert diff.delta == pytest.approx(delta, abs=1e-12)
    assert diff.p_value == pytest.approx(2 * stats.norm.sf(abs(delta) / se), rel=1e-8)
    half = stats.norm.ppf(0.975) * se
    assert (diff.ci_low, diff.ci_high) == pytest.approx((delta - half, delta + half))


def test_paired_delong_of_identical_scores_is_not_significant() -> None:
    y, a = _binary(100, 39, ties=False)
    diff = delong_paired(y, a, a.copy())
    assert diff.delta == 0.0 and diff.p_value == 1.0


def test_clustered_auc_is_wider_when_examples_are_duplicated_within_clusters() -> None:
    y, s = _binary(300, 40, ties=False)
    y5, s5 = np.repeat(y, 5), np.repeat(s, 5)
    cluster = np.repeat(np.arange(300), 5)
    naive = delong_auc(y5, s5)
    clustered = delong_auc(y5, s5, cluster=cluster)
    original = delong_auc(y, s)
    assert clustered.method == "delong-clustered"
    assert clustered.ci_high - clustered.ci_low > 2 * (naive.ci_high - naive.ci_low)
    width = original.ci_high - original.ci_low
    assert clustered.ci_high - clustered.ci_low == pytest.approx(width, rel=0.05)


def test_clustered_variance_sums_placement_influence_within_clusters() -> None:
    rng = np.random.default_rng(43)
    y = (rng.random(120) < 0.15).astype(int)
    s = rng.normal(size=120) + y
    cluster = rng.integers(0, 25, size=120)
    v10, v01, auc = _placements(y, s)
    psi = np.empty(120)
    psi[y == 1] = (v10 - auc) / v10.size
    psi[y == 0] = (v01 - auc) / v01.size
    sums = np.bincount(np.unique(cluster, return_inverse=True)[1], weights=psi)
    g = sums.size
    expected = g / (g - 1) * np.sum(sums**2)
    assert influence_variance(delong_influence(y, s), cluster) == pytest.approx(expected, rel=1e-10)


def test_clustered_paired_delong_names_its_test() -> None:
    y, a = _binary(200, 41, ties=False)
    b = a + np.random.default_rng(2).normal(size=200)
    diff = delong_paired(y, a, b, cluster=np.arange(200) // 4)
    assert diff.test == "delong-clustered"
    assert diff.ci_low < diff.delta < diff.ci_high


def test_influence_of_a_ranking_is_computed_once_and_never_stale() -> None:
    from heldout.scoring import Ranking
    from heldout.stats import delong_influence

    y, s = _binary(500, 7, ties=False)
    ranking = Ranking(y=y, scores=s)
    first = delong_influence(ranking.y, ranking.scores)
    assert delong_influence(ranking.y, ranking.scores) is first  # reused
    s[:] = 0.0  # the caller's array changes; the ranking kept its own copy
    assert delong_influence(ranking.y, ranking.scores) is first
    writable = np.array(ranking.scores)
    assert delong_influence(np.array(ranking.y), writable) is not first  # never cached
    assert delong_influence(np.array(ranking.y), writable).auc == first.auc
