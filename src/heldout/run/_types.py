"""The result of an evaluation: a :class:`Run` of one or more tasks.

A ``Run`` is what :func:`heldout.evaluate` returns, what the store persists and reads back,
and all the CLI, report and dashboard show. Everything numeric in it came out of
:mod:`heldout.stats` with its method named.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from heldout._errors import HeldoutError
from heldout.analysis import (
    CalibrationComparison,
    CalibrationReport,
    ConfusionMatrix,
    ErrorReport,
    FairnessComparison,
    FairnessReport,
    Forgetting,
    OperatingPoints,
    RobustnessRow,
    ScoreGapReport,
    SliceResult,
)
from heldout.judges import JudgeReport
from heldout.run._data_report import DataSummary
from heldout.stats import Difference, Estimate, MinimumDetectableEffect
from heldout.stats._utility import UtilityResult

__all__ = [
    "CleanSubset",
    "ConfusionMatrix",
    "DatasetInfo",
    "LiveInfo",
    "Run",
    "SliceResult",
    "TaskResult",
]

#: Version of the JSON document written by ``Run.to_dict`` / ``heldout run --json``.
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class DatasetInfo:
    """Where a task's examples came from.

    Attributes:
        path: the file as written in the spec (resolved against the spec's folder).
        hash: content hash of the loaded examples (ids, inputs, targets), format independent.
        n: number of examples loaded.
        columns: mapping of roles (``id``, ``input``, ``target``, ``cluster``) to columns.
        slices: the slice columns.
    """

    path: str
    hash: str
    n: int
    columns: Mapping[str, str | None]
    slices: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "hash": self.hash,
            "n": self.n,
            "columns": dict(self.columns),
            "slices": list(self.slices),
        }


@dataclass(frozen=True)
class LiveInfo:
    """How a live model answered a task: its calls, failures, samples and costs.

    Attributes:
        mode: ``generate``, ``loglikelihood`` or ``classify``.
        calls: calls answered (from the journal or made in this run).
        failed_calls: calls that still failed after every retry.
        failed_examples: examples with a failed call (left out with ``on_error: drop``,
            scored wrong with ``on_error: wrong``).
        samples: draws per example.
        within_share: with several draws, the share of the headline's per-example score
            variance that lies within examples (0: draws agree; 1: pure noise).
        efficiency: latency, tokens, throughput and cost estimates with intervals.
        cost_total: the whole task's cost from the model's prices, when priced.
    """

    mode: str
    calls: int
    failed_calls: int = 0
    failed_examples: int = 0
    samples: int = 1
    within_share: float | None = None
    efficiency: Mapping[str, Estimate] = field(default_factory=dict)
    cost_total: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "calls": self.calls,
            "failed_calls": self.failed_calls,
            "failed_examples": self.failed_examples,
            "samples": self.samples,
            "within_share": self.within_share,
            "efficiency": {k: e.to_dict() for k, e in self.efficiency.items()},
            "cost_total": self.cost_total,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LiveInfo:
        values = dict(data)
        values["efficiency"] = {k: Estimate(**e) for k, e in data.get("efficiency", {}).items()}
        return cls(**values)


@dataclass(frozen=True)
class CleanSubset:
    """Every metric again on the examples that are not set aside (``exclude:``).

    Attributes:
        source: why the excluded examples were set aside (leaked from a training file, or
            listed in a file of ids).
        excluded: ids of the excluded examples among those scored.
        n: examples in the clean subset.
        metrics: ``metrics[model][metric]`` on the clean subset.
        comparisons: ``comparisons[metric]`` on the clean subset (corrected as a family of
            its own).
        unknown: ids in the exclusion list that are not in the dataset.
    """

    source: str
    excluded: tuple[str, ...]
    n: int
    metrics: Mapping[str, Mapping[str, Estimate]]
    comparisons: Mapping[str, Difference]
    unknown: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "excluded": list(self.excluded),
            "n": self.n,
            "unknown": self.unknown,
            "metrics": {
                model: {name: est.to_dict() for name, est in by_metric.items()}
                for model, by_metric in self.metrics.items()
            },
            "comparisons": {name: d.to_dict() for name, d in self.comparisons.items()},
        }


@dataclass(frozen=True, eq=False)
class TaskResult:
    """Everything measured on one task.

    Attributes:
        name: the task's name in the spec.
        type: ``classification``, ``regression`` or ``generation``.
        dataset: where the examples came from.
        models: the models evaluated, in spec order.
        metrics: ``metrics[model][metric]`` estimates with intervals.
        comparisons: ``comparisons[metric]`` paired candidate-minus-baseline differences.
        headline: the metric the task is summarised by.
        candidate: the model being judged, when the spec compares two.
        baseline: the model it is judged against.
        mde: minimum detectable effect of the headline metric at the configured power.
        slices: the headline metric per slice value.
        confusion: confusion matrices by model (classification).
        examples: one row per example: ``id``, ``input``, ``target``, slice columns,
            ``cluster``, and per model ``pred:<model>`` plus per-example scores
            ``<score>:<model>`` (``correct:tuned``, ``token_f1:base``...).
        dropped: examples left out per model because its prediction was missing
            (``missing: drop``), its call failed (``on_error: drop``) or, for
            regression, its answer held no number; by model name.
        live: for live models, how they answered (calls, failures, samples, costs).
        clean: every metric again without the examples the spec excludes (``exclude:``).
        robustness: for a stress set (``dataset.variant_of``), per operation and model the
            paired change of the headline's per-example score and the flip rate; every
            other result is computed on the originals only.
        calibration: classification with probabilities: ECE, MCE, Brier, log loss and
            the reliability bins of each model.
        calibration_comparison: the candidate's calibration against the baseline's.
        fairness: per slice column and model, classification: selection rate, TPR and
            FPR per group with the parity and equalized-odds gaps; other tasks: the gap in
            the headline's per-example score between groups.
        fairness_comparison: per slice column, the candidate's gaps against the
            baseline's (classification).
        errors: confusion rates, per-class metrics with intervals, most confident
            errors, the examples the candidate fixed and broke, lowest-scoring generations
            and the headline per input-length bucket.
        thresholds: per model with probabilities (classification): PR and ROC curves,
            the threshold chosen for the task's ``thresholds:`` and the coverage–accuracy
            curve.
        forgetting: for a forgetting suite (``suites:``), the verdict on the candidate's
            accuracy against the baseline's.
        data: what the data checks of ``heldout check`` found in the eval set (and the
            leakage check, when the task names a training file).
        judges: LLM-judge metrics: frozen G-Eval steps, judge errors per model, pairwise
            win / tie / loss, agreement with human labels, and the judge models' calls,
            tokens, latency and cost (apart from the evaluated models'). Each judge's
            per-example score is the examples column ``<judge>:<model>``, its reason
            ``reason:<judge>:<model>``.
        utility: the ``utility:`` score's components (normalisation and weights), each
            model's utility and the paired delta; the same estimates are also
            ``metrics[model]["utility"]`` and ``comparisons["utility"]``.
    """

    name: str
    type: str
    dataset: DatasetInfo
    models: tuple[str, ...]
    metrics: Mapping[str, Mapping[str, Estimate]]
    comparisons: Mapping[str, Difference]
    headline: str
    candidate: str | None = None
    baseline: str | None = None
    mde: MinimumDetectableEffect | None = None
    slices: tuple[SliceResult, ...] = ()
    confusion: Mapping[str, ConfusionMatrix] = field(default_factory=dict)
    examples: pd.DataFrame = field(default_factory=pd.DataFrame)
    dropped: Mapping[str, int] = field(default_factory=dict)
    live: Mapping[str, LiveInfo] = field(default_factory=dict)
    clean: CleanSubset | None = None
    robustness: tuple[RobustnessRow, ...] = ()
    calibration: Mapping[str, CalibrationReport] = field(default_factory=dict)
    calibration_comparison: CalibrationComparison | None = None
    fairness: Mapping[str, Mapping[str, FairnessReport | ScoreGapReport]] = field(
        default_factory=dict
    )
    fairness_comparison: Mapping[str, FairnessComparison] = field(default_factory=dict)
    errors: ErrorReport | None = None
    thresholds: Mapping[str, OperatingPoints] = field(default_factory=dict)
    forgetting: Forgetting | None = None
    judges: JudgeReport | None = None
    data: DataSummary | None = None
    utility: UtilityResult | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "dataset": self.dataset.to_dict(),
            "models": list(self.models),
            "headline": self.headline,
            "candidate": self.candidate,
            "baseline": self.baseline,
            "metrics": {
                model: {name: est.to_dict() for name, est in by_metric.items()}
                for model, by_metric in self.metrics.items()
            },
            "comparisons": {name: d.to_dict() for name, d in self.comparisons.items()},
            "mde": None if self.mde is None else self.mde.to_dict(),
            "slices": [s.to_dict() for s in self.slices],
            "confusion": {m: c.to_dict() for m, c in self.confusion.items()},
            "dropped": dict(self.dropped),
            "live": {m: info.to_dict() for m, info in self.live.items()},
            "clean": None if self.clean is None else self.clean.to_dict(),
            "robustness": [r.to_dict() for r in self.robustness],
            "calibration": {m: c.to_dict() for m, c in self.calibration.items()},
            "calibration_comparison": (
                None
                if self.calibration_comparison is None
                else self.calibration_comparison.to_dict()
            ),
            "fairness": {
                column: {m: r.to_dict() for m, r in by_model.items()}
                for column, by_model in self.fairness.items()
            },
            "fairness_comparison": {
                column: c.to_dict() for column, c in self.fairness_comparison.items()
            },
            "errors": None if self.errors is None else self.errors.to_dict(),
            "thresholds": {m: t.to_dict() for m, t in self.thresholds.items()},
            "forgetting": None if self.forgetting is None else self.forgetting.to_dict(),
            "data": None if self.data is None else self.data.to_dict(),
            "judges": None if self.judges is None else self.judges.to_dict(),
            "utility": None if self.utility is None else self.utility.to_dict(),
        }


@dataclass(frozen=True, eq=False)
class Run:
    """One evaluation: the spec, where and when it ran, and each task's results.

    ``run.metrics`` and ``run.comparisons`` are those of the run's first task (the only
    one in a single-task spec); ``run.task(name)`` gives any task.
    """

    id: str
    name: str
    spec: Mapping[str, Any]
    spec_hash: str
    tasks: tuple[TaskResult, ...]
    created_at: datetime
    finished_at: datetime
    status: str = "finished"
    heldout_version: str = ""
    git_commit: str | None = None
    user: str | None = None
    host: str | None = None
    stats: Mapping[str, Any] = field(default_factory=dict)

    @property
    def metrics(self) -> Mapping[str, Mapping[str, Estimate]]:
        """``metrics[model][metric]`` of the first task."""
        return self.tasks[0].metrics

    @property
    def comparisons(self) -> Mapping[str, Difference]:
        """``comparisons[metric]`` of the first task."""
        return self.tasks[0].comparisons

    def task(self, name: str) -> TaskResult:
        """The result of the task called ``name``."""
        for t in self.tasks:
            if t.name == name:
                return t
        known = ", ".join(t.name for t in self.tasks)
        raise HeldoutError(f'run {self.id} has no task "{name}" (tasks: {known})')

    def examples(self, task: str | None = None) -> pd.DataFrame:
        """Per-example inputs, targets, predictions and scores as a DataFrame."""
        return (self.tasks[0] if task is None else self.task(task)).examples.copy()

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON document (``heldout run --json``), without examples."""
        return {
            "schema_version": SCHEMA_VERSION,
            "run": {
                "id": self.id,
                "name": self.name,
                "status": self.status,
                "spec_hash": self.spec_hash,
                "created_at": self.created_at.isoformat(),
                "finished_at": self.finished_at.isoformat(),
                "heldout_version": self.heldout_version,
                "git_commit": self.git_commit,
                "user": self.user,
                "host": self.host,
                "stats": dict(self.stats),
            },
            "spec": dict(self.spec),
            "tasks": {t.name: t.to_dict() for t in self.tasks},
        }
