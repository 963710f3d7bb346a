"""The plain-JSON figure builder does what plotly's figure API does for the same calls, and
every figure the report and the dashboard draw passes plotly's own validation."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import plotly.graph_objects as go
import pytest
from plotly.subplots import make_subplots as plotly_subplots

from heldout.report import _figure as ours


def _close(a: Any, b: Any, where: str = "") -> None:
    """Equal JSON, floats to 1e-12 (plotly sums domains in another order)."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert sorted(a) == sorted(b), f"{where}: keys {sorted(a)} != {sorted(b)}"
        for key in a:
            _close(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list | tuple) and isinstance(b, list | tuple):
        assert len(a) == len(b), f"{where}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{where}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert math.isclose(a, b, abs_tol=1e-12), f"{where}: {a} != {b}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def _plotly_json(figure: go.Figure) -> dict[str, Any]:
    found: dict[str, Any] = figure.to_plotly_json()
    found["layout"].pop("template", None)
    return found


Build = Callable[[Any, Any], Any]


def _grid(module: Any, subplots: Any) -> Any:
    figure = subplots(
        rows=2,
        cols=3,
        column_widths=[3, 1, 2],
        row_heights=[2, 1],
        horizontal_spacing=0.07,
        vertical_spacing=0.16,
        subplot_titles=["a <b>", "b", "", "d", "e"],
    )
    figure.add_trace(
        module.Bar(
            x=["p", "q"],
            y=[1, 2],
            marker_color="#0969da",
            error_y={"type": "data", "array": [0.1, 0.2]},
            name="m",
        ),
        row=2,
        col=3,
    )
    figure.add_trace(module.Scatter(x=[0.5], y=["r"], mode="markers", line_dash="dot"), 1, 2)
    figure.add_trace(
        module.Heatmap(z=[[1, 2], [3, 4]], colorscale="Blues" if module is go else ours.BLUES),
        row=2,
        col=1,
    )
    figure.update_xaxes(title_text="predicted", type="category", row=2, col=1)
    figure.update_yaxes(autorange="reversed", row=1, col=2)
    figure.update_yaxes(title_font_size=11)
    figure.add_vline(x=0, line={"color": "#24292f", "dash": "dot"}, row=1, col=2)
    figure.update_layout(
        height=400, barmode="group", legend={"orientation": "h"}, title_text="t", template={}
    )
    figure.update_layout(legend_x=0.2, margin={"l": 60})
    return figure


def _single(module: Any, subplots: Any) -> Any:
    figure = module.Figure(
        module.Bar(x=[0.3, 0.05], y=["x", "y"], orientation="h", marker_color=["#f00", "#0f0"])
    )
    for x, name in ((0.1, "0.1 moderate"), (0.25, "0.25 major")):
        figure.add_vline(x=x, line_dash="dash", line_color="#57606a", annotation_text=name)
    figure.add_vline(x=0.2, annotation_text="all", annotation_position="top", line_width=1)
    figure.add_vline(x=0.3, annotation_text="l", annotation_position="left", annotation_font_size=9)
    figure.add_trace(module.Scatter(x=[1, 2], y=[3, 4], error_x={"array": [1, 1]}))
    figure.update_xaxes(title_text="PSI", range=[0, 1])
    figure.update_layout(
        template={}, xaxis={"title": "PSI2"}, yaxis={"autorange": "reversed"}, height=220
    )
    return figure


def _column(module: Any, subplots: Any) -> Any:
    figure = subplots(rows=3, cols=1, row_heights=[3, 1, 2], vertical_spacing=0.12)
    figure.update_xaxes(zeroline=False, title_text="Δ")
    figure.update_layout(template={})
    return figure


def _defaults(module: Any, subplots: Any) -> Any:
    figure = subplots(rows=2, cols=2)
    figure.update_layout(template={})
    return figure


@pytest.mark.parametrize("build", [_grid, _single, _column, _defaults])
def test_the_builder_writes_what_plotly_writes_for_the_same_calls(build: Build) -> None:
    expected = _plotly_json(build(go, plotly_subplots))
    got = build(ours, ours.make_subplots).to_plotly_json()
    got["layout"].pop("template", None)
    _close(got, expected)


def test_plain_json_has_no_numpy_nan_or_infinity() -> None:
    figure = ours.Figure(
        ours.Scatter(
            x=np.array([1.0, np.nan, 3.0]),
            y=(np.float64(2.5), np.inf, -np.inf),
            customdata=[[np.int64(4), "a"]],
        )
    )
    trace = figure.to_plotly_json()["data"][0]
    assert trace["x"] == [1.0, None, 3.0]
    assert trace["y"] == [2.5, None, None]
    assert trace["customdata"] == [[4, "a"]]
    assert type(trace["customdata"][0][0]) is int


def test_rows_and_columns_need_a_grid() -> None:
    with pytest.raises(ValueError, match="make_subplots"):
        ours.Figure().add_trace(ours.Bar(x=[1]), row=1, col=2)
    with pytest.raises(ValueError, match="at least one"):
        ours.make_subplots(rows=0)
    with pytest.raises(ValueError, match="add_vline needs row"):
        ours.make_subplots(rows=1, cols=2).add_vline(x=0)


def test_every_figure_of_the_report_is_valid_plotly(demo_html: str) -> None:
    import json
    import re

    specs = re.findall(r'<script type="application/json" id="[^"]+">(.*?)</script>', demo_html)
    figures = [json.loads(s) for s in specs]
    figures = [f for f in figures if isinstance(f, dict) and "data" in f and "layout" in f]
    assert len(figures) >= 4
    for spec in figures:
        go.Figure(spec)  # raises ValueError on a property plotly does not know


def test_validation_catches_a_misspelt_property() -> None:
    with pytest.raises(ValueError, match="colour"):
        go.Figure(ours.Figure(ours.Bar(x=[1], marker_colour="red")).to_plotly_json())
