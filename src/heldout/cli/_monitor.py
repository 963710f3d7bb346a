"""``heldout monitor``: per-column drift of CURRENT from a reference, and per time window.

Exit code 0: compared; 1: ``--fail-on-drift`` and a column drifts (over all of CURRENT);
2: bad input, and nothing written.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer
from rich.console import Console, JustifyMethod
from rich.table import Table
from rich.text import Text

from heldout._errors import HeldoutError
from heldout.cli._app import _out, _user_errors, app, write_document
from heldout.cli._format import fmt_p
from heldout.data import read_table

if TYPE_CHECKING:
    from heldout.analysis import ColumnDrift, DriftReport
    from heldout.stats import Correction

__all__ = ["monitor", "parse_thresholds"]

_CORRECTIONS = ("holm", "bonferroni", "fdr_bh", "none")
_BAND_STYLE = {"none": "", "moderate": "yellow", "major": "bold red"}
_SHOW_WINDOW_COLUMNS = 4
_TESTS = {"ks": "KS", "wasserstein": "Wasserstein", "jensen-shannon": "Jensen–Shannon"}


def parse_thresholds(values: list[str]) -> dict[str, float]:
    """``["age=0.2", "text.oov=0.05"]`` -> ``{"age": 0.2, "text.oov": 0.05}``."""
    out: dict[str, float] = {}
    for item in values:
        name, sep, number = item.rpartition("=")
        try:
            value = float(number)
        except ValueError:
            value = math.nan
        if not sep or not name.strip() or not (math.isfinite(value) and value > 0):
            raise HeldoutError(
                f"--threshold: expected COLUMN=VALUE with a positive VALUE, like age=0.2, "
                f"got {item!r}"
            )
        out[name.strip()] = value
    return out


@app.command()
def monitor(
    current: Annotated[Path, typer.Argument(help="The recent rows (.jsonl, .csv, .parquet)")],
    reference: Annotated[
        Path, typer.Option("--reference", help="The rows CURRENT should look like")
    ],
    columns: Annotated[
        str | None,
        typer.Option("--columns", help="Columns to compare, comma-separated (default: all)"),
    ] = None,
    time: Annotated[
        str | None,
        typer.Option("--time", help="Column of CURRENT with ISO dates/datetimes or numbers"),
    ] = None,
    window: Annotated[
        str | None,
        typer.Option("--window", help="Length of the --time windows: 12h, 7d, 2w, or a number"),
    ] = None,
    target: Annotated[
        str | None, typer.Option("--target", help="Label column (label drift; metric per window)")
    ] = None,
    prediction: Annotated[
        str | None,
        typer.Option("--prediction", help="Prediction column (prediction drift; metric)"),
    ] = None,
    threshold: Annotated[
        list[str] | None,
        typer.Option(
            "--threshold",
            help="Distance threshold of a column, COLUMN=VALUE (repeat; default 0.1)",
        ),
    ] = None,
    small: Annotated[
        int,
        typer.Option(
            "--small",
            min=1,
            help="Fewer values than this on the smaller side: tests, not distances",
        ),
    ] = 1000,
    alpha: Annotated[
        float, typer.Option("--alpha", min=0.0001, max=0.5, help="Level of the corrected tests")
    ] = 0.05,
    correction: Annotated[
        str,
        typer.Option("--correction", help="holm, bonferroni, fdr_bh or none, across the tests"),
    ] = "holm",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the permutation tests")] = 0,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Write the full report as JSON here")
    ] = None,
    fail_on_drift: Annotated[
        bool, typer.Option("--fail-on-drift", help="Exit 1 when a column drifts")
    ] = False,
    html_path: Annotated[
        Path | None,
        typer.Option("--html", help="Write a self-contained HTML drift report with charts here"),
    ] = None,
) -> None:
    """Compare CURRENT with --reference column by column (KS or Wasserstein for numbers,
    chi-square or Jensen–Shannon for categories, length, vocabulary and characters for
    text, PSI for all), and with --time/--window per time window with the metric's trend."""
    from heldout.analysis import drift

    console = _out()
    with _user_errors():
        if correction not in _CORRECTIONS:
            raise HeldoutError(
                f"--correction: expected one of {', '.join(_CORRECTIONS)}, got {correction!r}"
            )
        limits = parse_thresholds(threshold or [])
        names = None if columns is None else [c.strip() for c in columns.split(",") if c.strip()]
        current_table = read_table(current, what="current")
        reference_table = read_table(reference, what="reference")
        with console.status("comparing…"):
            report = drift(
                current_table,
                reference_table,
                columns=names,
                thresholds=limits,
                small=small,
                correction=cast("Correction", correction),
                alpha=alpha,
                target=target,
                prediction=prediction,
                time=time,
                window=window,
                seed=seed,
                current_path=current,
                reference_path=reference,
            )
        if json_path is not None:
            document = {
                "current": str(current),
                "reference": str(reference),
                **report.to_dict(),
            }
            write_document(document, json_path, what="the JSON report")
        if html_path is not None:
            from heldout.report._drift_report import write_drift_report

            write_drift_report(
                report,
                current_table,
                reference_table,
                html_path,
                current_name=str(current),
                reference_name=str(reference),
            )
        _print(console, current, reference, report)
        if json_path is not None:
            console.print(Text.assemble(("json: ", "bold"), str(json_path)))
        if html_path is not None:
            console.print(Text.assemble(("html: ", "bold"), str(html_path)))
    drifted = report.drifted
    if drifted:
        console.print(Text(f"drift: {', '.join(drifted)}", style="bold red"), soft_wrap=True)
        if fail_on_drift:
            raise typer.Exit(1)
    else:
        console.print(Text("ok: no column drifts", style="green"))


