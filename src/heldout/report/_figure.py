"""Plotly figures as plain JSON: the part of plotly's figure API the pages use, unvalidated.

plotly's figure classes check every property against its schema as it is set; on a run page
with a dozen figures that validation was most of the server time of a first visit. Every
figure here is built from heldout's own code with fixed property names, and a test feeds
each figure the pages draw back through plotly's validating ``go.Figure``, so the schema is
still checked — once, in the tests, instead of on every page.

What is implemented is what plotly does for the same calls (a test compares the two):

- trace constructors (:func:`Bar`, :func:`Scatter`, :func:`Heatmap`) with plotly's
  "magic underscore" keywords (``marker_color=`` is ``marker={"color": ...}``);
- :func:`make_subplots` with ``column_widths``, ``row_heights``, spacings and
  ``subplot_titles``, laid out from the top-left as plotly lays them out;
- :meth:`Figure.add_trace`, :meth:`Figure.update_layout`, :meth:`Figure.update_xaxes`,
  :meth:`Figure.update_yaxes` and :meth:`Figure.add_vline`, with ``row=`` and ``col=``;
- a string ``title`` becomes ``{"text": ...}``, as plotly stores it.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["BLUES", "Bar", "Figure", "Heatmap", "Scatter", "make_subplots", "plain"]

#: ColorBrewer's Blues as plotly.py expands the name "Blues" (plotly.js has its own, other
#: "Blues": a named scale in plain JSON would draw differently).
BLUES = [
    [i / 8, color]
    for i, color in enumerate(
        (
            "rgb(247,251,255)",
            "rgb(222,235,247)",
            "rgb(198,219,239)",
            "rgb(158,202,225)",
            "rgb(107,174,214)",
            "rgb(66,146,198)",
            "rgb(33,113,181)",
            "rgb(8,81,156)",
            "rgb(8,48,107)",
        )
    )
]

#: Property names that contain an underscore themselves: never split.
_UNDERSCORED = frozenset({"error_x", "error_y"})


def _path(key: str) -> list[str]:
    if key in _UNDERSCORED or "_" not in key:
        return [key]
    head, _, rest = key.partition("_")
    if head == "error" and rest[:1] in ("x", "y") and (len(rest) == 1 or rest[1] == "_"):
        return [f"error_{rest[0]}", *(_path(rest[2:]) if len(rest) > 2 else [])]
    return [head, *_path(rest)]


def _merge(target: dict[str, Any], props: Mapping[str, Any]) -> dict[str, Any]:
    """Update ``target`` in place as plotly's ``update`` does: nested dicts merge, anything
    else replaces; keys with underscores are paths."""
    for key, value in props.items():
        path = _path(key)
        node = target
        for part in path[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        last = path[-1]
        if last == "title" and isinstance(value, str):
            value = {"text": value}
        if isinstance(value, Mapping):
            child = node.get(last)
            if not isinstance(child, dict):
                child = node[last] = {}
            _merge(child, value)
        else:
            node[last] = value
    return target


def _trace(kind: str, props: Mapping[str, Any]) -> dict[str, Any]:
    trace = _merge({}, props)
    trace["type"] = kind
    return trace


def Bar(**props: Any) -> dict[str, Any]:
    """A bar trace."""
    return _trace("bar", props)


def Scatter(**props: Any) -> dict[str, Any]:
    """A scatter (markers and/or lines) trace."""
    return _trace("scatter", props)


def Heatmap(**props: Any) -> dict[str, Any]:
    """A heatmap trace."""
    return _trace("heatmap", props)


class Figure:
    """A figure: ``data`` (traces) and ``layout``, both plain dicts.

    A figure from :func:`make_subplots` knows its grid, so ``row=``/``col=`` place traces,
    axis updates and lines in one cell.
    """

    def __init__(
        self,
        data: dict[str, Any] | Sequence[dict[str, Any]] | None = None,
        layout: Mapping[str, Any] | None = None,
    ) -> None:
        traces = [data] if isinstance(data, dict) else list(data or ())
        self.data: list[dict[str, Any]] = [dict(t) for t in traces]
        self.layout: dict[str, Any] = _merge({}, layout or {})
        self._rows = self._cols = 0  # 0: no grid

    # --- the grid ---------------------------------------------------------------------

    def _cell(self, row: int | None, col: int | None) -> int:
        """The 1-based axis number of a cell (plotly numbers the grid row by row)."""
        if row is None and col is None:
            return 1
        if not self._cols or row is None or col is None:
            raise ValueError("row= and col= need a figure from make_subplots, and both")
        return (row - 1) * self._cols + col

    def _axes(self, letter: str, row: int | None, col: int | None) -> list[str]:
        if row is None and col is None:
            names = [k for k in self.layout if _is_axis(k, letter)]
            return sorted(names, key=_axis_number) or [f"{letter}axis"]
        if self._cols and (row is None or col is None):
            cells = [
                (r, c)
                for r in range(1, self._rows + 1)
                for c in range(1, self._cols + 1)
                if (row is None or r == row) and (col is None or c == col)
            ]
            return [_axis_name(letter, self._cell(r, c)) for r, c in cells]
        return [_axis_name(letter, self._cell(row, col))]

    # --- plotly's calls -------------------------------------------------------------------

    def add_trace(
        self, trace: Mapping[str, Any], row: int | None = None, col: int | None = None
    ) -> Figure:
        """Append ``trace``; with ``row``/``col``, on that cell's axes."""
        placed = dict(trace)
        if row is not None or col is not None:
            number = self._cell(row, col)
            placed["xaxis"] = _ref("x", number)
            placed["yaxis"] = _ref("y", number)
        self.data.append(placed)
        return self

    def update_layout(self, patch: Mapping[str, Any] | None = None, **props: Any) -> Figure:
        """Merge ``patch`` and ``props`` into the layout (nested dicts merge)."""
        _merge(self.layout, {**(patch or {}), **props})
        return self

    def update_xaxes(
        self,
        patch: Mapping[str, Any] | None = None,
        row: int | None = None,
        col: int | None = None,
        **props: Any,
    ) -> Figure:
        """Merge ``props`` into every x axis, or into those of ``row``/``col``."""
        return self._update_axes("x", {**(patch or {}), **props}, row, col)

    def update_yaxes(
        self,
        patch: Mapping[str, Any] | None = None,
        row: int | None = None,
        col: int | None = None,
        **props: Any,
    ) -> Figure:
        """Merge ``props`` into every y axis, or into those of ``row``/``col``."""
        return self._update_axes("y", {**(patch or {}), **props}, row, col)

    def _update_axes(
        self, letter: str, props: Mapping[str, Any], row: int | None, col: int | None
    ) -> Figure:
        for name in self._axes(letter, row, col):
            _merge(self.layout.setdefault(name, {}), props)
        return self

    def add_vline(
        self,
        x: float,
        row: int | None = None,
        col: int | None = None,
        annotation_text: str | None = None,
        annotation_position: str = "top right",
        **props: Any,
    ) -> Figure:
        """A vertical line at ``x`` across the cell's whole height, optionally labelled
        (``annotation_position`` as in plotly: ``"top"``, ``"bottom left"``, ...;
        ``annotation_font_size=`` and the like style the label)."""
        if self._cols and row is None and col is None:
            # plotly draws such a line in every cell; no figure here needs that
            raise ValueError("on a grid, add_vline needs row= and col=")
        number = self._cell(row, col)
        xref, yref = _ref("x", number), f"{_ref('y', number)} domain"
        label = {
            k[len("annotation_") :]: v for k, v in props.items() if k.startswith("annotation_")
        }
        shape = _merge({}, {k: v for k, v in props.items() if not k.startswith("annotation_")})
        shape.update({"type": "line", "x0": x, "x1": x, "xref": xref, "y0": 0, "y1": 1})
        shape["yref"] = yref
        self.layout.setdefault("shapes", []).append(shape)
        if annotation_text is not None:
            if annotation_position not in _LINE_LABELS:
                raise ValueError(f"annotation_position must be one of {sorted(_LINE_LABELS)}")
            y, xanchor, yanchor = _LINE_LABELS[annotation_position]
            annotation = {"showarrow": False, "text": annotation_text, "x": x, "xref": xref}
            annotation.update({"xanchor": xanchor, "y": y, "yanchor": yanchor, "yref": yref})
            self.layout.setdefault("annotations", []).append(_merge(annotation, label))
        return self

    def to_plotly_json(self) -> dict[str, Any]:
        """``{"data": [...], "layout": {...}}`` ready for ``json.dumps``: NumPy values
        become Python ones, and NaN and infinities ``None`` (plotly.js's "no value")."""
        return {"data": plain(self.data), "layout": plain(self.layout)}


