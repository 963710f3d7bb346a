"""The analysis section of a task: reliability, thresholds, per-class metrics and errors.

Everything is drawn from the stored analyses (``task.calibration``, ``task.thresholds``,
``task.errors``); nothing is re-estimated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from heldout._util._format import fmt_count, fmt_interval, fmt_number, fmt_p, fmt_signed
from heldout.analysis import CalibrationReport, ClassMetrics, OperatingPoints, SliceResult
from heldout.report._examples import ExampleTable
from heldout.report._figure import Figure, Scatter, make_subplots
from heldout.report._plot import MODEL_COLORS, FigureView, layout, plot_text, to_view, whiskers
from heldout.run import TaskResult
from heldout.stats import Estimate

__all__ = [
    "AnalysisView",
    "analysis_view",
    "coverage_figure",
    "reliability_figure",
    "threshold_figure",
]

_MAX_CHARS = 300


@dataclass(frozen=True)
class AnalysisView:
    """Figures and tables of a task's analyses, each with a title."""

    figures: tuple[FigureView, ...]
    tables: tuple[ExampleTable, ...]


def analysis_view(task: TaskResult, anchor: str) -> AnalysisView | None:
    """The analysis section of ``task``, or ``None`` when it has no analysis to show."""
    figures: list[FigureView] = []
    tables: list[ExampleTable] = []
    order = _models(task)
    if task.calibration:
        models = [m for m in order if m in task.calibration]
        figures.append(
            to_view(
                reliability_figure(models, [task.calibration[m] for m in models]),
                id=f"{anchor}-reliability",
                title="Reliability diagram",
                caption=(
                    "Observed frequency against mean confidence per bin, with Wilson "
                    "intervals; on the diagonal a model's probabilities mean what they say. "
                    "ECE, MCE, Brier and log loss in the legend."
                ),
            )
        )
        tables.append(_calibration_table(models, task))
    with_curves = [m for m in order if m in task.thresholds and task.thresholds[m].curves]
    if with_curves:
        points = [task.thresholds[m] for m in with_curves]
        figures.append(
            to_view(
                threshold_figure(with_curves, points),
                id=f"{anchor}-thresholds",
                title="Precision–recall and ROC",
                caption=(
                    "Each model's curves for the positive class; a cross marks the "
                    "threshold chosen for the task's target."
                ),
            )
        )
        chosen = [(m, task.thresholds[m]) for m in with_curves if task.thresholds[m].choice]
        if chosen:
            tables.append(_threshold_table(chosen))
    with_coverage = [m for m in order if m in task.thresholds and task.thresholds[m].coverage]
    if with_coverage:
        figures.append(
            to_view(
                coverage_figure(with_coverage, [task.thresholds[m] for m in with_coverage]),
                id=f"{anchor}-coverage",
                title="Coverage and accuracy",
                caption=(
                    "Accuracy on the examples kept when the model abstains below a "
                    "confidence cutoff, with Wilson intervals."
                ),
            )
        )
    if task.forgetting is not None:
        tables.append(_forgetting_table(task))
    errors = task.errors
    if errors is not None:
        for model in order:
            model_errors = errors.models.get(model)
            if model_errors is None:
                continue
            if model_errors.per_class:
                tables.append(_per_class_table(model, model_errors.per_class))
            if model_errors.confident:
                tables.append(
                    ExampleTable(
                        title=f"Most confident errors: {model}",
                        description=(
                            "Wrong predictions ranked by the probability the model gave the "
                            "class it predicted."
                        ),
                        columns=("id", "input", "target", "predicted", "probability"),
                        numeric=(False, False, False, False, True),
                        rows=tuple(
                            (
                                c.id,
                                _cut(c.input),
                                c.target,
                                c.predicted,
                                fmt_number(c.confidence, 3),
                            )
                            for c in model_errors.confident
                        ),
                    )
                )
            if model_errors.lowest:
                tables.append(
                    ExampleTable(
                        title=f"Lowest {errors.score}: {model}",
                        description="The examples with this model's worst per-example score.",
                        columns=("id", "input", "target", "output", errors.score),
                        numeric=(False, False, False, False, True),
                        rows=tuple(
                            (
                                low.id,
                                _cut(low.input),
                                _cut(low.target),
                                _cut(low.output),
                                fmt_number(low.score, 3),
                            )
                            for low in model_errors.lowest
                        ),
                    )
                )
        if errors.length:
            tables.append(_length_table(task, errors.length))
    if not figures and not tables:
        return None
    return AnalysisView(figures=tuple(figures), tables=tuple(tables))


