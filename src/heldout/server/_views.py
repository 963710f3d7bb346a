"""What the listing, history and compare pages show, built from stored results only."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from heldout._errors import HeldoutError
from heldout._util._format import (
    fmt_count,
    fmt_datetime,
    fmt_interval,
    fmt_number,
    fmt_p,
    fmt_signed,
    metric_format,
)
from heldout.history import Comparison, ExampleChange
from heldout.stats import Difference, Estimate
from heldout.store import RunSummary, TaskSummary

__all__ = ["CompareView", "RunListRow", "compare_view", "list_rows", "sort_rows"]

SORT_KEYS = ("created", "name", "status", "headline", "delta")


@dataclass(frozen=True)
class RunListRow:
    """One line of the runs page."""

    id: str
    short_id: str
    name: str
    status: str
    created: str
    created_iso: str
    models: str
    tasks: str
    n: str
    headline_metric: str
    headline: str
    headline_interval: str
    headline_method: str
    delta: str
    delta_interval: str
    verdict: str
    verdict_class: str
    sort_headline: float
    sort_delta: float

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "created_at": self.created_iso,
            "models": self.models.split(", ") if self.models else [],
            "tasks": self.tasks.split(", ") if self.tasks else [],
            "n": self.n,
            "headline_metric": self.headline_metric,
            "headline": self.headline,
            "headline_interval": self.headline_interval,
            "headline_method": self.headline_method,
            "delta": self.delta,
            "delta_interval": self.delta_interval,
            "verdict": self.verdict,
        }


def _headline(task: TaskSummary | None) -> tuple[Estimate | None, Difference | None]:
    if task is None:
        return None, None
    estimate = task.candidate_estimate
    if estimate is None and task.estimates:
        estimate = next(iter(task.estimates.values()))
    return estimate, task.difference


def list_rows(summaries: Sequence[RunSummary]) -> list[RunListRow]:
    """The runs page's rows, in the order given."""
    rows = []
    for summary in summaries:
        first = summary.tasks[0] if summary.tasks else None
        estimate, diff = _headline(first)
        values = [v for v in (estimate.value if estimate else None,) if v is not None]
        decimals = metric_format(first.headline, values).decimals if first else 3
        verdict = diff.verdict if diff is not None else ""
        rows.append(
            RunListRow(
                id=summary.id,
                short_id=summary.id[:8],
                name=summary.name,
                status=summary.status,
                created=fmt_datetime(summary.created_at),
                created_iso=summary.created_at.isoformat(),
                models=", ".join(summary.models),
                tasks=", ".join(summary.task_names),
                n=", ".join(fmt_count(t.n) for t in summary.tasks),
                headline_metric=first.headline if first else "",
                headline="" if estimate is None else fmt_number(estimate.value, decimals),
                headline_interval=(
                    ""
                    if estimate is None
                    else fmt_interval(estimate.ci_low, estimate.ci_high, decimals)
                ),
                headline_method="" if estimate is None else estimate.method,
                delta="" if diff is None else fmt_signed(diff.delta, decimals),
                delta_interval=(
                    ""
                    if diff is None
                    else fmt_interval(diff.ci_low, diff.ci_high, decimals, signed=True)
                ),
                verdict=verdict,
                verdict_class=_verdict_class(verdict),
                sort_headline=_sortable(estimate.value if estimate else None),
                sort_delta=_sortable(diff.delta if diff else None),
            )
        )
    return rows


def sort_rows(rows: list[RunListRow], key: str, descending: bool) -> list[RunListRow]:
    """Rows sorted by ``key`` (one of :data:`SORT_KEYS`); runs without a value go last."""
    if key not in SORT_KEYS:
        raise HeldoutError(f'cannot sort runs by "{key}"; sort by one of {", ".join(SORT_KEYS)}')
    if key == "created":
        return sorted(rows, key=lambda r: r.created_iso, reverse=descending)
    if key in ("name", "status"):
        return sorted(rows, key=lambda r: getattr(r, key).lower(), reverse=descending)
    attribute = "sort_headline" if key == "headline" else "sort_delta"
    present = [r for r in rows if not math.isnan(getattr(r, attribute))]
    missing = [r for r in rows if math.isnan(getattr(r, attribute))]
    return sorted(present, key=lambda r: getattr(r, attribute), reverse=descending) + missing