def _column_label(c: ColumnDrift) -> str:
    return c.name if c.role == "feature" else f"{c.name} ({c.role})"


def _print(console: Console, current: Path, reference: Path, report: DriftReport) -> None:
    s = report.settings
    console.print(
        Text.assemble(
            ("monitor: ", "bold"),
            f"{current} ({report.n_current:,} rows) against {reference} "
            f"({report.n_reference:,} rows); under {s['small']:,} values on the smaller side: "
            f"tests at alpha {s['alpha']:g} ({s['correction']}), else distances against "
            "thresholds",
        ),
        soft_wrap=True,
    )
    table = Table(title="drift by column", header_style="bold", title_justify="left")
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("column", "left"),
        ("type", "left"),
        ("test", "left"),
        ("statistic", "right"),
        ("p (corr.)", "right"),
        ("PSI", "right"),
        ("drift", "left"),
        ("why", "left"),
    )
    for name, justify in columns:
        table.add_column(name, justify=justify)
    for c in report.columns:
        for i, t in enumerate(c.tests):
            kind = c.kind if c.kind != "text" else f"text: {t.feature}"
            table.add_row(
                _column_label(c) if i == 0 else "",
                kind,
                _TESTS.get(t.test, t.test),
                f"{t.statistic:.4g}",
                "—" if t.large else fmt_p(t.p_adjusted),
                Text(f"{t.psi:.3f} {t.psi_band}", style=_BAND_STYLE[t.psi_band]),
                Text("yes", style="bold red") if t.drift else Text("no", style="green"),
                t.reason,
            )
    console.print(table)
    if report.skipped:
        shown = "; ".join(f"{s.name}: {s.reason}" for s in report.skipped)
        console.print(Text.assemble(("skipped: ", "bold"), shown), soft_wrap=True)
    if report.windows:
        _print_windows(console, report)


def _print_windows(console: Console, report: DriftReport) -> None:
    metric = report.metric
    table = Table(
        title=f"windows of {report.settings['window']} by {report.settings['time']}",
        header_style="bold",
        title_justify="left",
    )
    table.add_column("window", justify="right")
    table.add_column("from")
    table.add_column("to")
    table.add_column("rows", justify="right")
    if metric is not None:
        table.add_column(f"{metric} [95% CI]", justify="right")
    table.add_column("drifting columns")
    for w in report.windows:
        cells = [str(w.index + 1), str(w.start), str(w.end), f"{w.n:,}"]
        if metric is not None:
            m = w.metric
            cells.append(
                "—"
                if m is None
                else f"{m.value:.3f} [{m.ci_low:.3f}, {m.ci_high:.3f}]"
                if math.isfinite(m.ci_low)
                else f"{m.value:.3f}"
            )
        names = list(w.drifted)
        hidden = len(names) - _SHOW_WINDOW_COLUMNS
        more = f" … (+{hidden})" if hidden > 0 else ""
        cells.append(", ".join(names[:_SHOW_WINDOW_COLUMNS]) + more or "none")
        table.add_row(*cells)
    console.print(table)
    trend = report.trend
    if trend is None:
        return
    interval = (
        f" [{trend.ci_low:+.4f}, {trend.ci_high:+.4f}], p = {fmt_p(trend.p_value)}"
        if math.isfinite(trend.ci_low)
        else " (no interval from two windows)"
    )
    console.print(
        Text.assemble(
            ("trend: ", "bold"),
            f"{trend.metric} {trend.slope:+.4f} per window{interval} "
            f"(weighted least squares over {trend.windows} windows)",
        ),
        soft_wrap=True,
    )