def reliability_figure(models: Sequence[str], reports: Sequence[CalibrationReport]) -> Figure:
    """Observed frequency against mean confidence per bin, every model on one plot."""
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
    for index, (model, report) in enumerate(zip(models, reports, strict=True)):
        rows = report.rows
        name = (
            f"{plot_text(model)} · ECE {report.ece.value:.3f} · MCE {report.mce.value:.3f} · "
            f"Brier {report.brier.value:.3f} · log loss {report.log_loss.value:.3f}"
        )
        figure.add_trace(
            Scatter(
                x=[r.mean_confidence for r in rows],
                y=[r.observed for r in rows],
                mode="lines+markers",
                name=name,
                marker={"color": MODEL_COLORS[index % len(MODEL_COLORS)], "size": 8},
                line={"color": MODEL_COLORS[index % len(MODEL_COLORS)]},
                error_y=whiskers(
                    [(r.observed, r.observed_low, r.observed_high) for r in rows],
                    MODEL_COLORS[index % len(MODEL_COLORS)],
                ),
                customdata=[[r.n, r.lower, r.upper] for r in rows],
                hovertemplate=(
                    "confidence %{x:.3f}<br>observed %{y:.3f}<br>n = %{customdata[0]}, "
                    "bin (%{customdata[1]:.3f}, %{customdata[2]:.3f}]<extra>"
                    f"{plot_text(model)}</extra>"
                ),
            )
        )
    kind = reports[0].kind if reports else "binary"
    label = reports[0].positive_label if reports else None
    figure.update_xaxes(
        title_text=f"mean p({plot_text(label)})"
        if kind == "binary" and label
        else "mean confidence",
        range=[0, 1],
    )
    figure.update_yaxes(
        title_text="observed frequency" if kind == "binary" else "accuracy", range=[0, 1]
    )
    figure.update_layout(height=460, **layout())
    return figure


def threshold_figure(models: Sequence[str], points: Sequence[OperatingPoints]) -> Figure:
    """PR (left) and ROC (right) curves, the chosen threshold of each model marked."""
    # the axis titles name each panel; subplot titles would sit under the legend
    figure = make_subplots(rows=1, cols=2, horizontal_spacing=0.12)
    for index, (model, p) in enumerate(zip(models, points, strict=True)):
        c = p.curves
        if c is None:
            continue
        color = MODEL_COLORS[index % len(MODEL_COLORS)]
        name = plot_text(model)
        figure.add_trace(
            Scatter(
                x=c.recall.tolist(),
                y=c.precision.tolist(),
                mode="lines",
                name=f"{name} · AP {c.average_precision:.3f}",
                legendgroup=name,
                line={"color": color, "shape": "hv"},
            ),
            row=1,
            col=1,
        )
        figure.add_trace(
            Scatter(
                x=c.fpr.tolist(),
                y=c.tpr.tolist(),
                mode="lines",
                name=f"{name} · AUC {c.roc_auc:.3f}",
                legendgroup=name,
                line={"color": color},
            ),
            row=1,
            col=2,
        )
        choice = p.choice
        if choice is not None:
            fpr = _fpr(
                choice.recall.value,
                choice.precision.value,
                c.n,
                c.n_positive,
                choice.selection_rate.value,
            )
            hover = (
                f"threshold {choice.threshold:.3f}<br>recall {choice.recall.value:.3f}, "
                f"precision {choice.precision.value:.3f}<extra>{name}</extra>"
            )
            for col, x, y in (
                (1, choice.recall.value, choice.precision.value),
                (2, fpr, choice.recall.value),
            ):
                figure.add_trace(
                    Scatter(
                        x=[x],
                        y=[y],
                        mode="markers",
                        name=f"{name} · chosen threshold {choice.threshold:.3f}",
                        legendgroup=name,
                        showlegend=col == 1,
                        marker={"color": color, "size": 13, "symbol": "x"},
                        hovertemplate=hover,
                    ),
                    row=1,
                    col=col,
                )
    figure.update_xaxes(title_text="recall", range=[0, 1], row=1, col=1)
    figure.update_yaxes(title_text="precision", range=[0, 1.02], row=1, col=1)
    figure.update_xaxes(title_text="false positive rate", range=[0, 1], row=1, col=2)
    figure.update_yaxes(title_text="true positive rate", range=[0, 1.02], row=1, col=2)
    figure.update_layout(height=460, **layout())
    figure.update_layout(margin={"t": 100})
    return figure