#: Where plotly puts a line's label: y within the cell, then the text's anchors.
_LINE_LABELS = {
    "top": (1, "center", "bottom"),
    "top right": (1, "left", "top"),
    "top left": (1, "right", "top"),
    "bottom": (0, "center", "top"),
    "bottom right": (0, "left", "bottom"),
    "bottom left": (0, "right", "bottom"),
    "right": (0.5, "left", "middle"),
    "left": (0.5, "right", "middle"),
}


def make_subplots(
    rows: int = 1,
    cols: int = 1,
    *,
    column_widths: Sequence[float] | None = None,
    row_heights: Sequence[float] | None = None,
    horizontal_spacing: float | None = None,
    vertical_spacing: float | None = None,
    subplot_titles: Sequence[str] | None = None,
) -> Figure:
    """A figure with a ``rows`` × ``cols`` grid of x/y axes, row 1 at the top."""
    if rows < 1 or cols < 1:
        raise ValueError(f"a grid needs at least one row and one column, got {rows} x {cols}")
    h_space = 0.2 / cols if horizontal_spacing is None else horizontal_spacing
    v_space = 0.3 / rows if vertical_spacing is None else vertical_spacing
    x_domains = _domains(column_widths or [1.0] * cols, h_space)
    # plotly stacks rows from the bottom: the last row sits at 0
    y_domains = _domains(list(reversed(row_heights or [1.0] * rows)), v_space)[::-1]
    figure = Figure()
    figure._rows, figure._cols = rows, cols
    for r in range(rows):
        for c in range(cols):
            number = r * cols + c + 1
            figure.layout[_axis_name("x", number)] = {
                "anchor": _ref("y", number),
                "domain": list(x_domains[c]),
            }
            figure.layout[_axis_name("y", number)] = {
                "anchor": _ref("x", number),
                "domain": list(y_domains[r]),
            }
    if subplot_titles:
        annotations = figure.layout.setdefault("annotations", [])
        for index, title in enumerate(subplot_titles):
            if index >= rows * cols or not title:
                continue
            r, c = divmod(index, cols)
            low, high = x_domains[c]
            annotations.append(
                {
                    "font": {"size": 16},
                    "showarrow": False,
                    "text": title,
                    "x": (low + high) / 2,
                    "xanchor": "center",
                    "xref": "paper",
                    "y": y_domains[r][1],
                    "yanchor": "bottom",
                    "yref": "paper",
                }
            )
    return figure


def _domains(sizes: Sequence[float], spacing: float) -> list[tuple[float, float]]:
    usable = 1.0 - spacing * (len(sizes) - 1)
    total = float(sum(sizes))
    found, start = [], 0.0
    for size in sizes:
        width = usable * size / total
        found.append((start, start + width))
        start += width + spacing
    return found


def _axis_name(letter: str, number: int) -> str:
    return f"{letter}axis" if number == 1 else f"{letter}axis{number}"


def _ref(letter: str, number: int) -> str:
    return letter if number == 1 else f"{letter}{number}"


def _is_axis(key: str, letter: str) -> bool:
    prefix = f"{letter}axis"
    return key == prefix or (key.startswith(prefix) and key[len(prefix) :].isdigit())


def _axis_number(key: str) -> int:
    digits = key[5:]
    return int(digits) if digits else 1


def plain(value: Any) -> Any:
    """``value`` with NumPy arrays and scalars as Python lists and numbers, tuples as
    lists, and NaN and infinities as ``None``."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(list(value) if value.dtype.kind == "M" else value.tolist())
    if isinstance(value, np.datetime64):
        return str(np.datetime_as_string(value))
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
