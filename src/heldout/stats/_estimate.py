"""Estimates with intervals for every metric of one model's score rows."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from heldout._errors import MetricError
from heldout.scoring import Aggregate, MetricDef, Ranking, ScoreRows, StatBlock, metric_value
from heldout.stats._bootstrap import bootstrap_estimates
from heldout.stats._config import StatsConfig
from heldout.stats._delong import delong_auc, delong_influence
from heldout.stats._intervals import is_binary, mean_interval
from heldout.stats._types import Estimate
from heldout.stats._weighted import (
    check_weights,
    weighted_block,
    weighted_mean,
    weighted_mean_interval,
)

__all__ = ["estimate_all", "point_value"]


def block_of(rows: ScoreRows, metric: MetricDef) -> StatBlock:
    """The metric's statistics block, checked against the rows' example count; with
    sampling weights, the block of weighted statistics (:func:`weighted_block`)."""
    block = raw_block_of(rows, metric)
    if rows.weights is not None:
        # weighted sums: every bootstrap metric and its resamples estimate the population
        return weighted_block(block, rows.weights)
    return block


def raw_block_of(rows: ScoreRows, metric: MetricDef) -> StatBlock:
    """The metric's statistics block as scored, checked against the rows' example count."""
    try:
        block = rows.blocks[metric.block]
    except KeyError:
        raise MetricError(
            f"metric {metric.name!r} of model {rows.model!r} reads block {metric.block!r}, "
            f"which its score rows lack (blocks: {', '.join(sorted(rows.blocks)) or 'none'})"
        ) from None
    if block.n != rows.n:
        raise MetricError(
            f"block {metric.block!r} of model {rows.model!r} covers {block.n} examples, "
            f"the score rows {rows.n}"
        )
    return block


def refuse_unweighted(rows: ScoreRows, metric: MetricDef) -> None:
    """Raise when ``rows`` carry sampling weights that ``metric`` cannot honour."""
    if rows.weights is None:
        return
    if metric.kind == "auc" or exact_point_kind(metric):
        raise MetricError(
            f"metric {metric.name!r} has no weighted estimate, and the dataset has sampling "
            "weights (dataset.weight): drop it from metrics:, or evaluate the unweighted "
            "full set"
        )


def ranking_of(rows: ScoreRows, metric: MetricDef) -> Ranking:
    """The metric's labels and scores."""
    try:
        return rows.rankings[metric.block]
    except KeyError:
        raise MetricError(
            f"AUC metric {metric.name!r} of model {rows.model!r} reads ranking "
            f"{metric.block!r}, which its score rows lack "
            f"(rankings: {', '.join(sorted(rows.rankings)) or 'none'})"
        ) from None


def aggregate_of(metric: MetricDef) -> Aggregate:
    """The bootstrap metric's aggregate."""
    if metric.aggregate is None:
        raise MetricError(
            f"bootstrap metric {metric.name!r} has no aggregate; its MetricDef must say how "
            "column sums become the metric"
        )
    return metric.aggregate


def mean_column(rows: ScoreRows, metric: MetricDef) -> NDArray[np.float64]:
    """The per-example values a ``mean`` metric averages, shape ``(n,)``."""
    block = raw_block_of(rows, metric)
    if block.width != 1:
        raise MetricError(
            f"mean metric {metric.name!r} needs a one-column block; block {metric.block!r} "
            f"has {block.width} columns"
        )
    x = block.rows()[:, 0] if block.table is None else block.table[block.codes, 0]
    values = np.asarray(x, dtype=np.float64)
    if metric.binary and not is_binary(values):
        raise MetricError(
            f"metric {metric.name!r} is declared binary but its values are not all 0 or 1"
        )
    return values


def exact_point(rows: ScoreRows, metric: MetricDef) -> float | None:
    """The reference value of a bootstrap metric whose block is an approximation, else None.

    Average precision over many distinct scores is resampled over score bins (see its
    ``params``); its point estimate stays scikit-learn's exact value, and its interval is
    shifted by the binning's offset so that it is centred on that value.
    """
    if not exact_point_kind(metric):
        return None
    return metric_value(rows, metric.name)


def exact_point_kind(metric: MetricDef) -> bool:
    """Whether the metric's point is exact while its block is a binned approximation."""
    return (
        metric.params.get("point") == "exact"
        and metric.params.get("resampling_cells") == "quantile_bins"
    )


