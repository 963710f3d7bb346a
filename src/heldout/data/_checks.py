"""The data report: what is wrong with a dataset before any model is scored on it.

Every check is a pure function of the table's columns; :func:`check_data` runs them all and
returns a frozen :class:`DataReport`. Texts are compared after :func:`normalize_texts`
(NFKC, case-folded, whitespace collapsed).

Length outliers use Tukey's far-out fences: an input whose length in characters is below
``Q1 − 3·IQR`` or above ``Q3 + 3·IQR`` is reported.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from heldout._errors import DataError
from heldout._util._labels import label_text
from heldout._util._suggest import did_you_mean
from heldout.data._leakage import LeakageReport
from heldout.data._minhash import NUM_PERM, SHINGLE_WORDS, similar_pairs
from heldout.data._read import FileFormat, column_values, is_text_column
from heldout.data._text_norm import as_text, normalize_texts, text_lengths, word_ngrams

__all__ = [
    "ClassBalance",
    "ColumnSummary",
    "DataReport",
    "DuplicateGroup",
    "LabelConflict",
    "LengthOutliers",
    "NearDuplicate",
    "check_data",
    "example_ids",
]

#: Tukey's far-out fence: outliers lie beyond Q1 − 3·IQR and Q3 + 3·IQR.
OUTLIER_IQR = 3.0


@dataclass(frozen=True)
class ColumnSummary:
    """A column's missing (null) and empty (blank text, empty list or object) values."""

    name: str
    missing: int
    empty: int


@dataclass(frozen=True)
class DuplicateGroup:
    """Examples whose inputs are the same after normalisation."""

    ids: tuple[str, ...]


@dataclass(frozen=True)
class NearDuplicate:
    """Two examples whose inputs' 3-word shingle sets have Jaccard ≥ the threshold."""

    first: str
    second: str
    jaccard: float


@dataclass(frozen=True)
class LabelConflict:
    """The same normalised input with different targets (``targets[i]`` belongs to ``ids[i]``)."""

    ids: tuple[str, ...]
    targets: tuple[str, ...]


@dataclass(frozen=True)
class ClassBalance:
    """Counts per target class.

    Attributes:
        counts: examples per class, largest first.
        imbalance_ratio: largest count over smallest count.
        min_count: the least count a class should have.
        rare: classes with fewer than ``min_count`` examples (spec labels absent count 0).
        unknown: targets that are not in the spec's labels, each with its example ids.
    """

    counts: Mapping[str, int]
    imbalance_ratio: float
    min_count: int
    rare: tuple[str, ...]
    unknown: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class LengthOutliers:
    """Inputs whose length in characters lies outside ``[low, high]``."""

    q1: float
    q3: float
    low: float
    high: float
    short: tuple[str, ...]
    long: tuple[str, ...]


