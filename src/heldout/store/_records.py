"""A :class:`~heldout.run.Run` as table rows, and the rows back as the same Run.

Rows are plain dicts keyed by the column attributes of :mod:`heldout.store._schema`.
Order is data too: estimates, comparisons and slices carry a ``position`` so a loaded
run lists its metrics, models and slices exactly as the saved one did.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast, get_args

import pandas as pd

from heldout._errors import StoreError
from heldout.analysis import (
    CalibrationComparison,
    CalibrationReport,
    ErrorReport,
    FairnessComparison,
    FairnessReport,
    Forgetting,
    OperatingPoints,
    RobustnessRow,
    ScoreGapReport,
)
from heldout.judges import JudgeReport
from heldout.run import (
    CleanSubset,
    ConfusionMatrix,
    DatasetInfo,
    LiveInfo,
    Run,
    SliceResult,
    TaskResult,
)
from heldout.run._data_report import DataSummary
from heldout.stats import Difference, Estimate, MinimumDetectableEffect, Verdict
from heldout.stats._utility import UtilityResult
from heldout.store._codec import from_utc, to_json, utcoffset_seconds
from heldout.store._frames import encode_examples
from heldout.store._schema import ComparisonRow, EstimateRow, RunRow, SliceRow, TaskRow

__all__ = ["RunRecords", "build_run", "difference_from_row", "estimate_from_row", "run_records"]

Row = dict[str, Any]


@dataclass(frozen=True)
class RunRecords:
    """Everything ``save_run`` writes, ready before its transaction starts."""

    run: Row
    tasks: list[Row]
    estimates: list[Row]
    comparisons: list[Row]
    slices: list[Row]
    parts: list[Row]


def run_records(run: Run) -> RunRecords:
    """The rows of ``run``, with its examples already encoded as Parquet.

    Raises:
        StoreError: the run cannot be stored (no id, two tasks of one name, a value JSON
            cannot hold, an examples column Arrow cannot hold).
    """
    if not isinstance(run.id, str) or not run.id.strip():
        raise StoreError(f"run {run.name!r} has no id ({run.id!r}); a run needs a non-empty id")
    names = [task.name for task in run.tasks]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise StoreError(f"run {run.id} has more than one task named {', '.join(repeated)}")
    # Validated here for a message that names the field; the column type encodes them.
    to_json(dict(run.spec), "run.spec")
    to_json(dict(run.stats), "run.stats")

    records = RunRecords(
        run={
            "id": run.id,
            "name": run.name,
            "status": run.status,
            "spec": dict(run.spec),
            "spec_hash": run.spec_hash,
            "stats": dict(run.stats),
            "heldout_version": run.heldout_version,
            "git_commit": run.git_commit,
            "user": run.user,
            "host": run.host,
            "created_at": run.created_at,
            "created_utcoffset": utcoffset_seconds(run.created_at),
            "finished_at": run.finished_at,
            "finished_utcoffset": utcoffset_seconds(run.finished_at),
        },
        tasks=[],
        estimates=[],
        comparisons=[],
        slices=[],
        parts=[],
    )
    for position, task in enumerate(run.tasks):
        _add_task(records, run.id, position, task)
    return records


def _add_task(records: RunRecords, run_id: str, position: int, task: TaskResult) -> None:
    key = {"run_id": run_id, "task": task.name}
    records.tasks.append(
        {
            "run_id": run_id,
            "name": task.name,
            "position": position,
            "type": task.type,
            "dataset_path": task.dataset.path,
            "dataset_hash": task.dataset.hash,
            "dataset_n": int(task.dataset.n),
            "dataset_columns": dict(task.dataset.columns),
            "dataset_slices": list(task.dataset.slices),
            "models": list(task.models),
            "headline": task.headline,
            "candidate": task.candidate,
            "baseline": task.baseline,
            "mde": None if task.mde is None else task.mde.to_dict(),
            "confusion": {model: cm.to_dict() for model, cm in task.confusion.items()},
            "dropped": {model: int(n) for model, n in task.dropped.items()},
            "live": {model: info.to_dict() for model, info in task.live.items()} or None,
            "clean": None if task.clean is None else task.clean.to_dict(),
            "robustness": [r.to_dict() for r in task.robustness] or None,
            "analysis": _analysis_document(task),
        }
    )
    estimates = [(m, k, e) for m, by_metric in task.metrics.items() for k, e in by_metric.items()]
    for index, (model, metric, est) in enumerate(estimates):
        records.estimates.append(
            {**key, "model": model, "metric": metric, "position": index, **_estimate_row(est)}
        )
    for index, (metric, diff) in enumerate(task.comparisons.items()):
        records.comparisons.append(
            {
                **key,
                "metric": metric,
                "position": index,
                "candidate": task.candidate,
                "baseline": task.baseline,
                **_difference_row(diff),
            }
        )
    for index, sl in enumerate(task.slices):
        records.slices.append(
            {
                **key,
                "position": index,
                "slice_column": sl.column,
                "slice_value": sl.value,
                "metric": sl.metric,
                "n": int(sl.n),
                "small": bool(sl.small),
                "estimates": {model: est.to_dict() for model, est in sl.estimates.items()},
                "comparison": None if sl.comparison is None else sl.comparison.to_dict(),
            }
        )
    where = f"run {run_id} task {task.name!r} examples"
    for index, part in enumerate(encode_examples(task.examples, where=where)):
        records.parts.append({**key, "part": index, "n_rows": part.n_rows, "data": part.data})


def _estimate_row(est: Estimate) -> Row:
    return {
        "value": est.value,
        "ci_low": est.ci_low,
        "ci_high": est.ci_high,
        "n": int(est.n),
        "method": est.method,
        "confidence": est.confidence,
    }


def _difference_row(diff: Difference) -> Row:
    return {
        "delta": diff.delta,
        "ci_low": diff.ci_low,
        "ci_high": diff.ci_high,
        "p_value": diff.p_value,
        "p_adjusted": diff.p_adjusted,
        "corrected": diff.p_adjusted is not None,
        "test": diff.test,
        "verdict": diff.verdict,
        "n": int(diff.n),
        "confidence": diff.confidence,
    }


def estimate_from_row(row: EstimateRow) -> Estimate:
    return Estimate(
        value=row.value,
        ci_low=row.ci_low,
        ci_high=row.ci_high,
        n=row.n,
        method=row.method,
        confidence=row.confidence,
    )


def difference_from_row(row: ComparisonRow) -> Difference:
    return Difference(
        delta=row.delta,
        ci_low=row.ci_low,
        ci_high=row.ci_high,
        p_value=row.p_value,
        test=row.test,
        n=row.n,
        p_adjusted=row.p_adjusted if row.corrected else None,
        verdict=_verdict(row.verdict),
        confidence=row.confidence,
    )


def _verdict(value: str) -> Verdict:
    if value not in get_args(Verdict):
        raise StoreError(f"stored verdict {value!r} is not one of {', '.join(get_args(Verdict))}")
    return cast(Verdict, value)


def _difference_from_dict(data: Mapping[str, Any]) -> Difference:
    return Difference(**{**data, "verdict": _verdict(data["verdict"])})


def build_run(
    run: RunRow,
    tasks: Sequence[TaskRow],
    estimates: Sequence[EstimateRow],
    comparisons: Sequence[ComparisonRow],
    slices: Sequence[SliceRow],
    examples: Mapping[str, pd.DataFrame],
) -> Run:
    """The :class:`Run` stored in these rows; child rows in ``position`` order."""
    results = []
    for task in tasks:
        metrics: dict[str, dict[str, Estimate]] = {}
        for est in (e for e in estimates if e.task == task.name):
            metrics.setdefault(est.model, {})[est.metric] = estimate_from_row(est)
        results.append(
            TaskResult(
                name=task.name,
                type=task.type,
                dataset=DatasetInfo(
                    path=task.dataset_path,
                    hash=task.dataset_hash,
                    n=task.dataset_n,
                    columns=dict(task.dataset_columns),
                    slices=tuple(task.dataset_slices),
                ),
                models=tuple(task.models),
                metrics=metrics,
                comparisons={
                    c.metric: difference_from_row(c) for c in comparisons if c.task == task.name
                },
                headline=task.headline,
                candidate=task.candidate,
                baseline=task.baseline,
                mde=None if task.mde is None else MinimumDetectableEffect(**task.mde),
                slices=tuple(_slice(s) for s in slices if s.task == task.name),
                confusion={
                    model: ConfusionMatrix(
                        labels=tuple(cm["labels"]),
                        columns=tuple(cm["columns"]),
                        counts=tuple(tuple(row) for row in cm["counts"]),
                    )
                    for model, cm in task.confusion.items()
                },
                examples=examples[task.name],
                dropped=dict(task.dropped),
                live={model: LiveInfo.from_dict(info) for model, info in (task.live or {}).items()},
                clean=None if task.clean is None else _clean(task.clean),
                robustness=tuple(RobustnessRow.from_dict(r) for r in task.robustness or ()),
                **_analysis_fields(task.analysis or {}),
            )
        )
    return Run(
        id=run.id,
        name=run.name,
        spec=run.spec,
        spec_hash=run.spec_hash,
        tasks=tuple(results),
        created_at=from_utc(run.created_at, run.created_utcoffset),
        finished_at=from_utc(run.finished_at, run.finished_utcoffset),
        status=run.status,
        heldout_version=run.heldout_version,
        git_commit=run.git_commit,
        user=run.user,
        host=run.host,
        stats=run.stats,
    )


def _slice(row: SliceRow) -> SliceResult:
    return SliceResult(
        column=row.slice_column,
        value=row.slice_value,
        metric=row.metric,
        n=row.n,
        estimates={model: Estimate(**est) for model, est in row.estimates.items()},
        comparison=None if row.comparison is None else _difference_from_dict(row.comparison),
        small=row.small,
    )


def _clean(data: Mapping[str, Any]) -> CleanSubset:
    return CleanSubset(
        source=data["source"],
        excluded=tuple(data["excluded"]),
        n=int(data["n"]),
        unknown=int(data.get("unknown", 0)),
        metrics={
            model: {name: Estimate(**est) for name, est in by_metric.items()}
            for model, by_metric in data["metrics"].items()
        },
        comparisons={name: Difference(**d) for name, d in data["comparisons"].items()},
    )


def _analysis_document(task: TaskResult) -> dict[str, Any] | None:
    """The task's analyses as one JSON document (NULL when it has none)."""
    document: dict[str, Any] = {}
    if task.calibration:
        document["calibration"] = {m: c.to_dict() for m, c in task.calibration.items()}
    if task.calibration_comparison is not None:
        document["calibration_comparison"] = task.calibration_comparison.to_dict()
    if task.fairness:
        document["fairness"] = {
            column: {
                m: {"kind": "scores" if isinstance(r, ScoreGapReport) else "classification"}
                | r.to_dict()
                for m, r in by_model.items()
            }
            for column, by_model in task.fairness.items()
        }
    if task.fairness_comparison:
        document["fairness_comparison"] = {
            column: c.to_dict() for column, c in task.fairness_comparison.items()
        }
    if task.errors is not None:
        document["errors"] = task.errors.to_dict()
    if task.thresholds:
        document["thresholds"] = {m: t.to_dict() for m, t in task.thresholds.items()}
    if task.forgetting is not None:
        document["forgetting"] = task.forgetting.to_dict()
    if task.judges:
        document["judges"] = task.judges.to_dict()
    if task.utility is not None:
        document["utility"] = task.utility.to_dict()
    if task.data is not None:
        document["data"] = task.data.to_dict()
    return document or None