def _sortable(value: float | None) -> float:
    return math.nan if value is None or not math.isfinite(value) else value


def _verdict_class(verdict: str) -> str:
    return {"better": "better", "worse": "worse"}.get(verdict, "neutral" if verdict else "")


@dataclass(frozen=True)
class CompareRow:
    """One metric of the compare page: A, B and the difference ``B - A`` with its test."""

    metric: str
    a: str
    a_interval: str
    b: str
    b_interval: str
    delta: str
    delta_interval: str
    p: str
    test: str
    verdict: str
    verdict_class: str


#: An example B fixed or broke: id, input, target, A's output, B's output.
Change = tuple[str, str, str, str, str]


@dataclass(frozen=True)
class CompareView:
    """B against A on one task, as :func:`heldout.history.compare_runs` found it."""

    title: str
    a_label: str
    b_label: str
    task: str
    paired_note: str
    warnings: tuple[str, ...]
    rows: tuple[CompareRow, ...]
    fixed: tuple[Change, ...]
    broken: tuple[Change, ...]
    fixed_total: int
    broken_total: int
    shared: int
    document: Mapping[str, Any]

    def to_dict(self) -> dict[str, object]:
        return dict(self.document)


def compare_view(comparison: Comparison, *, limit: int = 25) -> CompareView:
    """Lay out a comparison: each metric's A, B and ``B - A``; the first ``limit`` examples
    B fixed and broke (the API keeps them all)."""
    rows = []
    for metric, m in comparison.metrics.items():
        d = m.difference
        decimals = metric_format(metric, [m.a.value, m.b.value, d.delta]).decimals
        rows.append(
            CompareRow(
                metric=metric,
                a=fmt_number(m.a.value, decimals),
                a_interval=fmt_interval(m.a.ci_low, m.a.ci_high, decimals),
                b=fmt_number(m.b.value, decimals),
                b_interval=fmt_interval(m.b.ci_low, m.b.ci_high, decimals),
                delta=fmt_signed(d.delta, decimals),
                delta_interval=fmt_interval(d.ci_low, d.ci_high, decimals, signed=True),
                p=fmt_p(d.p_adjusted),
                test=d.test,
                verdict=d.verdict,
                verdict_class=_verdict_class(d.verdict),
            )
        )
    a, b = comparison.a, comparison.b
    a_label = f"{a.model} @ {a.run_name} {a.run_id[:8]}"
    b_label = f"{b.model} @ {b.run_name} {b.run_id[:8]}"
    if comparison.paired:
        note = (
            f"Paired on the {comparison.n_shared:,} examples both scored (matched by id); "
            "p-values corrected across the metrics together."
        )
    else:
        note = "Unpaired: the two share no example, so each side's own interval is used."
    return CompareView(
        title=f"{b_label} against {a_label}",
        a_label=a_label,
        b_label=b_label,
        task=b.task,
        paired_note=note,
        warnings=comparison.warnings,
        rows=tuple(rows),
        fixed=tuple(_change(c) for c in comparison.fixed[:limit]),
        broken=tuple(_change(c) for c in comparison.broken[:limit]),
        fixed_total=len(comparison.fixed),
        broken_total=len(comparison.broken),
        shared=comparison.n_shared,
        document=comparison.to_dict(),
    )


def _change(change: ExampleChange) -> Change:
    return (
        change.id,
        _short(change.input),
        _short(change.target),
        _short(change.prediction_a),
        _short(change.prediction_b),
    )


def _short(value: object, limit: int = 300) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = str(value)
    return text if len(text) <= limit else f"{text[:limit]}…"
