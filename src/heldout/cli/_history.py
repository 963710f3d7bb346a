"""``heldout note``, ``compare``, ``gate`` and ``export``: the history of recorded runs.

``gate`` exits 0 when the run holds up, 1 when a gated metric regressed, 2 on bad input.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from heldout._errors import HeldoutError
from heldout.cli._app import StoreOpt, _out, _user_errors, app, write_document
from heldout.cli._format import fmt_delta, fmt_estimate, fmt_p

if TYPE_CHECKING:
    from heldout.history import Comparison, ExampleChange, GateResult
    from heldout.store import Note

__all__ = ["compare", "export", "gate", "note", "print_notes"]

RunArg = Annotated[
    str, typer.Argument(metavar="RUN", help="Run id, id prefix, latest or latest:NAME")
]
_SHOWN_CHANGES = 5
_VERDICT_STYLE = {"better": "green", "worse": "bold red", "no significant difference": ""}


def print_notes(console: Console, notes: list[Note]) -> None:
    """The decision log under a run, oldest first."""
    if not notes:
        return
    console.print(Text("notes", style="bold"))
    for n in notes:
        author = f" {n.author}" if n.author else ""
        console.print(
            Text.assemble(f"  {n.created_at:%Y-%m-%d %H:%M}", (author, "bold"), f": {n.text}")
        )


@app.command()
def note(
    run_ref: RunArg,
    text: Annotated[str, typer.Argument(help="What was decided, and why")],
    author: Annotated[str | None, typer.Option("--author", help="Who decided")] = None,
    store: StoreOpt = None,
) -> None:
    """Add a dated entry to a run's decision log."""
    console = _out()
    from heldout.store import Store

    with _user_errors(), Store.open(store, create=False) as opened:
        added = opened.add_note(run_ref, text, author=author)
        console.print(
            Text.assemble(
                "noted on run ", (added.run_id, "bold"), f" at {added.created_at:%Y-%m-%d %H:%M}"
            )
        )


def _verdict(metric_verdict: str) -> Text:
    said = {
        "better": "B better",
        "worse": "B worse",
        "no significant difference": "no significant difference",
    }[metric_verdict]
    return Text(said, style=_VERDICT_STYLE[metric_verdict])


def _cell(value: object) -> str:
    """One line of a cell: references joined, line breaks shown as spaces."""
    text = " | ".join(map(str, value)) if isinstance(value, list) else str(value)
    return " ".join(text.split())


def _change_rows(title: str, changes: tuple[ExampleChange, ...], console: Console) -> None:
    console.print(Text.assemble((title, "bold"), f": {len(changes):,}"))
    if not changes:
        return
    table = Table(header_style="bold", show_edge=False)
    shown = changes[:_SHOWN_CHANGES]
    table.add_column("id", no_wrap=True, min_width=min(max(len(ch.id) for ch in shown), 16))
    for col in ("input", "target", "A", "B"):
        table.add_column(
            col, overflow="ellipsis", no_wrap=True, max_width=30 if col == "input" else 16
        )
    for ch in shown:
        table.add_row(
            ch.id, *(_cell(v) for v in (ch.input, ch.target, ch.prediction_a, ch.prediction_b))
        )
    console.print(table)
    if len(changes) > _SHOWN_CHANGES:
        console.print(f"  … and {len(changes) - _SHOWN_CHANGES:,} more (all of them with --json)")


def print_comparison(console: Console, c: Comparison) -> None:
    """The comparison as a table, its warnings, and the fixed and broken examples."""
    console.print(
        Text.assemble(
            ("A ", "bold"),
            f"run {c.a.run_id} ({c.a.run_name}) model {c.a.model}, task {c.a.task}\n",
            ("B ", "bold"),
            f"run {c.b.run_id} ({c.b.run_name}) model {c.b.model}, task {c.b.task}",
        )
    )
    if c.paired:
        console.print(
            f"paired on {c.n_shared:,} shared examples; {c.only_a:,} only in A, "
            f"{c.only_b:,} only in B"
        )
    for warning in c.warnings:
        console.print(Text(f"warning: {warning}", style="yellow"))
    table = Table(header_style="bold")
    for col in ("metric", "A [CI]", "B [CI]", "B − A [CI]", "p (adj.)", "test", "verdict"):
        table.add_column(col)
    for name, m in c.metrics.items():
        shown = name if m.higher_is_better else f"{name} (lower is better)"
        table.add_row(
            shown,
            fmt_estimate(name, m.a),
            fmt_estimate(name, m.b),
            fmt_delta(name, m.difference),
            fmt_p(m.difference.p_adjusted),
            m.difference.test,
            _verdict(m.difference.verdict),
        )
    console.print(table)
    for name, why in c.left_out.items():
        console.print(Text(f"{name} not compared: {why}", style="dim"))
    if c.change_score is not None:
        _change_rows(f"fixed by B ({c.change_score} 0 → 1)", c.fixed, console)
        _change_rows(f"broken by B ({c.change_score} 1 → 0)", c.broken, console)
    elif c.paired:
        console.print(Text("no 0/1 per-example score: fixed and broken not counted", style="dim"))


