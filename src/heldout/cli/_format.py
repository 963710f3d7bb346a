"""How numbers look in the terminal."""

from __future__ import annotations

import math

from heldout.stats import Difference, Estimate

__all__ = ["fmt_delta", "fmt_estimate", "fmt_p", "fmt_value", "wide_scale"]

# sacrebleu reports BLEU, chrF and TER on a 0–100 scale; everything else is 0–1 or raw units.
_WIDE = ("bleu", "chrf", "ter")


def wide_scale(metric: str) -> bool:
    return metric.split(":")[0] in _WIDE


def fmt_value(metric: str, value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.2f}" if wide_scale(metric) else f"{value:.3f}"


def fmt_estimate(metric: str, est: Estimate, *, sep: str = " ") -> str:
    return f"{fmt_value(metric, est.value)}{sep}[{fmt_value(metric, est.ci_low)}, {fmt_value(metric, est.ci_high)}]"


def fmt_delta(metric: str, diff: Difference, *, sep: str = " ") -> str:
    def signed(v: float) -> str:
        text = fmt_value(metric, v)
        return text if text.startswith("-") or text == "—" else f"+{text}"

    return f"{signed(diff.delta)}{sep}[{signed(diff.ci_low)}, {signed(diff.ci_high)}]"


def fmt_p(p: float | None) -> str:
    if p is None or math.isnan(p):
        return "—"
    if p < 0.001:
        return "<0.001"
    return f"{p:.3f}"
