"""``heldout pii scan`` and ``heldout pii mask``: find and mask PII in a dataset.

``scan`` exits 0 when it finds nothing and 1 when it finds PII, so a CI step can fail on
it; a bad input exits 2 with one line, like every other command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from heldout._errors import DataError
from heldout.cli._app import _user_errors, app, write_document
from heldout.data import (
    detect_format,
    mask_table,
    pii_preview,
    read_table,
    row_location,
    scan_table,
    write_table,
)

__all__ = ["pii_app"]

pii_app = typer.Typer(
    name="pii",
    help="Find e-mails, phones, cards, IBANs, SSNs, IPs, secrets and URL credentials, and mask them.",
    no_args_is_help=True,
)
app.add_typer(pii_app)

ColumnOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--column", "-c", help="Text column to check (repeatable; default: every text column)"
    ),
]
RegionOpt = Annotated[
    str,
    typer.Option(
        "--region", help="Country whose national phone formats are recognised (+… always are)"
    ),
]
_SHOWN = 20


@pii_app.command()
def scan(
    data: Annotated[Path, typer.Argument(help="Dataset file (.jsonl, .csv or .parquet)")],
    column: ColumnOpt = None,
    region: RegionOpt = "US",
    id_column: Annotated[
        str, typer.Option("--id", help="Column naming each example in the listing")
    ] = "id",
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the findings as JSON here")
    ] = None,
) -> None:
    """Count the PII per kind and list the rows that hold it (values partly hidden).

    Exit code 0: nothing found; 1: PII found; 2: the input could not be read.
    """
    console = Console(markup=False)  # file names and values are printed as they are
    with _user_errors():
        fmt = detect_format(data)
        table = read_table(data, fmt=fmt, what="data")
        found = scan_table(table, column, region=region, id_column=id_column, what=str(data))
        if json_path is not None:
            doc = {
                "path": str(data),
                "region": region,
                "rows": found.rows,
                "columns": list(found.columns),
                "counts": found.counts,
                "findings": [f.to_dict() for f in found.findings],
            }
            write_document(doc, json_path, what="the findings")
    columns = ", ".join(found.columns)
    if not found.total:
        console.print(
            Text.assemble(
                ("no PII found", "green"), f" in {found.rows:,} rows (columns: {columns})"
            )
        )
        raise typer.Exit(0)
    console.print(Text(f"PII in {data} ({found.rows:,} rows; columns: {columns})"), soft_wrap=True)
    counts = Table()
    counts.add_column("kind")
    counts.add_column("found", justify="right")
    for kind, n in found.counts.items():
        counts.add_row(kind, f"{n:,}")
    console.print(counts)
    for finding in found.findings[:_SHOWN]:
        where = row_location(data, fmt, finding.row)
        name = f" {finding.id}" if finding.id is not None else ""
        shown = ", ".join(f"{m.kind} {pii_preview(m.value)}" for m in finding.matches)
        console.print(Text(f"{where}{name} [{finding.column}]: {shown}"), soft_wrap=True)
    if len(found.findings) > _SHOWN:
        console.print(f"… and {len(found.findings) - _SHOWN:,} more rows (see --json)")
    if json_path is not None:
        console.print(Text.assemble(("json: ", "bold"), str(json_path)))
    raise typer.Exit(1)


@pii_app.command()
def mask(
    data: Annotated[Path, typer.Argument(help="Dataset file (.jsonl, .csv or .parquet)")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write the masked copy (same format)")
    ],
    column: ColumnOpt = None,
    region: RegionOpt = "US",
) -> None:
    """Write a copy of DATA with PII in the chosen text columns replaced by <KIND_N>."""
    console = Console(markup=False)  # file names and values are printed as they are
    with _user_errors():
        fmt = detect_format(data)
        table = read_table(data, fmt=fmt, what="data")
        masked = mask_table(table, column, region=region, what=str(data))
        if output.suffix and detect_format(output) != fmt:
            raise DataError(
                f"{output}: the masked copy is written as {fmt}, like {data}. "
                f"Give the output a .{fmt} suffix"
            )
        write_table(masked.table, output, fmt)
    total = sum(masked.counts.values())
    detail = ", ".join(f"{kind} {n:,}" for kind, n in masked.counts.items()) or "nothing to mask"
    console.print(
        Text.assemble(f"masked {total:,} values ({detail}); wrote ", (str(output), "bold"))
    )
