"""The HTML page of ``heldout monitor --html``: a :class:`~heldout.analysis.DriftReport` shown
as tables and offline plotly figures, with the run report's style, script and policy.

Every statistic on the page (test statistics, p-values, distances, thresholds, PSI, window
metrics with their intervals, the trend's slope) is read from the report as computed by
:func:`heldout.analysis.drift`. The page adds two things that are display, not statistics:
the histograms and category bars of both sides (counted from the tables the report was
computed on), and the trend *line*, whose intercept follows from the weighted least-squares
fit passing through the windows' weighted centroid (``ȳ_w − slope · x̄_w``, weights the
windows' row counts, as in the fit).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from markupsafe import Markup
from numpy.typing import NDArray

from heldout._util._format import fmt_count, fmt_interval, fmt_number, fmt_p
from heldout._util._labels import label_text
from heldout._version import __version__
from heldout.analysis import ColumnDrift, DriftReport, DriftTest
from heldout.data import column_values
from heldout.report._figure import Bar, Figure, Heatmap, Scatter
from heldout.report._html import (
    _POLICY,
    _environment,
    _plotly_script,
    _report_script,
    _resource,
    write_page,
)
from heldout.report._plot import MODEL_COLORS, FigureView, layout, plot_text, to_view, whiskers

__all__ = ["render_drift_report", "write_drift_report"]

_TEMPLATE = "drift.html.j2"
#: Bins of a numeric column's histogram, between the pooled 1st and 99th percentiles.
_HISTOGRAM_BINS = 30
#: Categories drawn per column; the rest are summed into one bar.
_TOP_CATEGORIES = 20
_BAND_COLORS = {"none": "#1a7f37", "moderate": "#bf8700", "major": "#cf222e"}
_SIDE_COLORS = {"reference": MODEL_COLORS[0], "current": MODEL_COLORS[1]}
_TEST_NAMES = {
    "ks": "KS",
    "chi-square": "chi-square",
    "permutation": "permutation",
    "wasserstein": "Wasserstein",
    "jensen-shannon": "Jensen–Shannon",
}


@dataclass(frozen=True)
class _Number:
    """A number as shown, and exactly as in the JSON report (``""`` where that has null)."""

    text: str
    exact: str


def _number(value: float, text: str) -> _Number:
    return _Number(text, repr(float(value)) if math.isfinite(value) else "")


@dataclass(frozen=True)
class _TestRow:
    column: str
    role: str
    kind: str
    feature: str
    test: str
    statistic: _Number
    p_value: _Number
    p_adjusted: _Number
    distance: _Number
    distance_name: str
    threshold: _Number
    psi: _Number
    band: str
    n_current: str
    n_reference: str
    drift: bool
    reason: str
    first: bool
    span: int


@dataclass(frozen=True)
class _Fact:
    label: str
    value: str
    detail: str = ""


@dataclass(frozen=True)
class _ColumnView:
    name: str
    anchor: str
    kind: str
    role: str
    drift: bool
    reason: str
    missing: str
    figures: tuple[FigureView, ...]
    text_facts: tuple[_Fact, ...]


@dataclass(frozen=True)
class _WindowRow:
    index: int
    start: str
    end: str
    n: str
    metric: str
    metric_exact: str
    drifted: str


@dataclass(frozen=True)
class _Page:
    title: str
    facts: tuple[_Fact, ...]
    settings: tuple[_Fact, ...]
    drifted: tuple[str, ...]
    rows: tuple[_TestRow, ...]
    skipped: tuple[_Fact, ...]
    overview: tuple[FigureView, ...]
    columns: tuple[_ColumnView, ...]
    windows: tuple[_WindowRow, ...]
    window_figures: tuple[FigureView, ...]
    metric: str | None
    trend: str


def render_drift_report(
    report: DriftReport,
    current: pa.Table,
    reference: pa.Table,
    *,
    current_name: str = "current",
    reference_name: str = "reference",
) -> str:
    """The drift report as one HTML document that opens offline.

    Args:
        report: what :func:`heldout.analysis.drift` found; every statistic shown is its.
        current: the current rows the report was computed on (for the histograms).
        reference: the reference rows.
        current_name: how the page names the current rows (usually the file).
        reference_name: how it names the reference rows.

    Returns:
        The document; plotly's bundled JavaScript is inlined, so it is about 5 MB.

    Example:
        >>> page = render_drift_report(drift(cur, ref), cur, ref)  # doctest: +SKIP
    """
    page = _page(report, current, reference, current_name, reference_name)
    plotly_js, report_js = _plotly_script(), _report_script()
    scripts = " ".join(f"'{s.policy_hash}'" for s in (plotly_js, report_js))
    return (
        _environment()
        .get_template(_TEMPLATE)
        .render(
            page=page,
            csp=_POLICY.format(scripts=scripts),
            css=Markup(_resource("report.css") + _resource("drift.css")),
            plotly_js=plotly_js.source,
            report_js=report_js.source,
            version=__version__,
        )
    )


def write_drift_report(
    report: DriftReport,
    current: pa.Table,
    reference: pa.Table,
    path: Path,
    *,
    current_name: str = "current",
    reference_name: str = "reference",
) -> Path:
    """Write :func:`render_drift_report`'s page to ``path`` (created beside it, then moved
    into place, so a reader never sees half a page); returns the path.

    Raises:
        HeldoutError: the file cannot be written.
    """
    text = render_drift_report(
        report, current, reference, current_name=current_name, reference_name=reference_name
    )
    return write_page(
        Path(path),
        text,
        failure="--html: cannot write the drift report",
        example="--html drift.html",
    )


# ------------------------------------------------------------------------------ page


def _page(
    report: DriftReport,
    current: pa.Table,
    reference: pa.Table,
    current_name: str,
    reference_name: str,
) -> _Page:
    s = report.settings
    facts = (
        _Fact("current", f"{current_name} ({fmt_count(report.n_current)} rows)"),
        _Fact("reference", f"{reference_name} ({fmt_count(report.n_reference)} rows)"),
        _Fact("columns compared", fmt_count(len(report.columns))),
        _Fact("drifting", ", ".join(report.drifted) or "none"),
    )
    settings = [
        _Fact(
            "regime",
            f"under {s.get('small', 0):,} values on the smaller side: tests at alpha "
            f"{s.get('alpha', 0.05):g} ({s.get('correction', 'holm')}); else distances "
            "against thresholds",
        ),
        _Fact("default threshold", f"{s.get('default_threshold', 0.1):g}"),
        _Fact("PSI", f"{s.get('psi_bins', 10)} reference quantile bins; bands 0.1 and 0.25"),
    ]
    if s.get("thresholds"):
        shown = ", ".join(f"{k}={v:g}" for k, v in s["thresholds"].items())
        settings.append(_Fact("thresholds", shown))
    if s.get("time"):
        settings.append(_Fact("windows", f"{s.get('window')} by {s.get('time')}"))
    settings.append(_Fact("seed", str(s.get("seed", 0))))
    rows = tuple(row for c in report.columns for row in _test_rows(c))
    columns = tuple(_column_view(c, i, current, reference) for i, c in enumerate(report.columns))
    title = f"Drift of {current_name} from {reference_name}"
    return _Page(
        title=title,
        facts=facts,
        settings=tuple(settings),
        drifted=report.drifted,
        rows=rows,
        skipped=tuple(_Fact(k.name, k.reason) for k in report.skipped),
        overview=(_psi_figure(report),) if report.columns else (),
        columns=columns,
        windows=tuple(_window_rows(report)),
        window_figures=tuple(_window_figures(report)),
        metric=report.metric,
        trend=_trend_text(report),
    )


def _test_rows(c: ColumnDrift) -> list[_TestRow]:
    out = []
    for i, t in enumerate(c.tests):
        out.append(
            _TestRow(
                column=c.name,
                role=c.role,
                kind=c.kind,
                feature=t.feature,
                test=_TEST_NAMES.get(t.test, t.test),
                statistic=_number(t.statistic, f"{t.statistic:.4g}"),
                p_value=_number(t.p_value, "—" if t.large else fmt_p(t.p_value)),
                p_adjusted=_number(t.p_adjusted, "—" if t.large else fmt_p(t.p_adjusted)),
                distance=_number(t.distance, f"{t.distance:.4g}"),
                distance_name=t.distance_name,
                threshold=_number(t.threshold, f"{t.threshold:.3g}"),
                psi=_number(t.psi, f"{t.psi:.3f}"),
                band=t.psi_band,
                n_current=fmt_count(t.n_current),
                n_reference=fmt_count(t.n_reference),
                drift=t.drift,
                reason=t.reason,
                first=i == 0,
                span=len(c.tests),
            )
        )
    return out


def _label(c: ColumnDrift, t: DriftTest | None = None) -> str:
    name = c.name if c.role == "feature" else f"{c.name} ({c.role})"
    return name if t is None or c.kind != "text" else f"{name} · {t.feature}"


def _psi_figure(report: DriftReport) -> FigureView:
    tests = [(c, t) for c in report.columns for t in c.tests]
    labels = [plot_text(_label(c, t)) for c, t in tests]
    values = [t.psi for _, t in tests]
    top = max([0.3, *(v * 1.1 for v in values if math.isfinite(v))])
    figure = Figure(
        Bar(
            x=values,
            y=labels,
            orientation="h",
            marker_color=[_BAND_COLORS[t.psi_band] for _, t in tests],
            customdata=[[t.psi_band, "drifts" if t.drift else "no drift"] for _, t in tests],
            hovertemplate="%{y}<br>PSI %{x:.3f} (%{customdata[0]})<br>%{customdata[1]}"
            "<extra></extra>",
        )
    )
    for x, name in ((0.1, "0.1 moderate"), (0.25, "0.25 major")):
        figure.add_vline(x=x, line_dash="dash", line_color="#57606a", annotation_text=name)
    figure.update_layout(
        **layout(legend=False),
        height=max(220, 60 + 26 * len(tests)),
        xaxis={"title": "PSI", "range": [0, top]},
        yaxis={"autorange": "reversed", "type": "category"},
    )
    return to_view(
        figure,
        id="fig-psi",
        title="PSI per column",
        caption="Population stability index of each compared column (of each text "
        "feature), against the bands 0.1 (moderate) and 0.25 (major). PSI is shown, not "
        "decided on: the test or distance in the table decides drift.",
    )


# ------------------------------------------------------------------- distributions


def _present_numbers(table: pa.Table, name: str) -> NDArray[np.float64]:
    values = np.asarray(
        pc.cast(table.column(name), pa.float64()).to_numpy(zero_copy_only=False),
        dtype=np.float64,
    )
    return values[np.isfinite(values)]


def _category_counts(table: pa.Table, name: str) -> pd.Series:
    counts = pd.Series(column_values(table, name)).value_counts(dropna=True)
    labels = [label_text(v) for v in counts.index]
    return pd.Series(counts.to_numpy(), index=labels).groupby(level=0, sort=False).sum()


def _histogram(name: str, cur: NDArray[np.float64], ref: NDArray[np.float64]) -> Figure:
    pooled = np.concatenate([cur, ref])
    low, high = np.percentile(pooled, [1, 99])
    if not high > low:
        low, high = float(pooled.min()) - 0.5, float(pooled.max()) + 0.5
    edges = np.linspace(low, high, _HISTOGRAM_BINS + 1)
    figure = Figure()
    for side, values in (("reference", ref), ("current", cur)):
        counts, _ = np.histogram(np.clip(values, low, high), bins=edges)
        figure.add_trace(
            Bar(
                x=((edges[:-1] + edges[1:]) / 2).tolist(),
                y=(counts / max(values.size, 1)).tolist(),
                width=float(edges[1] - edges[0]),
                name=side,
                marker_color=_SIDE_COLORS[side],
                opacity=0.6,
                hovertemplate=f"{side}<br>%{{x:.4g}}: %{{y:.1%}}<extra></extra>",
            )
        )
    figure.update_layout(
        **layout(),
        barmode="overlay",
        height=300,
        xaxis={"title": plot_text(name)},
        yaxis={"title": "share of rows", "tickformat": ".0%"},
    )
    return figure


def _category_bars(name: str, cur: pd.Series, ref: pd.Series) -> Figure:
    total = cur.add(ref, fill_value=0).sort_values(ascending=False, kind="stable")
    shown = list(total.index[:_TOP_CATEGORIES])
    rest = len(total) - len(shown)
    figure = Figure()
    for side, counts in (("reference", ref), ("current", cur)):
        n = max(float(counts.sum()), 1.0)
        shares = [float(counts.get(k, 0)) / n for k in shown]
        labels = [plot_text(str(k)) for k in shown]
        if rest:
            shares.append(float(counts.drop(shown, errors="ignore").sum()) / n)
            labels.append(f"{rest:,} other values")
        figure.add_trace(
            Bar(
                x=labels,
                y=shares,
                name=side,
                marker_color=_SIDE_COLORS[side],
                hovertemplate=f"{side}<br>%{{x}}: %{{y:.1%}}<extra></extra>",
            )
        )
    figure.update_layout(
        **layout(),
        barmode="group",
        height=300,
        xaxis={"title": plot_text(name), "type": "category"},
        yaxis={"title": "share of rows", "tickformat": ".0%"},
    )
    return figure


def _character_bars(c: ColumnDrift) -> Figure:
    assert c.text is not None
    figure = Figure()
    for side, shares in (
        ("reference", c.text.characters_reference),
        ("current", c.text.characters_current),
    ):
        figure.add_trace(
            Bar(
                x=list(shares),
                y=list(shares.values()),
                name=side,
                marker_color=_SIDE_COLORS[side],
                hovertemplate=f"{side}<br>%{{x}}: %{{y:.2%}}<extra></extra>",
            )
        )
    figure.update_layout(
        **layout(),
        barmode="group",
        height=300,
        yaxis={"title": "share of characters", "tickformat": ".0%"},
    )
    return figure


def _text_lengths(table: pa.Table, name: str) -> NDArray[np.float64]:
    texts = pc.cast(table.column(name), pa.string())
    lengths = pc.utf8_length(texts).to_numpy(zero_copy_only=False)
    values = np.asarray(lengths, dtype=np.float64)
    return values[np.isfinite(values)]


def _column_view(c: ColumnDrift, index: int, current: pa.Table, reference: pa.Table) -> _ColumnView:
    anchor = f"column-{index}"
    figures: list[FigureView] = []
    text_facts: tuple[_Fact, ...] = ()
    name = _label(c)
    have = c.name in current.column_names and c.name in reference.column_names
    if have and c.kind == "numeric":
        cur, ref = _present_numbers(current, c.name), _present_numbers(reference, c.name)
        if cur.size and ref.size:
            figures.append(
                to_view(
                    _histogram(name, cur, ref),
                    id=f"fig-{anchor}",
                    title=f"{name}: reference and current",
                    caption="Share of each side's rows per bin; values beyond the pooled "
                    "1st and 99th percentiles fall in the outer bins.",
                )
            )
    elif have and c.kind == "categorical":
        figures.append(
            to_view(
                _category_bars(
                    name, _category_counts(current, c.name), _category_counts(reference, c.name)
                ),
                id=f"fig-{anchor}",
                title=f"{name}: reference and current",
                caption=f"Share of each side's rows per value; the {_TOP_CATEGORIES} most "
                "frequent values are drawn, the rest summed.",
            )
        )
    elif c.kind == "text" and c.text is not None:
        p = c.text
        text_facts = (
            _Fact(
                "mean length (characters)",
                f"{fmt_number(p.mean_length_reference, 1)} → {fmt_number(p.mean_length_current, 1)}",
            ),
            _Fact(
                "out-of-vocabulary rate",
                f"{fmt_number(p.oov_rate_reference, 3)} → {fmt_number(p.oov_rate_current, 3)}",
                "reference: words no other reference text holds; current: words no "
                "reference text holds",
            ),
            _Fact(
                "vocabulary overlap",
                fmt_number(p.vocabulary_overlap, 3),
                "weighted Jaccard of the word frequencies (1 = same words, same frequencies)",
            ),
        )
        if have:
            cur, ref = _text_lengths(current, c.name), _text_lengths(reference, c.name)
            if cur.size and ref.size:
                figures.append(
                    to_view(
                        _histogram(f"{name} length (characters)", cur, ref),
                        id=f"fig-{anchor}-length",
                        title=f"{name}: text length",
                        caption="Share of each side's texts per length bin.",
                    )
                )
        figures.append(
            to_view(
                _character_bars(c),
                id=f"fig-{anchor}-characters",
                title=f"{name}: character classes",
                caption="Share of all characters in each class, per side.",
            )
        )
    return _ColumnView(
        name=c.name,
        anchor=anchor,
        kind=c.kind,
        role=c.role,
        drift=c.drift,
        reason=c.reason,
        missing=f"missing: {c.missing_reference:,} reference, {c.missing_current:,} current",
        figures=tuple(figures),
        text_facts=text_facts,
    )


# --------------------------------------------------------------------------- windows


def _window_rows(report: DriftReport) -> list[_WindowRow]:
    rows = []
    for w in report.windows:
        m = w.metric
        if m is None:
            shown, exact = "—", ""
        elif math.isfinite(m.ci_low):
            shown = f"{fmt_number(m.value, 3)} {fmt_interval(m.ci_low, m.ci_high, 3)}"
            exact = repr(float(m.value))
        else:
            shown, exact = fmt_number(m.value, 3), repr(float(m.value))
        rows.append(
            _WindowRow(
                index=w.index + 1,
                start=str(w.start),
                end=str(w.end),
                n=fmt_count(w.n),
                metric=shown,
                metric_exact=exact,
                drifted=", ".join(w.drifted) or "none",
            )
        )
    return rows


def _trend_text(report: DriftReport) -> str:
    t = report.trend
    if t is None:
        return ""
    interval = (
        f" [{t.ci_low:+.4f}, {t.ci_high:+.4f}], p = {fmt_p(t.p_value)}"
        if math.isfinite(t.ci_low)
        else " (no interval from two windows)"
    )
    return (
        f"{t.metric} {t.slope:+.4f} per window{interval} "
        f"(weighted least squares over {t.windows} windows)"
    )


def _window_figures(report: DriftReport) -> list[FigureView]:
    if not report.windows:
        return []
    out: list[FigureView] = []
    ticks = [w.index + 0.5 for w in report.windows]
    labels = [plot_text(str(w.start)) for w in report.windows]
    axis = {"title": "window (start)", "tickvals": ticks, "ticktext": labels}
    measured = [w for w in report.windows if w.metric is not None]
    if report.metric is not None and measured:
        out.append(_metric_figure(report, measured, axis))
    columns = [c.name for c in report.columns]
    if columns:
        out.append(_window_drift_figure(report, columns, ticks, axis))
    return out


def _metric_figure(
    report: DriftReport, measured: Sequence[Any], axis: dict[str, Any]
) -> FigureView:
    metric = report.metric or ""
    x = [w.index + 0.5 for w in measured]
    est = [w.metric for w in measured]
    figure = Figure()
    banded = [(xi, e) for xi, e in zip(x, est, strict=True) if math.isfinite(e.ci_low)]
    if banded:
        bx = [xi for xi, _ in banded]
        figure.add_trace(
            Scatter(
                x=bx + bx[::-1],
                y=[e.ci_high for _, e in banded] + [e.ci_low for _, e in banded][::-1],
                fill="toself",
                fillcolor="rgba(9, 105, 218, 0.15)",
                line={"width": 0},
                hoverinfo="skip",
                name=f"{plot_text(est[0].method)} interval",
            )
        )
    figure.add_trace(
        Scatter(
            x=x,
            y=[e.value for e in est],
            mode="lines+markers",
            name=plot_text(metric),
            marker_color=MODEL_COLORS[0],
            error_y=whiskers(
                [
                    (e.value, e.ci_low, e.ci_high) if math.isfinite(e.ci_low) else (e.value,) * 3
                    for e in est
                ]
            ),
            customdata=[[e.n, e.method] for e in est],
            hovertemplate="%{y:.3f} (n = %{customdata[0]:,}, %{customdata[1]})<extra></extra>",
        )
    )
    t = report.trend
    if t is not None:
        weights = np.array([float(e.n) for e in est])
        xs, ys = np.array(x), np.array([e.value for e in est])
        intercept = float(
            np.average(ys, weights=weights) - t.slope * np.average(xs, weights=weights)
        )
        ends = [min(x), max(x)]
        figure.add_trace(
            Scatter(
                x=ends,
                y=[intercept + t.slope * e for e in ends],
                mode="lines",
                line={"dash": "dash", "color": "#57606a"},
                name=f"trend {t.slope:+.4f} per window",
                hoverinfo="skip",
            )
        )
    figure.update_layout(**layout(), height=340, xaxis=axis, yaxis={"title": plot_text(metric)})
    return to_view(
        figure,
        id="fig-window-metric",
        title=f"{metric} per window",
        caption="Each window's value with its interval (band and whiskers); the dashed "
        "line is the weighted least-squares trend (weights: the windows' row counts).",
    )


def _window_drift_figure(
    report: DriftReport, columns: Sequence[str], ticks: Sequence[float], axis: dict[str, Any]
) -> FigureView:
    z: list[list[float | None]] = []
    text: list[list[str]] = []
    for name in columns:
        row: list[float | None] = []
        marks: list[str] = []
        for w in report.windows:
            found = next((c for c in w.columns if c.name == name), None)
            psi = None if found is None or not math.isfinite(found.psi) else found.psi
            row.append(psi)
            marks.append("" if found is None else ("drift" if found.drift else ""))
        z.append(row)
        text.append(marks)
    figure = Figure(
        Heatmap(
            x=list(ticks),
            y=[plot_text(c) for c in columns],
            z=z,
            text=text,
            texttemplate="%{text}",
            # the bands: 0.1 (yellow) and 0.25 (orange) sit at 0.2 and 0.5 of the scale
            zmin=0,
            zmax=0.5,
            colorscale=[
                [0.0, "#dafbe1"],
                [0.2, "#fff8c5"],
                [0.5, "#ffb77c"],
                [1.0, "#ff8182"],
            ],
            colorbar={"title": "PSI"},
            hovertemplate="%{y}<br>PSI %{z:.3f}<br>%{text}<extra></extra>",
        )
    )
    figure.update_layout(
        **layout(legend=False),
        height=max(240, 80 + 30 * len(columns)),
        xaxis=axis,
        yaxis={"type": "category", "autorange": "reversed"},
    )
    return to_view(
        figure,
        id="fig-window-drift",
        title="Drift per window",
        caption="PSI of each column in each window against the whole reference; "
        "“drift” marks the windows where the column's test or distance decided drift "
        "(p-values corrected within the window).",
    )
