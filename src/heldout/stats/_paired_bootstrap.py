"""Paired bootstrap: two models' blocks resampled together, on the same examples.

A type is a joint cell (the candidate's cell, the baseline's cell) of an example, or a
cluster; joint counts are drawn once and mapped to each model's column sums, so the
distribution of ``metric(candidate) - metric(baseline)`` keeps the pairing. The p-value
tests ``delta = 0`` against the bootstrap distribution shifted to the null.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from heldout._errors import MetricError
from heldout.scoring import Aggregate, StatBlock
from heldout.stats._bootstrap import (
    BootstrapDistribution,
    apply_aggregate,
    bootstrap_interval,
    jackknife_for,
    metric_point,
)
from heldout.stats._clusters import cluster_codes
from heldout.stats._config import StatsConfig
from heldout.stats._resample import design_for, resampled_sums
from heldout.stats._types import Difference

__all__ = ["paired_bootstrap", "paired_bootstrap_distribution", "shifted_null_p_value"]


def paired_bootstrap_distribution(
    candidate: StatBlock,
    baseline: StatBlock,
    aggregates: Mapping[str, Aggregate | tuple[Aggregate, Aggregate]],
    *,
    cluster: NDArray[Any] | None = None,
    config: StatsConfig,
) -> dict[str, BootstrapDistribution]:
    """Bootstrap replicates of ``metric(candidate) - metric(baseline)`` on the same resamples.

    A type is a joint cell (the candidate's cell, the baseline's cell) of an example, or a
    cluster; the joint counts are drawn once and mapped to each model's column sums.

    Args:
        candidate: the candidate's block.
        baseline: the baseline's block over the same examples, in the same order.
        aggregates: metric name to the aggregate applied to both blocks, or to a
            (candidate, baseline) pair when the aggregate holds model-specific data
            (average precision keeps each model's scores in its aggregate).
        cluster: optional cluster id of each example.
        config: resample count and seed.

    Returns:
        Metric name to the difference's point value, replicates and jackknife values.

    Raises:
        MetricError: if the blocks cover different numbers of examples, or a metric is
            undefined on the full data.
    """
    if candidate.n != baseline.n:
        raise MetricError(
            f"paired bootstrap needs both models scored on the same examples; got "
            f"{candidate.n} and {baseline.n}"
        )
    pairs = {name: _pair(agg) for name, agg in aggregates.items()}
    points = {
        name: metric_point(name, cand_agg, candidate) - metric_point(name, base_agg, baseline)
        for name, (cand_agg, base_agg) in pairs.items()
    }
    clusters = None if cluster is None else cluster_codes(cluster, candidate.n)
    design = design_for([candidate, baseline], clusters)
    rng = np.random.default_rng(config.seed)
    cand_sums, base_sums = resampled_sums(design, config.n_resamples, rng)
    weights, (cand_jack, base_jack) = jackknife_for(design, config)
    return {
        name: BootstrapDistribution(
            points[name],
            apply_aggregate(cand_agg, cand_sums) - apply_aggregate(base_agg, base_sums),
            apply_aggregate(cand_agg, cand_jack) - apply_aggregate(base_agg, base_jack),
            weights,
        )
        for name, (cand_agg, base_agg) in pairs.items()
    }


def _pair(agg: Aggregate | tuple[Aggregate, Aggregate]) -> tuple[Aggregate, Aggregate]:
    """An aggregate shared by both models, or one per model (candidate, baseline)."""
    return agg if isinstance(agg, tuple) else (agg, agg)


def shifted_null_p_value(dist: BootstrapDistribution) -> float:
    """Two-sided p-value of ``delta = 0`` from the bootstrap distribution shifted to zero.

    ``p = (1 + #{|delta*_b - delta_hat| >= |delta_hat|}) / (B + 1)`` over usable resamples.
    """
    reps = dist.replicates[np.isfinite(dist.replicates)]
    if reps.shape[0] == 0:
        return float("nan")
    extreme = np.count_nonzero(np.abs(reps - dist.point) >= abs(dist.point))
    return float((1 + extreme) / (reps.shape[0] + 1))


def paired_bootstrap(
    candidate: StatBlock,
    baseline: StatBlock,
    aggregates: Mapping[str, Aggregate | tuple[Aggregate, Aggregate]],
    *,
    cluster: NDArray[Any] | None = None,
    config: StatsConfig,
) -> dict[str, Difference]:
    """Paired bootstrap test and interval for ``metric(candidate) - metric(baseline)``.

    Args:
        candidate: the candidate's block.
        baseline: the baseline's block over the same examples, in the same order.
        aggregates: metric name to the aggregate applied to both blocks, or to a
            (candidate, baseline) pair when the aggregate holds model-specific data
            (average precision keeps each model's scores in its aggregate).
        cluster: optional cluster id of each example; whole clusters are resampled.
        config: confidence, resample count, seed and interval method.

    Returns:
        Metric name to the difference (test ``paired-bootstrap``, or
        ``paired-bootstrap-clustered``) with the shifted-null p-value
        (:func:`shifted_null_p_value`).
    """
    dists = paired_bootstrap_distribution(
        candidate, baseline, aggregates, cluster=cluster, config=config
    )
    test = "paired-bootstrap" + ("" if cluster is None else "-clustered")
    out: dict[str, Difference] = {}
    for name, dist in dists.items():
        ci = bootstrap_interval(
            dist, confidence=config.confidence, method=config.ci_method, name=name
        )
        out[name] = Difference(
            dist.point,
            ci.low,
            ci.high,
            shifted_null_p_value(dist),
            test,
            candidate.n,
            confidence=config.confidence,
        )
    return out