@dataclass(frozen=True)
class DataReport:
    """Everything :func:`check_data` found. ``to_dict`` gives the JSON document."""

    path: str
    rows: int
    columns: tuple[ColumnSummary, ...]
    duplicates: tuple[DuplicateGroup, ...]
    near_duplicates: tuple[NearDuplicate, ...]
    conflicts: tuple[LabelConflict, ...]
    balance: ClassBalance | None
    lengths: LengthOutliers | None
    settings: Mapping[str, Any]
    leakage: LeakageReport | None = None

    def findings(self) -> dict[str, int]:
        """How many of each finding, by the names ``--fail-on`` takes."""
        return {
            "duplicates": len(self.duplicates),
            "near-duplicates": len(self.near_duplicates),
            "conflicts": len(self.conflicts),
            "unknown-labels": sum(len(v) for v in self.balance.unknown.values())
            if self.balance
            else 0,
            "rare-classes": len(self.balance.rare) if self.balance else 0,
            "length-outliers": len(self.lengths.short) + len(self.lengths.long)
            if self.lengths
            else 0,
            "leakage": len(self.leakage.contaminated_ids) if self.leakage else 0,
        }

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-able data (the schema of ``heldout check --json``)."""
        balance = self.balance
        lengths = self.lengths
        return {
            "path": self.path,
            "rows": self.rows,
            "settings": dict(self.settings),
            "findings": self.findings(),
            "columns": [
                {"name": c.name, "missing": c.missing, "empty": c.empty} for c in self.columns
            ],
            "duplicates": [list(g.ids) for g in self.duplicates],
            "near_duplicates": [
                {"ids": [p.first, p.second], "jaccard": round(p.jaccard, 4)}
                for p in self.near_duplicates
            ],
            "conflicts": [{"ids": list(c.ids), "targets": list(c.targets)} for c in self.conflicts],
            "balance": None
            if balance is None
            else {
                "counts": dict(balance.counts),
                "imbalance_ratio": balance.imbalance_ratio,
                "min_count": balance.min_count,
                "rare": list(balance.rare),
                "unknown": {k: list(v) for k, v in balance.unknown.items()},
            },
            "length_outliers": None
            if lengths is None
            else {
                "q1": lengths.q1,
                "q3": lengths.q3,
                "low": lengths.low,
                "high": lengths.high,
                "short": list(lengths.short),
                "long": list(lengths.long),
            },
            "leakage": None if self.leakage is None else self.leakage.to_dict(),
        }


def example_ids(table: pa.Table, id: str | None) -> NDArray[np.object_]:
    """The ``id`` column as text, or 1-based row numbers (``"1"``, ``"2"``…) without one."""
    if id is None:
        return np.asarray([str(i + 1) for i in range(table.num_rows)], dtype=object)
    values = column_values(table, id)
    return np.asarray([label_text(v) for v in values], dtype=object)


def require_column(path: Path, table: pa.Table, role: str, name: str) -> None:
    """Raise :class:`DataError` naming the columns when ``name`` is not one."""
    names = table.column_names
    if name not in names:
        raise DataError(
            f'{path}: column "{name}" ({role}) not found{did_you_mean(name, names)}; '
            f"columns are: {', '.join(names)}. Pass --{role} or --spec"
        )


def check_data(
    table: pa.Table,
    *,
    path: Path,
    id: str | None,
    input: str,
    target: str | None,
    labels: tuple[str, ...] | None = None,
    classification: bool | None = None,
    near: float = 0.8,
    min_count: int = 5,
    seed: int = 0,
    fmt: FileFormat | None = None,
    norm: pd.Series | None = None,
) -> DataReport:
    """Check a dataset table: missing values, duplicates, conflicts, balance, lengths.

    Args:
        table: the rows, as :func:`read_table` returns them.
        path: the file, for the report.
        id: column of example ids; ``None`` uses 1-based row numbers.
        input: column of model inputs.
        target: column of targets; ``None`` skips conflicts and class balance.
        labels: the spec's label set; targets outside it are reported as unknown.
        classification: whether targets are class labels; ``None`` guesses (text, integer
            or boolean targets are labels).
        near: the least Jaccard similarity of 3-word shingle sets for a near-duplicate.
        min_count: classes with fewer examples are reported as rare.
        seed: seed of the MinHash permutations.
        fmt: the file's format (unused by the checks; kept for the report).
        norm: ``normalize_texts`` of the input column when the caller already has it (the
            leakage check needs it too), so the texts are normalised once.

    Raises:
        DataError: a named column is not in the table.
    """
    require_column(path, table, "input", input)
    if id is not None:
        require_column(path, table, "id", id)
    if target is not None:
        require_column(path, table, "target", target)
    ids = example_ids(table, id)
    inputs = column_values(table, input)
    if norm is None:
        norm = normalize_texts(inputs)
    targets = None if target is None else column_values(table, target)

    duplicates, groups = _duplicate_groups(norm, ids)
    near_pairs = _near_duplicates(norm, ids, threshold=near, seed=seed)
    conflicts: tuple[LabelConflict, ...] = ()
    balance = None
    if targets is not None:
        keys = pd.Series([_target_key(v) for v in targets], dtype=object)
        conflicts = _conflicts(groups, ids, keys)
        if classification is None:
            classification = _looks_like_labels(table, target or "")
        if classification:
            balance = class_balance(keys, ids, labels=labels, min_count=min_count)
    return DataReport(
        path=str(path),
        rows=table.num_rows,
        columns=tuple(_column_summary(table, name) for name in table.column_names),
        duplicates=duplicates,
        near_duplicates=near_pairs,
        conflicts=conflicts,
        balance=balance,
        lengths=length_outliers(text_lengths(inputs), ids, present=norm.to_numpy() != ""),
        settings={
            "id": id,
            "input": input,
            "target": target,
            "near_threshold": near,
            "shingle_words": SHINGLE_WORDS,
            "num_perm": NUM_PERM,
            "seed": seed,
            "min_count": min_count,
            "outlier_iqr": OUTLIER_IQR,
        },
    )


def _column_summary(table: pa.Table, name: str) -> ColumnSummary:
    col = table.column(name)
    empty = 0
    if is_text_column(table, name):
        blank = pc.equal(pc.utf8_trim_whitespace(col), "")
        empty = int(pc.sum(blank).as_py() or 0)
    elif pa.types.is_list(col.type) or pa.types.is_large_list(col.type):
        empty = int(pc.sum(pc.equal(pc.list_value_length(col), 0)).as_py() or 0)
    elif pa.types.is_struct(col.type):
        empty = 0
    if pa.types.is_floating(col.type):
        nan = int(pc.sum(pc.is_nan(col)).as_py() or 0)
        return ColumnSummary(name, col.null_count + nan, empty)
    return ColumnSummary(name, col.null_count, empty)


def _duplicate_groups(
    norm: pd.Series, ids: NDArray[np.object_]
) -> tuple[tuple[DuplicateGroup, ...], list[NDArray[np.intp]]]:
    """Groups of positions sharing a non-empty normalised input, in order of first row."""
    dup = norm.duplicated(keep=False).to_numpy() & (norm.to_numpy() != "")
    rows = np.flatnonzero(dup)
    if rows.size == 0:
        return (), []
    codes, _ = pd.factorize(norm.iloc[rows])
    order = np.argsort(codes, kind="stable")
    edges = np.flatnonzero(np.r_[True, np.diff(codes[order]) != 0, True])
    groups = [rows[order[lo:hi]] for lo, hi in itertools.pairwise(edges.tolist())]
    return tuple(DuplicateGroup(tuple(str(ids[i]) for i in g)) for g in groups), groups


def _near_duplicates(
    norm: pd.Series, ids: NDArray[np.object_], *, threshold: float, seed: int
) -> tuple[NearDuplicate, ...]:
    """Near-duplicates among distinct normalised inputs (exact duplicates are reported apart;
    each distinct input is named by its first example)."""
    first = np.flatnonzero(~norm.duplicated(keep="first").to_numpy() & (norm.to_numpy() != ""))
    shingles = word_ngrams(norm.iloc[first], SHINGLE_WORDS, partial=True)
    pairs = similar_pairs(shingles, threshold=threshold, seed=seed)
    found = [
        NearDuplicate(str(ids[first[p.first]]), str(ids[first[p.second]]), p.jaccard) for p in pairs
    ]
    return tuple(sorted(found, key=lambda p: (-p.jaccard, p.first, p.second)))


def _target_key(value: Any) -> str:
    if isinstance(value, str | bool | int | float | np.generic) or value is None:
        return "" if value is None else label_text(value)
    return as_text(value)


def _conflicts(
    groups: list[NDArray[np.intp]], ids: NDArray[np.object_], keys: pd.Series
) -> tuple[LabelConflict, ...]:
    values = keys.to_numpy()
    out = []
    for g in groups:
        targets = values[g]
        if len(set(targets.tolist())) > 1:
            out.append(LabelConflict(tuple(str(ids[i]) for i in g), tuple(map(str, targets))))
    return tuple(out)


def _looks_like_labels(table: pa.Table, name: str) -> bool:
    t = table.schema.field(name).type
    return bool(
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_integer(t)
        or pa.types.is_boolean(t)
    )


def class_balance(
    keys: pd.Series,
    ids: NDArray[np.object_],
    *,
    labels: tuple[str, ...] | None,
    min_count: int,
) -> ClassBalance:
    """Counts per class, the imbalance ratio, rare classes and targets outside ``labels``."""
    present = keys[keys != ""]
    counts = present.value_counts(sort=True)
    table = {str(k): int(v) for k, v in counts.items()}
    if labels:
        for label in labels:
            table.setdefault(label, 0)
    nonzero = [v for v in table.values() if v > 0]
    ratio = max(nonzero) / min(nonzero) if nonzero else float("nan")
    rare = tuple(sorted(k for k, v in table.items() if v < min_count))
    unknown: dict[str, tuple[str, ...]] = {}
    if labels:
        allowed = set(labels)
        bad = ~present.isin(allowed)
        for key, rows in present[bad].groupby(present[bad], sort=True).groups.items():
            unknown[str(key)] = tuple(str(ids[i]) for i in rows)
    return ClassBalance(
        counts=table, imbalance_ratio=ratio, min_count=min_count, rare=rare, unknown=unknown
    )


def length_outliers(
    lengths: NDArray[np.int64], ids: NDArray[np.object_], *, present: NDArray[np.bool_]
) -> LengthOutliers | None:
    """Inputs beyond Tukey's far-out fences on length in characters (missing inputs skipped)."""
    values = lengths[present]
    if values.size < 4:
        return None
    q1, q3 = (float(q) for q in np.percentile(values, [25, 75]))
    iqr = q3 - q1
    low, high = q1 - OUTLIER_IQR * iqr, q3 + OUTLIER_IQR * iqr
    short = np.flatnonzero(present & (lengths < low))
    long = np.flatnonzero(present & (lengths > high))
    return LengthOutliers(
        q1=q1,
        q3=q3,
        low=low,
        high=high,
        short=tuple(str(ids[i]) for i in short),
        long=tuple(str(ids[i]) for i in long),
    )
