"""Parts of a task's examples read without decoding the whole frame.

The Parquet parts :func:`~heldout.store._frames.encode_examples` wrote are read here by
column (projection) and by row (only the parts that hold the rows asked for), with the
same rules that :func:`~heldout.store._frames.decode_examples` follows, so every read
equals the matching slice of the full frame.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray

from heldout._errors import StoreError
from heldout.store._codec import from_json
from heldout.store._frames import _META_KEY, _set_object_column

__all__ = ["ExampleParts"]


@dataclass(frozen=True, eq=False)
class ExampleParts:
    """A task's stored examples, as the Parquet parts they were saved in.

    Attributes:
        task: the task's name.
        data: the parts' Parquet bytes, in row order.
        rows: the number of rows in each part.
    """

    task: str
    data: tuple[bytes, ...]
    rows: tuple[int, ...]

    def __len__(self) -> int:
        return sum(self.rows)

    @cached_property
    def _schema(self) -> pa.Schema:
        return pq.read_schema(pa.BufferReader(self.data[0]))

    @cached_property
    def _meta(self) -> tuple[frozenset[str], frozenset[str]]:
        """Names of the columns stored as Python objects, and of those stored as JSON."""
        meta = json.loads((self._schema.metadata or {}).get(_META_KEY, b"{}"))
        names = self._schema.names
        return (
            frozenset(names[pos] for pos in meta.get("object_columns", [])),
            frozenset(names[pos] for pos in meta.get("json_columns", [])),
        )

    @cached_property
    def empty(self) -> pd.DataFrame:
        """No rows, with every stored column and its dtype."""
        return self._frame(self._schema.empty_table())

    @property
    def json_columns(self) -> frozenset[str]:
        """Columns stored as JSON text per cell (dicts, values of mixed kinds)."""
        return self._meta[1]

    @property
    def columns(self) -> list[str]:
        """The stored columns, in order."""
        return [str(c) for c in self.empty.columns]

    def arrow(self, column: str) -> pa.ChunkedArray:
        """One column as Arrow, as stored (object columns as their Arrow values); text the
        writer dictionary-encoded comes as an Arrow dictionary array.

        Raises:
            StoreError: the task stores no such column.
        """
        self._check([column])
        field = self._schema.field(column)
        text = pa.types.is_string(field.type) or pa.types.is_large_string(field.type)
        # Text the writer dictionary-encoded is read as codes and a few values, not as
        # one string per row.
        coded = text and all(_dictionary_encoded(data, column) for data in self.data)
        chunks = [
            pq.read_table(
                pa.BufferReader(data), columns=[column], read_dictionary=[column] if coded else None
            ).column(0)
            for data in self.data
        ]
        return pa.chunked_array([c for chunked in chunks for c in chunked.chunks], chunks[0].type)

    def frame(self, columns: Sequence[str], *, arrow_text: bool = False) -> pd.DataFrame:
        """Every row of ``columns``: equal to ``full[columns]`` of the decoded frame, with a
        ``RangeIndex`` (a stored index is not read).

        Args:
            columns: the columns read; the others are never decompressed.
            arrow_text: keep plain text columns as ``pd.ArrowDtype`` strings instead of
                Python objects (same values, read without building a million ``str``).

        Raises:
            StoreError: the task stores no column of that name.
        """
        names = list(columns)
        self._check(names)
        tables = [self._read(data, names) for data in self.data]
        table = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
        return self._frame(table, arrow_text=arrow_text)

    def take(
        self, positions: Sequence[int] | NDArray[np.integer[Any]], columns: Sequence[str] = ()
    ) -> pd.DataFrame:
        """The rows at ``positions`` (0-based), in that order: equal to
        ``full.iloc[positions]`` with a fresh ``RangeIndex`` (a stored index is not
        read). Only the Parquet row groups holding them are read; ``columns`` (default:
        all) limits what is read from each.

        Raises:
            StoreError: a position is out of range, or a column is not stored.
        """
        where = np.asarray(positions, dtype=np.int64)
        names = list(columns) or self.columns
        self._check(names)
        total = len(self)
        if where.size and (where.min() < 0 or where.max() >= total):
            raise StoreError(
                f"task {self.task!r} has {total:,} examples; positions must lie in 0..{total - 1}"
            )
        # Units of reading: each part's row groups, in row order.
        units = [(part, group) for part, sizes in enumerate(self._groups) for group in sizes]
        sizes = [rows for sizes in self._groups for rows in sizes.values()]
        starts = np.cumsum((0, *sizes))
        unit_of = np.searchsorted(starts, where, side="right") - 1
        pieces: list[pa.Table] = []
        order: list[NDArray[np.int64]] = []
        for unit in np.unique(unit_of):
            mine = np.flatnonzero(unit_of == unit)
            part, group = units[int(unit)]
            reader = pq.ParquetFile(pa.BufferReader(self.data[part]))
            table = reader.read_row_group(group, columns=names)
            pieces.append(table.take(pa.array(where[mine] - starts[unit])))
            order.append(mine)
        if not pieces:
            return self._frame(self._read(self.data[0], names).slice(0, 0))
        table = pa.concat_tables(pieces)
        # Back to the order asked for when positions were not ascending.
        back = np.empty(where.size, dtype=np.int64)
        back[np.concatenate(order)] = np.arange(where.size)
        table = table.take(pa.array(back))
        return self._frame(table)

    @cached_property
    def _groups(self) -> list[dict[int, int]]:
        """Rows in each row group of each part (one group in parts written before row
        groups were cut smaller)."""
        found = []
        for data in self.data:
            meta = pq.ParquetFile(pa.BufferReader(data)).metadata
            found.append({g: meta.row_group(g).num_rows for g in range(meta.num_row_groups)})
        return found

    def _check(self, names: Sequence[str]) -> None:
        missing = [n for n in names if n not in self._schema.names]
        if missing:
            raise StoreError(
                f"task {self.task!r} stores no column {', '.join(map(repr, missing))} "
                f"(columns: {', '.join(self.columns)})"
            )

    def _read(self, data: bytes, names: Sequence[str]) -> pa.Table:
        return pq.read_table(pa.BufferReader(data), columns=list(names))

    def _frame(self, table: pa.Table, *, arrow_text: bool = False) -> pd.DataFrame:
        objects, json_columns = self._meta

        def mapper(kind: pa.DataType) -> pd.ArrowDtype | None:
            text = pa.types.is_string(kind) or pa.types.is_large_string(kind)
            return pd.ArrowDtype(kind) if arrow_text and text else None

        frame: pd.DataFrame = table.to_pandas(types_mapper=mapper)
        frame.index = pd.RangeIndex(len(frame))
        for pos, name in enumerate(table.column_names):
            if name not in objects:
                continue
            column = table.column(pos)
            plain = pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
            if arrow_text and plain and name not in json_columns:
                values: Any = pd.Series(column, dtype=pd.ArrowDtype(column.type), index=frame.index)
                frame.isetitem(pos, values)
                continue
            cells = column.to_pylist()
            if name in json_columns:
                cells = [from_json(json.loads(v)) for v in cells]
            _set_object_column(frame, pos, cells)
        return frame


def _dictionary_encoded(data: bytes, column: str) -> bool:
    meta = pq.ParquetFile(pa.BufferReader(data)).metadata
    for group in range(meta.num_row_groups):
        row_group = meta.row_group(group)
        for index in range(row_group.num_columns):
            chunk = row_group.column(index)
            if chunk.path_in_schema == column and not (
                {"RLE_DICTIONARY", "PLAIN_DICTIONARY"} & set(chunk.encodings)
            ):
                return False
    return True
