"""How numbers, intervals and p-values are written, in the terminal and the report alike.

Readers format numbers; they never compute a statistic. One number format is chosen per
metric so a table row reads consistently: metrics on a 0–1 scale get three decimals,
sacrebleu-scale scores (BLEU, chrF, TER, 0–100) get two.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

__all__ = [
    "NumberFormat",
    "Scale",
    "base_metric_name",
    "fmt_count",
    "fmt_datetime",
    "fmt_duration",
    "fmt_interval",
    "fmt_number",
    "fmt_p",
    "fmt_percent",
    "fmt_signed",
    "lower_is_better",
    "metric_format",
]

Scale = Literal["unit", "sacrebleu", "other"]

#: Metrics sacrebleu reports on a 0–100 scale.
_SACREBLEU_SCALE = frozenset({"bleu", "sacrebleu", "spbleu", "chrf", "chrf++", "ter"})
#: Per-example scores where a smaller number is the better one.
# per-example score columns and metrics where smaller is better (errors and losses)
_LOWER_IS_BETTER = frozenset(
    {
        "ter",
        "wer",
        "cer",
        "mse",
        "rmse",
        "mae",
        "mape",
        "log_loss",
        "brier",
        "abs_error",
        "sq_error",
        "ape",
    }
)
_NOT_AVAILABLE = "n/a"


@dataclass(frozen=True)
class NumberFormat:
    """The decimals a metric is written with and the scale it lives on.

    ``scale`` groups metrics that can share a figure axis.
    """

    decimals: int
    scale: Scale


def base_metric_name(metric: str) -> str:
    """The metric's name without parameters: ``recall:billing`` -> ``recall``."""
    return metric.split(":", 1)[0].split("@", 1)[0].strip().lower()


def metric_format(metric: str, values: Iterable[float]) -> NumberFormat:
    """Choose how to write a metric from its name and the values shown for it.

    Args:
        metric: the metric's name (``accuracy``, ``bleu``, ``recall:billing``).
        values: the metric's point estimates (and differences) as shown.

    >>> metric_format("bleu", [31.2, 29.8])
    NumberFormat(decimals=2, scale='sacrebleu')
    >>> metric_format("accuracy", [0.81, 0.84])
    NumberFormat(decimals=3, scale='unit')
    """
    if base_metric_name(metric) in _SACREBLEU_SCALE:
        return NumberFormat(decimals=2, scale="sacrebleu")
    finite = [abs(v) for v in values if math.isfinite(v)]
    largest = max(finite, default=0.0)
    if largest <= 1.0:
        return NumberFormat(decimals=3, scale="unit")
    if largest < 1000.0:
        return NumberFormat(decimals=2, scale="other")
    return NumberFormat(decimals=0, scale="other")


def lower_is_better(score: str) -> bool:
    """Whether a smaller value of this metric or per-example score is the better one."""
    name = base_metric_name(score)
    return name in _LOWER_IS_BETTER or name.endswith(("_error", "_loss"))


def fmt_number(value: float | None, decimals: int) -> str:
    """``0.81234`` -> ``0.812``; missing or not finite -> ``n/a``."""
    if value is None or not math.isfinite(value):
        return _NOT_AVAILABLE
    text = f"{value:,.{decimals}f}" if abs(value) >= 10_000 else f"{value:.{decimals}f}"
    return _strip_negative_zero(text)


def fmt_signed(value: float | None, decimals: int) -> str:
    """A difference with its sign: ``+0.031``, ``-0.012``; a rounded zero has none."""
    if value is None or not math.isfinite(value):
        return _NOT_AVAILABLE
    text = _strip_negative_zero(f"{value:.{decimals}f}")
    if text.strip("0.") == "":
        return text
    return text if text.startswith("-") else f"+{text}"


def fmt_interval(
    low: float | None, high: float | None, decimals: int, *, signed: bool = False
) -> str:
    """``[0.789, 0.835]``; with ``signed`` the bounds carry their sign like a difference."""
    write = fmt_signed if signed else fmt_number
    return f"[{write(low, decimals)}, {write(high, decimals)}]"


def fmt_p(p: float | None) -> str:
    """A p-value: ``<0.001``, ``0.042``, ``1.000``; absent -> an em dash."""
    if p is None:
        return "—"
    if not math.isfinite(p):
        return _NOT_AVAILABLE
    if p < 0.001:
        return "<0.001"
    return f"{min(p, 1.0):.3f}"


def fmt_percent(fraction: float) -> str:
    """``0.95`` -> ``95%``, ``0.995`` -> ``99.5%``."""
    text = f"{fraction * 100:.1f}"
    return f"{text.removesuffix('.0')}%"


def fmt_count(n: int) -> str:
    """``12345`` -> ``12,345``."""
    return f"{n:,}"


def fmt_datetime(moment: datetime) -> str:
    """``2026-03-01 14:02:07 UTC``; a naive time is written without a zone."""
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    zone = moment.tzname()
    return f"{text} {zone}" if zone else text


def fmt_duration(elapsed: timedelta) -> str:
    """``3h 04m 05s``, ``4m 05s``, ``5.2s``."""
    seconds = elapsed.total_seconds()
    if seconds < 0:
        return _NOT_AVAILABLE
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    return f"{minutes}m {secs:02d}s"


def _strip_negative_zero(text: str) -> str:
    # -0.0004 rounds to "-0.000"; a sign on a rounded zero only misleads.
    if text.startswith("-") and text[1:].strip("0.,") == "":
        return text[1:]
    return text
