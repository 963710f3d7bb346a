"""Per-example results as Parquet parts: a task's examples frame in, the same frame out.

Columns with a dtype (str, float, int, bool, nullable, categorical, datetime) go through
Arrow as they are, the pandas metadata restoring dtypes and index. ``object`` columns
(lists of references, values mixed with ``None``) are converted without pandas' NaN-to-null
rule and read back as Python objects; one that Arrow cannot type (mixed kinds) or that
holds dicts (Arrow would add missing keys) is stored as JSON text per cell. Tuples read
back as lists, and ints mixed with floats in one object column as floats.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from heldout._errors import StoreError
from heldout.store._codec import from_json, strict_json_dumps, to_json

__all__ = ["PART_BYTES", "PART_ROWS", "Part", "decode_examples", "encode_examples"]

#: Most rows in one part.
PART_ROWS = 250_000
#: Target Arrow size of one part, so wide text rows still make blobs well under the
#: 1 GB that SQLite and PostgreSQL accept for one value.
PART_BYTES = 128 * 2**20

#: Rows in one Parquet row group: reading a few rows (a page of the dashboard) decodes
#: only the row groups that hold them.
ROW_GROUP_ROWS = 32_768

_META_KEY = b"heldout"
_DICTIONARY_SAMPLE = 10_000


@dataclass(frozen=True)
class Part:
    """One Parquet file holding ``n_rows`` consecutive examples."""

    n_rows: int
    data: bytes


def encode_examples(frame: pd.DataFrame, *, where: str) -> list[Part]:
    """``frame`` as Parquet parts of at most :data:`PART_ROWS` rows, in order.

    An empty frame still gives one part, which keeps its columns and dtypes.

    Raises:
        StoreError: a column cannot be stored; ``where`` names the frame in the message.
    """
    arrow_frame = frame.copy(deep=False)
    object_columns: dict[int, pa.Array] = {}
    json_columns: list[int] = []
    for pos, (name, dtype) in enumerate(zip(frame.columns, frame.dtypes, strict=True)):
        if not pd.api.types.is_object_dtype(dtype):
            continue
        column = frame.iloc[:, pos]
        array = _object_array(column)
        if array is None:
            cells = [strict_json_dumps(to_json(v, f"{where} column {name!r}")) for v in column]
            array = pa.array(cells, type=pa.string())
            json_columns.append(pos)
        object_columns[pos] = array
        # Arrow is given a stand-in so the pandas metadata still records an object column.
        _set_object_column(arrow_frame, pos, [None] * len(frame))
    try:
        table = pa.Table.from_pandas(arrow_frame)
    except (pa.ArrowException, ValueError, TypeError) as error:
        raise StoreError(f"{where} cannot be stored: {error}") from error
    for pos, array in object_columns.items():
        table = table.set_column(pos, pa.field(table.field(pos).name, array.type), array)
    meta = {"object_columns": sorted(object_columns), "json_columns": json_columns}
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), _META_KEY: json.dumps(meta).encode()}
    )

    dictionary = _dictionary_columns(table)
    step = _rows_per_part(table)
    return [
        Part(n_rows=piece.num_rows, data=_write(piece, dictionary))
        for piece in (table.slice(start, step) for start in range(0, max(table.num_rows, 1), step))
    ]


def decode_examples(parts: Sequence[bytes]) -> pd.DataFrame:
    """The frame :func:`encode_examples` split into ``parts``."""
    tables = [pq.read_table(pa.BufferReader(data)) for data in parts]
    table = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
    meta = json.loads((table.schema.metadata or {}).get(_META_KEY, b"{}"))
    frame: pd.DataFrame = table.to_pandas()
    json_columns = set(meta.get("json_columns", []))
    for pos in meta.get("object_columns", []):
        values = table.column(pos).to_pylist()
        if pos in json_columns:
            values = [from_json(json.loads(v)) for v in values]
        _set_object_column(frame, pos, values)
    return frame


def _set_object_column(frame: pd.DataFrame, pos: int, values: list[Any]) -> None:
    # Only a Series keeps the object dtype (pandas would infer ``str`` from an array of
    # strings); pandas-stubs leave Series out of isetitem's accepted values.
    frame.isetitem(pos, cast(Any, pd.Series(values, index=frame.index, dtype=object)))


def _object_array(column: pd.Series) -> pa.Array | None:
    """``column`` as an Arrow array that reads back as the same Python values, if any."""
    try:
        array = pa.array(column.to_numpy(dtype=object), from_pandas=False)
    except (pa.ArrowException, ValueError, TypeError, OverflowError):
        return None
    return None if _has_struct(array.type) else array


def _has_struct(dtype: pa.DataType) -> bool:
    if pa.types.is_struct(dtype) or pa.types.is_map(dtype) or pa.types.is_union(dtype):
        return True
    if isinstance(dtype, pa.ListType | pa.LargeListType | pa.FixedSizeListType):
        return _has_struct(dtype.value_type)
    return False


def _rows_per_part(table: pa.Table) -> int:
    if table.num_rows == 0:
        return PART_ROWS
    per_row = max(table.nbytes / table.num_rows, 1.0)
    return max(1, min(PART_ROWS, int(PART_BYTES / per_row)))


def _dictionary_columns(table: pa.Table) -> list[str]:
    """Columns with few distinct values, judged on a sample: dictionary encoding makes
    them small, while on unique ids it only costs time (measured: 3x slower writes)."""
    sample = table.slice(0, _DICTIONARY_SAMPLE)
    chosen = []
    for field, column in zip(sample.schema, sample.columns, strict=True):
        kind = field.type
        plain = (
            pa.types.is_string(kind)
            or pa.types.is_large_string(kind)
            or pa.types.is_integer(kind)
            or pa.types.is_floating(kind)
        )
        few = plain and pc.count_distinct(column).as_py() * 2 <= sample.num_rows
        if pa.types.is_dictionary(kind) or few:
            chosen.append(field.name)
    return chosen


def _write(table: pa.Table, dictionary: list[str]) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(
        table,
        sink,
        compression="zstd",
        compression_level=1,
        use_dictionary=dictionary,
        row_group_size=ROW_GROUP_ROWS,
    )
    return bytes(sink.getvalue().to_pybytes())
