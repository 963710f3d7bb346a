"""Rich tables of a run: one comparison table per task, and the run list."""

from __future__ import annotations

from dataclasses import replace

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from heldout.cli._analysis_lines import errors_line, forgetting_line, threshold_lines
from heldout.cli._format import decimals_for, fmt_delta, fmt_estimate, fmt_p, fmt_value
from heldout.cli._judge_lines import judge_lines
from heldout.run import Run, TaskResult
from heldout.stats import Estimate

__all__ = ["print_run", "task_table"]

_NARROW = {"no significant difference": "n.s."}
_VERDICT_STYLE = {"better": "bold green", "worse": "bold red", "no significant difference": "dim"}


def clean_table(task: TaskResult, *, width: int = 140) -> Group | None:
    """The task's metrics again on its clean subset (``exclude:``), with why and how many."""
    clean = task.clean
    if clean is None:
        return None
    shadow = replace(
        task,
        name=f"{task.name} · clean subset",
        dataset=replace(task.dataset, n=clean.n),
        metrics=clean.metrics,
        comparisons=clean.comparisons,
        mde=None,
        slices=(),
    )
    unknown = f"; {clean.unknown:,} listed ids are not in the dataset" if clean.unknown else ""
    note = Text(
        f"{len(clean.excluded):,} examples excluded ({clean.source}){unknown}.",
        style="yellow",
    )
    return Group(task_table(shadow, width=width), note)


def task_table(task: TaskResult, *, width: int = 140) -> Table:
    """metric | baseline [CI] | candidate [CI] | Δ [CI] | p | verdict (or one column per model).

    Below 110 columns the models' own intervals are left out (the report and ``--json``
    have them) so the difference, its interval and the verdict still fit on one line.
    """
    narrow = width < 110
    title = f"{task.name} · {task.type} · n={task.dataset.n:,}"
    table = Table(
        title=title, title_justify="left", header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False
    )
    longest = max((len(m) + 2 for by_metric in task.metrics.values() for m in by_metric), default=8)
    table.add_column(
        "metric", style="cyan", no_wrap=not narrow, overflow="fold", min_width=min(longest, 15)
    )
    conf = f"{_conf(task):.0%} CI"

    def places(metric: str) -> int:
        values = [
            by_metric[metric].value for by_metric in task.metrics.values() if metric in by_metric
        ]
        return decimals_for(metric, values)

    def est(metric: str, e: Estimate) -> str:
        d = places(metric)
        return fmt_value(metric, e.value, d) if narrow else fmt_estimate(metric, e, d)

    if task.candidate is not None and task.baseline is not None:
        base, cand = task.baseline, task.candidate
        table.add_column(base if narrow else f"{base} [{conf}]", justify="right", no_wrap=True)
        table.add_column(cand if narrow else f"{cand} [CI]", justify="right", no_wrap=True)
        table.add_column(f"Δ [{conf}]" if narrow else "Δ [CI]", justify="right", no_wrap=True)
        table.add_column("p (adj.)", justify="right", no_wrap=True)
        table.add_column("verdict", min_width=8)
        for metric in task.metrics[cand]:
            diff = task.comparisons.get(metric)
            name = f"{metric} ★" if metric == task.headline else metric
            cells = [
                name,
                est(metric, task.metrics[base][metric]),
                est(metric, task.metrics[cand][metric]),
            ]
            if diff is None:
                table.add_row(*cells, "", "", "")
                continue
            table.add_row(
                *cells,
                fmt_delta(metric, diff, places(metric)),
                fmt_p(diff.p_adjusted if diff.p_adjusted is not None else diff.p_value),
                Text(
                    _NARROW.get(diff.verdict, diff.verdict) if narrow else diff.verdict,
                    style=_VERDICT_STYLE[diff.verdict],
                ),
            )
        if narrow and any(
            d.verdict == "no significant difference" for d in task.comparisons.values()
        ):
            table.caption = "n.s. = no significant difference"
            table.caption_justify = "left"
    else:
        for model in task.models:
            table.add_column(f"{model} [{conf}]", justify="right", no_wrap=True)
        first = task.models[0]
        for metric in task.metrics[first]:
            table.add_row(
                metric,
                *(
                    fmt_estimate(metric, task.metrics[m][metric], places(metric))
                    for m in task.models
                ),
            )
    return table


def _conf(task: TaskResult) -> float:
    for by_metric in task.metrics.values():
        for est in by_metric.values():
            return est.confidence
    return 0.95


