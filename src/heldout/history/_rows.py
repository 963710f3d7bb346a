"""A stored task's examples scored again into :class:`~heldout.scoring.ScoreRows`.

A stored run keeps, per example, the target, each model's prediction and its per-example
score columns (``correct:tuned``, ``log_loss:base``...), not the score rows themselves.
Comparing stored runs needs those rows on the examples both runs share, so they are
rebuilt here with the same scorers the run used: classification, regression and
generation predictions are scored again from the stored predictions and targets, and
``mean`` metrics whose per-example values only the stored columns hold (log loss and
Brier score from probabilities, multiple-choice accuracy) are read from those columns.
Metrics that need what the store does not keep (ROC-AUC and PR-AUC need every class
probability) are left out, with the reason.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from heldout._errors import HeldoutError
from heldout._util._format import lower_is_better
from heldout.data import encode_labels
from heldout.run import Run, TaskResult
from heldout.scoring import (
    MetricDef,
    ScoreRows,
    StatBlock,
    score_classification,
    score_generation,
    score_regression,
)
from heldout.scoring._registry import metric_info
from heldout.stats import StatsConfig

__all__ = ["Rescored", "binary_column", "rescore", "spec_task", "stats_config", "unweighted_note"]

#: Per-example columns that ``mean`` metrics read, by metric name, for the metrics whose
#: values cannot be recomputed from the stored prediction.
_STORED_MEAN = {"log_loss": "log_loss", "brier": "brier", "accuracy_norm": "correct_norm"}


@dataclass(frozen=True, eq=False)
class Rescored:
    """One model's score rows on selected stored examples.

    Attributes:
        rows: the score rows, in the order of the examples given.
        left_out: metric name to why it could not be scored from the stored examples.
    """

    rows: ScoreRows
    left_out: Mapping[str, str]


def spec_task(run: Run, task: str) -> Mapping[str, Any]:
    """The spec entry of ``task`` in a stored run (empty when the spec does not list it)."""
    for entry in run.spec.get("tasks", ()):
        if isinstance(entry, Mapping) and entry.get("name") == task:
            return entry
    return {}


def stats_config(run: Run, *, alpha: float | None = None) -> StatsConfig:
    """The statistics settings the run was made with; ``alpha`` overrides its confidence."""
    stats = run.spec.get("stats", {}) or {}
    confidence = float(stats.get("confidence", 0.95)) if alpha is None else 1.0 - alpha
    return StatsConfig(
        confidence=confidence,
        n_resamples=int(stats.get("resamples", 1000)),
        seed=int(stats.get("seed", 0)),
        ci_method=stats.get("ci_method", "percentile"),
        correction=stats.get("correction", "holm"),
        power=float(stats.get("power", 0.8)),
    )


def rescore(
    run: Run, task: TaskResult, model: str, frame: pd.DataFrame, *, metrics: Sequence[str]
) -> Rescored:
    """Score ``model``'s stored predictions on the rows of ``frame`` (a subset of
    ``task.examples``, in any order) for ``metrics``.

    Raises:
        HeldoutError: the model has no stored predictions in this task.
    """
    column = f"pred:{model}"
    if column not in frame.columns:
        raise HeldoutError(
            f'run {run.id} task "{task.name}" holds no predictions of model "{model}" '
            f"(models: {', '.join(task.models)})"
        )
    entry = spec_task(run, task.name)
    left_out: dict[str, str] = {}
    stored: list[str] = []
    scored: list[str] = []
    for name in metrics:
        info = metric_info(task.type, name)
        if name in _STORED_MEAN or (task.type == "multiple_choice" and name == "accuracy"):
            source = "correct" if name == "accuracy" else _STORED_MEAN[name]
            if f"{source}:{model}" in frame.columns:
                stored.append(name)
            else:
                left_out[name] = f"the store holds no per-example {source} of {model}"
        elif info.needs_proba:
            left_out[name] = "needs every class probability, which the store does not keep"
        else:
            scored.append(name)
    rows = _with_stored(_score(task, entry, model, frame, scored), task.type, model, frame, stored)
    rows = _stored_means(rows, model, frame)
    live = task.live.get(model)
    if live is not None and live.samples > 1:
        for m in rows.metrics:
            if m.kind != "mean":
                left_out[m.name] = (
                    f"{model} drew {live.samples} samples per example and the store keeps the "
                    "first draw's prediction only"
                )
    order = {name: i for i, name in enumerate(metrics)}
    ordered = tuple(sorted(rows.metrics, key=lambda m: order[m.name]))
    weights = None
    if task.dataset.columns.get("weight") and "weight" in frame.columns:
        weights = frame["weight"].to_numpy(dtype=np.float64)
    rows = dataclasses.replace(rows, metrics=ordered, weights=weights)
    return Rescored(rows=rows, left_out=left_out)


def unweighted_note(task: TaskResult) -> str | None:
    """A warning when the run weighted its examples but the store holds no weights."""
    column = task.dataset.columns.get("weight")
    if not column or "weight" in task.examples.columns:
        return None
    return (
        f'task "{task.name}" was evaluated with sampling weights (dataset.weight: {column}), '
        "which the store does not keep per example: this comparison is of the examples as "
        "sampled, unweighted, and its values differ from the run's population estimates"
    )


def _score(
    task: TaskResult,
    entry: Mapping[str, Any],
    model: str,
    frame: pd.DataFrame,
    metrics: list[str],
) -> ScoreRows:
    n = len(frame)
    predictions = frame[f"pred:{model}"].to_numpy(dtype=object)
    targets = frame["target"].to_numpy(dtype=object)
    if not metrics:
        return ScoreRows(model=model, n=n, metrics=())
    if task.type == "classification":
        labels = _labels(task, entry, model)
        return score_classification(
            encode_labels(targets, labels),
            encode_labels(predictions, labels),
            labels=labels,
            metrics=metrics,
            model=model,
            positive_label=entry.get("positive_label"),
        )
    if task.type == "regression":
        return score_regression(
            pd.to_numeric(pd.Series(targets)).to_numpy(dtype=np.float64),
            pd.to_numeric(pd.Series(predictions)).to_numpy(dtype=np.float64),
            metrics=metrics,
            model=model,
        )
    texts = ["" if v is None else str(v) for v in predictions]
    refs = [[v] if isinstance(v, str) else list(v) for v in targets]
    return score_generation(texts, refs, metrics=metrics, model=model)


def _labels(task: TaskResult, entry: Mapping[str, Any], model: str) -> tuple[str, ...]:
    """The class labels the run scored against, in its order."""
    if model in task.confusion:
        return tuple(task.confusion[model].labels)
    if entry.get("labels"):
        return tuple(str(v) for v in entry["labels"])
    values = pd.Series(task.examples["target"]).dropna().astype(str)
    return tuple(sorted(values.unique()))


def _with_stored(
    rows: ScoreRows, task_type: str, model: str, frame: pd.DataFrame, names: list[str]
) -> ScoreRows:
    """``rows`` with ``mean`` metrics read from stored per-example columns added."""
    if not names:
        return rows
    blocks = dict(rows.blocks)
    per_example = dict(rows.per_example)
    defs = list(rows.metrics)
    for name in names:
        source = "correct" if name == "accuracy" else _STORED_MEAN[name]
        values = frame[f"{source}:{model}"].to_numpy(dtype=np.float64)
        binary = bool(np.isin(values, (0.0, 1.0)).all())
        blocks[source] = StatBlock.dense(values)
        per_example[source] = values
        higher = metric_info(task_type, name).higher_is_better
        defs.append(MetricDef(name, "mean", source, higher, binary=binary))
    return ScoreRows(
        model=model,
        n=len(frame),
        metrics=tuple(defs),
        blocks=blocks,
        rankings=rows.rankings,
        per_example=per_example,
    )


def _stored_means(rows: ScoreRows, model: str, frame: pd.DataFrame) -> ScoreRows:
    """``mean`` metrics on the per-example values the run stored (``correct:tuned``...),
    which for a model that drew several samples are averages over its draws."""
    blocks = dict(rows.blocks)
    per_example = dict(rows.per_example)
    defs = []
    for m in rows.metrics:
        column = f"{m.block}:{model}"
        if m.kind == "mean" and column in frame.columns:
            values = frame[column].to_numpy(dtype=np.float64)
            current = per_example.get(m.block)
            if current is None or not np.array_equal(values, current, equal_nan=True):
                blocks[m.block] = StatBlock.dense(values)
                per_example[m.block] = values
                m = dataclasses.replace(m, binary=bool(np.isin(values, (0.0, 1.0)).all()))
        defs.append(m)
    return dataclasses.replace(rows, metrics=tuple(defs), blocks=blocks, per_example=per_example)


def binary_column(rows: ScoreRows) -> str | None:
    """The per-example 0/1 score examples are fixed or broken by (``correct`` first).

    Only a column where 1 is the better value counts: an error column that happens to hold
    0 and 1 (``abs_error`` of counts off by one) would read fixed as broken.
    """
    lower = {m.block for m in rows.metrics if not m.higher_is_better}
    names = ["correct", *(k for k in rows.per_example if k != "correct")]
    for name in names:
        if name in lower or lower_is_better(name):
            continue
        values: NDArray[np.float64] | None = rows.per_example.get(name)
        if values is not None and bool(np.isin(values, (0.0, 1.0)).all()):
            return name
    return None
