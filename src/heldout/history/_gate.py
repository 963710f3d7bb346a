"""A regression gate: did a run get worse than its baseline by more than a tolerance?

A metric fails when it got worse (lower for ``*_score`` metrics, higher for errors and
losses) by more than its ``max_drop``, and the paired test says the change is real after
Holm's correction across the gated metrics. ``strict`` fails on the point estimate alone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from heldout._errors import HeldoutError
from heldout.history._compare import Comparison, MetricComparison, compare_runs, open_runs
from heldout.run import Run

__all__ = ["GateCheck", "GateResult", "gate", "gates_from_spec", "parse_max_drop"]


def parse_max_drop(items: Sequence[str]) -> dict[str, float]:
    """``["macro_f1=0.01", "log_loss=0.05"]`` as ``{"macro_f1": 0.01, "log_loss": 0.05}``.

    Raises:
        HeldoutError: an item is not ``METRIC=TOLERANCE`` with a number of at least 0.
    """
    out: dict[str, float] = {}
    for item in items:
        name, sep, number = item.rpartition("=")
        try:
            value = float(number)
        except ValueError:
            value = math.nan
        if not sep or not name.strip() or not value >= 0.0 or math.isinf(value):
            raise HeldoutError(
                f'--max-drop "{item}": expected METRIC=TOLERANCE with a tolerance of at least '
                "0 in the metric's units, as in --max-drop macro_f1=0.01"
            )
        out[name.strip()] = value
    return out


def gates_from_spec(run: Run) -> dict[str, float]:
    """The ``gates:`` of the run's spec as metric to tolerance (empty when it has none)."""
    gates = run.spec.get("gates") or ()
    return {str(g["metric"]): float(g["max_drop"]) for g in gates}


@dataclass(frozen=True)
class GateCheck:
    """One gated metric.

    Attributes:
        metric: the metric.
        max_drop: how much worse it may get, in its units.
        comparison: baseline (A) against the run (B).
        failed: whether this metric fails the gate.
        reason: why it passes or fails, in a few words.
    """

    metric: str
    max_drop: float
    comparison: MetricComparison
    failed: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "max_drop": self.max_drop,
            "worsening": self.comparison.worsening,
            "failed": self.failed,
            "reason": self.reason,
            "comparison": self.comparison.to_dict(),
        }


