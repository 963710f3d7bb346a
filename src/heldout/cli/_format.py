"""How estimates and differences look in the terminal (the report writes them the same way).

One number of decimals per metric, chosen from all the values shown for it
(:func:`decimals_for`), so a table row reads consistently.
"""

from __future__ import annotations

from collections.abc import Iterable

from heldout._util._format import fmt_interval, fmt_number, fmt_p, fmt_signed, metric_format
from heldout.stats import Difference, Estimate

__all__ = ["decimals_for", "fmt_delta", "fmt_estimate", "fmt_p", "fmt_value"]


def decimals_for(metric: str, values: Iterable[float]) -> int:
    return metric_format(metric, values).decimals


def fmt_value(metric: str, value: float, decimals: int | None = None) -> str:
    return fmt_number(value, decimals_for(metric, [value]) if decimals is None else decimals)


def fmt_estimate(metric: str, est: Estimate, decimals: int | None = None) -> str:
    d = decimals_for(metric, [est.value]) if decimals is None else decimals
    return f"{fmt_number(est.value, d)} {fmt_interval(est.ci_low, est.ci_high, d)}"


def fmt_delta(metric: str, diff: Difference, decimals: int | None = None) -> str:
    d = decimals_for(metric, [diff.delta]) if decimals is None else decimals
    return f"{fmt_signed(diff.delta, d)} {fmt_interval(diff.ci_low, diff.ci_high, d, signed=True)}"
