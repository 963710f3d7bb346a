"""Bootstrap intervals over sufficient-statistic blocks (paired tests: ``_paired_bootstrap``).

All metrics that share a block are estimated from one set of resampled cell counts (see
:mod:`heldout.stats._resample`): a resample's value is ``aggregate(sums)`` evaluated for all
resamples in one vectorised call, so 1,000 resamples of a million-row confusion block cost
a few milliseconds. Every call starts ``numpy.random.default_rng(config.seed)``.

Intervals are percentile intervals, or BCa (Efron 1987) on request: the bias correction
``z0`` comes from the share of resamples below the point estimate (ties count 1/2, as in
``scipy.stats.bootstrap``), the acceleration from a jackknife over units that costs one
aggregate evaluation per cell type.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from heldout._errors import MetricError
from heldout._util._scipy import special
from heldout.scoring import Aggregate, StatBlock
from heldout.stats._clusters import cluster_codes
from heldout.stats._config import CIMethod, HeldoutStatsWarning, StatsConfig
from heldout.stats._intervals import Interval
from heldout.stats._resample import Design, design_for, jackknife_sums, resampled_sums
from heldout.stats._types import Estimate

__all__ = [
    "BootstrapDistribution",
    "apply_aggregate",
    "bootstrap_distribution",
    "bootstrap_estimates",
    "bootstrap_interval",
    "jackknife_for",
    "metric_point",
]


class BootstrapDistribution(NamedTuple):
    """A statistic, its bootstrap replicates, and its jackknife values.

    Attributes:
        point: the statistic on the data.
        replicates: the statistic on each resample, shape ``(B,)``; ``nan`` where a resample
            leaves the metric undefined.
        jackknife: leave-one-unit-out values, one per unit type, shape ``(T,)``; empty
            unless the distribution was built for BCa (``config.ci_method == "bca"``).
        weights: how many units share each jackknife value, shape ``(T,)``.
    """

    point: float
    replicates: NDArray[np.float64]
    jackknife: NDArray[np.float64]
    weights: NDArray[np.float64]


def apply_aggregate(aggregate: Aggregate, sums: NDArray[np.float64]) -> NDArray[np.float64]:
    """Metric values of many rows of sums at once; ``nan`` (no warning) where undefined."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(aggregate(sums), dtype=np.float64).reshape(sums.shape[0])


def metric_point(name: str, aggregate: Aggregate, block: StatBlock) -> float:
    """The metric on the whole block; raises :class:`MetricError` when undefined."""
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(np.asarray(aggregate(block.sums()), dtype=np.float64))
    if not np.isfinite(value):
        raise MetricError(
            f"metric {name!r} is undefined on these {block.n} examples (value {value}); "
            "check that the slice holds the classes the metric needs"
        )
    return value


def jackknife_for(
    design: Design, config: StatsConfig
) -> tuple[NDArray[np.float64], list[NDArray[np.float64]]]:
    """Jackknife sums for BCa; empty (no work, no memory) for percentile intervals."""
    if config.ci_method == "bca":
        return jackknife_sums(design)
    widths = [int(sums.shape[1]) for sums in design.type_sums]
    return np.zeros(0), [np.zeros((0, k)) for k in widths]


def bootstrap_distribution(
    block: StatBlock,
    aggregates: Mapping[str, Aggregate],
    *,
    cluster: NDArray[Any] | None = None,
    config: StatsConfig,
) -> dict[str, BootstrapDistribution]:
    """Bootstrap replicates of every metric aggregated from one block, from shared counts.

    Args:
        block: the metrics' sufficient statistics.
        aggregates: metric name to its vectorised aggregate.
        cluster: optional cluster id of each example; whole clusters are resampled.
        config: resample count and seed.

    Returns:
        Metric name to its point value, replicates and jackknife values.

    Raises:
        MetricError: if a metric is undefined (not finite) on the full data.
    """
    points = {name: metric_point(name, agg, block) for name, agg in aggregates.items()}
    clusters = None if cluster is None else cluster_codes(cluster, block.n)
    design = design_for([block], clusters)
    rng = np.random.default_rng(config.seed)
    (sums,) = resampled_sums(design, config.n_resamples, rng)
    weights, (jack,) = jackknife_for(design, config)
    return {
        name: BootstrapDistribution(
            points[name], apply_aggregate(agg, sums), apply_aggregate(agg, jack), weights
        )
        for name, agg in aggregates.items()
    }


def _finite_replicates(name: str, dist: BootstrapDistribution) -> NDArray[np.float64]:
    reps = dist.replicates[np.isfinite(dist.replicates)]
    dropped = dist.replicates.shape[0] - reps.shape[0]
    if dropped and reps.shape[0]:
        warnings.warn(
            f"{name!r} is undefined on {dropped} of {dist.replicates.shape[0]} bootstrap "
            f"resamples; its interval uses the other {reps.shape[0]}",
            HeldoutStatsWarning,
            stacklevel=3,
        )
    return reps


