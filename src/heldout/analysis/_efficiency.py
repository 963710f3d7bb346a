"""What a live model's answers cost: latency, tokens, throughput and money, with intervals.

``latency_p50_s`` / ``latency_p95_s``
    Quantiles of the per-call latency. Their interval is the distribution-free one from
    order statistics: the ranks ``l < u`` around ``q·n`` such that a Binomial(n, q) count
    falls in ``[l, u)`` with at least the asked confidence.
``input_tokens`` / ``output_tokens``
    Mean tokens per example (summed over the example's calls), Student-t interval.
``output_tokens_per_s``
    Output tokens over the time spent generating them, a ratio of means with a
    delta-method interval over examples.
``cost``
    Mean cost per example from the model's per-token prices, Student-t interval.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from heldout._util._scipy import special
from heldout.models import CallStats
from heldout.stats import Estimate
from heldout.stats._intervals import t_critical, z_critical

__all__ = ["efficiency_estimates", "quantile_interval"]


def quantile_interval(
    values: NDArray[np.float64], q: float, *, confidence: float = 0.95
) -> Estimate:
    """The ``q`` quantile of ``values`` with its order-statistic confidence interval.

    Example:
        >>> est = quantile_interval(np.arange(1.0, 101.0), 0.5)
        >>> est.value, est.ci_low, est.ci_high
        (50.5, 40.0, 61.0)
    """
    x = np.sort(np.asarray(values, dtype=np.float64))
    n = int(x.size)
    value = float(np.quantile(x, q))
    alpha = 1.0 - confidence
    low_rank = _binomial_quantile(alpha / 2, n, q)  # order statistics are 1-based
    high_rank = _binomial_quantile(1 - alpha / 2, n, q) + 1
    low = float(x[low_rank - 1]) if low_rank >= 1 else -math.inf
    high = float(x[high_rank - 1]) if high_rank <= n else math.inf
    return Estimate(value, low, high, n, "order-statistic", confidence)


def _binomial_quantile(p: float, n: int, q: float) -> int:
    """The smallest k with P(Binomial(n, q) <= k) >= p (``scipy.stats.binom.ppf``)."""
    cdf = special.bdtr(np.arange(n + 1), n, q)
    return int(np.searchsorted(cdf, p * (1 - 1e-12), side="left"))


def _mean(values: NDArray[np.float64], confidence: float) -> Estimate | None:
    x = values[np.isfinite(values)]
    n = int(x.size)
    if n == 0:
        return None
    mean = float(x.mean())
    if n < 2:
        return Estimate(mean, math.nan, math.nan, n, "t", confidence)
    half = float(t_critical(confidence, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return Estimate(mean, mean - half, mean + half, n, "t", confidence)


def _ratio(
    num: NDArray[np.float64], den: NDArray[np.float64], confidence: float
) -> Estimate | None:
    keep = np.isfinite(num) & np.isfinite(den)
    a, b = num[keep], den[keep]
    n = int(a.size)
    if n < 2 or b.sum() <= 0:
        return None
    ratio = float(a.sum() / b.sum())
    # delta method for a ratio of means: residuals a - r·b
    resid = a - ratio * b
    se = float(np.sqrt(resid.var(ddof=1) / n) / b.mean())
    z = z_critical(confidence)
    return Estimate(ratio, ratio - z * se, ratio + z * se, n, "delta-ratio", confidence)


def efficiency_estimates(calls: CallStats, *, confidence: float = 0.95) -> dict[str, Estimate]:
    """Latency, token and cost figures of one model on one task, each with an interval."""
    out: dict[str, Estimate] = {}
    if calls.latency_s.size:
        out["latency_p50_s"] = quantile_interval(calls.latency_s, 0.5, confidence=confidence)
        out["latency_p95_s"] = quantile_interval(calls.latency_s, 0.95, confidence=confidence)
    for name, values in (
        ("input_tokens", calls.input_tokens),
        ("output_tokens", calls.output_tokens),
    ):
        est = _mean(values, confidence)
        if est is not None:
            out[name] = est
    if calls.example_latency_s is not None:
        est = _ratio(calls.output_tokens, calls.example_latency_s, confidence)
        if est is not None:
            out["output_tokens_per_s"] = est
    if calls.cost is not None:
        est = _mean(calls.cost, confidence)
        if est is not None:
            out["cost"] = est
    return out
