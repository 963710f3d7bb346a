"""The dashboard's own figures and data: threshold curves, reliability, history.

The curves are computed once per run and model with :func:`heldout.analysis.curves` from
the stored positive-class confidences; the page's slider only looks points up. The
reliability diagram draws the stored calibration bins, and the history figure the stored
headline estimates: nothing here estimates anything.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from heldout.analysis import Curves, curves
from heldout.report._figure import Figure, Scatter
from heldout.report._plot import MODEL_COLORS, FigureView, layout, plot_text, to_view, whiskers
from heldout.run import TaskResult

__all__ = ["ThresholdData", "history_figure", "reliability_figure", "threshold_data"]

#: Points kept per curve: enough for a smooth slider, small enough for the page.
MAX_POINTS = 400


@dataclass(frozen=True)
class ThresholdData:
    """One model's ROC points of a binary task, as the slider reads them."""

    model: str
    positive_label: str
    negative_label: str
    n: int
    n_positive: int
    thresholds: tuple[float | None, ...]
    fpr: tuple[float, ...]
    tpr: tuple[float, ...]
    precision: tuple[float, ...]
    recall: tuple[float, ...]
    roc_auc: float
    average_precision: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "positive_label": self.positive_label,
            "negative_label": self.negative_label,
            "n": self.n,
            "n_positive": self.n_positive,
            "thresholds": list(self.thresholds),
            "fpr": list(self.fpr),
            "tpr": list(self.tpr),
            "pr_precision": list(self.precision),
            "pr_recall": list(self.recall),
            "roc_auc": _finite(self.roc_auc),
            "average_precision": _finite(self.average_precision),
        }


def binary_labels(task: TaskResult, spec: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(negative, positive)`` of a binary classification task, else ``None``."""
    if task.type != "classification":
        return None
    labels: tuple[str, ...] = ()
    for matrix in task.confusion.values():
        labels = tuple(matrix.labels)
        break
    if len(labels) != 2:
        return None
    positive = None
    for report in task.calibration.values():
        positive = report.positive_label
        break
    task_spec = spec.get("task")
    if positive is None and isinstance(task_spec, Mapping):
        positive = task_spec.get("positive_label")
    if positive not in labels:
        positive = labels[1]
    negative = labels[0] if labels[1] == positive else labels[1]
    return negative, str(positive)


def threshold_data(
    task: TaskResult,
    spec: Mapping[str, Any],
    *,
    read: Callable[[list[str]], pd.DataFrame] | None = None,
) -> tuple[ThresholdData, ...]:
    """ROC and PR points of each model with stored confidences, for a binary task.

    The curves the run stored with its threshold analysis (from the model's
    probabilities) are used as they are; a model without them gets curves computed here:
    the positive class's probability is the stored confidence (the larger of the two
    probabilities) when the model predicted the positive class, and one minus it when not.
    ``read(columns)`` gives those example columns (default: from ``task.examples``); it is
    called only when some model has no stored curves.
    """
    pair = binary_labels(task, spec)
    if pair is None:
        return ()
    negative, positive = pair
    stored_columns = task.examples.columns
    if "target" not in stored_columns:
        return ()
    missing = [
        m
        for m in task.models
        if _stored_curves(task, m, positive, negative) is None
        and f"confidence:{m}" in stored_columns
        and f"pred:{m}" in stored_columns
    ]
    if not missing:
        return tuple(
            found
            for found in (_stored_curves(task, m, positive, negative) for m in task.models)
            if found is not None
        )
    wanted = ["target", *(f"{kind}:{m}" for m in missing for kind in ("pred", "confidence"))]
    frame = task.examples[wanted] if read is None else read(wanted)
    y = (frame["target"].astype(str) == positive).to_numpy()
    out = []
    for model in task.models:
        stored = _stored_curves(task, model, positive, negative)
        if stored is not None:
            out.append(stored)
            continue
        if model not in missing:
            continue
        conf, pred = f"confidence:{model}", f"pred:{model}"
        confidence = pd.to_numeric(frame[conf], errors="coerce").to_numpy(dtype=np.float64)
        said_positive = (frame[pred].astype(str) == positive).to_numpy()
        score = np.where(said_positive, confidence, 1.0 - confidence)
        keep = np.isfinite(score)
        if keep.sum() < 2 or y[keep].all() or not y[keep].any():
            continue
        found = curves(y[keep].astype(np.int64), score[keep], max_points=MAX_POINTS)
        out.append(_threshold_data(found, model, positive, negative))
    return tuple(out)


def _stored_curves(
    task: TaskResult, model: str, positive: str, negative: str
) -> ThresholdData | None:
    """The curves of ``model`` stored in the task's threshold analysis, if any."""
    points = task.thresholds.get(model)
    found = None if points is None else points.curves
    if found is None or found.positive_label != positive:
        return None
    return _threshold_data(found, model, positive, negative)