def _acceleration(jackknife: NDArray[np.float64], weights: NDArray[np.float64]) -> float:
    ok = np.isfinite(jackknife)
    values, w = jackknife[ok], weights[ok]
    if w.sum() == 0:
        return 0.0
    dev = float(np.dot(w, values) / w.sum()) - values
    spread = float(np.dot(w, dev**2))
    if spread <= 0.0:
        return 0.0
    return float(np.dot(w, dev**3)) / (6.0 * spread * float(np.sqrt(spread)))


def _bca_levels(
    dist: BootstrapDistribution, reps: NDArray[np.float64], levels: NDArray[np.float64]
) -> NDArray[np.float64] | None:
    """BCa quantile levels, or ``None`` when the bias correction is infinite."""
    if dist.jackknife.shape[0] == 0:
        raise ValueError(
            "a BCa interval needs jackknife values: build the distribution with "
            'StatsConfig(ci_method="bca")'
        )
    share_below = (np.count_nonzero(reps < dist.point) + np.count_nonzero(reps <= dist.point)) / (
        2.0 * reps.shape[0]
    )
    z0 = float(special.ndtri(share_below))
    if not np.isfinite(z0):
        return None
    a = _acceleration(dist.jackknife, dist.weights)
    z = special.ndtri(levels)
    with np.errstate(divide="ignore", invalid="ignore"):
        adjusted = np.asarray(special.ndtr(z0 + (z0 + z) / (1.0 - a * (z0 + z))), dtype=np.float64)
    return adjusted if bool(np.all(np.isfinite(adjusted))) else None


def bootstrap_interval(
    dist: BootstrapDistribution,
    *,
    confidence: float,
    method: CIMethod = "percentile",
    name: str = "statistic",
) -> Interval:
    """Percentile or BCa interval from a bootstrap distribution.

    Resamples on which the statistic is undefined are dropped with a
    :class:`HeldoutStatsWarning`. BCa falls back to the percentile interval (with a
    warning) when the point estimate lies outside every replicate.

    Args:
        dist: point, replicates and jackknife values.
        confidence: nominal coverage.
        method: ``percentile`` or ``bca``.
        name: the statistic's name, for warnings.

    Returns:
        The interval (``nan`` bounds, with a warning, if no resample is usable).
    """
    reps = _finite_replicates(name, dist)
    if reps.shape[0] == 0:
        warnings.warn(
            f"{name!r} is undefined on every bootstrap resample; its interval is nan",
            HeldoutStatsWarning,
            stacklevel=2,
        )
        return Interval(float("nan"), float("nan"))
    alpha = 1.0 - confidence
    levels = np.array([alpha / 2.0, 1.0 - alpha / 2.0])
    if method == "bca":
        bca = _bca_levels(dist, reps, levels)
        if bca is None:
            warnings.warn(
                f"BCa is undefined for {name!r} (the point estimate lies outside every "
                "bootstrap replicate); using the percentile interval",
                HeldoutStatsWarning,
                stacklevel=2,
            )
        else:
            levels = bca
    low, high = np.quantile(reps, levels)
    return Interval(float(low), float(high))


def bootstrap_estimates(
    block: StatBlock,
    aggregates: Mapping[str, Aggregate],
    *,
    cluster: NDArray[Any] | None = None,
    config: StatsConfig,
) -> dict[str, Estimate]:
    """Point values and bootstrap intervals of the metrics aggregated from one block.

    Args:
        block: the metrics' sufficient statistics.
        aggregates: metric name to its vectorised aggregate.
        cluster: optional cluster id of each example; whole clusters are resampled.
        config: confidence, resample count, seed and interval method.

    Returns:
        Metric name to its estimate (method ``bootstrap-percentile`` or ``bootstrap-bca``,
        with ``-clustered`` appended when clusters are resampled).

    Example:
        >>> import numpy as np
        >>> from heldout.scoring import StatBlock
        >>> block = StatBlock.cells(np.array([0, 0, 1, 2, 3] * 40), 4)  # TP FP FN TN
        >>> f1 = lambda s: 2 * s[..., 0] / (2 * s[..., 0] + s[..., 1] + s[..., 2])
        >>> est = bootstrap_estimates(block, {"f1": f1}, config=StatsConfig())["f1"]
        >>> round(est.value, 3), est.ci_low < est.value < est.ci_high
        (0.667, True)
    """
    dists = bootstrap_distribution(block, aggregates, cluster=cluster, config=config)
    method = f"bootstrap-{config.ci_method}" + ("" if cluster is None else "-clustered")
    out: dict[str, Estimate] = {}
    for name, dist in dists.items():
        ci = bootstrap_interval(
            dist, confidence=config.confidence, method=config.ci_method, name=name
        )
        out[name] = Estimate(dist.point, ci.low, ci.high, block.n, method, config.confidence)
    return out
