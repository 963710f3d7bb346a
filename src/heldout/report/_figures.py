"""The figures of a task: metric bars, the difference forest, confusion matrices."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from heldout._util._format import NumberFormat
from heldout.report._figure import BLUES, Bar, Figure, Heatmap, Scatter, make_subplots
from heldout.report._plot import (
    AXIS_TITLES,
    MODEL_COLORS,
    VERDICT_COLORS,
    difference_hover,
    estimate_hover,
    layout,
    plot_text,
    scale_groups,
    symbol,
    whiskers,
)
from heldout.run import ConfusionMatrix
from heldout.stats import Difference, Estimate

__all__ = ["confusion_figure", "delta_forest", "metric_bars"]

#: Above this many classes the cell numbers of a confusion matrix become unreadable.
_MAX_ANNOTATED_LABELS = 15


def metric_bars(
    models: Sequence[str],
    metrics: Sequence[str],
    estimates: Mapping[str, Mapping[str, Estimate]],
    formats: Mapping[str, NumberFormat],
) -> Figure:
    """Each metric's estimate per model, grouped bars with CI whiskers.

    Metrics on different scales (0–1 and sacrebleu's 0–100) get side-by-side panels.
    """
    groups = scale_groups(metrics, formats)
    figure = make_subplots(
        rows=1,
        cols=len(groups),
        column_widths=[len(names) for _, names in groups],
        horizontal_spacing=0.08 if len(groups) > 1 else 0.0,
    )
    for col, (scale, names) in enumerate(groups, start=1):
        for index, model in enumerate(models):
            shown = [m for m in names if m in estimates.get(model, {})]
            points = [estimates[model][m] for m in shown]
            figure.add_trace(
                Bar(
                    x=[plot_text(m) for m in shown],
                    y=[e.value for e in points],
                    name=plot_text(model),
                    legendgroup=plot_text(model),
                    showlegend=col == 1,
                    marker_color=MODEL_COLORS[index % len(MODEL_COLORS)],
                    error_y=whiskers([(e.value, e.ci_low, e.ci_high) for e in points]),
                    customdata=[
                        estimate_hover(m, e, formats[m].decimals)
                        for m, e in zip(shown, points, strict=True)
                    ],
                    hovertemplate=(
                        "<b>%{customdata[0]}</b> · %{fullData.name}<br>"
                        "%{customdata[1]} %{customdata[2]}<br>%{customdata[3]}<extra></extra>"
                    ),
                ),
                row=1,
                col=col,
            )
        figure.update_xaxes(type="category", row=1, col=col)
        figure.update_yaxes(title_text=AXIS_TITLES[scale], row=1, col=col)
    figure.update_layout(barmode="group", height=380, **layout())
    return figure


def delta_forest(
    metrics: Sequence[str],
    comparisons: Mapping[str, Difference],
    formats: Mapping[str, NumberFormat],
    *,
    candidate: str,
    baseline: str,
    correction: str,
) -> Figure:
    """Candidate minus baseline per metric with its CI, coloured by verdict; zero marked."""
    groups = scale_groups([m for m in metrics if m in comparisons], formats)
    figure = make_subplots(
        rows=len(groups),
        cols=1,
        row_heights=[len(names) for _, names in groups],
        vertical_spacing=0.12 if len(groups) > 1 else 0.0,
    )
    seen: set[str] = set()
    for row, (scale, names) in enumerate(groups, start=1):
        for verdict, color in VERDICT_COLORS.items():
            chosen = [m for m in names if comparisons[m].verdict == verdict]
            if not chosen:
                continue
            diffs = [comparisons[m] for m in chosen]
            figure.add_trace(
                Scatter(
                    x=[d.delta for d in diffs],
                    y=[plot_text(m) for m in chosen],
                    mode="markers",
                    name=verdict,
                    legendgroup=verdict,
                    showlegend=verdict not in seen,
                    marker={"color": color, "size": 11, "symbol": symbol(verdict)},
                    error_x=whiskers([(d.delta, d.ci_low, d.ci_high) for d in diffs], color),
                    customdata=[
                        difference_hover(m, d, formats[m].decimals, correction)
                        for m, d in zip(chosen, diffs, strict=True)
                    ],
                    hovertemplate=(
                        "<b>%{customdata[0]}</b><br>Δ %{customdata[1]} %{customdata[2]}<br>"
                        "%{customdata[3]}<extra></extra>"
                    ),
                ),
                row=row,
                col=1,
            )
            seen.add(verdict)
        figure.add_vline(x=0, line={"color": "#24292f", "width": 1, "dash": "dot"}, row=row, col=1)
        figure.update_yaxes(
            type="category",
            categoryorder="array",
            categoryarray=[plot_text(m) for m in names],
            autorange="reversed",
            automargin=True,
            row=row,
            col=1,
        )
        figure.update_xaxes(
            title_text=f"Δ {plot_text(candidate)} − {plot_text(baseline)} ({AXIS_TITLES[scale]})",
            zeroline=False,
            row=row,
            col=1,
        )
    count = sum(len(names) for _, names in groups)
    figure.update_layout(height=140 + 38 * count + 70 * (len(groups) - 1), **layout())
    return figure


def confusion_figure(models: Sequence[str], confusion: Mapping[str, ConfusionMatrix]) -> Figure:
    """Per model, the counts (top row) and the share of each true label (bottom row)."""
    shown = [m for m in models if m in confusion]
    titles = [f"{plot_text(m)}: counts" for m in shown] + [
        f"{plot_text(m)}: share of each true label" for m in shown
    ]
    figure = make_subplots(
        rows=2,
        cols=len(shown),
        subplot_titles=titles,
        horizontal_spacing=0.12,
        vertical_spacing=0.16,
    )
    n_labels = 1
    for col, model in enumerate(shown, start=1):
        matrix = confusion[model]
        n_labels = max(n_labels, len(matrix.labels), len(matrix.columns))
        x = [plot_text(c) for c in matrix.columns]
        y = [plot_text(label) for label in matrix.labels]
        counts = [list(row) for row in matrix.counts]
        shares = [[c / sum(row) if sum(row) else None for c in row] for row in counts]
        annotate = n_labels <= _MAX_ANNOTATED_LABELS
        for row, z, text, hover, limits in (
            (1, counts, "%{z}", "%{z} examples", {}),
            (2, shares, "%{z:.0%}", "%{z:.1%} of true %{y}", {"zmin": 0.0, "zmax": 1.0}),
        ):
            figure.add_trace(
                Heatmap(
                    z=z,
                    x=x,
                    y=y,
                    colorscale=BLUES,
                    showscale=False,
                    texttemplate=text if annotate else None,
                    hovertemplate=f"true %{{y}}<br>predicted %{{x}}<br>{hover}<extra>{plot_text(model)}</extra>",
                    name=plot_text(model),
                    **limits,
                ),
                row=row,
                col=col,
            )
            figure.update_xaxes(type="category", title_text="predicted", row=row, col=col)
            figure.update_yaxes(
                type="category",
                title_text="true",
                autorange="reversed",
                automargin=True,
                row=row,
                col=col,
            )
    per_row = max(220, 70 + 30 * n_labels)
    figure.update_layout(height=2 * per_row + 90, **layout(legend=False))
    return figure