def _summary(task: TaskResult) -> Text:
    out = Text()
    if task.candidate is None or not task.comparisons:
        return out
    verdicts = [d.verdict for d in task.comparisons.values()]
    better, worse = verdicts.count("better"), verdicts.count("worse")
    same = len(verdicts) - better - worse
    out.append(f"{task.candidate} vs {task.baseline}: ")
    out.append(f"better on {better}", style="green")
    out.append(", ")
    out.append(f"worse on {worse}", style="red" if worse else "")
    out.append(f", no significant difference on {same} of {len(verdicts)} metrics")
    out.append(f" (★ headline: {task.headline}; tests corrected across metrics).\n")
    if task.mde is not None:
        m = task.mde
        out.append(
            f"With {m.n:,} paired examples this eval detects a difference of {fmt_value(m.metric, m.effect)} "
            f"in {m.metric} at {m.power:.0%} power ({m.basis}).\n",
            style="dim",
        )
    worse_slices = [
        s
        for s in task.slices
        if s.comparison is not None and s.comparison.verdict == "worse" and not s.small
    ]
    for s in worse_slices:
        d = s.comparison
        assert d is not None
        out.append(
            f"⚠ worse on {s.column}={s.value} (n={s.n:,}): Δ {task.headline} {fmt_delta(task.headline, d)}, "
            f"p (adj.) {fmt_p(d.p_adjusted)}\n",
            style="bold red",
        )
    for model, count in task.dropped.items():
        why = "had no prediction" if model not in task.live else "had no usable answer"
        out.append(f"{model}: {count:,} examples {why} and were left out.\n", style="yellow")
    out.append(_calibration_line(task))
    out.append(_fairness_lines(task))
    out.append(forgetting_line(task))
    out.append(errors_line(task))
    out.append(threshold_lines(task))
    for model, info in task.live.items():
        if info.failed_examples:
            out.append(
                f"{model}: {info.failed_examples:,} examples failed after every retry "
                f"({info.failed_calls:,} of {info.calls:,} calls); rerun to retry them.\n",
                style="bold yellow",
            )
        if info.within_share is not None and info.samples > 1:
            out.append(
                f"{model}: {info.samples} samples per example; {info.within_share:.0%} of the "
                f"{task.headline} variance lies within examples.\n"
            )
    return out


def _calibration_line(task: TaskResult) -> Text:
    """ECE of the candidate and the baseline, and whether fine-tuning changed it."""
    out = Text()
    comparison = task.calibration_comparison
    if comparison is None:
        return out
    cand, base = comparison.candidate.ece, comparison.baseline.ece
    d = comparison.ece
    style = {"worse calibrated": "red", "better calibrated": "green"}.get(comparison.verdict, "")
    out.append(
        f"calibration (ECE, {comparison.candidate.bins} "
        f"{'equal-mass' if comparison.candidate.strategy == 'quantile' else 'equal-width'} bins): "
        f"{task.candidate} {cand.value:.3f} [{cand.ci_low:.3f}, {cand.ci_high:.3f}] vs "
        f"{task.baseline} {base.value:.3f} [{base.ci_low:.3f}, {base.ci_high:.3f}]: "
    )
    out.append(comparison.verdict, style=style)
    out.append(f" (Δ {d.delta:+.3f} [{d.ci_low:+.3f}, {d.ci_high:+.3f}]).\n")
    return out


def _fairness_lines(task: TaskResult) -> Text:
    """The fairness gaps the candidate widened or narrowed significantly, per slice column."""
    out = Text()
    if not task.fairness_comparison:
        return out
    changed = [
        (column, c)
        for column, comparison in task.fairness_comparison.items()
        for c in comparison.changes
        if c.change.verdict in ("better", "worse")
    ]
    for column, c in changed:
        label = "" if c.label is None else f" ({c.label})"
        verdict = "closer to parity" if c.change.verdict == "better" else "further from parity"
        out.append(
            f"fairness by {column}: {c.metric.replace('_', ' ')}{label} {c.baseline.value:.3f} → "
            f"{c.candidate.value:.3f}, Δ {c.change.delta:+.3f} "
            f"[{c.change.ci_low:+.3f}, {c.change.ci_high:+.3f}]: ",
        )
        out.append(verdict, style="green" if c.change.verdict == "better" else "red")
        out.append(f" (p adj. {fmt_p(c.change.p_adjusted)}).\n")
    if not changed:
        columns = ", ".join(task.fairness_comparison)
        out.append(
            f"fairness by {columns}: no parity or equalized-odds gap changed significantly.\n",
            style="dim",
        )
    return out


