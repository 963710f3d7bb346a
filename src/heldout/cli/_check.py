"""``heldout check``: the data report of a dataset, and its leakage from a training set."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from heldout._errors import HeldoutError, SpecError
from heldout.cli._app import _out, _user_errors, app, write_document
from heldout.cli._plan import data_power, print_power
from heldout.data import DataReport, check_data, check_leakage, column_values, read_table
from heldout.data._checks import example_ids, require_column
from heldout.data._text_norm import normalize_texts

if TYPE_CHECKING:
    from heldout.spec import TaskSpec

__all__ = ["FAIL_ON_DEFAULT", "FINDINGS", "check"]

#: Finding names ``--fail-on`` accepts.
FINDINGS = (
    "duplicates",
    "near-duplicates",
    "conflicts",
    "unknown-labels",
    "rare-classes",
    "length-outliers",
    "leakage",
)
#: Findings that make a dataset unfit to judge a model on: fail by default.
FAIL_ON_DEFAULT = "conflicts,unknown-labels,leakage"
_SHOW = 5  # ids printed per finding; --json has them all


def _fail_on(value: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    if names == ("none",):
        return ()
    bad = [n for n in names if n not in FINDINGS]
    if bad:
        raise HeldoutError(
            f"--fail-on: unknown finding {', '.join(repr(b) for b in bad)}. "
            f"Allowed: {', '.join(FINDINGS)}, or none"
        )
    return names


def _ngram(value: str) -> int | Literal["auto"]:
    if value == "auto":
        return "auto"
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise HeldoutError(f"--ngram: expected a positive number of words or auto, got {value!r}")
    return n


@app.command()
def check(
    data: Annotated[Path, typer.Argument(help="The dataset to check (.jsonl, .csv, .parquet)")],
    train: Annotated[
        Path | None, typer.Option("--train", help="Training set to look for leakage in")
    ] = None,
    spec: Annotated[
        Path | None,
        typer.Option("--spec", help="eval.yaml whose task reading DATA gives columns and labels"),
    ] = None,
    id_col: Annotated[
        str | None,
        typer.Option("--id", help="Id column (default: id if present, else row numbers)"),
    ] = None,
    input_col: Annotated[str, typer.Option("--input", help="Input column")] = "input",
    target_col: Annotated[
        str | None,
        typer.Option("--target", help="Target column (default: target if present)"),
    ] = None,
    near: Annotated[
        float,
        typer.Option("--near", min=0.05, max=1.0, help="Least Jaccard of a near-duplicate"),
    ] = 0.8,
    min_count: Annotated[
        int, typer.Option("--min-count", min=1, help="Classes with fewer examples are rare")
    ] = 5,
    ngram: Annotated[
        str, typer.Option("--ngram", help="N of the n-gram leakage check, or auto (8-13)")
    ] = "13",
    fail_on: Annotated[
        str,
        typer.Option(
            "--fail-on",
            help=f"Findings that exit 1, comma-separated ({', '.join(FINDINGS)}; or none)",
        ),
    ] = FAIL_ON_DEFAULT,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the MinHash permutations")] = 0,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Write the full report as JSON here")
    ] = None,
) -> None:
    """Check a dataset: missing values, duplicates, near-duplicates, conflicting labels, class
    balance, length outliers, and (with --train) leakage from the training set."""
    console = _out()
    with _user_errors():
        failing = _fail_on(fail_on)
        n = _ngram(ngram)
        labels: tuple[str, ...] | None = None
        slices: tuple[str, ...] = ()
        classification: bool | None = None
        fmt = None
        if spec is not None:
            task = _task_for(spec, data)
            id_col, input_col, target_col = task.dataset.id, task.dataset.input, task.dataset.target
            labels, fmt, slices = task.labels, task.dataset.format, task.dataset.slices
            classification = task.type == "classification"
        table = read_table(data, fmt=fmt, what="dataset")
        if id_col is None and spec is None and "id" in table.column_names:
            id_col = "id"
        if target_col is None and spec is None and "target" in table.column_names:
            target_col = "target"
        with console.status("checking…"):
            # the eval texts are read and normalised once, for the checks and the leakage
            require_column(data, table, "input", input_col)
            inputs = column_values(table, input_col)
            norm = normalize_texts(inputs)
            report = check_data(
                table,
                path=data,
                id=id_col,
                input=input_col,
                target=target_col,
                labels=labels,
                classification=classification,
                near=near,
                min_count=min_count,
                seed=seed,
                norm=norm,
            )
            if train is not None:
                train_table = read_table(train, what="training")
                require_column(train, train_table, "input", input_col)
                train_id = id_col if id_col in train_table.column_names else None
                leakage = check_leakage(
                    example_ids(table, id_col),
                    inputs,
                    example_ids(train_table, train_id),
                    column_values(train_table, input_col),
                    train_path=str(train),
                    ngram=n,
                    near=near,
                    seed=seed,
                    eval_norm=norm,
                )
                report = replace(report, leakage=leakage)
        power = data_power(table, path=data, target=target_col, slices=slices)
        if json_path is not None:
            document = {**report.to_dict(), "power": power.to_dict()}
            write_document(document, json_path, what="the JSON report")
        _print(console, report)
        print_power(console, power)
        if json_path is not None:
            console.print(Text.assemble(("json: ", "bold"), str(json_path)))
    counts = report.findings()
    failed = [f"{name} ({counts[name]})" for name in failing if counts[name]]
    if failed:
        console.print(Text(f"failed: {', '.join(failed)}", style="bold red"), soft_wrap=True)
        raise typer.Exit(1)
    console.print(Text("ok: no finding in --fail-on", style="green"))


def _task_for(spec: Path, data: Path) -> TaskSpec:
    from heldout.spec import load_spec

    loaded = load_spec(spec)
    target = data.resolve()
    for task in loaded.spec.tasks:
        if loaded.resolve(task.dataset.path).resolve() == target:
            return task
    paths = ", ".join(f"{t.name}: {t.dataset.path}" for t in loaded.spec.tasks)
    raise SpecError(
        f"{spec}: no task reads {data} (tasks read {paths}). "
        "Pass a dataset a task names, or leave out --spec and name the columns"
    )


def _ids(ids: tuple[str, ...] | list[str]) -> str:
    shown = ", ".join(ids[:_SHOW])
    return shown + (f", … (+{len(ids) - _SHOW})" if len(ids) > _SHOW else "")


def _print(console: Console, report: DataReport) -> None:
    s = report.settings
    console.print(
        Text.assemble(
            ("data: ", "bold"),
            f"{report.path}: {report.rows:,} rows, {len(report.columns)} columns "
            f"(input {s['input']}, target {s['target'] or '-'}, id {s['id'] or 'row numbers'})",
        ),
        soft_wrap=True,
    )
    gaps = [c for c in report.columns if c.missing or c.empty]
    if gaps:
        table = Table(title="missing values", header_style="bold", title_justify="left")
        for col in ("column", "missing", "empty"):
            table.add_column(col)
        for c in gaps:
            table.add_row(c.name, f"{c.missing:,}", f"{c.empty:,}")
        console.print(table)

    summary = Table(title="findings", header_style="bold", title_justify="left")
    summary.add_column("check")
    summary.add_column("count", justify="right")
    summary.add_column("first ids")
    summary.add_row(
        "exact duplicates (groups)",
        f"{len(report.duplicates):,}",
        "; ".join(_ids(g.ids) for g in report.duplicates[:3]),
    )
    summary.add_row(
        f"near-duplicates (Jaccard ≥ {s['near_threshold']})",
        f"{len(report.near_duplicates):,}",
        "; ".join(f"{p.first}~{p.second} ({p.jaccard:.2f})" for p in report.near_duplicates[:3]),
    )
    summary.add_row(
        "conflicting labels (groups)",
        f"{len(report.conflicts):,}",
        "; ".join(
            ", ".join(f"{i}={t}" for i, t in list(zip(c.ids, c.targets, strict=True))[:_SHOW])
            for c in report.conflicts[:3]
        ),
    )
    if report.balance is not None:
        b = report.balance
        unknown = [i for ids in b.unknown.values() for i in ids]
        summary.add_row(
            f"unknown labels ({', '.join(b.unknown) or 'none'})", f"{len(unknown):,}", _ids(unknown)
        )
        summary.add_row(f"rare classes (< {b.min_count})", f"{len(b.rare):,}", ", ".join(b.rare))
    if report.lengths is not None:
        ln = report.lengths
        outliers = [*ln.long, *ln.short]
        summary.add_row(
            f"length outliers (outside {max(ln.low, 0):,.0f}–{ln.high:,.0f} chars)",
            f"{len(outliers):,}",
            _ids(outliers),
        )
    if report.leakage is not None:
        lk = report.leakage
        for label, part in (
            ("leakage: exact", lk.exact),
            (f"leakage: {lk.ngram}-gram overlap", lk.ngram_overlap),
            ("leakage: near-duplicates", lk.near),
        ):
            summary.add_row(
                label,
                f"{len(part):,}",
                "; ".join(f"{e.id}→{_ids(e.train_ids[:2])}" for e in part[:3]),
            )
        summary.add_row(
            f"leakage: contaminated eval examples (of {report.rows:,})",
            f"{len(lk.contaminated_ids):,}",
            _ids(list(lk.contaminated_ids)),
        )
    console.print(summary)
    if report.balance is not None:
        b = report.balance
        counts = ", ".join(f"{k} {v:,}" for k, v in list(b.counts.items())[:12])
        more = " …" if len(b.counts) > 12 else ""
        console.print(
            Text.assemble(
                ("classes: ", "bold"),
                f"{counts}{more} (imbalance ratio {b.imbalance_ratio:.1f})",
            )
        )
