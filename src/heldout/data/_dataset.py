"""A task's examples: ids, inputs, targets, slices and clusters, held column-wise."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
from numpy.typing import NDArray

from heldout._errors import DataError
from heldout._util._labels import label_texts
from heldout._util._suggest import did_you_mean
from heldout.data._read import (
    FileFormat,
    column_values,
    detect_format,
    is_text_column,
    read_table,
    row_location,
)

__all__ = [
    "Dataset",
    "Example",
    "TargetKind",
    "check_unique_ids",
    "column_ids",
    "encode_labels",
    "load_dataset",
]

_RESERVED = ("id", "input", "target", "cluster")


@dataclass(frozen=True)
class Example:
    """One example, as later stages see it."""

    id: str
    input: Any
    target: Any
    slices: Mapping[str, str] = field(default_factory=dict)
    cluster: str | None = None


#: What a target is: a class label, a number, or reference texts.
TargetKind = Literal["label", "number", "texts"]


@dataclass(frozen=True, eq=False)
class Dataset:
    """Examples held column-wise, in file order.

    Attributes:
        path: the file read.
        fmt: its format.
        ids: example ids (``str``), unique.
        inputs: model inputs (object array).
        targets: labels (``str``), numbers (``float64``) or lists of reference texts.
        slices: slice column name to values (``str``, missing as ``"(missing)"``).
        clusters: cluster id per example, when the spec names a cluster column.
        hash: SHA-256 over ids, inputs and targets; equal for equal content in any format.
        columns: the file columns that played each role.
        table: the file as read, for the columns that play no role (prompt templates
            see every column); ``None`` for a dataset built in memory.
    """

    path: Path
    fmt: FileFormat
    ids: NDArray[np.object_]
    inputs: NDArray[np.object_]
    targets: NDArray[Any]
    slices: Mapping[str, NDArray[np.object_]]
    clusters: NDArray[np.object_] | None
    hash: str
    columns: Mapping[str, str | None]
    table: pa.Table | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @cached_property
    def index(self) -> pd.Index:
        """The ids as a pandas Index, built once, for matching predictions to examples."""
        return pd.Index(self.ids, dtype=object)

    def __iter__(self) -> Iterator[Example]:
        for i in range(len(self)):
            yield self.example(i)

    def example(self, i: int) -> Example:
        return Example(
            id=str(self.ids[i]),
            input=self.inputs[i],
            target=self.targets[i],
            slices={k: str(v[i]) for k, v in self.slices.items()},
            cluster=None if self.clusters is None else str(self.clusters[i]),
        )

    def records(self) -> list[dict[str, Any]]:
        """One mapping per example of every file column, with ``id``, ``input`` and
        ``target`` as the dataset holds them (masked inputs, text ids): what a prompt
        template is rendered over."""
        names = [] if self.table is None else list(self.table.column_names)
        columns = [column_values(self.table, n) for n in names] if self.table is not None else []
        out: list[dict[str, Any]] = []
        for i in range(len(self)):
            record = {n: _plain(c[i]) for n, c in zip(names, columns, strict=True)}
            record["id"] = self.ids[i]
            if self.columns.get("input") is not None or "input" not in record:
                record["input"] = _plain(self.inputs[i])
            record["target"] = _plain(self.targets[i])
            out.append(record)
        return out

    def where(self, row: int) -> str:
        """``file:line`` of the example at position ``row``."""
        return row_location(self.path, self.fmt, row)

    def to_frame(self) -> pd.DataFrame:
        """The examples as a DataFrame (``id``, ``input``, ``target``, slices, ``cluster``).

        Text columns keep the ``object`` dtype: values are the Python objects read.
        """
        columns: dict[str, Any] = {
            "id": self.ids,
            "input": self.inputs,
            "target": self.targets,
            **self.slices,
        }
        if self.clusters is not None:
            columns["cluster"] = self.clusters
        return pd.DataFrame({k: pd.Series(v, dtype=v.dtype) for k, v in columns.items()})


def load_dataset(
    path: Path,
    *,
    id: str | None,
    input: str | None,
    target: str,
    target_kind: TargetKind,
    slices: tuple[str, ...] = (),
    cluster: str | None = None,
    fmt: FileFormat | None = None,
) -> Dataset:
    """Read a dataset file and check it against the roles the spec gives its columns.

    Args:
        path: JSONL, CSV or Parquet file.
        id: column of stable example ids; when ``None``, ids are content hashes.
        input: column of model inputs; ``None`` when the task needs none.
        target: column of targets.
        target_kind: ``label`` (classification), ``number`` (regression) or ``texts``
            (generation: a reference string or a list of them).
        slices: columns to break metrics down by.
        cluster: column of cluster ids for clustered standard errors.
        fmt: file format, when the suffix does not tell.

    Raises:
        DataError: naming the file, line and column, and the fix.
    """
    table = read_table(path, fmt=fmt, what="dataset")
    fmt = detect_format(path, fmt)
    names = table.column_names
    for role, col in (("id", id), ("input", input), ("target", target), ("cluster", cluster)):
        if col is not None and col not in names:
            _missing_column(path, role, col, names)
    for col in slices:
        if col not in names:
            _missing_column(path, "slices", col, names)
        if col in _RESERVED:
            raise DataError(
                f'{path}: slice column "{col}" clashes with a reserved name ({", ".join(_RESERVED)}). Rename it'
            )

    n = table.num_rows
    targets = _targets(table, target_kind, path=path, fmt=fmt, name=target)
    inputs = column_values(table, input) if input is not None else np.full(n, None, dtype=object)
    if id is not None:
        ids = column_ids(table, path=path, fmt=fmt, name=id)
    else:
        ids = _content_ids(inputs, targets)
    slice_values = {col: _labels(column_values(table, col)) for col in slices}
    clusters = None
    if cluster is not None:
        clusters = _labels(column_values(table, cluster), missing=None)
        empty = np.flatnonzero(pd.isna(clusters))
        clusters[empty] = [f"(row {i + 1})" for i in empty]
    columns = {"id": id, "input": input, "target": target, "cluster": cluster}
    dataset = Dataset(
        path=path,
        fmt=fmt,
        ids=ids,
        inputs=inputs,
        targets=targets,
        slices=slice_values,
        clusters=clusters,
        table=table,
        hash=_content_hash(
            ids,
            inputs,
            targets,
            text_inputs=input is not None and is_text_column(table, input),
            text_targets=target_kind == "label",
        ),
        columns=columns,
    )
    if not dataset.index.is_unique:
        check_unique_ids(ids, path=path, fmt=fmt, col=id)  # raises, naming the lines
    return dataset


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value a template expects."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def encode_labels(values: NDArray[Any], labels: tuple[str, ...] | list[str]) -> NDArray[np.int64]:
    """The index of each value in ``labels``; -1 for a value that is not a label."""
    index = pd.Index(list(labels), dtype=object)
    return np.asarray(index.get_indexer(pd.Index(values, dtype=object)), dtype=np.int64)


def _missing_column(path: Path, role: str, col: str, names: list[str]) -> None:
    hint = did_you_mean(col, names)
    raise DataError(
        f'{path}: column "{col}" (dataset.{role}) not found{hint}; columns are: {", ".join(names)}. '
        f"Set dataset.{role} to one of them"
    )


def _labels(values: NDArray[np.object_], missing: str | None = "(missing)") -> NDArray[np.object_]:
    return label_texts(values, missing)


def column_ids(table: pa.Table, *, path: Path, fmt: FileFormat, name: str) -> NDArray[np.object_]:
    """The ``name`` column as unique-able text ids (``17`` and ``"17"`` are the same id)."""
    values = column_values(table, name)
    bad = (
        np.flatnonzero(pd.isna(values))
        if table.column(name).null_count
        else np.zeros(0, dtype=np.int64)
    )
    if bad.size:
        raise DataError(
            f'{row_location(path, fmt, int(bad[0]))}: id column "{name}" is empty. Give every row an id'
        )
    if is_text_column(table, name):
        return values
    return label_texts(values)


def check_unique_ids(
    ids: NDArray[np.object_], *, path: Path, fmt: FileFormat, col: str | None
) -> None:
    dup = pd.Index(ids, dtype=object).duplicated()
    if dup.any():
        second = int(np.flatnonzero(dup)[0])
        first = int(np.flatnonzero(ids == ids[second])[0])
        what = f'id "{ids[second]}"' if col else "the same input and target as an earlier row"
        fix = "Make ids unique" if col else "Remove the duplicate or add an id column (dataset.id)"
        line = row_location(path, fmt, first).rsplit(":", 1)[-1]
        raise DataError(
            f"{row_location(path, fmt, second)}: duplicate {what} (first seen on line {line}). {fix}"
        )


def _content_ids(inputs: NDArray[np.object_], targets: NDArray[Any]) -> NDArray[np.object_]:
    out = np.empty(inputs.shape[0], dtype=object)
    for i, (x, y) in enumerate(zip(inputs, targets, strict=True)):
        blob = json.dumps([x, y], sort_keys=True, default=str)
        out[i] = hashlib.sha256(blob.encode()).hexdigest()[:16]
    return out


def _targets(
    table: pa.Table, kind: TargetKind, *, path: Path, fmt: FileFormat, name: str
) -> NDArray[Any]:
    column = table.column(name)
    values = column_values(table, name)
    if column.null_count == 0 and is_text_column(table, name):
        missing = np.zeros(0, dtype=np.int64)
    elif kind == "texts":
        missing = np.flatnonzero([v is None for v in values])
    else:
        missing = np.flatnonzero(pd.isna(values))
    if missing.size:
        raise DataError(
            f'{row_location(path, fmt, int(missing[0]))}: target column "{name}" is empty or NaN '
            f"({missing.size} row{'s' if missing.size > 1 else ''} in all). Fill it in or remove the row"
        )
    if kind == "label":
        if is_text_column(table, name):
            return values
        for i, v in enumerate(values):
            if isinstance(v, dict | list):
                raise DataError(
                    f'{row_location(path, fmt, i)}: target column "{name}" holds a {type(v).__name__}, '
                    "not a label. Write one label per row"
                )
        return label_texts(values)
    if kind == "number":
        flags = (
            np.flatnonzero([isinstance(v, bool | np.bool_) for v in values])
            if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type))
            else np.zeros(0, dtype=np.int64)
        )
        if flags.size:
            raise DataError(
                f'{row_location(path, fmt, int(flags[0]))}: target column "{name}" holds {values[flags[0]]!r}, '
                "not a number. Regression targets must be numbers (write 1/0 if you mean them)"
            )
        if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
            numbers = np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)
        else:
            numbers = np.empty(values.shape[0])
            for i, v in enumerate(values):
                try:
                    numbers[i] = float(v)
                except (TypeError, ValueError):
                    raise DataError(
                        f'{row_location(path, fmt, i)}: target column "{name}" holds {v!r}, not a number. '
                        "Regression targets must be numbers"
                    ) from None
        bad = np.flatnonzero(~np.isfinite(numbers))
        if bad.size:
            raise DataError(
                f'{row_location(path, fmt, int(bad[0]))}: target column "{name}" is {numbers[bad[0]]}. '
                "Regression targets must be finite numbers"
            )
        return numbers
    out = np.empty(values.shape[0], dtype=object)
    for i, v in enumerate(values):
        refs = [v] if isinstance(v, str) else list(v) if isinstance(v, list | tuple) else None
        if not refs or not all(isinstance(r, str) for r in refs):
            raise DataError(
                f'{row_location(path, fmt, i)}: target column "{name}" must be a reference text or a '
                f"non-empty list of texts, got {v!r}"
            )
        out[i] = refs
    return out


def _hashable(values: NDArray[Any], *, text: bool = False) -> NDArray[Any]:
    if values.dtype != object or text:
        return values
    return np.asarray(
        [
            "\x00null"
            if v is None
            else v
            if isinstance(v, str)
            else json.dumps(v, sort_keys=True, default=str)
            for v in values
        ],
        dtype=object,
    )


def _content_hash(
    ids: NDArray[np.object_],
    inputs: NDArray[Any],
    targets: NDArray[Any],
    *,
    text_inputs: bool,
    text_targets: bool,
) -> str:
    """SHA-256 over per-row hashes of ids, inputs and targets (format independent)."""
    h = hashlib.sha256()
    for values, text, repeated in (
        (ids, True, False),
        (inputs, text_inputs, False),
        (targets, text_targets, True),
    ):
        # labels repeat: factorising first is faster; unique ids and texts hash directly
        row_hashes = pd.util.hash_array(_hashable(values, text=text), categorize=repeated)
        h.update(np.ascontiguousarray(row_hashes).tobytes())
    return h.hexdigest()
