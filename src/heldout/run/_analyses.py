"""A task's error analysis and operating points, computed from its scored predictions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from heldout._errors import SpecError
from heldout._util._suggest import did_you_mean
from heldout.analysis import (
    ClassMetrics,
    ConfidentError,
    ConfusionMatrix,
    ErrorReport,
    ExampleChange,
    LowScore,
    ModelErrors,
    OperatingPoints,
    SliceResult,
    ThresholdRule,
    changed_examples,
    confident_errors,
    confusion_rates,
    length_buckets,
    lowest_scores,
    operating_points,
    per_class_metrics,
)
from heldout.data import encode_labels
from heldout.scoring import ScoreRows
from heldout.spec import LoadedSpec, ThresholdSpec
from heldout.stats import StatsConfig

if TYPE_CHECKING:
    from heldout.run._evaluate import PreparedTask

__all__ = [
    "ERROR_LIMIT",
    "LENGTH_BUCKETS",
    "check_thresholds",
    "error_report",
    "threshold_reports",
    "threshold_rule",
]

#: Examples kept in each list of the error analysis (fixed, broken, confident, lowest).
ERROR_LIMIT = 20
#: Quantile buckets of input length.
LENGTH_BUCKETS = 4
#: With continuous scores, a change counts as fixed/broken beyond this share of the range.
RANGE_SHARE = 0.1


def threshold_rule(spec: ThresholdSpec) -> ThresholdRule:
    """The :class:`ThresholdRule` a task's ``thresholds:`` asks for."""
    if spec.recall is not None:
        return ThresholdRule("recall", spec.recall)
    if spec.precision is not None:
        return ThresholdRule("precision", spec.precision)
    if spec.f_beta is not None:
        return ThresholdRule("fbeta", beta=spec.f_beta)
    assert spec.costs is not None
    return ThresholdRule("cost", costs={str(k): v for k, v in spec.costs.items()})


def check_thresholds(loaded: LoadedSpec, index: int, labels: tuple[str, ...]) -> None:
    """Fail on a ``thresholds.positive`` that is not a label, or a multiclass task with none."""
    task = loaded.spec.tasks[index]
    spec = task.thresholds
    if spec is None:
        return
    where = loaded.where_in_task(index, "thresholds")
    positive = spec.positive or task.positive_label
    if positive is not None and positive not in labels:
        raise SpecError(
            f'{where}: task "{task.name}": thresholds.positive "{positive}" is not a label'
            f"{did_you_mean(positive, labels)} (labels: {', '.join(labels)})"
        )
    if positive is None and len(labels) != 2:
        raise SpecError(
            f'{where}: task "{task.name}" has {len(labels)} labels: name the class to '
            f"threshold with thresholds.positive (labels: {', '.join(labels)})"
        )


def threshold_reports(prepared: PreparedTask, config: StatsConfig) -> dict[str, OperatingPoints]:
    """Per model with probabilities: PR/ROC curves, the chosen threshold and abstaining.

    Computed for classification when every model gives probabilities; curves and a
    threshold for a binary task or one whose ``thresholds:`` names the positive class.
    """
    task = prepared.spec
    preds = prepared.predictions
    if task.type != "classification" or not preds:
        return {}
    if any(p.proba is None for p in preds.values()):
        return {}
    keep = prepared.keep
    labels = prepared.labels
    y = encode_labels(prepared.dataset.targets[keep], labels)
    spec = task.thresholds
    positive = (spec.positive if spec is not None else None) or task.positive_label
    rule = None if spec is None else threshold_rule(spec)
    out: dict[str, OperatingPoints] = {}
    for name, pred in preds.items():
        assert pred.proba is not None
        codes = encode_labels(pred.values[keep], labels)
        out[name] = operating_points(
            y, codes, pred.proba[keep], labels, positive_label=positive, rule=rule, config=config
        )
    return out