def shift_to_exact(est: Estimate, exact: float | None) -> Estimate:
    """``est`` moved so its point is ``exact`` (no change when ``exact`` is None)."""
    if exact is None:
        return est
    offset = exact - est.value
    return replace(est, value=exact, ci_low=est.ci_low + offset, ci_high=est.ci_high + offset)


def _unknown_kind(metric: MetricDef) -> MetricError:
    return MetricError(
        f"metric {metric.name!r} has kind {metric.kind!r}; expected 'mean', 'bootstrap' or 'auc'"
    )


def point_value(rows: ScoreRows, metric_name: str) -> float:
    """The value of one metric on the score rows, without an interval.

    Args:
        rows: one model's score rows.
        metric_name: the metric's name.

    Returns:
        The mean of a ``mean`` metric's values, ``aggregate(block.sums())`` for a
        ``bootstrap`` metric (``nan`` where the aggregate is undefined on these rows), or the
        (macro one-vs-rest) ROC-AUC.

    Raises:
        MetricError: if the metric is unknown or cannot be computed.
    """
    try:
        metric = rows.metric(metric_name)
    except KeyError:
        names = ", ".join(m.name for m in rows.metrics)
        raise MetricError(f"no metric {metric_name!r} in model {rows.model!r} ({names})") from None
    refuse_unweighted(rows, metric)
    if metric.kind == "mean":
        column = mean_column(rows, metric)
        if column.shape[0] == 0:
            raise MetricError(f"metric {metric_name!r} is undefined on zero examples")
        if rows.weights is not None:
            return weighted_mean(column, check_weights(rows.weights, rows.n))
        return float(column.mean())
    if metric.kind == "bootstrap":
        exact = exact_point(rows, metric)
        if exact is not None:
            return exact
        with np.errstate(divide="ignore", invalid="ignore"):
            value = aggregate_of(metric)(block_of(rows, metric).sums())
        return float(np.asarray(value, dtype=np.float64))
    if metric.kind == "auc":
        ranking = ranking_of(rows, metric)
        return delong_influence(ranking.y, ranking.scores).auc
    raise _unknown_kind(metric)


def estimate_all(
    rows: ScoreRows, *, cluster: NDArray[Any] | None = None, config: StatsConfig
) -> dict[str, Estimate]:
    """Estimate every metric of one model with a confidence interval.

    ``mean`` metrics get the Wilson interval (0/1 values, no clusters) or the CLT interval
    (clustered when ``cluster`` is given, see :func:`mean_interval`); ``bootstrap`` metrics
    a bootstrap interval, one set of resamples per block shared by the metrics that read
    it; ``auc`` metrics DeLong's interval.

    Args:
        rows: one model's score rows.
        cluster: optional cluster id of each example.
        config: confidence, resamples, seed and interval method.

    Returns:
        Metric name to estimate, in the order of ``rows.metrics``.

    Raises:
        MetricError: if a metric cannot be computed (missing block, undefined value,
            cluster ids of the wrong length).
    """
    by_block: dict[str, dict[str, Aggregate]] = {}
    for metric in rows.metrics:
        refuse_unweighted(rows, metric)
        if metric.kind == "bootstrap":
            by_block.setdefault(metric.block, {})[metric.name] = aggregate_of(metric)
    booted: dict[str, Estimate] = {}
    for aggregates in by_block.values():
        block = block_of(rows, rows.metric(next(iter(aggregates))))
        booted.update(bootstrap_estimates(block, aggregates, cluster=cluster, config=config))
    out: dict[str, Estimate] = {}
    for metric in rows.metrics:
        if metric.kind == "mean" and rows.weights is not None:
            out[metric.name] = weighted_mean_interval(
                mean_column(rows, metric),
                rows.weights,
                cluster=cluster,
                confidence=config.confidence,
                binary=metric.binary,
            )
        elif metric.kind == "mean":
            out[metric.name] = mean_interval(
                mean_column(rows, metric),
                cluster=cluster,
                confidence=config.confidence,
                binary=metric.binary,
            )
        elif metric.kind == "bootstrap":
            est = shift_to_exact(booted[metric.name], exact_point(rows, metric))
            if rows.weights is not None:
                est = replace(est, method=f"{est.method}-weighted")
            out[metric.name] = est
        elif metric.kind == "auc":
            ranking = ranking_of(rows, metric)
            out[metric.name] = delong_auc(
                ranking.y, ranking.scores, cluster=cluster, confidence=config.confidence
            )
        else:
            raise _unknown_kind(metric)
    return out
