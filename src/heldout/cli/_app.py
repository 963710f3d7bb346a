"""The ``heldout`` command line."""

from __future__ import annotations

import atexit
import gc
import json
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from heldout._errors import HeldoutError
from heldout._util._json import json_ready
from heldout.cli._format import fmt_delta, fmt_estimate, fmt_p
from heldout.cli._tables import print_run
from heldout.run import Run

if TYPE_CHECKING:
    from heldout.store import RunSummary

__all__ = ["app", "main"]

app = typer.Typer(
    name="heldout",
    help="Is your fine-tuned model really better? Metrics with confidence intervals and paired tests.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


def _err() -> Console:
    """The console progress goes to: stderr, so stdout keeps only results."""
    return Console(stderr=True, markup=False, highlight=False)


def _out() -> Console:
    """The console a command prints to.

    Made per command, so COLUMNS and the terminal in force at that moment are honoured.
    Markup is off: names, ids and paths come from the user's files and are printed as
    they are (a model called ``tuned[v2]`` keeps its brackets); styles are given as Text.
    """
    return Console(markup=False)


StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store", help="SQLAlchemy URL of the run store (default: sqlite:///.heldout/heldout.db)"
    ),
]


@contextmanager
def _user_errors() -> Iterator[None]:
    """A user mistake becomes one red line and exit code 2; a bug keeps its traceback."""
    try:
        yield
    except HeldoutError as exc:
        Console(stderr=True).print(Text(f"error: {exc}", style="bold red"), soft_wrap=True)
        raise typer.Exit(2) from None


@app.command()
def quickstart(
    directory: Annotated[Path, typer.Argument(help="Folder to write the demo project into")] = Path(
        "heldout-demo"
    ),
) -> None:
    """Write a demo project (data, predictions of a base and a fine-tuned model, eval.yaml) and evaluate it."""
    console = _out()
    from heldout.demo import write_demo_project
    from heldout.run import evaluate

    with _user_errors():
        spec_path = write_demo_project(directory)
        console.print(
            Text.assemble(
                "wrote demo project to ",
                (str(directory), "bold"),
                f" ({spec_path.name}, data/, predictions/)",
            )
        )
        with console.status("evaluating…"):
            run = evaluate(spec_path, store=_sqlite_in(directory))
        report = _write_report(run, directory / "report.html")
        print_run(console, run, report=str(report))
        console.print(
            Text.assemble(
                "next: ",
                (f"cd {directory}", "bold"),
                " and try ",
                ("heldout runs", "bold"),
                ", ",
                (f"heldout show {run.id[:6]}", "bold"),
                ", or edit eval.yaml and ",
                ("heldout run eval.yaml", "bold"),
            )
        )


@app.command()
def validate(spec: Annotated[Path, typer.Argument(help="Path of eval.yaml")]) -> None:
    """Check an eval.yaml and every file it names, without computing anything."""
    console = _out()
    from heldout.run import prepare
    from heldout.spec import load_spec

    with _user_errors():
        loaded = load_spec(spec)
        for task in loaded.spec.tasks:
            prepared = prepare(loaded, task)
            models = ", ".join(prepared.predictions)
            console.print(
                Text.assemble(
                    ("ok", "green"),
                    " task ",
                    (task.name, "bold"),
                    f" ({task.type}): {len(prepared.dataset):,} examples, "
                    f"models {models}, metrics {', '.join(prepared.metrics)}",
                )
            )
        console.print(
            Text.assemble((f"{spec} is valid", "green"), f" (spec hash {loaded.hash[:12]})")
        )


@app.command()
def run(
    spec: Annotated[Path, typer.Argument(help="Path of eval.yaml")],
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the results as JSON here")
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report",
            "-o",
            help="Where to write the HTML report (default: report.html beside eval.yaml)",
        ),
    ] = None,
    no_report: Annotated[
        bool, typer.Option("--no-report", help="Do not write the HTML report")
    ] = False,
    store: StoreOpt = None,
    no_save: Annotated[
        bool, typer.Option("--no-save", help="Do not record the run in the store")
    ] = False,
    fresh: Annotated[
        bool,
        typer.Option(
            "--fresh", help="Call live models again, ignoring answers already in the journal"
        ),
    ] = False,
) -> None:
    """Evaluate the models of an eval.yaml, record the run, print the comparison, write the report."""
    console = _out()
    with _loading_code():
        import heldout.store  # noqa: F401 - loaded with the rest of the pipeline
        from heldout.cli._progress import CallProgress
        from heldout.run import evaluate
        from heldout.spec import load_spec

        with _user_errors():
            loaded = load_spec(spec)
    with _user_errors():
        if any(m.backend in ("openai", "hf") for m in loaded.spec.models.values()):
            with CallProgress(_err()) as progress:
                result = evaluate(
                    loaded, store=store, save=not no_save, fresh=fresh, progress=progress
                )
        else:
            with console.status("evaluating…"):
                result = evaluate(loaded, store=store, save=not no_save)
        path = None
        if not no_report:
            target = report or (
                loaded.resolve(loaded.spec.report)
                if loaded.spec.report
                else spec.parent / "report.html"
            )
            path = _write_report(result, target)
        if json_path is not None:
            write_json(result, json_path)
        print_run(console, result, report=None if path is None else str(path))
        if json_path is not None:
            console.print(Text.assemble(("json: ", "bold"), str(json_path)))