def error_report(
    prepared: PreparedTask,
    rows: Mapping[str, ScoreRows],
    confusion: Mapping[str, ConfusionMatrix],
    *,
    score: str | None,
    candidate: str | None,
    baseline: str | None,
    clusters: NDArray[Any] | None,
    config: StatsConfig,
    min_size: int,
) -> ErrorReport | None:
    """The task's errors: confusion rates, per-class metrics, confident errors, fixed and
    broken examples, lowest scores and the headline per input-length bucket."""
    if score is None or not rows:
        return None
    task = prepared.spec
    keep = prepared.keep
    ds = prepared.dataset
    ids, inputs, targets = ds.ids[keep], ds.inputs[keep], ds.targets[keep]
    first = next(iter(rows.values()))
    higher = _higher_is_better(first, score, prepared.headline)
    per_model: dict[str, ModelErrors] = {}
    y = None
    if task.type == "classification":
        y = encode_labels(targets, prepared.labels)
    for name, pred in prepared.predictions.items():
        rates: tuple[tuple[float, ...], ...] = ()
        per_class: tuple[ClassMetrics, ...] = ()
        confident: tuple[ConfidentError, ...] = ()
        lowest: tuple[LowScore, ...] = ()
        if y is not None:
            codes = encode_labels(pred.values[keep], prepared.labels)
            if name in confusion:
                rates = confusion_rates(confusion[name])
            per_class = per_class_metrics(
                y, codes, prepared.labels, config=config, cluster=clusters
            )
            if pred.proba is not None:
                confident = confident_errors(
                    ids, inputs, y, codes, pred.proba[keep], prepared.labels, limit=ERROR_LIMIT
                )
        elif task.type == "generation":
            lowest = lowest_scores(
                ids,
                inputs,
                targets,
                pred.values[keep],
                rows[name].per_example[score],
                higher_is_better=higher,
                limit=ERROR_LIMIT,
            )
        per_model[name] = ModelErrors(
            rates=rates, per_class=per_class, confident=confident, lowest=lowest
        )
    tolerance = 0.0
    fixed: tuple[ExampleChange, ...] = ()
    broken: tuple[ExampleChange, ...] = ()
    n_fixed = n_broken = 0
    if candidate is not None and baseline is not None:
        cand = rows[candidate].per_example[score]
        base = rows[baseline].per_example[score]
        tolerance = _tolerance(cand, base)
        fixed, broken, n_fixed, n_broken = changed_examples(
            ids,
            inputs,
            targets,
            prepared.predictions[candidate].values[keep],
            prepared.predictions[baseline].values[keep],
            cand,
            base,
            higher_is_better=higher,
            tolerance=tolerance,
            limit=ERROR_LIMIT,
        )
    length: tuple[SliceResult, ...] = ()
    if any(v is not None and str(v).strip() for v in inputs):
        length = length_buckets(
            rows,
            inputs,
            metric=prepared.headline,
            candidate=candidate,
            baseline=baseline,
            config=config,
            clusters=clusters,
            n_buckets=LENGTH_BUCKETS,
            min_size=min_size,
        )
    return ErrorReport(
        score=score,
        higher_is_better=higher,
        tolerance=tolerance,
        models=per_model,
        n_fixed=n_fixed,
        n_broken=n_broken,
        fixed=fixed,
        broken=broken,
        length=length,
    )


def _higher_is_better(rows: ScoreRows, score: str, headline: str) -> bool:
    for metric in rows.metrics:
        if metric.block == score:
            return metric.higher_is_better
    return rows.metric(headline).higher_is_better


def _tolerance(candidate: NDArray[np.float64], baseline: NDArray[np.float64]) -> float:
    """0 for 0/1 scores; otherwise a tenth of the range the two models' scores span."""
    both = np.concatenate([candidate, baseline])
    both = both[np.isfinite(both)]
    if both.size == 0 or bool(np.isin(both, (0.0, 1.0)).all()):
        return 0.0
    return float(RANGE_SHARE * (both.max() - both.min()))