@app.command()
def compare(
    run_a: Annotated[str, typer.Argument(metavar="RUN_A", help="The reference run (A)")],
    run_b: Annotated[
        str | None,
        typer.Argument(
            metavar="[RUN_B]", help="The run judged against A; leave out to compare two models of A"
        ),
    ] = None,
    task: Annotated[str | None, typer.Option("--task", help="Task to compare")] = None,
    model_a: Annotated[
        str | None, typer.Option("--model-a", help="A's model (default: its candidate)")
    ] = None,
    model_b: Annotated[
        str | None, typer.Option("--model-b", help="B's model (default: its candidate)")
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the comparison as JSON here")
    ] = None,
    store: StoreOpt = None,
) -> None:
    """Compare two recorded runs (or two models of one run), paired on shared examples."""
    console = _out()
    from heldout.history import compare as compare_results

    with _user_errors():
        result = compare_results(
            run_a, run_b, task=task, model_a=model_a, model_b=model_b, store=store
        )
        print_comparison(console, result)
        if json_path is not None:
            write_document(result.to_dict(), json_path, what="the comparison")
            console.print(Text.assemble(("json: ", "bold"), str(json_path)))


def _gate_table(console: Console, result: GateResult) -> None:
    c = result.comparison
    console.print(
        Text.assemble(
            ("gate ", "bold"),
            f"run {c.b.run_id} ({c.b.model}) against baseline {c.a.run_id} ({c.a.model}), "
            f"task {c.b.task}, alpha {c.alpha:g}" + (", strict" if result.strict else ""),
        )
    )
    for warning in c.warnings:
        console.print(Text(f"warning: {warning}", style="yellow"))
    table = Table(header_style="bold")
    for col in ("metric", "baseline", "run", "Δ [CI]", "p (adj.)", "max drop", "result"):
        table.add_column(col)
    for check in result.checks:
        m = check.comparison
        table.add_row(
            check.metric if m.higher_is_better else f"{check.metric} (lower is better)",
            fmt_estimate(check.metric, m.a),
            fmt_estimate(check.metric, m.b),
            fmt_delta(check.metric, m.difference),
            fmt_p(m.difference.p_adjusted),
            f"{check.max_drop:g}",
            Text(
                f"{'FAIL' if check.failed else 'pass'}: {check.reason}",
                style="bold red" if check.failed else "green",
            ),
        )
    console.print(table)
    console.print(
        Text(result.verdict, style="bold green" if result.passed else "bold red"), soft_wrap=True
    )


@app.command()
def gate(
    run_ref: RunArg,
    baseline: Annotated[
        str, typer.Option("--baseline", help="Baseline run: id, prefix, latest or latest:NAME")
    ],
    max_drop: Annotated[
        list[str] | None,
        typer.Option(
            "--max-drop",
            metavar="METRIC=TOL",
            help="Largest tolerated worsening, in the metric's units (repeatable); "
            "default: the spec's gates:",
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="Fail when the point estimate got worse by more than TOL"),
    ] = False,
    markdown: Annotated[
        Path | None,
        typer.Option("--markdown", help="Write a summary for a pull-request comment here"),
    ] = None,
    alpha: Annotated[
        float | None, typer.Option("--alpha", help="Significance level (default: the run's)")
    ] = None,
    task: Annotated[str | None, typer.Option("--task", help="Task to gate")] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the gate's result as JSON here")
    ] = None,
    store: StoreOpt = None,
) -> None:
    """Exit 1 when RUN got significantly worse than --baseline by more than a tolerance."""
    console = _out()
    from heldout.history import gate as run_gate
    from heldout.history import parse_max_drop

    with _user_errors():
        tolerances = parse_max_drop(max_drop or [])
        result = run_gate(
            run_ref,
            baseline,
            max_drop=tolerances or None,
            strict=strict,
            alpha=alpha,
            task=task,
            store=store,
        )
        _gate_table(console, result)
        if markdown is not None:
            _write_text(markdown, result.to_markdown(), "the markdown summary")
            console.print(Text.assemble(("markdown: ", "bold"), str(markdown)))
        if json_path is not None:
            write_document(result.to_dict(), json_path, what="the gate result")
    if not result.passed:
        raise typer.Exit(1)


def _write_text(path: Path, text: str, what: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise HeldoutError(
            f"{path}: cannot write {what} ({exc.strerror}). Pass a file path you can write to"
        ) from exc


@app.command()
def export(
    run_ref: RunArg,
    fmt: Annotated[str, typer.Option("--format", "-f", help="json, parquet or mlflow")] = "json",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write (json, parquet); default RUN_ID.EXT"),
    ] = None,
    tracking_uri: Annotated[
        str | None,
        typer.Option(
            "--tracking-uri",
            help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else ./mlruns)",
        ),
    ] = None,
    store: StoreOpt = None,
) -> None:
    """Export a recorded run: the JSON document with examples, Parquet tables, or an MLflow run."""
    console = _out()
    from heldout._util._suggest import did_you_mean
    from heldout.history import export_json, export_mlflow, export_parquet
    from heldout.store import Store

    formats = ("json", "parquet", "mlflow")
    with _user_errors():
        if fmt not in formats:
            raise HeldoutError(
                f'--format "{fmt}" is not one of {", ".join(formats)}{did_you_mean(fmt, formats)}'
            )
        with Store.open(store, create=False) as opened:
            result = opened.load_run(run_ref)
            notes = [(n.created_at, n.text) for n in opened.notes(result.id)]
        if fmt == "json":
            path = export_json(result, output or Path(f"{result.id}.json"))
            console.print(Text.assemble(("json: ", "bold"), str(path)))
        elif fmt == "parquet":
            examples, metrics = export_parquet(result, output or Path(f"{result.id}.parquet"))
            console.print(Text.assemble(("examples: ", "bold"), str(examples)))
            console.print(Text.assemble(("metrics: ", "bold"), str(metrics)))
        else:
            from heldout.history import default_tracking_uri

            uri = tracking_uri or default_tracking_uri()
            mlflow_id = export_mlflow(result, tracking_uri=uri, notes=notes)
            console.print(
                Text.assemble(("mlflow run: ", "bold"), mlflow_id, f" (tracking URI {uri})")
            )
