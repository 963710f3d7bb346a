"""The report's judges section: frozen steps, errors, pairwise rates, validation, judge cost."""

from __future__ import annotations

from dataclasses import dataclass

from heldout.judges._describe import fmt_judge_estimate, judge_notes, judge_scale
from heldout.run import TaskResult

__all__ = ["JudgeRowView", "JudgesView", "judges_view"]


@dataclass(frozen=True)
class JudgeRowView:
    """One judge metric, as strings."""

    name: str
    kind: str
    model: str
    scale: str
    steps: tuple[str, ...]
    errors: str
    notes: tuple[str, ...]
    warning: str | None


@dataclass(frozen=True)
class JudgesView:
    """Every judge of a task and the judge models' calls (apart from the models')."""

    judges: tuple[JudgeRowView, ...]
    usage: tuple[tuple[str, str, str, str, str, str], ...]


def judges_view(task: TaskResult) -> JudgesView | None:
    """The section, or ``None`` for a task without judges."""
    report = task.judges
    if not report:
        return None
    rows = []
    for info in report.judges:
        described = judge_notes(info)
        warning = (
            "Low agreement with people: check the criteria or steps first."
            if described.low_agreement
            else None
        )
        errors = ", ".join(
            f"{m}: {e:,} of {e + info.judged.get(m, 0):,}" for m, e in info.errors.items()
        )
        rows.append(
            JudgeRowView(
                name=info.name,
                kind=info.kind,
                model=info.model,
                scale=judge_scale(info) if info.kind == "score" else "–",
                steps=info.steps,
                errors=errors or "none",
                notes=described.notes,
                warning=warning,
            )
        )
    usage = tuple(
        (
            model,
            f"{u.calls:,}",
            f"{u.failed_calls:,}",
            f"{u.input_tokens or 0:,} / {u.output_tokens or 0:,}",
            "–" if u.latency is None else fmt_judge_estimate(u.latency, 3),
            "–" if u.cost is None else f"{u.cost:.4f}",
        )
        for model, u in report.usage.items()
    )
    return JudgesView(judges=tuple(rows), usage=usage)
