"""The data section of a run: the checks of ``heldout check`` on each task's eval set.

A run keeps a summary, not the whole :class:`~heldout.data.DataReport`: per finding its
count and the first ids (enough to find and fix the rows; ``heldout check --json`` lists
them all), the missing values per column, and the class counts. When the task names a
training file (``train:``) the leakage check runs too, reusing the report of
``exclude: leaked`` when the task has one.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from heldout.data import DataReport, Dataset, LeakageReport, check_data
from heldout.run._exclude import leakage_report
from heldout.spec import LoadedSpec, TaskSpec

__all__ = ["DataFinding", "DataSummary", "data_summary", "summarize"]

#: Example ids kept per finding.
SHOWN_IDS = 10


@dataclass(frozen=True)
class DataFinding:
    """One kind of problem in the eval set.

    Attributes:
        name: the finding's name as ``heldout check --fail-on`` spells it.
        label: what it is, for people (``near-duplicate pairs (Jaccard ≥ 0.8)``).
        count: how many (groups, pairs, examples or classes, as the label says).
        ids: the first example ids (or class names) involved.
    """

    name: str
    label: str
    count: int
    ids: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "count": self.count, "ids": list(self.ids)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DataFinding:
        return cls(
            name=str(data["name"]),
            label=str(data["label"]),
            count=int(data["count"]),
            ids=tuple(str(i) for i in data.get("ids", ())),
        )


@dataclass(frozen=True)
class DataSummary:
    """What the data checks found in a task's eval set.

    Attributes:
        rows: examples checked.
        findings: every check, found or not, in a fixed order.
        missing: per column with gaps, ``(missing, empty)`` value counts.
        classes: examples per class (classification), largest first.
        imbalance_ratio: largest over smallest class count.
        train_path: the training file the leakage check read, when the task names one.
        seconds: how long the checks took.
    """

    rows: int
    findings: tuple[DataFinding, ...]
    missing: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    classes: Mapping[str, int] = field(default_factory=dict)
    imbalance_ratio: float | None = None
    train_path: str | None = None
    seconds: float = 0.0

    @property
    def found(self) -> tuple[DataFinding, ...]:
        """The findings with a non-zero count."""
        return tuple(f for f in self.findings if f.count)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "findings": [f.to_dict() for f in self.findings],
            "missing": {c: list(v) for c, v in self.missing.items()},
            "classes": dict(self.classes),
            "imbalance_ratio": self.imbalance_ratio,
            "train_path": self.train_path,
            "seconds": self.seconds,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DataSummary:
        ratio = data.get("imbalance_ratio")
        return cls(
            rows=int(data["rows"]),
            findings=tuple(DataFinding.from_dict(f) for f in data.get("findings", ())),
            missing={str(c): (int(v[0]), int(v[1])) for c, v in data.get("missing", {}).items()},
            classes={str(k): int(v) for k, v in data.get("classes", {}).items()},
            imbalance_ratio=None if ratio is None else float(ratio),
            train_path=data.get("train_path"),
            seconds=float(data.get("seconds", 0.0)),
        )


def _first(ids: Any) -> tuple[str, ...]:
    return tuple(str(i) for i in list(ids)[:SHOWN_IDS])


def summarize(report: DataReport, *, seconds: float = 0.0) -> DataSummary:
    """The run's summary of a data report (counts and the first ids of each finding)."""
    s = report.settings
    missing = {c.name: (c.missing, c.empty) for c in report.columns if c.missing or c.empty}
    findings = [
        DataFinding(
            "missing-values",
            "missing or empty values (cells)",
            sum(m + e for m, e in missing.values()),
            tuple(missing),
        ),
        DataFinding(
            "duplicates",
            "exact duplicate groups (after normalising case, whitespace, Unicode)",
            len(report.duplicates),
            _first(i for g in report.duplicates for i in g.ids),
        ),
        DataFinding(
            "near-duplicates",
            f"near-duplicate pairs (Jaccard ≥ {s['near_threshold']:g})",
            len(report.near_duplicates),
            _first(f"{p.first}~{p.second}" for p in report.near_duplicates),
        ),
        DataFinding(
            "conflicts",
            "conflicting labels (same input, different targets; groups)",
            len(report.conflicts),
            _first(i for c in report.conflicts for i in c.ids),
        ),
    ]
    balance = report.balance
    if balance is not None:
        unknown = [i for ids in balance.unknown.values() for i in ids]
        findings.append(
            DataFinding(
                "unknown-labels",
                "labels outside the label set (examples)",
                len(unknown),
                _first(unknown),
            )
        )
        findings.append(
            DataFinding(
                "rare-classes",
                f"classes under {balance.min_count} examples",
                len(balance.rare),
                _first(balance.rare),
            )
        )
    lengths = report.lengths
    if lengths is not None:
        outliers = [*lengths.long, *lengths.short]
        findings.append(
            DataFinding(
                "length-outliers",
                f"input-length outliers (outside {max(lengths.low, 0):,.0f}–{lengths.high:,.0f} "
                "chars)",
                len(outliers),
                _first(outliers),
            )
        )
    leakage: LeakageReport | None = report.leakage
    if leakage is not None:
        findings.append(
            DataFinding(
                "leakage",
                f"eval examples leaked from training (exact, {leakage.ngram}-gram overlap, "
                "near-duplicates)",
                len(leakage.contaminated_ids),
                _first(leakage.contaminated_ids),
            )
        )
    return DataSummary(
        rows=report.rows,
        findings=tuple(findings),
        missing=missing,
        classes={} if balance is None else dict(balance.counts),
        imbalance_ratio=None if balance is None else float(balance.imbalance_ratio),
        train_path=None if leakage is None else leakage.train_path,
        seconds=seconds,
    )


def data_summary(
    loaded: LoadedSpec,
    task: TaskSpec,
    index: int,
    dataset: Dataset,
    *,
    labels: tuple[str, ...],
    originals: NDArray[np.bool_] | None = None,
    leakage: LeakageReport | None = None,
) -> DataSummary | None:
    """Run the data checks on a task's eval set (``None`` when it has no input column).

    Args:
        loaded: the spec.
        task: the task.
        index: its position in the spec, for error locations.
        dataset: its examples, with the file's table.
        labels: the task's label set (classification), for labels outside it.
        originals: for a stress set, the rows that are originals (variants are
            near-duplicates by design and are left out).
        leakage: a leakage report already computed for ``exclude: leaked``.
    """
    table = dataset.table
    input_col = dataset.columns.get("input") or task.dataset.input
    if table is None or input_col not in table.column_names:
        return None
    start = time.perf_counter()
    if originals is not None and not originals.all():
        table = table.filter(pa.array(originals))
    target = task.dataset.target if task.dataset.target in table.column_names else None
    report = check_data(
        table,
        path=dataset.path,
        id=task.dataset.id,
        input=input_col,
        target=target,
        # multiple-choice targets name options, not a label set: balance only
        labels=labels or None if task.type == "classification" else None,
        classification=task.type in ("classification", "multiple_choice"),
        seed=loaded.spec.stats.seed,
    )
    if task.train is not None:
        found = leakage if leakage is not None else leakage_report(loaded, task, index, dataset)
        report = replace(report, leakage=found)
    return summarize(report, seconds=time.perf_counter() - start)
