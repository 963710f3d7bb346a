"""``heldout split``: train/validation/test files, or cross-validation folds, and a manifest.

Exit code 0: written; 1: written, but ``--fail-on-duplicates`` and an input is shared across
splits; 2: bad input, and nothing written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, cast

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from heldout._errors import HeldoutError
from heldout.cli._app import _out, _user_errors, app, write_document
from heldout.data import CrossSplitDuplicate, FileFormat, SplitResult, split_dataset

__all__ = ["split"]

_FORMATS = ("jsonl", "csv", "parquet")
_SHOW = 5  # findings and ids printed; the manifest has them all
_METHODS = {
    "holdout": "random holdout",
    "chronological": "chronological holdout",
    "k-fold": "k-fold cross-validation",
    "time-series": "time-series cross-validation (expanding window)",
}


@app.command()
def split(
    data: Annotated[Path, typer.Argument(help="The dataset to split (.jsonl, .csv, .parquet)")],
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Folder to create for the split files and manifest.json"),
    ],
    test: Annotated[
        float | None, typer.Option("--test", help="Fraction of the rows for test (default 0.2)")
    ] = None,
    validation: Annotated[
        float,
        typer.Option("--validation", help="Fraction of the rows for validation (default: none)"),
    ] = 0.0,
    stratify: Annotated[
        str | None,
        typer.Option("--stratify", help="Column whose class proportions every split keeps"),
    ] = None,
    group: Annotated[
        str | None, typer.Option("--group", help="Column whose groups never straddle two splits")
    ] = None,
    time: Annotated[
        str | None,
        typer.Option(
            "--time",
            help="Column of ISO dates/datetimes or numbers: earliest rows train, latest test",
        ),
    ] = None,
    gap: Annotated[
        str | None,
        typer.Option(
            "--gap",
            help="Left out between time-ordered splits: N rows (groups with --group) or a "
            "duration (45s, 30m, 12h, 7d, 2w)",
        ),
    ] = None,
    folds: Annotated[
        int | None, typer.Option("--folds", help="K-fold cross-validation with this many folds")
    ] = None,
    time_series: Annotated[
        int | None,
        typer.Option(
            "--time-series",
            help="Expanding-window cross-validation with this many folds, in --time order",
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of every random choice")] = 0,
    id_col: Annotated[
        str | None,
        typer.Option("--id", help="Id column (default: id if present, else row numbers)"),
    ] = None,
    input_col: Annotated[
        str | None,
        typer.Option(
            "--input", help="Column compared across splits for duplicates (default: input)"
        ),
    ] = None,
    near: Annotated[
        float,
        typer.Option("--near", min=0.05, max=1.0, help="Least Jaccard of a near-duplicate"),
    ] = 0.8,
    out_format: Annotated[
        str | None,
        typer.Option(
            "--format", help="Format of the split files: jsonl, csv or parquet (default: DATA's)"
        ),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace --out when it exists and is not empty")
    ] = False,
    fail_on_duplicates: Annotated[
        bool,
        typer.Option("--fail-on-duplicates", help="Exit 1 when an input is shared across splits"),
    ] = False,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the manifest here")
    ] = None,
) -> None:
    """Split a dataset into train/validation/test files, or cross-validation folds, seeded;
    write a manifest with counts and hashes, and check the splits for shared inputs."""
    console = _out()
    with _user_errors():
        if out_format is not None and out_format not in _FORMATS:
            raise HeldoutError(
                f"--format: expected one of {', '.join(_FORMATS)}, got {out_format!r}"
            )
        with console.status("splitting…"):
            result = split_dataset(
                data,
                out,
                test=test,
                validation=validation,
                stratify=stratify,
                group=group,
                time=time,
                gap=gap,
                folds=folds,
                time_series=time_series,
                seed=seed,
                id=id_col,
                input=input_col,
                near=near,
                output_format=cast(FileFormat | None, out_format),
                overwrite=overwrite,
            )
        if json_path is not None:
            write_document(dict(result.manifest), json_path, what="the manifest")
        _print(console, data, result, seed=seed)
        if json_path is not None:
            console.print(Text.assemble(("json: ", "bold"), str(json_path)))
    found = result.duplicates or ()
    if fail_on_duplicates and found:
        console.print(
            Text(f"failed: duplicates across splits ({len(found)})", style="bold red"),
            soft_wrap=True,
        )
        raise typer.Exit(1)


def _print(console: Console, data: Path, result: SplitResult, *, seed: int) -> None:
    plan = result.plan
    folds = f" with {plan.folds} folds" if plan.folds else ""
    console.print(
        Text.assemble(
            ("data: ", "bold"),
            f"{data}: {plan.rows:,} rows → {_METHODS[plan.method]}{folds} (seed {seed})",
        ),
        soft_wrap=True,
    )
    parts = plan.parts
    show_classes = any(p.classes is not None for p in parts)
    show_groups = any(p.groups is not None for p in parts)
    show_time = any(p.time_range is not None for p in parts)
    show_gap = any(p.gap_rows for p in parts)
    table = Table(header_style="bold")
    table.add_column("split")
    table.add_column("rows", justify="right")
    table.add_column("share", justify="right")
    if show_classes:
        table.add_column("classes")
    if show_groups:
        table.add_column("groups", justify="right")
    if show_time:
        table.add_column("time range")
    if show_gap:
        table.add_column("gap rows", justify="right")
    for p in parts:
        cells = [p.label, f"{p.rows.size:,}", f"{p.rows.size / plan.rows:.1%}"]
        if show_classes:
            counts = list((p.classes or {}).items())
            cells.append(
                ", ".join(f"{k} {v:,}" for k, v in counts[:4]) + (" …" if len(counts) > 4 else "")
            )
        if show_groups:
            cells.append(f"{p.groups or 0:,}")
        if show_time:
            low, high = p.time_range or ("", "")
            cells.append(f"{low} – {high}")
        if show_gap:
            cells.append(f"{p.gap_rows:,}")
        table.add_row(*cells)
    console.print(table)
    for warning in result.manifest["warnings"]:
        console.print(Text(f"warning: {warning}", style="yellow"), soft_wrap=True)
    if result.duplicates is not None:
        _print_duplicates(console, result.duplicates, near=result.manifest["options"]["near"])
    console.print(
        Text.assemble(
            ("wrote: ", "bold"),
            f"{result.out} ({len(parts)} files and manifest.json)",
        ),
        soft_wrap=True,
    )


def _print_duplicates(
    console: Console, found: tuple[CrossSplitDuplicate, ...], *, near: float
) -> None:
    if not found:
        console.print(Text("ok: no duplicate or near-duplicate inputs across splits", "green"))
        return
    exact = sum(d.kind == "exact" for d in found)
    console.print(
        Text(
            f"warning: inputs shared across splits: {exact} exact, {len(found) - exact} near "
            f"(Jaccard ≥ {near:g}); all in manifest.json",
            style="yellow",
        ),
        soft_wrap=True,
    )
    for d in found[:_SHOW]:
        where = "" if d.fold is None else f"fold-{d.fold} "
        score = "exact" if d.kind == "exact" else f"near {d.jaccard:.2f}"
        console.print(
            f"  {score}: {where}{d.first_split} {_ids(d.first_ids)} ~ "
            f"{d.second_split} {_ids(d.second_ids)}",
            soft_wrap=True,
        )
    if len(found) > _SHOW:
        console.print(f"  … (+{len(found) - _SHOW})")


def _ids(ids: tuple[str, ...]) -> str:
    shown = ", ".join(ids[:3])
    return shown + (f", … (+{len(ids) - 3})" if len(ids) > 3 else "")