def _analysis_fields(document: Mapping[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if "calibration" in document:
        fields["calibration"] = {
            m: CalibrationReport.from_dict(c) for m, c in document["calibration"].items()
        }
    if document.get("calibration_comparison") is not None:
        fields["calibration_comparison"] = CalibrationComparison.from_dict(
            document["calibration_comparison"]
        )
    if "fairness" in document:
        fields["fairness"] = {
            column: {m: _fairness_report(r) for m, r in by_model.items()}
            for column, by_model in document["fairness"].items()
        }
    if "fairness_comparison" in document:
        fields["fairness_comparison"] = {
            column: FairnessComparison.from_dict(c)
            for column, c in document["fairness_comparison"].items()
        }
    if document.get("errors") is not None:
        fields["errors"] = ErrorReport.from_dict(document["errors"])
    if "thresholds" in document:
        fields["thresholds"] = {
            m: OperatingPoints.from_dict(t) for m, t in document["thresholds"].items()
        }
    if document.get("forgetting") is not None:
        fields["forgetting"] = Forgetting.from_dict(document["forgetting"])
    if document.get("judges") is not None:
        fields["judges"] = JudgeReport.from_dict(document["judges"])
    if document.get("utility") is not None:
        fields["utility"] = UtilityResult.from_dict(document["utility"])
    if document.get("data") is not None:
        fields["data"] = DataSummary.from_dict(document["data"])
    return fields


def _fairness_report(data: Mapping[str, Any]) -> FairnessReport | ScoreGapReport:
    body = {k: v for k, v in data.items() if k != "kind"}
    if data.get("kind") == "scores":
        return ScoreGapReport.from_dict(body)
    return FairnessReport.from_dict(body)