def coverage_figure(models: Sequence[str], points: Sequence[OperatingPoints]) -> Figure:
    """Accuracy on the examples kept against the share kept, per model."""
    figure = Figure()
    for index, (model, p) in enumerate(zip(models, points, strict=True)):
        curve = p.coverage
        if curve is None:
            continue
        pts = curve.points
        figure.add_trace(
            Scatter(
                x=[q.coverage for q in pts],
                y=[q.accuracy for q in pts],
                mode="lines+markers",
                name=plot_text(model),
                marker={"color": MODEL_COLORS[index % len(MODEL_COLORS)], "size": 6},
                line={"color": MODEL_COLORS[index % len(MODEL_COLORS)]},
                error_y=whiskers(
                    [(q.accuracy, q.accuracy_low, q.accuracy_high) for q in pts],
                    MODEL_COLORS[index % len(MODEL_COLORS)],
                ),
                customdata=[[q.cutoff, q.n] for q in pts],
                hovertemplate=(
                    "coverage %{x:.1%}<br>accuracy %{y:.3f}<br>confidence ≥ %{customdata[0]:.3f}, "
                    f"n = %{{customdata[1]}}<extra>{plot_text(model)}</extra>"
                ),
            )
        )
    figure.update_xaxes(
        title_text="coverage (share answered)", range=[0, 1.02], autorange="reversed"
    )
    figure.update_yaxes(title_text="accuracy on answered")
    figure.update_layout(height=400, **layout())
    return figure


def _fpr(recall: float, precision: float, n: int, n_positive: int, selection: float) -> float:
    """False positive rate at the chosen threshold, from its stored point values."""
    negatives = n - n_positive
    if negatives <= 0:
        return math.nan
    false_positives = selection * n - recall * n_positive
    return max(0.0, false_positives) / negatives


def _models(task: TaskResult) -> list[str]:
    first = [m for m in (task.candidate, task.baseline) if m is not None]
    return first + [m for m in task.models if m not in first]


def _est(e: Estimate, decimals: int = 3) -> str:
    return f"{fmt_number(e.value, decimals)} {fmt_interval(e.ci_low, e.ci_high, decimals)}"


def _calibration_table(models: Sequence[str], task: TaskResult) -> ExampleTable:
    rows = []
    for model in models:
        r = task.calibration[model]
        rows.append(
            (
                model,
                _est(r.ece),
                _est(r.mce),
                _est(r.brier),
                _est(r.log_loss),
                f"{r.bins} {'equal-mass' if r.strategy == 'quantile' else 'equal-width'}",
            )
        )
    comparison = task.calibration_comparison
    description = "Calibration with intervals (ECE and MCE bootstrap, Brier and log loss t)."
    if comparison is not None:
        d = comparison.ece
        description += (
            f" ECE {task.candidate} − {task.baseline}: {fmt_signed(d.delta, 3)} "
            f"{fmt_interval(d.ci_low, d.ci_high, 3, signed=True)}, {comparison.verdict}."
        )
    return ExampleTable(
        title="Calibration",
        description=description,
        columns=("model", "ECE", "MCE", "Brier", "log loss", "bins"),
        numeric=(False, True, True, True, True, False),
        rows=tuple(rows),
    )


