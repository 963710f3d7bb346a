"""Latency quantiles, token means, throughput and cost, with their intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from heldout.analysis import efficiency_estimates, quantile_interval
from heldout.models import CallStats


def test_quantile_interval_is_the_order_statistic_interval() -> None:
    x = np.arange(1.0, 101.0)
    est = quantile_interval(x, 0.5, confidence=0.95)
    assert est.value == pytest.approx(50.5)
    # ranks from the Binomial(100, 0.5) quantiles: 40 and 61 (1-based)
    assert (est.ci_low, est.ci_high) == (40.0, 61.0)
    assert est.method == "order-statistic"
    # the interval's guaranteed coverage is at least the asked confidence
    cover = sps.binom.cdf(60, 100, 0.5) - sps.binom.cdf(39, 100, 0.5)
    assert cover >= 0.95


def test_quantile_interval_covers_the_true_quantile_as_promised() -> None:
    rng = np.random.default_rng(3)
    true_p95 = sps.expon.ppf(0.95)
    hits = 0
    trials = 400
    for _ in range(trials):
        est = quantile_interval(rng.exponential(size=200), 0.95)
        hits += est.ci_low <= true_p95 <= est.ci_high
    assert hits / trials >= 0.92


def test_small_samples_have_open_ended_quantile_intervals() -> None:
    est = quantile_interval(np.array([0.1, 0.2, 0.3]), 0.95)
    assert est.ci_high == math.inf


def test_efficiency_estimates_from_call_stats() -> None:
    calls = CallStats(
        latency_s=np.array([0.1, 0.2, 0.3, 0.4]),
        input_tokens=np.array([10.0, 20.0, 30.0, 40.0]),
        output_tokens=np.array([5.0, 5.0, 10.0, np.nan]),
        cost=np.array([1.0, 2.0, 3.0, 4.0]),
        example_latency_s=np.array([0.1, 0.2, 0.3, 0.4]),
        calls=4,
    )
    out = efficiency_estimates(calls)
    assert out["input_tokens"].value == pytest.approx(25.0)
    low, high = sps.t.interval(0.95, 3, loc=25.0, scale=np.std([10, 20, 30, 40], ddof=1) / 2)
    assert (out["input_tokens"].ci_low, out["input_tokens"].ci_high) == pytest.approx((low, high))
    assert out["output_tokens"].n == 3
    assert out["output_tokens_per_s"].value == pytest.approx(20.0 / 0.6)
    assert out["cost"].value == pytest.approx(2.5)
    assert out["latency_p50_s"].value == pytest.approx(0.25)


@pytest.mark.parametrize(("n", "q"), [(1, 0.5), (7, 0.95), (100, 0.5), (1000, 0.95), (50, 0.05)])
def test_order_statistic_ranks_match_scipy(n: int, q: float) -> None:
    x = np.arange(1.0, n + 1.0)
    est = quantile_interval(x, q, confidence=0.9)
    low = int(sps.binom.ppf(0.05, n, q))
    high = int(sps.binom.ppf(0.95, n, q)) + 1
    assert est.ci_low == (x[low - 1] if low >= 1 else -math.inf)
    assert est.ci_high == (x[high - 1] if high <= n else math.inf)
