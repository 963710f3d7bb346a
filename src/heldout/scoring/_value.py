"""Point estimates of scored metrics, with a warning where a metric is undefined."""

from __future__ import annotations

import weakref

import numpy as np
from numpy.typing import NDArray

from heldout.scoring._aggregate import SumsAggregate
from heldout.scoring._average_precision import binary_ap_block
from heldout.scoring._base import MetricDef, Ranking, ScoreRows
from heldout.scoring._warnings import warn_undefined

__all__ = ["metric_value"]


def metric_value(rows: ScoreRows, name: str) -> float:
    """The point estimate of metric ``name`` on all examples in ``rows``.

    ``mean`` metrics are the mean of their column, ``bootstrap`` metrics the aggregate of
    their block's column sums, ``auc`` metrics scikit-learn's ``roc_auc_score`` on the
    ranking. ``pr_auc`` is scikit-learn's exact ``average_precision_score`` on the kept
    scores (its resampling block may use binned thresholds; see its ``params``).

    Where the metric is undefined on these examples, this warns with
    :class:`HeldoutMetricWarning` and returns the conventional value (0, as
    scikit-learn's ``zero_division=0``; NaN for ROC AUC with a single class, as
    scikit-learn).

    Raises:
        KeyError: ``name`` was not scored into ``rows``.
    """
    metric = rows.metric(name)
    if rows.n == 0:
        warn_undefined(name, "undefined on zero examples; reported as NaN", rows.model)
        return float("nan")
    if metric.kind == "auc":
        return _roc_auc(rows.rankings[metric.block], metric, rows.model)
    if metric.name == "pr_auc" and "point_ranking" in metric.params:
        ranking = rows.rankings[metric.params["point_ranking"]]
        return _average_precision(ranking, metric, rows.model)
    block = rows.blocks[metric.block]
    sums = block.sums()
    if metric.kind == "mean":
        return float(sums[0] / block.n)
    if metric.aggregate is None:
        raise ValueError(f'bootstrap metric "{name}" has no aggregate')
    if isinstance(metric.aggregate, SumsAggregate):
        reason = metric.aggregate.why_undefined(sums)
        if reason is not None:
            warn_undefined(name, reason, rows.model)
    return float(metric.aggregate(sums))


def _binary_curves(ranking: Ranking) -> list[tuple[NDArray[np.int64], NDArray[np.float64]]]:
    if ranking.scores.ndim == 1:
        return [(ranking.y, ranking.scores)]
    return [
        ((ranking.y == c).astype(np.int64), ranking.scores[:, c])
        for c in range(ranking.scores.shape[1])
    ]


def _roc_auc(ranking: Ranking, metric: MetricDef, model: str) -> float:
    from sklearn.metrics import roc_auc_score

    values, skipped = [], []
    for c, (y, scores) in enumerate(_binary_curves(ranking)):
        if 0 < y.sum() < y.size:
            values.append(float(roc_auc_score(y, scores)))
        else:
            skipped.append(c)
    if not values:
        warn_undefined(
            metric.name, "undefined because only one class is present; reported as NaN", model
        )
        return float("nan")
    if skipped:
        warn_undefined(
            metric.name,
            f"classes {_names(metric, skipped)} are absent or the only class present; "
            "left out of the macro average",
            model,
        )
    return float(np.mean(values))


# Exact average precision of a ranking, computed once: intervals and paired tests ask for
# the same point several times. Keyed by the ranking object itself (slices are new objects).
_AP_CACHE: weakref.WeakKeyDictionary[Ranking, float] = weakref.WeakKeyDictionary()


def _average_precision(ranking: Ranking, metric: MetricDef, model: str) -> float:
    cached = _AP_CACHE.get(ranking)
    if cached is None:
        cached = _AP_CACHE[ranking] = _compute_average_precision(ranking, metric, model)
    return cached


def _compute_average_precision(ranking: Ranking, metric: MetricDef, model: str) -> float:
    # One cell per distinct score: the counts-based aggregate is scikit-learn's
    # average_precision_score exactly (ties share a threshold), without importing it.
    values, skipped = [], []
    for c, (y, scores) in enumerate(_binary_curves(ranking)):
        if y.any():
            block, aggregate, _ = binary_ap_block(y, scores, max_thresholds=max(1, scores.size))
            values.append(float(aggregate(block.sums())))
        else:
            skipped.append(c)
    if not values:
        warn_undefined("pr_auc", "undefined because no example is positive; reported as 0", model)
        return 0.0
    if skipped:
        warn_undefined(
            "pr_auc",
            f"no example is labelled {_names(metric, skipped)}; left out of the macro average",
            model,
        )
    return float(np.mean(values))


def _names(metric: MetricDef, classes: list[int]) -> str:
    labels = metric.params.get("labels")
    return ", ".join(f'"{labels[c]}"' if labels else str(c) for c in classes)
