"""Intervals for a mean of per-example scores: Wilson for 0/1 scores, CLT otherwise.

Critical values: an unclustered mean of continuous scores uses Student's t with ``n - 1``
degrees of freedom (exactly ``scipy.stats.t.interval(confidence, n - 1, mean, sem)``); it is
never narrower than the normal interval and is the normal interval for all practical
purposes once ``n`` reaches a few hundred. A clustered mean uses t with ``G - 1`` degrees of
freedom for ``G`` clusters, the convention of Stata and of statsmodels'
``cov_type="cluster"`` with ``use_t=True``, which keeps few-cluster intervals honest.
"""

from __future__ import annotations

import math
import warnings
from statistics import NormalDist
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from heldout._errors import MetricError
from heldout._util._scipy import special
from heldout.stats._clusters import cluster_codes, clustered_variance
from heldout.stats._config import HeldoutStatsWarning
from heldout.stats._types import Estimate

__all__ = ["Interval", "mean_interval", "t_critical", "wilson_interval", "z_critical"]


_NORMAL = NormalDist()


class Interval(NamedTuple):
    """A confidence interval ``[low, high]``."""

    low: float
    high: float


def z_critical(confidence: float) -> float:
    """Two-sided standard normal critical value, ``Phi^-1(1 - alpha / 2)``.

    From the standard library (Wichura's AS241, within 2e-15 of SciPy's ``ndtri``), so an
    interval that needs only this never imports SciPy.
    """
    p = 0.5 + confidence / 2.0
    if p >= 1.0:  # a confidence that rounds to 1: the interval is unbounded, as ndtri says
        return math.inf
    return _NORMAL.inv_cdf(p)


def t_critical(confidence: float, df: float) -> float:
    """Two-sided Student t critical value with ``df`` degrees of freedom."""
    return float(special.stdtrit(df, 0.5 + confidence / 2.0))


def wilson_interval(successes: int, n: int, *, confidence: float = 0.95) -> Interval:
    """Wilson score interval for a binomial proportion.

    Equal to ``statsmodels.stats.proportion.proportion_confint(successes, n, alpha,
    method="wilson")``; unlike the Wald interval it stays inside ``[0, 1]`` and keeps its
    coverage for small ``n`` and proportions near 0 or 1.

    Args:
        successes: number of examples scored 1.
        n: number of examples.
        confidence: nominal coverage.

    Returns:
        The interval, clipped to ``[0, 1]`` against rounding.

    Raises:
        MetricError: if ``n`` is not positive or ``successes`` is outside ``[0, n]``.

    Example:
        >>> low, high = wilson_interval(45, 50, confidence=0.95)
        >>> round(low, 4), round(high, 4)
        (0.7864, 0.9565)
    """
    if n <= 0:
        raise MetricError("a proportion needs at least one example; got n=0 (an empty slice?)")
    if not 0 <= successes <= n:
        raise MetricError(f"successes must lie in [0, n={n}], got {successes}")
    z = z_critical(confidence)
    p = successes / n
    z2 = z * z
    denom = 1.0 + z2 / n
    center = (p + z2 / (2.0 * n)) / denom
    half = z * np.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / denom
    return Interval(low=max(0.0, float(center - half)), high=min(1.0, float(center + half)))


def _as_scores(x: NDArray[Any]) -> NDArray[np.float64]:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1:
        raise MetricError(f"per-example scores must be one-dimensional, got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise MetricError("a mean needs at least one example; got none (an empty slice?)")
    if not np.all(np.isfinite(arr)):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise MetricError(
            f"{bad} of {arr.shape[0]} per-example scores are nan or infinite; "
            "score every example with a finite value"
        )
    return arr


def is_binary(x: NDArray[np.float64]) -> bool:
    """Whether every value is exactly 0 or 1."""
    return bool(np.all((x == 0.0) | (x == 1.0)))


def undefined_interval(what: str) -> Interval:
    """Warn that an interval cannot be computed and return ``[nan, nan]``."""
    warnings.warn(f"{what}; the interval is undefined (nan)", HeldoutStatsWarning, stacklevel=3)
    return Interval(float("nan"), float("nan"))


def mean_interval(
    x: NDArray[Any],
    *,
    cluster: NDArray[Any] | None = None,
    confidence: float = 0.95,
    binary: bool | None = None,
) -> Estimate:
    """Mean of per-example scores with a confidence interval.

    Without clusters, 0/1 scores get the Wilson interval (method ``wilson``) and other scores
    the t interval ``mean +- t_{n-1} * sd / sqrt(n)`` (method ``clt``). With clusters the
    standard error is the CR1 cluster-robust one, ``sqrt(G/(G-1) * sum_g e_g**2) / n`` where
    ``e_g`` sums ``x_i - mean`` over cluster ``g``, with t on ``G - 1`` degrees of freedom
    (method ``clt-clustered``; clipped to ``[0, 1]`` for 0/1 scores).

    Args:
        x: per-example scores, shape ``(n,)``.
        cluster: optional cluster id of each example.
        confidence: nominal coverage.
        binary: whether the scores are 0/1; ``None`` checks the values.

    Returns:
        The estimate; its bounds are ``nan`` (with a :class:`HeldoutStatsWarning`) when the
        spread cannot be estimated (one example, or one cluster).

    Raises:
        MetricError: if ``x`` is empty or not finite, ``binary`` is set for scores that are
            not all 0 or 1, or ``cluster`` has the wrong length.
    """
    arr = _as_scores(x)
    n = int(arr.shape[0])
    value = float(arr.mean())
    is01 = is_binary(arr) if binary is None else binary
    if binary and not is_binary(arr):
        raise MetricError("scores passed as binary hold values other than 0 and 1")
    if cluster is None and is01:
        ci = wilson_interval(round(float(arr.sum())), n, confidence=confidence)
        return Estimate(value, ci.low, ci.high, n, "wilson", confidence)
    if cluster is None:
        if n < 2:
            ci = undefined_interval("a mean of one example has no spread")
        else:
            se = float(arr.std(ddof=1)) / np.sqrt(n)
            half = t_critical(confidence, n - 1) * se
            ci = Interval(value - half, value + half)
        return Estimate(value, ci.low, ci.high, n, "clt", confidence)
    clusters = cluster_codes(cluster, n)
    if clusters.n_clusters < 2:
        ci = undefined_interval("all examples share one cluster, so no clustered spread")
    else:
        var = clustered_variance((arr - value) / n, clusters)
        half = t_critical(confidence, clusters.n_clusters - 1) * float(np.sqrt(var))
        ci = Interval(value - half, value + half)
        if is01:
            ci = Interval(max(0.0, ci.low), min(1.0, ci.high))
    return Estimate(value, ci.low, ci.high, n, "clt-clustered", confidence)
