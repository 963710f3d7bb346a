from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

from heldout import MetricError
from heldout.stats import HeldoutStatsWarning, mcnemar, paired_proportions, paired_ttest


def _pairs(wins: int, losses: int, both: int = 30, neither: int = 10) -> tuple[np.ndarray, ...]:
    """0/1 scores with the given discordant counts (candidate right, baseline wrong = win)."""
    a = np.array([1] * wins + [0] * losses + [1] * both + [0] * neither)
    b = np.array([0] * wins + [1] * losses + [1] * both + [0] * neither)
    return a, b


def _table(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.array(
        [
            [np.sum((a == 1) & (b == 1)), np.sum((a == 1) & (b == 0))],
            [np.sum((a == 0) & (b == 1)), np.sum((a == 0) & (b == 0))],
        ]
    )


@pytest.mark.parametrize(("wins", "losses"), [(0, 0), (3, 3), (1, 9), (12, 12), (20, 4), (0, 24)])
def test_mcnemar_is_exact_below_25_discordant_pairs_and_matches_statsmodels(
    wins: int, losses: int
) -> None:
    a, b = _pairs(wins, losses)
    result = mcnemar(a, b)
    ref = sm_mcnemar(_table(a, b), exact=True)
    assert result.test == "mcnemar-exact"
    assert result.p_value == pytest.approx(float(ref.pvalue), rel=1e-12)
    assert result.statistic == float(ref.statistic)


@pytest.mark.parametrize(("wins", "losses"), [(13, 12), (20, 5), (40, 60), (300, 250), (500, 500)])
def test_mcnemar_is_chi2_with_continuity_from_25_discordant_pairs(wins: int, losses: int) -> None:
    a, b = _pairs(wins, losses)
    result = mcnemar(a, b)
    ref = sm_mcnemar(_table(a, b), exact=False, correction=True)
    assert result.test == "mcnemar-chi2"
    assert result.p_value == pytest.approx(float(ref.pvalue), rel=1e-12)
    assert result.statistic == pytest.approx(float(ref.statistic), rel=1e-12)


def test_mcnemar_rejects_non_binary_scores() -> None:
    with pytest.raises(MetricError, match="0/1"):
        mcnemar(np.array([0.5, 1.0]), np.array([0.0, 1.0]))


def test_mcnemar_rejects_scores_of_different_examples() -> None:
    with pytest.raises(MetricError, match="same examples"):
        mcnemar(np.array([0, 1, 1]), np.array([0, 1]))


def test_paired_proportions_reports_mcnemar_and_wald_interval() -> None:
    a, b = _pairs(40, 15, both=300, neither=145)
    diff = paired_proportions(a, b, confidence=0.95)
    n = a.shape[0]
    delta = (40 - 15) / n
    p_disc = 55 / n
    half = stats.norm.ppf(0.975) * np.sqrt((p_disc - delta**2) / n)
    assert diff.test == "mcnemar-chi2"
    assert diff.delta == pytest.approx(delta)
    assert (diff.ci_low, diff.ci_high) == pytest.approx((delta - half, delta + half))
    assert diff.p_value == pytest.approx(float(sm_mcnemar(_table(a, b), exact=False).pvalue))
    assert diff.n == n


def test_paired_proportions_reject_non_binary_scores_even_with_clusters() -> None:
    with pytest.raises(MetricError, match="0/1"):
        paired_proportions(np.array([0.5, 1.0]), np.array([0.0, 1.0]), cluster=np.array([0, 1]))


def test_paired_proportions_of_identical_models_is_not_significant() -> None:
    a, _ = _pairs(0, 0)
    diff = paired_proportions(a, a.copy())
    assert diff.delta == 0.0 and diff.p_value == 1.0
    assert diff.ci_low == diff.ci_high == 0.0


def test_paired_ttest_matches_scipy_ttest_rel() -> None:
    rng = np.random.default_rng(21)
    base = rng.normal(size=80)
    cand = base + 0.2 + rng.normal(scale=0.5, size=80)
    diff = paired_ttest(cand, base, confidence=0.9)
    ref = stats.ttest_rel(cand, base)
    d = cand - base
    ci = stats.t.interval(0.9, 79, loc=d.mean(), scale=stats.sem(d))
    assert diff.test == "paired-t"
    assert diff.p_value == pytest.approx(float(ref.pvalue), rel=1e-10)
    assert (diff.ci_low, diff.ci_high) == pytest.approx(ci, rel=1e-12)
    assert diff.confidence == 0.9


def test_paired_ttest_with_constant_nonzero_difference_is_significant() -> None:
    base = np.arange(10.0)
    diff = paired_ttest(base + 1.0, base)
    assert diff.p_value == 0.0 and diff.ci_low == diff.ci_high == 1.0


def test_paired_ttest_of_one_example_warns() -> None:
    with pytest.warns(HeldoutStatsWarning, match="one example"):
        diff = paired_ttest(np.array([1.0]), np.array([0.0]))
    assert np.isnan(diff.p_value)


def test_clustered_paired_ttest_matches_cluster_robust_ols_on_differences() -> None:
    rng = np.random.default_rng(22)
    cluster = rng.integers(0, 30, size=400)
    base = rng.normal(size=400)
    cand = base + 0.1 + rng.normal(size=30)[cluster] * 0.5 + rng.normal(size=400) * 0.3
    diff = paired_ttest(cand, base, cluster=cluster)
    fit = sm.OLS(cand - base, np.ones(400)).fit(
        cov_type="cluster", cov_kwds={"groups": cluster}, use_t=True
    )
    assert diff.test == "paired-t-clustered"
    assert diff.p_value == pytest.approx(float(fit.pvalues[0]), rel=1e-8)
    assert (diff.ci_low, diff.ci_high) == pytest.approx(tuple(fit.conf_int(0.05)[0]), rel=1e-10)


def test_clustered_paired_proportions_uses_normal_cluster_robust_test() -> None:
    rng = np.random.default_rng(23)
    cluster = np.repeat(np.arange(50), 8)
    base = rng.integers(0, 2, size=400)
    cand = np.where(rng.random(50)[cluster] < 0.3, 1, base)
    diff = paired_proportions(cand, base, cluster=cluster)
    fit = sm.OLS((cand - base).astype(float), np.ones(400)).fit(
        cov_type="cluster", cov_kwds={"groups": cluster}
    )
    assert diff.test == "paired-z-clustered"
    assert diff.p_value == pytest.approx(float(fit.pvalues[0]), rel=1e-8)
    assert (diff.ci_low, diff.ci_high) == pytest.approx(tuple(fit.conf_int(0.05)[0]), rel=1e-10)


def test_clustered_paired_test_is_less_confident_than_naive_with_correlated_clusters() -> None:
    rng = np.random.default_rng(24)
    cluster = np.repeat(np.arange(40), 10)
    base = rng.normal(size=400)
    cand = base + 0.15 + rng.normal(size=40)[cluster]
    naive = paired_ttest(cand, base)
    clustered = paired_ttest(cand, base, cluster=cluster)
    assert clustered.ci_high - clustered.ci_low > 2 * (naive.ci_high - naive.ci_low)
    assert clustered.p_value > naive.p_value
