"""Reading JSONL, CSV and Parquet into Arrow tables, with errors that name the line.

The fast path hands the whole file to pyarrow. When pyarrow refuses it, the file is read
again line by line to find the first bad line and say what is wrong there.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq
from numpy.typing import NDArray

from heldout._errors import DataError

__all__ = [
    "FileFormat",
    "column_values",
    "detect_format",
    "is_text_column",
    "read_table",
    "row_location",
]

FileFormat = Literal["jsonl", "csv", "parquet"]

_SUFFIXES: dict[str, FileFormat] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def detect_format(path: Path, declared: FileFormat | None = None) -> FileFormat:
    """The file's format, from ``declared`` or its suffix."""
    if declared is not None:
        return declared
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise DataError(
            f"{path}: cannot tell the format from the suffix {path.suffix!r}. "
            "Use .jsonl, .csv or .parquet, or set format: in the spec"
        )
    return fmt


def read_table(path: Path, *, fmt: FileFormat | None = None, what: str = "file") -> pa.Table:
    """Read a whole file into an Arrow table.

    Args:
        path: the file.
        fmt: its format; guessed from the suffix when omitted.
        what: how the file is named in error messages ("dataset", "predictions").

    Raises:
        DataError: the file is missing, empty, not UTF-8, or malformed; the message names
            the line and column where it can.
    """
    if not path.exists():
        raise DataError(
            f"{path}: {what} file not found. Check the path (relative paths start at the spec's folder)"
        )
    if path.is_dir():
        raise DataError(f"{path}: is a folder; the {what} must be a .jsonl, .csv or .parquet file")
    fmt = detect_format(path, fmt)
    if path.stat().st_size == 0:
        raise DataError(f"{path}: {what} file is empty. Write at least one row")
    if fmt == "parquet":
        try:
            table = pq.read_table(path)
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"{path}: not a readable Parquet file ({exc}). Re-export it") from exc
    else:
        _check_utf16(path)
        table = _read_jsonl(path) if fmt == "jsonl" else _read_csv(path)
    if table.num_rows == 0:
        raise DataError(f"{path}: {what} file has no rows. Write at least one row")
    return table


def _check_utf16(path: Path) -> None:
    with path.open("rb") as fh:
        head = fh.read(4)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError(f"{path}:1:1: file is UTF-16 encoded (byte-order mark). Save it as UTF-8")


def _check_utf8(path: Path) -> None:
    """Raise naming the first line that is not valid UTF-8."""
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"{path}:{lineno}:{exc.start + 1}: not valid UTF-8 (byte 0x{raw[exc.start]:02x}). "
                    "Save the file as UTF-8"
                ) from exc


def _read_jsonl(path: Path) -> pa.Table:
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        _check_utf8(path)
        raise DataError(
            f"{path}: not valid UTF-8 (byte {exc.start}). Save the file as UTF-8"
        ) from exc
    try:
        return pa_json.read_json(io.BytesIO(data))
    except pa.ArrowInvalid:
        pass
    # pyarrow refused: parse line by line, for the exact spot or for columns of mixed type.
    rows = []
    for lineno, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"{path}:{lineno}:{exc.colno}: invalid JSON ({exc.msg}). Each line must be one JSON object"
            ) from exc
        if not isinstance(obj, dict):
            raise DataError(
                f"{path}:{lineno}:1: expected a JSON object per line, got {type(obj).__name__}. "
                'Write one {"column": value, ...} object per line'
            )
        rows.append(obj)
    return _from_mixed_rows(rows)


def _from_mixed_rows(rows: list[dict[str, object]]) -> pa.Table:
    """Columns whose JSON types differ across rows are kept as JSON text, one value per row.

    The column names are listed in the schema metadata so :func:`column_values` decodes
    them back into the original Python values (and errors can still point at the row).
    """
    columns: dict[str, list[object]] = {}
    for i, row in enumerate(rows):
        for key in row:
            columns.setdefault(key, [None] * i)
        for key, values in columns.items():
            values.append(row.get(key))
    arrays = {}
    mixed = []
    for key, values in columns.items():
        try:
            if len({_kind(v) for v in values if v is not None}) > 1:
                # pyarrow would quietly turn true into 1.0 beside numbers: keep them apart
                raise pa.ArrowTypeError(key)
            arrays[key] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arrays[key] = pa.array(
                [None if v is None else json.dumps(v) for v in values], type=pa.string()
            )
            mixed.append(key)
    return pa.table(arrays).replace_schema_metadata({_MIXED_KEY: json.dumps(mixed)})


_MIXED_KEY = "heldout.json_columns"


def _kind(v: object) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int | float):
        return "number"
    return type(v).__name__


def is_text_column(table: pa.Table, name: str) -> bool:
    """Whether every non-null value of the column is a string (checked from its type)."""
    col_type = table.schema.field(name).type
    meta = table.schema.metadata or {}
    mixed = json.loads(meta.get(_MIXED_KEY.encode(), b"[]"))
    return name not in mixed and (
        pa.types.is_string(col_type) or pa.types.is_large_string(col_type)
    )


def column_values(table: pa.Table, name: str) -> NDArray[np.object_]:
    """A column as Python values: text, numbers, lists and dicts as they were written."""
    col = table.column(name)
    meta = table.schema.metadata or {}
    mixed = json.loads(meta.get(_MIXED_KEY.encode(), b"[]"))
    if name in mixed:
        items: list[object] = [None if v is None else json.loads(v) for v in col.to_pylist()]
    elif pa.types.is_nested(col.type):
        items = col.to_pylist()
    else:
        return np.asarray(col.to_numpy(zero_copy_only=False), dtype=object)
    out = np.empty(len(items), dtype=object)
    for i, v in enumerate(items):
        out[i] = v
    return out


def _read_csv(path: Path) -> pa.Table:
    try:
        return pa_csv.read_csv(
            path,
            read_options=pa_csv.ReadOptions(use_threads=True),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(strings_can_be_null=True),
        )
    except pa.ArrowInvalid as exc:
        _check_utf8(path)
        line = _csv_bad_line(path)
        where = f"{path}:{line}" if line else str(path)
        detail = str(exc).splitlines()[0]
        raise DataError(
            f"{where}: malformed CSV ({detail}). Check quoting and the number of fields on that line"
        ) from exc


def _csv_bad_line(path: Path) -> int | None:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except (StopIteration, csv.Error):
            return 1
        for row in reader:
            if row and len(row) != len(header):
                return reader.line_num
    return None


def row_location(path: Path, fmt: FileFormat, row: int) -> str:
    """``path:LINE`` of the 0-based data row ``row`` (``path:row N`` for Parquet)."""
    if fmt == "parquet":
        return f"{path}:row {row + 1}"
    if fmt == "csv":
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            next(reader, None)
            for i, _ in enumerate(reader):
                if i == row:
                    return f"{path}:{reader.line_num}"
        return f"{path}:row {row + 1}"
    seen = -1
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if raw.strip():
                seen += 1
                if seen == row:
                    return f"{path}:{lineno}"
    return f"{path}:row {row + 1}"
