"""What every figure shares: escaping for plotly, colours, layout, whiskers, hover text.

Plotly reads a few HTML tags inside text (``<b>``, ``<br>``, ``<a href>``), and every label
in a figure — model names, metrics, class labels, slice values — is user text.
:func:`plot_text` entity-escapes it, which plotly turns back into the literal characters on
screen. Positions and whiskers are drawn from the estimates as stored; nothing is
re-estimated.
"""

from __future__ import annotations

import functools
import html
import importlib.resources
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from heldout._util._format import NumberFormat, Scale, fmt_interval, fmt_number, fmt_p, fmt_signed
from heldout.report._figure import Figure
from heldout.stats import Difference, Estimate

__all__ = [
    "AXIS_TITLES",
    "FONT",
    "MODEL_COLORS",
    "SMALL_COLOR",
    "VERDICT_COLORS",
    "FigureView",
    "difference_hover",
    "estimate_hover",
    "layout",
    "plot_text",
    "scale_groups",
    "symbol",
    "to_view",
    "whiskers",
]

FONT = "-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
MODEL_COLORS = ("#0969da", "#bf8700", "#8250df", "#1b7c83", "#bc4c00", "#6e7781")
VERDICT_COLORS = {"better": "#1a7f37", "worse": "#cf222e", "no significant difference": "#57606a"}
SMALL_COLOR = "#afb8c1"
AXIS_TITLES: dict[Scale, str] = {"unit": "score", "sacrebleu": "score (0–100)", "other": "value"}


@dataclass(frozen=True)
class FigureView:
    """A figure ready for the page: ``spec`` is plotly's JSON (``data`` and ``layout``)."""

    id: str
    title: str
    caption: str
    spec: dict[str, Any]


def to_view(figure: Figure, *, id: str, title: str, caption: str) -> FigureView:
    """The figure's JSON, with plotly_white's look as its template, for the page."""
    spec = figure.to_plotly_json()
    spec["layout"]["template"] = _template()
    return FigureView(id=id, title=title, caption=caption, spec=spec)


def plot_text(text: str) -> str:
    """User text made safe for plotly's pseudo-HTML labels; it displays unchanged."""
    return html.escape(text, quote=False)


def scale_groups(
    metrics: Sequence[str], formats: Mapping[str, NumberFormat]
) -> list[tuple[Scale, list[str]]]:
    """Metrics grouped by scale, in order, so each group can share an axis."""
    groups: dict[Scale, list[str]] = {}
    for metric in metrics:
        groups.setdefault(formats[metric].scale, []).append(metric)
    return list(groups.items()) or [("unit", [])]


def whiskers(
    points: Sequence[tuple[float, float, float]], color: str = "#24292f"
) -> dict[str, Any]:
    """Plotly error bars from ``(value, low, high)`` triples: asymmetric, as stored."""
    return {
        "type": "data",
        "symmetric": False,
        "array": [high - value for value, _, high in points],
        "arrayminus": [value - low for value, low, _ in points],
        "color": color,
        "thickness": 1.5,
        "width": 4,
    }


def symbol(verdict: str) -> str:
    """A filled diamond for a significant difference, an open circle otherwise."""
    return "circle-open" if verdict == "no significant difference" else "diamond"


def estimate_hover(label: str, estimate: Estimate, decimals: int) -> list[str]:
    """Hover text of an estimate: label, value, interval, method and n (escaped)."""
    return [
        plot_text(label),
        fmt_number(estimate.value, decimals),
        fmt_interval(estimate.ci_low, estimate.ci_high, decimals),
        plot_text(f"{estimate.method}, n = {estimate.n:,}"),
    ]


def difference_hover(label: str, diff: Difference, decimals: int, correction: str) -> list[str]:
    """Hover text of a difference: label, delta, interval, p-values, test, verdict."""
    return [
        plot_text(label),
        fmt_signed(diff.delta, decimals),
        fmt_interval(diff.ci_low, diff.ci_high, decimals, signed=True),
        plot_text(
            f"p {fmt_p(diff.p_value)}, p ({correction}) {fmt_p(diff.p_adjusted)}, "
            f"{diff.test}: {diff.verdict}"
        ),
    ]


#: What the figures take from plotly_white: its whole template (every trace type, 3-D
#: scenes, maps...) is copied into each figure, which made a page of figures slow to build
#: and heavy to embed.
_TEMPLATE_LAYOUT = (
    "autotypenumbers",
    "colorscale",
    "colorway",
    "font",
    "hoverlabel",
    "hovermode",
    "paper_bgcolor",
    "plot_bgcolor",
    "xaxis",
    "yaxis",
    "shapedefaults",
    "annotationdefaults",
    "title",
)
_TEMPLATE_TRACES = ("bar", "scatter", "heatmap", "histogram")


@functools.cache
def _template() -> dict[str, Any]:
    # read from plotly's package data: loading plotly.io to get it costs more than a page
    source = importlib.resources.files("plotly") / "package_data/templates/plotly_white.json"
    full: dict[str, Any] = json.loads(source.read_text(encoding="utf-8"))
    return {
        "layout": {k: v for k, v in full["layout"].items() if k in _TEMPLATE_LAYOUT},
        "data": {k: v for k, v in full["data"].items() if k in _TEMPLATE_TRACES},
    }


def layout(*, legend: bool = True) -> dict[str, Any]:
    """The light, quiet layout every figure shares (plotly_white's look)."""
    return {
        # empty here (which also keeps plotly from copying its default template into the
        # figure); :func:`to_view` puts plotly_white's look in the figure's JSON
        "template": {},
        "font": {"family": FONT, "size": 13, "color": "#24292f"},
        "margin": {"l": 60, "r": 24, "t": 48, "b": 56},
        "showlegend": legend,
        "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        "hoverlabel": {"font": {"family": FONT}},
        "autosize": True,
    }