def _threshold_table(chosen: Sequence[tuple[str, OperatingPoints]]) -> ExampleTable:
    rows = []
    goal = ""
    for model, p in chosen:
        c = p.choice
        assert c is not None
        goal = (
            f"{c.target} ≥ {c.value:g}"
            if c.value is not None
            else (f"best F{c.beta:g}" if c.target == "fbeta" else "lowest expected cost")
        )
        rows.append(
            (
                model,
                fmt_number(c.threshold, 3),
                _est(c.recall),
                _est(c.precision),
                _est(c.fbeta),
                _est(c.cost),
                fmt_number(c.selection_rate.value, 3),
                "yes" if c.reached else "no",
            )
        )
    return ExampleTable(
        title="Chosen threshold",
        description=(
            f"The threshold for {goal}, chosen on all the data and held fixed; bootstrap "
            "intervals on what it achieves."
        ),
        columns=(
            "model",
            "threshold",
            "recall",
            "precision",
            "F-beta",
            "cost",
            "selected",
            "reached",
        ),
        numeric=(False, True, True, True, True, True, True, False),
        rows=tuple(rows),
    )


def _per_class_table(model: str, per_class: Sequence[ClassMetrics]) -> ExampleTable:
    rows = [
        (c.label, fmt_count(c.support), _est(c.precision), _est(c.recall), _est(c.f1))
        for c in per_class
    ]
    return ExampleTable(
        title=f"Per class: {model}",
        description="Precision, recall and F1 of each class (one-vs-rest), bootstrap intervals.",
        columns=("class", "support", "precision", "recall", "F1"),
        numeric=(False, True, True, True, True),
        rows=tuple(rows),
    )


def _length_table(task: TaskResult, length: Sequence[SliceResult]) -> ExampleTable:
    models = _models(task)
    compared = task.candidate is not None and task.baseline is not None
    columns = ["input length", "n", *models]
    if compared:
        columns += ["Δ", "p (adj.)", "verdict"]
    rows = []
    for s in length:
        row = [s.value, fmt_count(s.n)]
        row += [_est(s.estimates[m]) if m in s.estimates else "—" for m in models]
        if compared:
            d = s.comparison
            if d is None:
                row += ["—", "—", "—"]
            else:
                row += [
                    f"{fmt_signed(d.delta, 3)} {fmt_interval(d.ci_low, d.ci_high, 3, signed=True)}",
                    fmt_p(d.p_adjusted),
                    d.verdict + (" (small)" if s.small else ""),
                ]
        rows.append(tuple(row))
    metric = length[0].metric if length else task.headline
    return ExampleTable(
        title=f"By input length: {metric}",
        description=(
            "The headline per quantile bucket of the input's length in words; differences "
            "corrected across the buckets."
        ),
        columns=tuple(columns),
        numeric=tuple(c not in ("input length", "verdict") for c in columns),
        rows=tuple(rows),
    )


def _forgetting_table(task: TaskResult) -> ExampleTable:
    f = task.forgetting
    assert f is not None
    d = f.difference
    return ExampleTable(
        title=f"Forgetting: {f.suite}",
        description=(
            f"{f.format} suite ({f.path}). Forgotten when {task.candidate} is significantly "
            f"worse than {task.baseline} (p corrected across suites) by more than "
            f"{f.tolerance:g}; kept when the whole interval lies above −{f.tolerance:g}."
        ),
        columns=(
            "metric",
            str(task.candidate),
            str(task.baseline),
            "Δ",
            "p (adj.)",
            "verdict",
        ),
        numeric=(False, True, True, True, True, False),
        rows=(
            (
                f.metric,
                _est(f.candidate),
                _est(f.baseline),
                f"{fmt_signed(d.delta, 3)} {fmt_interval(d.ci_low, d.ci_high, 3, signed=True)}",
                fmt_p(d.p_adjusted),
                f.verdict,
            ),
        ),
    )


def _cut(text: str) -> str:
    return text if len(text) <= _MAX_CHARS else text[: _MAX_CHARS - 1] + "…"