def _threshold_data(found: Curves, model: str, positive: str, negative: str) -> ThresholdData:
    """The slider's copy of ``curves()``' output (an unbounded first threshold is null)."""
    return ThresholdData(
        model=model,
        positive_label=positive,
        negative_label=negative,
        n=found.n,
        n_positive=found.n_positive,
        thresholds=tuple(None if math.isinf(t) else float(t) for t in found.roc_thresholds),
        fpr=tuple(float(v) for v in found.fpr),
        tpr=tuple(float(v) for v in found.tpr),
        precision=tuple(float(v) for v in found.precision),
        recall=tuple(float(v) for v in found.recall),
        roc_auc=found.roc_auc,
        average_precision=found.average_precision,
    )


def reliability_figure(task: TaskResult, anchor: str) -> FigureView | None:
    """Observed rate against mean confidence per stored bin, with Wilson whiskers."""
    shown = [m for m in task.models if m in task.calibration]
    if not shown:
        return None
    figure = Figure()
    figure.add_trace(
        Scatter(
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            name="perfectly calibrated",
            line={"color": "#8c959f", "dash": "dot", "width": 1},
            hoverinfo="skip",
        )
    )
    kinds = set()
    for index, model in enumerate(task.models):
        report = task.calibration.get(model)
        if report is None:
            continue
        kinds.add(report.kind)
        rows = report.rows
        figure.add_trace(
            Scatter(
                x=[r.mean_confidence for r in rows],
                y=[r.observed for r in rows],
                mode="lines+markers",
                name=plot_text(f"{model} (ECE {report.ece.value:.3f})"),
                marker={"color": MODEL_COLORS[index % len(MODEL_COLORS)], "size": 8},
                line={"color": MODEL_COLORS[index % len(MODEL_COLORS)]},
                error_y=whiskers([(r.observed, r.observed_low, r.observed_high) for r in rows]),
                customdata=[[r.n, r.lower, r.upper] for r in rows],
                hovertemplate=(
                    "confidence %{x:.3f}<br>observed %{y:.3f}<br>"
                    "%{customdata[0]} examples in (%{customdata[1]:.2f}, %{customdata[2]:.2f}]"
                    f"<extra>{plot_text(model)}</extra>"
                ),
            )
        )
    observed = "share positive" if kinds == {"binary"} else "share correct"
    figure.update_xaxes(title_text="mean confidence", range=[0, 1])
    figure.update_yaxes(title_text=observed, range=[0, 1])
    figure.update_layout(height=380, **layout())
    return to_view(
        figure,
        id=f"{anchor}-reliability",
        title="Reliability",
        caption=(
            "Each stored calibration bin: mean confidence against the observed rate, with "
            "its Wilson interval; the dotted line is a perfectly calibrated model."
        ),
    )


@dataclass(frozen=True)
class HistoryPoint:
    """One run of an eval name: its headline estimate for one model, and its notes."""

    run_id: str
    when: datetime
    model: str
    value: float
    low: float
    high: float
    method: str
    notes: tuple[str, ...]


def history_figure(metric: str, points: Sequence[HistoryPoint]) -> FigureView:
    """The headline metric over time per model: line, CI band, notes on the points."""
    figure = Figure()
    models = list(dict.fromkeys(p.model for p in points))
    for index, model in enumerate(models):
        color = MODEL_COLORS[index % len(MODEL_COLORS)]
        mine = sorted((p for p in points if p.model == model), key=lambda p: p.when)
        x = [p.when.isoformat() for p in mine]
        figure.add_trace(
            Scatter(
                x=x + x[::-1],
                y=[p.high for p in mine] + [p.low for p in mine][::-1],
                fill="toself",
                fillcolor=_alpha(color),
                line={"width": 0},
                hoverinfo="skip",
                showlegend=False,
                legendgroup=plot_text(model),
            )
        )
        figure.add_trace(
            Scatter(
                x=x,
                y=[p.value for p in mine],
                mode="lines+markers",
                name=plot_text(model),
                legendgroup=plot_text(model),
                line={"color": color},
                marker={
                    "color": color,
                    "size": [13 if p.notes else 7 for p in mine],
                    "symbol": ["star" if p.notes else "circle" for p in mine],
                },
                customdata=[
                    [
                        p.run_id[:8],
                        f"[{p.low:.3f}, {p.high:.3f}]",
                        plot_text(p.method),
                        "<br>".join(plot_text(_short(n)) for n in p.notes) or "no notes",
                    ]
                    for p in mine
                ],
                hovertemplate=(
                    "run %{customdata[0]}<br>%{y:.3f} %{customdata[1]} %{customdata[2]}"
                    "<br>%{customdata[3]}<extra>" + plot_text(model) + "</extra>"
                ),
            )
        )
    figure.update_xaxes(title_text="run created")
    figure.update_yaxes(title_text=plot_text(metric))
    figure.update_layout(height=420, **layout())
    return to_view(
        figure,
        id="history",
        title=f"{metric} over time",
        caption=(
            "Each run's stored estimate with its interval as a band; a star marks a run "
            "with notes (hover to read them)."
        ),
    )


def _alpha(color: str) -> str:
    red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},0.15)"


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else f"{text[:limit]}…"


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
