"""The headline metric by slice: a forest plot that flags small slices and never ranks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from heldout._util._format import NumberFormat
from heldout.report._figure import Figure, Scatter
from heldout.report._plot import (
    MODEL_COLORS,
    SMALL_COLOR,
    VERDICT_COLORS,
    difference_hover,
    estimate_hover,
    layout,
    plot_text,
    symbol,
    whiskers,
)
from heldout.run import SliceResult
from heldout.stats import Difference

__all__ = ["SMALL_SLICES", "slice_forest", "slice_label"]

#: Legend entry of the slices under the minimum size.
SMALL_SLICES = "small slice (flagged)"


def slice_forest(
    slices: Sequence[SliceResult],
    models: Sequence[str],
    formats: Mapping[str, NumberFormat],
    *,
    overall: Difference | None,
    correction: str,
) -> Figure:
    """The headline metric by slice value.

    With a comparison it plots each slice's difference and CI: significant after
    correction as a filled diamond in its verdict's colour, small slices in grey. Without
    one it plots each model's estimate per slice. Slices keep their stored order: they are
    shown, never ranked.
    """
    labels = [slice_label(s) for s in slices]
    metric = slices[0].metric
    decimals = formats[metric].decimals if metric in formats else 3
    figure = Figure()
    if any(s.comparison is not None for s in slices):
        _slice_differences(figure, slices, labels, decimals, correction)
        figure.add_vline(x=0, line={"color": "#24292f", "width": 1, "dash": "dot"})
        if overall is not None:
            figure.add_vline(
                x=overall.delta,
                line={"color": "#0969da", "width": 1, "dash": "dash"},
                annotation_text="all examples",
                annotation_position="top",
            )
        figure.update_xaxes(title_text=f"Δ {plot_text(metric)}", zeroline=False)
    else:
        _slice_estimates(figure, slices, labels, models, decimals)
        figure.update_xaxes(title_text=plot_text(metric))
        figure.update_layout(scattermode="group")
    figure.update_yaxes(
        type="category",
        categoryorder="array",
        categoryarray=[plot_text(label) for label in labels],
        autorange="reversed",
        automargin=True,
    )
    figure.update_layout(height=150 + 30 * len(slices), **layout())
    return figure


def _slice_differences(
    figure: Figure,
    slices: Sequence[SliceResult],
    labels: Sequence[str],
    decimals: int,
    correction: str,
) -> None:
    groups: dict[str, list[tuple[str, Difference]]] = {}
    for item, label in zip(slices, labels, strict=True):
        if item.comparison is None:
            continue
        group: str = SMALL_SLICES if item.small else item.comparison.verdict
        groups.setdefault(group, []).append((label, item.comparison))
    for key, points in groups.items():
        color = VERDICT_COLORS.get(key, SMALL_COLOR)
        figure.add_trace(
            Scatter(
                x=[d.delta for _, d in points],
                y=[plot_text(label) for label, _ in points],
                mode="markers",
                name=key,
                marker={
                    "color": color,
                    "size": 10,
                    "symbol": [symbol(d.verdict) for _, d in points],
                },
                error_x=whiskers([(d.delta, d.ci_low, d.ci_high) for _, d in points], color),
                customdata=[
                    difference_hover(label, d, decimals, correction) for label, d in points
                ],
                hovertemplate=(
                    "<b>%{customdata[0]}</b><br>Δ %{customdata[1]} %{customdata[2]}<br>"
                    "%{customdata[3]}<extra></extra>"
                ),
            )
        )


def _slice_estimates(
    figure: Figure,
    slices: Sequence[SliceResult],
    labels: Sequence[str],
    models: Sequence[str],
    decimals: int,
) -> None:
    for index, model in enumerate(models):
        chosen = [i for i, s in enumerate(slices) if model in s.estimates]
        points = [slices[i].estimates[model] for i in chosen]
        base_color = MODEL_COLORS[index % len(MODEL_COLORS)]
        figure.add_trace(
            Scatter(
                x=[e.value for e in points],
                y=[plot_text(labels[i]) for i in chosen],
                mode="markers",
                orientation="h",
                name=plot_text(model),
                marker={
                    "size": 10,
                    "color": [SMALL_COLOR if slices[i].small else base_color for i in chosen],
                },
                error_x=whiskers([(e.value, e.ci_low, e.ci_high) for e in points], base_color),
                customdata=[
                    estimate_hover(labels[i], e, decimals)
                    for i, e in zip(chosen, points, strict=True)
                ],
                hovertemplate=(
                    "<b>%{customdata[0]}</b> · %{fullData.name}<br>"
                    "%{customdata[1]} %{customdata[2]}<br>%{customdata[3]}<extra></extra>"
                ),
            )
        )


def slice_label(item: SliceResult) -> str:
    """``language = de (n=145)``, with ``⚑ small`` when under the minimum size."""
    label = f"{item.column} = {item.value} (n={item.n:,})"
    return f"{label} ⚑ small" if item.small else label
