"""Summary lines for a task's error analysis and chosen thresholds."""

from __future__ import annotations

from rich.text import Text

from heldout.analysis import ThresholdChoice
from heldout.cli._format import fmt_delta, fmt_p
from heldout.run import TaskResult
from heldout.stats import Estimate

__all__ = ["errors_line", "forgetting_line", "threshold_lines"]


def errors_line(task: TaskResult) -> Text:
    """``fixed N / broke M`` and the input-length bucket where the candidate is worst."""
    out = Text()
    errors = task.errors
    if errors is None or task.candidate is None:
        return out
    change = (
        "wrong → right" if errors.tolerance == 0 else f"{errors.score} ± {errors.tolerance:.3g}"
    )
    out.append(f"{task.candidate} vs {task.baseline}: ")
    out.append(f"fixed {errors.n_fixed:,}", style="green")
    out.append(" / ")
    out.append(f"broke {errors.n_broken:,}", style="red" if errors.n_broken else "")
    out.append(f" examples ({change})")
    worst = errors.worst_length
    if worst is not None and worst.comparison is not None:
        d = worst.comparison
        out.append(
            f"; worst on inputs of {worst.value} (n={worst.n:,}): Δ {worst.metric} "
            f"{fmt_delta(worst.metric, d)}, p (adj.) {fmt_p(d.p_adjusted)}",
            style="bold red",
        )
    elif errors.length:
        out.append("; no input-length bucket is significantly worse", style="dim")
    out.append(".\n")
    return out


def forgetting_line(task: TaskResult) -> Text:
    """A forgetting suite's verdict: the accuracy change and whether it counts as forgotten."""
    out = Text()
    f = task.forgetting
    if f is None:
        return out
    d = f.difference
    style = {"forgotten": "bold red", "kept": "green"}.get(f.verdict, "yellow")
    out.append(
        f"forgetting ({f.format}, n={d.n:,}): {f.metric} {task.candidate} "
        f"{f.candidate.value:.3f} vs {task.baseline} {f.baseline.value:.3f}, "
        f"Δ {d.delta:+.3f} [{d.ci_low:+.3f}, {d.ci_high:+.3f}], p (adj. across suites) "
        f"{fmt_p(d.p_adjusted)}: "
    )
    out.append(f.verdict, style=style)
    out.append(f" (tolerance {f.tolerance:g}).\n")
    return out


def threshold_lines(task: TaskResult) -> Text:
    """One line per model: the chosen threshold and what it achieves, with intervals."""
    out = Text()
    for model, points in task.thresholds.items():
        choice = points.choice
        if choice is None:
            continue
        out.append(
            f"threshold {_goal(choice)}: {model} p({choice.positive_label}) ≥ "
            f"{choice.threshold:.3f} → recall {_est(choice.recall)}, "
            f"precision {_est(choice.precision)}, "
            f"F{choice.beta:g} {_est(choice.fbeta)}"
        )
        if choice.target == "cost":
            out.append(f", cost/example {_est(choice.cost)}")
        out.append(f", selects {choice.selection_rate.value:.0%}")
        if not choice.reached:
            out.append(" (target not reached)", style="yellow")
        out.append(".\n")
    return out


def _goal(choice: ThresholdChoice) -> str:
    if choice.target in ("recall", "precision"):
        return f"for {choice.target} ≥ {choice.value:g}"
    if choice.target == "fbeta":
        return f"for the best F{choice.beta:g}"
    costs = ", ".join(f"{k} {v:g}" for k, v in choice.costs.items() if v)
    return f"for the lowest cost ({costs})"


def _est(est: Estimate) -> str:
    return f"{est.value:.3f} [{est.ci_low:.3f}, {est.ci_high:.3f}]"
