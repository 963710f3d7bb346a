"""The report's judges section: frozen steps, errors, pairwise rates, validation, judge cost."""

from __future__ import annotations

from dataclasses import dataclass

from heldout.run import TaskResult
from heldout.stats import Estimate

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


def _est(est: Estimate, d: int = 2) -> str:
    return f"{est.value:.{d}f} [{est.ci_low:.{d}f}, {est.ci_high:.{d}f}]"


def judges_view(task: TaskResult) -> JudgesView | None:
    """The section, or ``None`` for a task without judges."""
    report = task.judges
    if not report:
        return None
    rows = []
    for info in report.judges:
        notes: list[str] = []
        for model, agreement in info.agreement.items():
            notes.append(f"vote agreement ({model}, mean pairwise): {_est(agreement)}")
        p = info.pairwise
        if p is not None:
            notes.append(
                f"{p.candidate} vs {p.baseline}, both orders, n={p.n:,}: win {_est(p.win)}, "
                f"tie {_est(p.tie)}, loss {_est(p.loss)}"
            )
            if p.first_position is not None:
                notes.append(
                    f"position bias: the first response wins {_est(p.first_position)} of "
                    "decisive verdicts (0.50 is none)"
                )
        v = info.validation
        warning = None
        if v is not None:
            spearman = "" if v.spearman is None else f", Spearman {_est(v.spearman)}"
            weights = "quadratic-weighted " if v.weights == "quadratic" else ""
            notes.append(
                f"vs human labels ({v.column}, outputs of {v.model}, n={v.n:,}): accuracy "
                f"{_est(v.accuracy)}, {weights}kappa {_est(v.kappa)}{spearman}"
            )
            if v.low:
                warning = "Low agreement with people: check the criteria or steps first."
        errors = ", ".join(
            f"{m}: {e:,} of {e + info.judged.get(m, 0):,}" for m, e in info.errors.items()
        )
        low, high = info.scale
        rows.append(
            JudgeRowView(
                name=info.name,
                kind=info.kind,
                model=info.model,
                scale=("0/1" if info.strict else f"{low}–{high}") if info.kind == "score" else "–",
                steps=info.steps,
                errors=errors or "none",
                notes=tuple(notes),
                warning=warning,
            )
        )
    usage = tuple(
        (
            model,
            f"{u.calls:,}",
            f"{u.failed_calls:,}",
            f"{u.input_tokens or 0:,} / {u.output_tokens or 0:,}",
            "–" if u.latency is None else _est(u.latency, 3),
            "–" if u.cost is None else f"{u.cost:.4f}",
        )
        for model, u in report.usage.items()
    )
    return JudgesView(judges=tuple(rows), usage=usage)
