"""``heldout stress``: write label-preserving variants of a dataset's inputs, with provenance."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from heldout._errors import DataError
from heldout.cli._app import _out, _user_errors, app
from heldout.data import FileFormat, column_values, detect_format, is_text_column, read_table
from heldout.data._stress import (
    OPERATIONS,
    StressSet,
    resolve_operations,
    stress_originals,
    stress_set,
)

__all__ = ["stress"]

_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".parquet", ".pq")


@app.command()
def stress(
    data: Annotated[Path, typer.Argument(help="The dataset (.jsonl, .csv, .parquet)")],
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="Where to write the stress set (format from its suffix)"
        ),
    ],
    ops: Annotated[
        str,
        typer.Option("--ops", help=f"Operations, comma-separated ({', '.join(OPERATIONS)})"),
    ] = ",".join(OPERATIONS),
    input_col: Annotated[str, typer.Option("--input", help="Text column to rewrite")] = "input",
    id_col: Annotated[
        str | None,
        typer.Option("--id", help="Id column (default: id if present, else row numbers)"),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random edits")] = 0,
    per_op: Annotated[
        int, typer.Option("--per-op", min=1, help="Variants per example and operation")
    ] = 1,
    with_originals: Annotated[
        bool,
        typer.Option(
            "--with-originals/--variants-only",
            help="Write the original rows too (operation: original), so a run can pair them",
        ),
    ] = True,
) -> None:
    """Write variants of each input (typos, case, whitespace, Unicode look-alikes, quotes,
    truncation, punctuation, contractions) that keep its label, each naming its original,
    operation and seed; a run over the file reports the change per operation."""
    console = _out()
    with _user_errors():
        try:
            names = resolve_operations(ops.split(","))
        except DataError as exc:
            raise DataError(f"--ops: {exc}") from exc
        fmt = detect_format(data)
        out_fmt = detect_format(output) if output.suffix.lower() in _SUFFIXES else fmt
        if output.resolve() == data.resolve():
            raise DataError(
                f"{output}: is the input file. Write the stress set to another path with -o"
            )
        table = read_table(data, fmt=fmt, what="dataset")
        if id_col is None and "id" in table.column_names:
            id_col = "id"
        made = stress_set(
            table,
            id=id_col,
            input=input_col,
            ops=names,
            seed=seed,
            per_op=per_op,
            path=data,
            fmt=fmt,
        )
        parts = [made.variants]
        if with_originals:
            parts.insert(0, stress_originals(table, id=id_col, path=data, fmt=fmt))
        written = pa.concat_tables(parts)
        _write_atomic(written, output, out_fmt)
    _print(console, data, output, made, originals=table.num_rows if with_originals else 0)
    _print_spec(console, output, made, input_col, with_originals=with_originals)


def _print(console: Console, data: Path, output: Path, made: StressSet, *, originals: int) -> None:
    counts = Table(header_style="bold")
    counts.add_column("operation")
    counts.add_column("made", justify="right")
    counts.add_column("skipped", justify="right")
    for op, n in made.made.items():
        counts.add_row(op, f"{n:,}", f"{made.skipped[op]:,}")
    console.print(counts)
    variants = made.variants.num_rows
    what = (
        f"{originals:,} originals + {variants:,} variants"
        if originals
        else f"{variants:,} variants"
    )
    console.print(
        Text.assemble("wrote ", (str(output), "bold"), f": {what} of {data}"), soft_wrap=True
    )


def _print_spec(
    console: Console, output: Path, made: StressSet, input_col: str, *, with_originals: bool
) -> None:
    console.print(Text("use it as a task's dataset in eval.yaml:", style="bold"))
    lines = [
        "dataset:",
        f"  path: {output}",
        f"  id: {made.id}",
        f"  input: {input_col}",
        "  variant_of: original_id",
        "  operation: operation",
    ]
    console.print(Text("\n".join(lines)), soft_wrap=True)
    if not with_originals:
        console.print(
            Text(
                "note: the originals are not in this file; a run pairs a variant only with an "
                "original in the same dataset",
                style="yellow",
            ),
            soft_wrap=True,
        )


def _write_atomic(table: pa.Table, path: Path, fmt: FileFormat) -> None:
    """Write to a hidden file beside ``path``, renamed into place once complete."""
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.partial"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write(table, tmp, fmt)
        os.replace(tmp, path)
    except OSError as exc:
        raise DataError(
            f"{path}: cannot write the stress set ({exc.strerror}). Pass a file path you can write to"
        ) from exc
    except pa.ArrowException as exc:
        raise DataError(
            f"{path}: cannot write the stress set as {fmt} ({exc}). Use a .jsonl or .parquet output"
        ) from exc
    finally:
        tmp.unlink(missing_ok=True)


def _write(table: pa.Table, path: Path, fmt: FileFormat) -> None:
    if fmt == "parquet":
        pq.write_table(table, path)
        return
    if fmt == "csv":
        pa_csv.write_csv(table, path)
        return
    names = table.column_names
    values = [_json_values(table, n) for n in names]
    with path.open("w", encoding="utf-8") as fh:
        for row in range(table.num_rows):
            obj = {n: v[row] for n, v in zip(names, values, strict=True)}
            fh.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")


def _json_values(table: pa.Table, name: str) -> list[object]:
    """A column's values as read: JSON-text columns of mixed types decoded, ints kept ints."""
    if pa.types.is_string(table.schema.field(name).type) and not is_text_column(table, name):
        return list(column_values(table, name))
    return list(table.column(name).to_pylist())
