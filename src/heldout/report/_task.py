"""Build the :class:`TaskView` of one task: table rows, slices, figures and examples."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from heldout._util._format import (
    NumberFormat,
    fmt_count,
    fmt_interval,
    fmt_number,
    fmt_p,
    fmt_percent,
    fmt_signed,
    metric_format,
)
from heldout.analysis import RobustnessRow
from heldout.report._analysis import analysis_view
from heldout.report._data import data_view
from heldout.report._examples import build_examples
from heldout.report._figures import confusion_figure, delta_forest, metric_bars
from heldout.report._judges import judges_view
from heldout.report._plot import FigureView, to_view
from heldout.report._sentences import (
    headline_sentence,
    mde_sentence,
    slice_note,
    summary_sentence,
    verdict_class,
    worse_slice_sentences,
)
from heldout.report._slice_figure import slice_forest
from heldout.report._view import (
    CallsView,
    Cell,
    Column,
    Fact,
    MetricRow,
    RobustnessView,
    SliceRow,
    TaskView,
)
from heldout.run import SliceResult, TaskResult
from heldout.stats import Difference, Estimate

__all__ = ["task_view"]


def task_view(task: TaskResult, index: int, correction: str, stats: Mapping[str, Any]) -> TaskView:
    """Lay out one task: ``index`` numbers its anchor, ``correction`` names the adjusted p."""
    formats = _formats(task)
    metrics = _metric_order(task)
    columns = _columns(task)
    compared = task.candidate is not None and task.baseline is not None
    rows = tuple(
        _metric_row(task, metric, columns, formats[metric].decimals, correction)
        for metric in metrics
    )
    anchor = f"task-{index + 1}"
    headline, headline_class = headline_sentence(task, formats, correction)
    return TaskView(
        anchor=anchor,
        name=task.name,
        type=task.type,
        summary=summary_sentence(task, metrics),
        headline=headline,
        headline_class=headline_class,
        worse_slices=worse_slice_sentences(task, formats, correction),
        facts=_task_facts(task),
        warnings=_warnings(task),
        compared=compared,
        columns=columns,
        correction=correction,
        rows=rows,
        mde=mde_sentence(task, formats),
        metric_figure=_metric_figure(task, metrics, columns, formats, anchor),
        delta_figure=_delta_figure(task, metrics, formats, correction, anchor),
        confusion_figure=_confusion_figure(task, columns, anchor),
        slice_metric=task.slices[0].metric if task.slices else task.headline,
        slice_note=slice_note(task, stats, correction),
        slice_figure=_slice_figure(task, columns, formats, correction, anchor),
        slice_rows=tuple(_slice_row(s, columns, formats) for s in task.slices),
        examples=build_examples(task),
        calls=_calls(task),
        clean_rows=_clean_rows(task, columns, correction),
        robustness=tuple(_robustness_view(r) for r in task.robustness),
        clean_note=_clean_note(task),
        analysis=analysis_view(task, anchor),
        data=data_view(task),
        judges=judges_view(task),
        utility=(
            ()
            if task.utility is None
            else tuple((t.metric, f"{t.weight:.3f}", t.rule) for t in task.utility.terms)
        ),
    )


def _robustness_view(row: RobustnessRow) -> RobustnessView:
    versus = row.versus_baseline
    verdict = "" if versus is None else versus.verdict
    return RobustnessView(
        operation=row.operation,
        model=row.model,
        pairs=fmt_count(row.n),
        change=_signed_cell(row.change),
        flip_rate=_estimate_cell(row.flip_rate, 3),
        broke="" if row.broke is None else fmt_count(row.broke),
        fixed="" if row.fixed is None else fmt_count(row.fixed),
        versus=None if versus is None else _delta_cell(versus, 3),
        verdict=verdict,
        verdict_class="" if versus is None else verdict_class(versus),
    )


def _signed_cell(estimate: Estimate) -> Cell:
    return Cell(
        value=fmt_signed(estimate.value, 3),
        interval=fmt_interval(estimate.ci_low, estimate.ci_high, 3, signed=True),
        method=estimate.method,
        detail=f"{fmt_percent(estimate.confidence)} CI by {estimate.method}, n = {fmt_count(estimate.n)}",
    )


def _clean_rows(
    task: TaskResult, columns: tuple[Column, ...], correction: str
) -> tuple[MetricRow, ...]:
    if task.clean is None:
        return ()
    shadow = replace(task, metrics=task.clean.metrics, comparisons=task.clean.comparisons)
    formats = _formats(shadow)
    return tuple(
        _metric_row(shadow, metric, columns, formats[metric].decimals, correction)
        for metric in _metric_order(shadow)
    )


def _clean_note(task: TaskResult) -> str | None:
    clean = task.clean
    if clean is None:
        return None
    unknown = (
        f"; {fmt_count(clean.unknown)} listed ids are not in the dataset" if clean.unknown else ""
    )
    return (
        f"Every metric again on the {fmt_count(clean.n)} examples left after excluding "
        f"{fmt_count(len(clean.excluded))} ({clean.source}){unknown}."
    )


def _warnings(task: TaskResult) -> tuple[str, ...]:
    out = []
    for model, n in task.dropped.items():
        if n:
            why = "its prediction was missing" if model not in task.live else "no usable answer"
            out.append(f"{fmt_count(n)} examples left out for {model}: {why}.")
    for model, info in task.live.items():
        if info.failed_examples:
            out.append(
                f"{model}: {fmt_count(info.failed_examples)} examples failed after every retry "
                f"({fmt_count(info.failed_calls)} of {fmt_count(info.calls)} calls); "
                "a rerun retries them."
            )
    return tuple(out)


_CALL_FIGURES = (
    ("latency_p50_s", "latency p50 (s)"),
    ("latency_p95_s", "latency p95 (s)"),
    ("input_tokens", "input tokens / example"),
    ("output_tokens", "output tokens / example"),
    ("output_tokens_per_s", "output tokens / s"),
    ("cost", "cost / example"),
)


def _calls(task: TaskResult) -> CallsView | None:
    if not task.live:
        return None
    shown = [
        (key, label)
        for key, label in _CALL_FIGURES
        if any(key in info.efficiency for info in task.live.values())
    ]
    rows = []
    for model, info in task.live.items():
        cells = []
        for key, _ in shown:
            est = info.efficiency.get(key)
            decimals = 4 if key == "cost" else 3 if key.startswith("latency") else 1
            cells.append(_estimate_cell(est, decimals))
        samples = "" if info.samples == 1 else fmt_count(info.samples)
        total = "" if info.cost_total is None else fmt_number(info.cost_total, 4)
        rows.append((model, info.mode, fmt_count(info.calls), samples, tuple(cells), total))
    return CallsView(columns=tuple(label for _, label in shown), rows=tuple(rows))


def _formats(task: TaskResult) -> dict[str, NumberFormat]:
    # Point estimates only: a CLT interval of an accuracy near 1 may poke above 1 and
    # must not push the metric off the 0–1 scale.
    values: dict[str, list[float]] = {}
    for by_metric in task.metrics.values():
        for metric, e in by_metric.items():
            values.setdefault(metric, []).append(e.value)
    for metric, d in task.comparisons.items():
        values.setdefault(metric, []).append(d.delta)
    for s in task.slices:
        for e in s.estimates.values():
            values.setdefault(s.metric, []).append(e.value)
    if task.mde is not None:
        values.setdefault(task.mde.metric, []).append(task.mde.effect)
    return {metric: metric_format(metric, v) for metric, v in values.items()}


def _metric_order(task: TaskResult) -> list[str]:
    seen: dict[str, None] = {}
    for model in task.models:
        seen.update(dict.fromkeys(task.metrics.get(model, {})))
    seen.update(dict.fromkeys(task.comparisons))
    names = list(seen)
    if task.headline in seen:
        names.remove(task.headline)
        names.insert(0, task.headline)
    return names


def _columns(task: TaskResult) -> tuple[Column, ...]:
    if task.candidate is None or task.baseline is None:
        return tuple(Column(m, "") for m in task.models)
    rest = [m for m in task.models if m not in (task.baseline, task.candidate)]
    return (
        Column(task.baseline, "baseline"),
        Column(task.candidate, "candidate"),
        *(Column(m, "") for m in rest),
    )


def _task_facts(task: TaskResult) -> tuple[Fact, ...]:
    data = task.dataset
    facts = [
        Fact("type", task.type),
        Fact("dataset", data.path),
        Fact("dataset hash", data.hash[:16], detail=data.hash),
        Fact("examples", fmt_count(data.n)),
    ]
    if task.candidate is not None and task.baseline is not None:
        facts.append(
            Fact("comparison", f"{task.candidate} (candidate) vs {task.baseline} (baseline)")
        )
    facts.append(Fact("models", ", ".join(task.models)))
    facts.append(Fact("headline metric", task.headline))
    if data.slices:
        facts.append(Fact("slices", ", ".join(data.slices)))
    return tuple(facts)


def _estimate_cell(estimate: Estimate | None, decimals: int) -> Cell | None:
    if estimate is None:
        return None
    return Cell(
        value=fmt_number(estimate.value, decimals),
        interval=fmt_interval(estimate.ci_low, estimate.ci_high, decimals),
        method=estimate.method,
        detail=(
            f"{fmt_percent(estimate.confidence)} CI by {estimate.method}, "
            f"n = {fmt_count(estimate.n)}"
        ),
    )


def _delta_cell(diff: Difference | None, decimals: int) -> Cell | None:
    if diff is None:
        return None
    return Cell(
        value=fmt_signed(diff.delta, decimals),
        interval=fmt_interval(diff.ci_low, diff.ci_high, decimals, signed=True),
        method=diff.test,
        detail=(
            f"{fmt_percent(diff.confidence)} CI on the paired difference, {diff.test}, "
            f"n = {fmt_count(diff.n)} pairs"
        ),
    )


def _metric_row(
    task: TaskResult, metric: str, columns: Sequence[Column], decimals: int, correction: str
) -> MetricRow:
    diff = task.comparisons.get(metric)
    return MetricRow(
        metric=metric,
        headline=metric == task.headline,
        estimates=tuple(
            _estimate_cell(task.metrics.get(c.model, {}).get(metric), decimals) for c in columns
        ),
        delta=_delta_cell(diff, decimals),
        p=fmt_p(None if diff is None else diff.p_value),
        p_adjusted=fmt_p(None if diff is None else diff.p_adjusted),
        test="—" if diff is None else diff.test,
        test_detail="" if diff is None else f"{diff.test} on {fmt_count(diff.n)} paired examples",
        verdict="not compared" if diff is None else diff.verdict,
        verdict_class=verdict_class(diff),
    )


def _slice_row(
    item: SliceResult, columns: Sequence[Column], formats: Mapping[str, NumberFormat]
) -> SliceRow:
    decimals = formats[item.metric].decimals if item.metric in formats else 3
    return SliceRow(
        column=item.column,
        value=item.value,
        n=fmt_count(item.n),
        small=item.small,
        estimates=tuple(_estimate_cell(item.estimates.get(c.model), decimals) for c in columns),
        delta=_delta_cell(item.comparison, decimals),
        p_adjusted=fmt_p(None if item.comparison is None else item.comparison.p_adjusted),
        verdict="—" if item.comparison is None else item.comparison.verdict,
        verdict_class=verdict_class(item.comparison),
    )


def _metric_figure(
    task: TaskResult,
    metrics: Sequence[str],
    columns: Sequence[Column],
    formats: Mapping[str, NumberFormat],
    anchor: str,
) -> FigureView | None:
    estimated = [m for m in metrics if any(m in task.metrics.get(c.model, {}) for c in columns)]
    if not estimated:
        return None
    figure = metric_bars([c.model for c in columns], estimated, task.metrics, formats)
    return to_view(
        figure,
        id=f"{anchor}-metrics",
        title="Metrics by model",
        caption="Bars are point estimates; whiskers their confidence intervals.",
    )


def _delta_figure(
    task: TaskResult,
    metrics: Sequence[str],
    formats: Mapping[str, NumberFormat],
    correction: str,
    anchor: str,
) -> FigureView | None:
    if task.candidate is None or task.baseline is None or not task.comparisons:
        return None
    figure = delta_forest(
        metrics,
        task.comparisons,
        formats,
        candidate=task.candidate,
        baseline=task.baseline,
        correction=correction,
    )
    return to_view(
        figure,
        id=f"{anchor}-deltas",
        title=f"Difference {task.candidate} − {task.baseline}",
        caption=(
            "Paired difference per metric with its confidence interval; the dotted line is "
            f"no difference. Colour is the verdict after {correction} correction."
        ),
    )


def _confusion_figure(
    task: TaskResult, columns: Sequence[Column], anchor: str
) -> FigureView | None:
    if not task.confusion:
        return None
    models = [c.model for c in columns if c.model in task.confusion]
    models += [m for m in task.confusion if m not in models]
    return to_view(
        confusion_figure(models, task.confusion),
        id=f"{anchor}-confusion",
        title="Confusion matrices",
        caption="Rows are true labels, columns predicted labels.",
    )


def _slice_figure(
    task: TaskResult,
    columns: Sequence[Column],
    formats: Mapping[str, NumberFormat],
    correction: str,
    anchor: str,
) -> FigureView | None:
    if not task.slices:
        return None
    metric = task.slices[0].metric
    figure = slice_forest(
        task.slices,
        [c.model for c in columns],
        formats,
        overall=task.comparisons.get(metric),
        correction=correction,
    )
    return to_view(
        figure,
        id=f"{anchor}-slices",
        title=f"{metric} by slice",
        caption="Slices in their stored order with confidence intervals.",
    )