def robustness_table(task: TaskResult) -> Table | None:
    """Per stress operation and model: the paired change, flip rate, broke/fixed counts."""
    if not task.robustness:
        return None
    table = Table(
        box=box.SIMPLE_HEAD,
        title=f"{task.name}: robustness ({task.headline})",
        title_justify="left",
    )
    for name, justify in (
        ("operation", "left"),
        ("model", "left"),
        ("pairs", "right"),
        ("original", "right"),
        ("variant", "right"),
        ("change [CI]", "right"),
        ("flip rate [CI]", "right"),
        ("broke", "right"),
        ("fixed", "right"),
        ("vs baseline [CI]", "right"),
        ("p (adj.)", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for r in task.robustness:
        versus = r.versus_baseline
        table.add_row(
            r.operation,
            r.model,
            f"{r.n:,}",
            f"{r.original:.3f}",
            f"{r.variant:.3f}",
            f"{r.change.value:+.3f} {fmt_interval_signed(r.change.ci_low, r.change.ci_high)}",
            ""
            if r.flip_rate is None
            else f"{r.flip_rate.value:.3f} [{r.flip_rate.ci_low:.3f}, {r.flip_rate.ci_high:.3f}]",
            "" if r.broke is None else f"{r.broke:,}",
            "" if r.fixed is None else f"{r.fixed:,}",
            ""
            if versus is None
            else f"{versus.delta:+.3f} {fmt_interval_signed(versus.ci_low, versus.ci_high)}",
            "" if versus is None or versus.p_adjusted is None else fmt_p(versus.p_adjusted),
        )
    return table


def fmt_interval_signed(low: float, high: float) -> str:
    return f"[{low:+.3f}, {high:+.3f}]"


def efficiency_table(task: TaskResult) -> Table | None:
    """Latency, tokens, throughput and cost of each live model, with intervals."""
    if not any(info.efficiency for info in task.live.values()):
        return None
    names = list(dict.fromkeys(k for info in task.live.values() for k in info.efficiency))
    table = Table(box=box.SIMPLE_HEAD, title=f"{task.name}: calls", title_justify="left")
    table.add_column("model")
    table.add_column("mode")
    table.add_column("calls", justify="right")
    for name in names:
        table.add_column(name.replace("_", " "), justify="right")
    table.add_column("cost total", justify="right")
    for model, info in task.live.items():
        cells = [model, info.mode, f"{info.calls:,}"]
        for name in names:
            est = info.efficiency.get(name)
            cells.append("" if est is None else fmt_estimate(name, est))
        cells.append("" if info.cost_total is None else f"{info.cost_total:,.4f}")
        table.add_row(*cells)
    return table


def data_line(task: TaskResult) -> Text | None:
    """One line naming what the data checks found in the task's eval set, if anything."""
    if task.data is None or not task.data.found:
        return None
    parts = [f"{f.count:,} {f.name}" for f in task.data.found]
    return Text.assemble(
        ("data: ", "bold yellow"),
        f"{', '.join(parts)} in {task.data.rows:,} examples of {task.dataset.path} "
        f"(ids in the report; heldout check {task.dataset.path} lists them all)",
    )


def utility_line(task: TaskResult) -> Text | None:
    """How the task's utility score is made: weights and normalisation of each metric."""
    if task.utility is None:
        return None
    parts = [f"{t.weight:.2f} × {t.metric} ({t.rule})" for t in task.utility.terms]
    return Text.assemble(
        ("utility", "bold"),
        " = " + " + ".join(parts) + "; each metric normalised to [0, 1], weights divided by "
        "their sum; interval and Δ from one joint bootstrap over the examples",
    )


def print_run(console: Console, run: Run, *, report: str | None = None) -> None:
    """Print every task's table and summary, then where the report is."""
    console.print(
        Text(f"run {run.id} · {run.name} · {run.created_at:%Y-%m-%d %H:%M} UTC", style="bold")
    )
    for task in run.tasks:
        console.print(Group(task_table(task, width=console.width), _summary(task)))
        clean = clean_table(task, width=console.width)
        if clean is not None:
            console.print(clean)
        robust = robustness_table(task)
        if robust is not None:
            console.print(robust)
        found = data_line(task)
        if found is not None:
            console.print(found, soft_wrap=True)
        calls = efficiency_table(task)
        if calls is not None:
            console.print(calls)
        judged = judge_lines(task)
        if judged is not None:
            console.print(judged, soft_wrap=True)
        utility = utility_line(task)
        if utility is not None:
            console.print(utility, soft_wrap=True)
    if report:
        console.print(Text.assemble(("report: ", "bold"), report))