@dataclass(frozen=True)
class GateResult:
    """The gate's outcome: every check, and the comparison they came from."""

    comparison: Comparison
    checks: tuple[GateCheck, ...]
    strict: bool

    @property
    def passed(self) -> bool:
        return not any(c.failed for c in self.checks)

    @property
    def verdict(self) -> str:
        """One sentence a reader can act on."""
        failed = [c for c in self.checks if c.failed]
        if not failed:
            if self.strict:
                return "passed: no gated metric got worse by more than its tolerance"
            return "passed: no gated metric got significantly worse by more than its tolerance"
        parts = ", ".join(f"{c.metric} ({c.reason})" for c in failed)
        return f"failed: {parts}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "strict": self.strict,
            "verdict": self.verdict,
            "checks": [c.to_dict() for c in self.checks],
            "comparison": self.comparison.to_dict(),
        }

    def failure_message(self) -> str:
        """Several lines: which metrics regressed, by how much, their intervals and p."""
        c = self.comparison
        pairing = f"{c.n_shared:,} paired examples" if c.paired else "unpaired, no shared examples"
        lines = [
            f"heldout: run {c.b.run_id} ({c.b.model}) regressed against baseline "
            f"{c.a.run_id} ({c.a.model}), task {c.b.task}, {pairing}:"
        ]
        level = round(100 * (1 - c.alpha))
        for check in self.checks:
            m = check.comparison
            d = m.difference
            status = "FAIL" if check.failed else "ok"
            lines.append(
                f"  {status} {check.metric}: {_num(m.a.value)} -> {_num(m.b.value)}, "
                f"{check.reason} (max drop {check.max_drop:g}); "
                f"delta {_est(d.delta, d.ci_low, d.ci_high, signed=True)} ({level}% CI), "
                f"p (adjusted) {_p(d.p_adjusted)}, {d.test}"
            )
        lines.extend(f"  note: {w}" for w in c.warnings)
        return "\n".join(lines)

    def to_markdown(self) -> str:
        """A summary fit for a pull-request comment."""
        c = self.comparison
        mark = "✅ passed" if self.passed else "❌ failed"
        pairing = (
            f"{c.n_shared:,} paired examples"
            if c.paired
            else "no shared examples (unpaired comparison)"
        )
        level = round(100 * (1 - c.alpha))
        lines = [
            f"### heldout gate: {mark}",
            "",
            f"Run `{c.b.run_id}` ({c.b.run_name}, model `{c.b.model}`) against baseline "
            f"`{c.a.run_id}` ({c.a.run_name}, model `{c.a.model}`), task `{c.b.task}`: "
            f"{pairing}, p-values Holm-corrected across the gated metrics, alpha {c.alpha:g}"
            + (", strict" if self.strict else "")
            + ".",
            "",
            f"| metric | baseline | candidate | Δ [{level}% CI] | p (adj.) | test | max drop "
            "| result |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for check in self.checks:
            m = check.comparison
            d = m.difference
            lines.append(
                f"| {check.metric}{'' if m.higher_is_better else ' (lower is better)'} "
                f"| {_est(m.a.value, m.a.ci_low, m.a.ci_high)} "
                f"| {_est(m.b.value, m.b.ci_low, m.b.ci_high)} "
                f"| {_est(d.delta, d.ci_low, d.ci_high, signed=True)} "
                f"| {_p(d.p_adjusted)} | {d.test} | {check.max_drop:g} "
                f"| {'**fail**' if check.failed else 'pass'}: {check.reason} |"
            )
        lines += ["", f"**Verdict:** {self.verdict}.", ""]
        for warning in c.warnings:
            lines.insert(-1, f"> {warning}")
        return "\n".join(lines)


def _num(value: float, *, signed: bool = False) -> str:
    if not math.isfinite(value):
        return "n/a"
    text = f"{value:+.4g}" if signed else f"{value:.4g}"
    return text.replace("-", "−")


def _est(value: float, low: float, high: float, *, signed: bool = False) -> str:
    return f"{_num(value, signed=signed)} [{_num(low, signed=signed)}, {_num(high, signed=signed)}]"


def _p(p: float | None) -> str:
    if p is None or not math.isfinite(p):
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _check(metric: str, tolerance: float, m: MetricComparison, *, strict: bool) -> GateCheck:
    drop = m.worsening
    beyond = drop > tolerance
    direction = "rose" if not m.higher_is_better else "fell"
    size = f"{direction} by {abs(drop):.4g}" if drop > 0 else "did not get worse"
    if strict:
        failed = beyond
        reason = f"{size}, {'over' if beyond else 'within'} {tolerance:g}"
    else:
        significant = m.difference.verdict == "worse"
        failed = beyond and significant
        if not beyond:
            reason = f"{size}, within {tolerance:g}"
        elif significant:
            reason = f"{size}, over {tolerance:g}, significant"
        else:
            reason = f"{size}, over {tolerance:g} but not significant"
    return GateCheck(metric, tolerance, m, failed, reason)


def gate(
    run: Run | str,
    baseline: Run | str,
    *,
    max_drop: Mapping[str, float] | None = None,
    strict: bool = False,
    alpha: float | None = None,
    task: str | None = None,
    store: str | None = None,
) -> GateResult:
    """Check that ``run`` did not get worse than ``baseline`` by more than a tolerance.

    Args:
        run: the run to check, or its ref.
        baseline: the run it is checked against, or its ref (``latest:NAME`` works).
        max_drop: metric to tolerance in the metric's units; default the spec's ``gates:``.
        strict: fail when the point estimate got worse by more than the tolerance,
            significant or not.
        alpha: significance level (default: one minus the run's confidence setting).
        task: the task to gate (default: the run's first task).
        store: SQLAlchemy URL of the store refs are read from.

    Raises:
        HeldoutError: no tolerance is given or in the spec, a metric is unknown or cannot
            be compared from the stored examples, or a ref cannot be found.
    """
    base_run, new_run = open_runs(baseline, run, store=store)
    if alpha is not None and not 0.0 < alpha < 0.5:
        raise HeldoutError(f"--alpha {alpha:g}: expected a significance level between 0 and 0.5")
    tolerances = dict(max_drop) if max_drop else gates_from_spec(new_run)
    if not tolerances:
        raise HeldoutError(
            f"nothing to gate: run {new_run.id}'s spec has no gates:; pass --max-drop "
            "METRIC=TOLERANCE (as in --max-drop macro_f1=0.01) or add "
            "gates: [{metric: macro_f1, max_drop: 0.01}] to eval.yaml"
        )
    comparison = compare_runs(base_run, new_run, task=task, metrics=list(tolerances), alpha=alpha)
    for metric in tolerances:
        if metric not in comparison.metrics:
            why = comparison.left_out.get(metric, "it is not scored for both runs")
            raise HeldoutError(f'metric "{metric}" cannot be gated: {why}; gate another metric')
    checks = tuple(
        _check(metric, tol, comparison.metrics[metric], strict=strict)
        for metric, tol in tolerances.items()
    )
    return GateResult(comparison=comparison, checks=checks, strict=strict)
