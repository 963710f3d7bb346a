"""Terminal lines about a task's LLM judges: frozen steps, errors, pairwise, validation, cost."""

from __future__ import annotations

from rich.text import Text

from heldout.judges._describe import fmt_judge_estimate, judge_notes, judge_scale
from heldout.run import TaskResult

__all__ = ["judge_lines"]


def judge_lines(task: TaskResult) -> Text | None:
    """What the judges of a task did, or ``None`` when it has none."""
    report = task.judges
    if not report:
        return None
    out = Text()
    out.append("judges", style="bold")
    out.append(f" of {task.name} (scores are the <judge> metrics above, normalised to 0–1)\n")
    for info in report.judges:
        out.append(f"  {info.name}", style="cyan")
        out.append(f": {info.kind} by {info.model}")
        if info.kind == "score":
            out.append(f", scale {judge_scale(info)}")
        if info.votes > 1:
            out.append(f", {info.votes} votes")
        out.append("\n")
        if info.steps:
            out.append("    steps (frozen; reuse them as steps: in the spec):\n", style="dim")
            for k, step in enumerate(info.steps, 1):
                out.append(f"      {k}. {step}\n")
        failed = {m: e for m, e in info.errors.items() if e}
        if failed:
            parts = [f"{m} {e:,} of {e + info.judged.get(m, 0):,}" for m, e in failed.items()]
            out.append(
                f"    judge errors: {', '.join(parts)} (left out of the mean; see judge_error:"
                f"{info.name}:<model> in the examples)\n",
                style="yellow",
            )
        described = judge_notes(info)
        for note in described.notes:
            out.append(f"    {note}\n")
        if described.low_agreement:
            out.append(
                "    low agreement with people: check the criteria or steps before trusting "
                "this judge\n",
                style="bold yellow",
            )
    for model, usage in report.usage.items():
        parts = [f"{usage.calls:,} calls"]
        if usage.failed_calls:
            parts.append(f"{usage.failed_calls:,} failed")
        if usage.input_tokens is not None or usage.output_tokens is not None:
            parts.append(
                f"{usage.input_tokens or 0:,} in / {usage.output_tokens or 0:,} out tokens"
            )
        if usage.latency is not None:
            parts.append(f"latency {fmt_judge_estimate(usage.latency, 3)} s")
        if usage.cost is not None:
            parts.append(f"cost {usage.cost:.4f}")
        out.append(f"  judge model {model}: {', '.join(parts)} (not in the models' costs)\n")
    return out
