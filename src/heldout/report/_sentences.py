"""The sentences a reader acts on: the verdict, the headline, the power, the slice rule."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from heldout._util._format import (
    NumberFormat,
    fmt_count,
    fmt_interval,
    fmt_number,
    fmt_p,
    fmt_percent,
    fmt_signed,
)
from heldout.run import TaskResult
from heldout.stats import Difference

__all__ = [
    "headline_sentence",
    "mde_sentence",
    "slice_note",
    "summary_sentence",
    "verdict_class",
    "worse_slice_sentences",
]


def summary_sentence(task: TaskResult, metrics: Sequence[str]) -> str:
    """One sentence a reader can act on: how many metrics moved, and which way."""
    if task.candidate is None or task.baseline is None or not task.comparisons:
        models = ", ".join(task.models)
        plural = "metric" if len(metrics) == 1 else "metrics"
        return f"{models} measured on {len(metrics)} {plural}; this task compares no models."
    verdicts = [task.comparisons[m].verdict for m in metrics if m in task.comparisons]
    total = len(verdicts)
    better = verdicts.count("better")
    worse = verdicts.count("worse")
    same = total - better - worse
    plural = "metric" if total == 1 else "metrics"
    if better == worse == 0:
        return (
            f"No significant difference between {task.candidate} and {task.baseline} "
            f"on any of the {total} {plural}."
        )
    return (
        f"{task.candidate} is better than {task.baseline} on {better} of {total} {plural}, "
        f"worse on {worse}; no significant difference on {same}."
    )


def headline_sentence(
    task: TaskResult, formats: Mapping[str, NumberFormat], correction: str
) -> tuple[str, str]:
    """The headline metric's values, difference, interval and verdict, and its CSS class."""
    metric = task.headline
    if metric not in formats:
        return "", "none"
    decimals = formats[metric].decimals
    diff = task.comparisons.get(metric)
    shown = task.models if diff is None else (task.candidate, task.baseline)
    values = ", ".join(
        f"{model} {fmt_number(task.metrics[model][metric].value, decimals)}"
        for model in shown
        if model is not None and metric in task.metrics.get(model, {})
    )
    if diff is None:
        return f"Headline {metric}: {values}.", "none"
    delta = fmt_signed(diff.delta, decimals)
    interval = fmt_interval(diff.ci_low, diff.ci_high, decimals, signed=True)
    p = diff.p_value if diff.p_adjusted is None else diff.p_adjusted
    p_label = "p" if diff.p_adjusted is None else f"p ({correction})"
    return (
        f"Headline {metric}: {values}; Δ {delta} {interval}, {p_label} {fmt_p(p)}: {diff.verdict}.",
        verdict_class(diff),
    )


def worse_slice_sentences(
    task: TaskResult, formats: Mapping[str, NumberFormat], correction: str
) -> tuple[str, ...]:
    """One sentence per slice where the candidate is significantly worse after correction.

    Named even when the candidate wins overall: that is what a single number hides.
    """
    out = []
    for s in task.slices:
        d = s.comparison
        if d is None or s.small or d.verdict != "worse":
            continue
        decimals = formats[s.metric].decimals if s.metric in formats else 3
        interval = fmt_interval(d.ci_low, d.ci_high, decimals, signed=True)
        out.append(
            f"Worse on {s.column} = {s.value} (n = {fmt_count(s.n)}): Δ {s.metric} "
            f"{fmt_signed(d.delta, decimals)} {interval}, p ({correction}) {fmt_p(d.p_adjusted)}."
        )
    return tuple(out)


def mde_sentence(task: TaskResult, formats: Mapping[str, NumberFormat]) -> str | None:
    """What difference this eval could detect; ``None`` when the run holds no MDE."""
    mde = task.mde
    if mde is None:
        return None
    decimals = formats[mde.metric].decimals
    paired = "paired " if task.candidate is not None and task.baseline is not None else ""
    return (
        f"With {fmt_count(mde.n)} {paired}examples this eval can detect a difference of "
        f"{fmt_number(mde.effect, decimals)} in {mde.metric} at {fmt_percent(mde.power)} power "
        f"(two-sided α = {mde.alpha:.2g}; {mde.basis})."
    )


def slice_note(task: TaskResult, stats: Mapping[str, Any], correction: str) -> str:
    """How to read the slices: the size rule and what marks a significant slice."""
    if not task.slices:
        return ""
    minimum = stats.get("min_slice_size")
    size = f"under {minimum} examples" if isinstance(minimum, int) else "under the minimum size"
    note = f"Slices {size} are flagged ⚑ and greyed: shown, never ranked."
    if any(s.comparison is not None for s in task.slices):
        note += (
            f" A filled diamond marks a difference significant after {correction} correction "
            "across the task's slices."
        )
    return note


def verdict_class(diff: Difference | None) -> str:
    """``better``, ``worse`` or ``none``: the CSS class that colours a verdict."""
    if diff is None:
        return "none"
    return diff.verdict if diff.verdict in ("better", "worse") else "none"