@app.command()
def runs(
    name: Annotated[str | None, typer.Option("--name", help="Only runs of this eval name")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many runs to list")] = 20,
    store: StoreOpt = None,
) -> None:
    """List recorded runs, newest first."""
    console = _out()
    from heldout.store import Store

    with _user_errors(), Store.open(store, create=False) as opened:
        summaries = opened.list_runs(name=name, limit=limit)
        if not summaries:
            console.print(
                Text.assemble(
                    "no runs yet: try ",
                    ("heldout quickstart", "bold"),
                    " or ",
                    ("heldout run eval.yaml", "bold"),
                )
            )
            return
        table = Table(header_style="bold")
        for col in (
            "id",
            "name",
            "created (UTC)",
            "models",
            "headline",
            "Δ [CI]",
            "p (adj.)",
            "verdict",
        ):
            table.add_column(col)
        for s in summaries:
            cells = _headline_cells(s)
            table.add_row(
                s.id,
                s.name,
                f"{s.created_at.astimezone(UTC):%Y-%m-%d %H:%M}",
                ", ".join(s.models),
                *cells,
            )
        console.print(table)


def _headline_cells(summary: RunSummary) -> list[str]:
    if not summary.tasks:
        return ["", "", "", summary.status]
    task = summary.tasks[0]
    metric = task.headline
    cand = task.candidate_estimate
    if cand is None and task.estimates:
        cand = next(iter(task.estimates.values()))  # one model: its own estimate
    text = f"{metric} {fmt_estimate(metric, cand)}" if cand is not None else metric
    d = task.difference
    if d is None:
        return [text, "", "", ""]
    return [text, fmt_delta(metric, d), fmt_p(d.p_adjusted), d.verdict]


@app.command()
def show(
    run_ref: Annotated[
        str, typer.Argument(metavar="RUN", help="Run id, id prefix, latest or latest:NAME")
    ],
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the results as JSON here")
    ] = None,
    store: StoreOpt = None,
) -> None:
    """Print a recorded run again."""
    console = _out()
    from heldout.store import Store

    with _user_errors(), Store.open(store, create=False) as opened:
        result = opened.load_run(run_ref)
        print_run(console, result)
        from heldout.cli._history import print_notes

        print_notes(console, opened.notes(result.id))
        if json_path is not None:
            write_json(result, json_path)


@app.command()
def report(
    run_ref: Annotated[
        str, typer.Argument(metavar="RUN", help="Run id, id prefix, latest or latest:NAME")
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write the HTML file")
    ] = Path("report.html"),
    store: StoreOpt = None,
) -> None:
    """Write the self-contained HTML report of a recorded run."""
    console = _out()
    from heldout.store import Store

    with _user_errors(), Store.open(store, create=False) as opened:
        result = opened.load_run(run_ref)
        notes = [(n.created_at, n.text) for n in opened.notes(result.id)]
        path = _write_report(result, output, notes=notes)
        console.print(Text.assemble(("report: ", "bold"), str(path)))


def _write_report(run: Run, path: Path, *, notes: list[Any] | None = None) -> Path:
    from heldout.report import write_report

    return write_report(run, path, notes=notes or ())


def _sqlite_in(directory: Path) -> str:
    return f"sqlite:///{(directory / '.heldout' / 'heldout.db').resolve()}"


def write_json(run: Run, path: Path) -> None:
    """The documented JSON document of a run (``--json``)."""
    write_document(run.to_dict(), path, what="the JSON results")


def write_document(document: Any, path: Path, *, what: str) -> None:
    """Write a JSON document a command produced; NaN becomes null so any JSON reader can
    load it, and an unwritable path is one clear error, not a traceback."""
    text = json.dumps(json_ready(document), indent=2, allow_nan=False) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise HeldoutError(
            f"{path}: cannot write {what} ({exc.strerror}). Pass a file path you can write to"
        ) from exc


#: Set by :func:`main`: the process is the ``heldout`` command's own and ends with it.
_OWN_PROCESS = False


@contextmanager
def _loading_code() -> Iterator[None]:
    """The garbage collector paused while a command loads its code and its spec.

    Imports make objects that live as long as the process: the collector's passes over
    them as they load find nothing and cost 0.3-0.4 s of a run's start-up. In the
    command's own process what was loaded is then frozen, left out of later full passes
    (one of which paused a run's calls for 0.1-0.2 s); the process ends with the command,
    so nothing frozen outlives it.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if _OWN_PROCESS:
            gc.freeze()
        if enabled:
            gc.enable()


def main() -> None:
    """Run the ``heldout`` command line in this process (``SystemExit`` ends it)."""
    app()


def console_main() -> None:
    """Entry point of the ``heldout`` console script and ``python -m heldout.cli``.

    Once the command has finished, its exit handlers have run and its output is flushed,
    the process ends at once (``os._exit``): tearing down the interpreter's modules one by
    one (pandas, SciPy, SQLAlchemy: some 1,300) took 0.5-0.8 s of every command and did
    nothing a finished command needs. Every file and store the command wrote is closed by
    then; a command that leaves a non-daemon thread running exits the usual way, and
    output that cannot be flushed (a full disk) exits 120, as Python does.
    """
    global _OWN_PROCESS
    _OWN_PROCESS = True
    try:
        app()
    except SystemExit as exc:
        code = exc.code
    else:  # pragma: no cover - typer's standalone mode always raises SystemExit
        code = 0
    main_thread = threading.main_thread()
    if any(t is not main_thread and t.is_alive() and not t.daemon for t in threading.enumerate()):
        sys.exit(code)
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:
            pass  # the reader left (`heldout ... | head`): nothing more to say
        except OSError:
            code = code or 120
    os._exit(code or 0)
