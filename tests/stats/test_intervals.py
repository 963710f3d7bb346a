from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from heldout import MetricError
from heldout.stats import HeldoutStatsWarning, mean_interval, wilson_interval


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
@pytest.mark.parametrize(("successes", "n"), [(0, 1), (0, 20), (3, 20), (20, 20), (517, 1000)])
def test_wilson_matches_statsmodels(successes: int, n: int, confidence: float) -> None:
    low, high = wilson_interval(successes, n, confidence=confidence)
    ref_low, ref_high = proportion_confint(successes, n, alpha=1 - confidence, method="wilson")
    assert low == pytest.approx(max(ref_low, 0.0), abs=1e-12)
    assert high == pytest.approx(min(ref_high, 1.0), abs=1e-12)


def test_wilson_rejects_empty_sample() -> None:
    with pytest.raises(MetricError, match="n=0"):
        wilson_interval(0, 0)


def test_binary_mean_without_clusters_uses_wilson() -> None:
    x = np.array([1, 0, 1, 1, 0, 1, 1, 1])
    est = mean_interval(x, confidence=0.95)
    assert est.method == "wilson"
    assert est.value == pytest.approx(0.75)
    ref = proportion_confint(6, 8, alpha=0.05, method="wilson")
    assert (est.ci_low, est.ci_high) == pytest.approx(ref, abs=1e-12)


def test_continuous_mean_interval_matches_scipy_t_interval() -> None:
    x = np.random.default_rng(3).exponential(size=57)
    est = mean_interval(x, confidence=0.9)
    ref = stats.t.interval(0.9, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert est.method == "clt"
    assert (est.ci_low, est.ci_high) == pytest.approx(ref, rel=1e-12)
    assert est.n == 57 and est.confidence == 0.9


def test_forcing_clt_on_binary_scores_uses_t_interval() -> None:
    x = np.array([0.0, 1.0] * 20)
    est = mean_interval(x, binary=False)
    assert est.method == "clt"
    ref = stats.t.interval(0.95, 39, loc=0.5, scale=stats.sem(x))
    assert (est.ci_low, est.ci_high) == pytest.approx(ref)


def test_clustered_interval_matches_statsmodels_cluster_robust_ols() -> None:
    rng = np.random.default_rng(4)
    cluster = rng.integers(0, 23, size=300)
    x = rng.normal(size=23)[cluster] + rng.normal(size=300)
    est = mean_interval(x, cluster=cluster, confidence=0.95)
    fit = sm.OLS(x, np.ones_like(x)).fit(
        cov_type="cluster", cov_kwds={"groups": cluster}, use_t=True
    )
    ref_low, ref_high = fit.conf_int(alpha=0.05)[0]
    assert est.method == "clt-clustered"
    assert est.value == pytest.approx(float(fit.params[0]))
    assert (est.ci_low, est.ci_high) == pytest.approx((ref_low, ref_high), rel=1e-10)


def test_clustered_interval_accepts_string_cluster_ids() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 7.0])
    by_int = mean_interval(x, cluster=np.array([0, 0, 1, 1, 2, 2]))
    by_str = mean_interval(x, cluster=np.array(["a", "a", "b", "b", "c", "c"]))
    assert by_int == by_str


def test_clustered_interval_is_wider_when_clusters_are_strongly_correlated() -> None:
    rng = np.random.default_rng(5)
    cluster = np.repeat(np.arange(60), 10)
    x = rng.normal(size=60)[cluster] + 0.2 * rng.normal(size=600)
    naive = mean_interval(x)
    clustered = mean_interval(x, cluster=cluster)
    naive_width = naive.ci_high - naive.ci_low
    assert clustered.ci_high - clustered.ci_low > 2.5 * naive_width


def test_clustered_binary_interval_stays_in_unit_range() -> None:
    x = np.array([1, 1, 1, 1, 1, 1, 1, 0])
    est = mean_interval(x, cluster=np.array([0, 0, 1, 1, 2, 2, 3, 3]))
    assert est.method == "clt-clustered"
    assert 0.0 <= est.ci_low <= est.value <= est.ci_high <= 1.0


def test_mean_of_one_example_warns_and_has_undefined_interval() -> None:
    with pytest.warns(HeldoutStatsWarning, match="one example"):
        est = mean_interval(np.array([0.3]))
    assert est.value == 0.3
    assert np.isnan(est.ci_low) and np.isnan(est.ci_high)


def test_single_cluster_warns_and_has_undefined_interval() -> None:
    with pytest.warns(HeldoutStatsWarning, match="one cluster"):
        est = mean_interval(np.array([0.3, 0.5]), cluster=np.array([7, 7]))
    assert np.isnan(est.ci_low)


@pytest.mark.parametrize(
    ("x", "cluster", "message"),
    [
        (np.array([]), None, "at least one example"),
        (np.array([1.0, np.nan]), None, "nan or infinite"),
        (np.array([1.0, 2.0]), np.array([0, 1, 2]), "one id per example"),
    ],
)
def test_mean_interval_rejects_bad_input(
    x: np.ndarray, cluster: np.ndarray | None, message: str
) -> None:
    with pytest.raises(MetricError, match=message):
        mean_interval(x, cluster=cluster)


def test_scores_declared_binary_must_be_zero_or_one() -> None:
    with pytest.raises(MetricError, match="other than 0 and 1"):
        mean_interval(np.array([0.0, 0.5, 1.0]), binary=True)


def test_wilson_interval_covers_true_proportion_at_nominal_rate() -> None:
    rng = np.random.default_rng(11)
    truth, n = 0.3, 100
    successes = rng.binomial(n, truth, size=2000)
    covered = [
        (ci := wilson_interval(int(s), n, confidence=0.95)).low <= truth <= ci.high
        for s in successes
    ]
    assert 0.92 <= np.mean(covered) <= 0.98


def test_clt_interval_covers_true_mean_of_skewed_scores() -> None:
    rng = np.random.default_rng(12)
    samples = rng.exponential(scale=2.0, size=(1000, 200))
    covered = []
    for x in samples:
        est = mean_interval(x)
        covered.append(est.ci_low <= 2.0 <= est.ci_high)
    assert 0.92 <= np.mean(covered) <= 0.98


def test_clustered_interval_keeps_coverage_where_naive_interval_loses_it() -> None:
    rng = np.random.default_rng(13)
    cluster = np.repeat(np.arange(80), 6)
    clustered_hits, naive_hits = [], []
    for _ in range(400):
        x = rng.normal(size=80)[cluster] + rng.normal(size=cluster.shape[0])
        clustered = mean_interval(x, cluster=cluster)
        naive = mean_interval(x)
        clustered_hits.append(clustered.ci_low <= 0.0 <= clustered.ci_high)
        naive_hits.append(naive.ci_low <= 0.0 <= naive.ci_high)
    assert 0.92 <= np.mean(clustered_hits) <= 0.98
    assert np.mean(naive_hits) < 0.85
