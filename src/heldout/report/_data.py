"""The report's "Data" section: what the data checks found in a task's eval set."""

from __future__ import annotations

from dataclasses import dataclass

from heldout._util._format import fmt_count
from heldout.run import TaskResult

__all__ = ["DataFindingView", "DataView", "data_view"]


@dataclass(frozen=True)
class DataFindingView:
    """One check: what it looks for, how many it found, and the first ids."""

    label: str
    count: str
    ids: str
    found: bool


@dataclass(frozen=True)
class DataView:
    """The data section of one task."""

    note: str
    findings: tuple[DataFindingView, ...]
    classes: str | None


def data_view(task: TaskResult) -> DataView | None:
    """The task's data section, or ``None`` when the run has no data summary."""
    data = task.data
    if data is None:
        return None
    found = data.found
    leakage = f", and leakage from {data.train_path}" if data.train_path else ""
    verdict = (
        f"{len(found)} of {len(data.findings)} checks found something"
        if found
        else "no check found anything"
    )
    note = (
        f"The checks of heldout check on the {fmt_count(data.rows)} examples of "
        f"{task.dataset.path}{leakage}: {verdict}. Each finding lists its first ids; "
        f"heldout check {task.dataset.path} --json lists them all."
    )
    classes = None
    if data.classes:
        counts = ", ".join(f"{k} {fmt_count(v)}" for k, v in list(data.classes.items())[:12])
        more = " …" if len(data.classes) > 12 else ""
        ratio = (
            "" if data.imbalance_ratio is None else f" (imbalance ratio {data.imbalance_ratio:.1f})"
        )
        classes = f"Classes: {counts}{more}{ratio}."
    return DataView(
        note=note,
        findings=tuple(
            DataFindingView(
                label=f.label,
                count=fmt_count(f.count),
                ids=", ".join(f.ids) + (" …" if f.count > len(f.ids) and f.ids else ""),
                found=f.count > 0,
            )
            for f in data.findings
        ),
        classes=classes,
    )
