"""Splitting a dataset into train, validation and test, or into cross-validation folds.

The options pick one of four methods:

* **holdout** (the default): rows drawn at random with the seed. The test part has
  ⌈test × rows⌉ rows and the validation part ⌈validation × rows⌉, as scikit-learn's
  ``train_test_split`` counts them (and, with ``stratify``, allocates them per class).
  With ``group``, whole groups are dealt in a seeded order, each to the part furthest below
  its share of rows (of each class's rows, when also stratified).
* **chronological** (``time``): the earliest rows train, then validation, then test.
* **k-fold** (``folds``): ``KFold``, ``StratifiedKFold``, ``GroupKFold`` or
  ``StratifiedGroupKFold``, shuffled with the seed.
* **time-series** (``time_series``): the expanding windows of ``TimeSeriesSplit`` over the
  rows sorted by time (file order without ``time``).

The time-ordered methods work on *units*: rows, or whole groups with ``group``, ordered by
their earliest time. A cut never separates units that start at the same time (they go to
the later side), and every row of the earlier side is strictly earlier than the first row of
the later side. A gap of N drops the last N units before each cut (``TimeSeriesSplit``'s
``gap``); a duration gap drops the earlier units that end less than that long before it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import math
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from numpy.typing import NDArray

from heldout._errors import DataError, HeldoutError
from heldout._util._labels import label_text
from heldout._util._suggest import did_you_mean
from heldout._version import __version__
from heldout.data._checks import example_ids
from heldout.data._minhash import SHINGLE_WORDS, similar_pairs
from heldout.data._read import (
    FileFormat,
    column_values,
    detect_format,
    is_text_column,
    read_table,
    row_location,
)
from heldout.data._text_norm import as_text, normalize_texts, word_ngrams
from heldout.data._times import EPOCH, time_values

__all__ = [
    "CrossSplitDuplicate",
    "Gap",
    "SplitMethod",
    "SplitPart",
    "SplitPlan",
    "SplitResult",
    "cross_split_duplicates",
    "parse_gap",
    "plan_split",
    "split_dataset",
]

SplitMethod = Literal["holdout", "chronological", "k-fold", "time-series"]
PartName = Literal["train", "validation", "test"]
_TimeKind = Literal["datetime", "number", "order"]
_UNIT_SECONDS = {"s": 1, "m": 60, "min": 60, "h": 3_600, "d": 86_400, "w": 604_800}


@dataclass(frozen=True)
class Gap:
    """What to leave out between the parts of a time-ordered split.

    Attributes:
        units: the last N units (rows, or groups with ``group``) before each cut.
        seconds: earlier units ending less than this long before the cut (date/time columns).
    """

    units: int = 0
    seconds: float = 0.0
    text: str = field(default="", compare=False, repr=False)

    def __str__(self) -> str:
        return self.text or (f"{self.seconds:g}s" if self.seconds else str(self.units))


def parse_gap(text: str) -> Gap:
    """A gap from ``--gap``: a number of rows (``10``) or a duration (``7d``, ``12h``, ``30m``).

    Example:
        >>> parse_gap("2d")
        Gap(units=0, seconds=172800.0)
    """
    value = text.strip().lower()
    if value.isdigit():
        return Gap(units=int(value), text=text)
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)", value)
    if match is None:
        raise HeldoutError(
            f"--gap: expected a number of rows (10) or a duration (45s, 30m, 12h, 7d, 2w), "
            f"got {text!r}"
        )
    return Gap(seconds=float(match[1]) * _UNIT_SECONDS[match[2]], text=text)


@dataclass(frozen=True)
class SplitPart:
    """One file of the split.

    Attributes:
        name: train, validation or test.
        fold: 1-based fold number (k-fold and time-series), else ``None``.
        rows: 0-based positions of its rows in the source, ascending.
        classes: rows per class of the stratify column, largest first.
        groups: how many distinct groups it holds.
        time_range: earliest and latest time (ISO text for dates, else numbers).
        gap_rows: rows left out just before it, so that it starts after the gap.
    """

    name: PartName
    fold: int | None
    rows: NDArray[np.intp]
    classes: Mapping[str, int] | None = None
    groups: int | None = None
    time_range: tuple[str | float, str | float] | None = None
    gap_rows: int = 0

    @property
    def label(self) -> str:
        """``train``, or ``fold-2/train`` in a cross-validation."""
        return self.name if self.fold is None else f"fold-{self.fold}/{self.name}"


@dataclass(frozen=True)
class SplitPlan:
    """Which rows go where; :func:`plan_split` makes it, nothing is written yet."""

    method: SplitMethod
    rows: int
    parts: tuple[SplitPart, ...]
    folds: int | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def comparisons(self) -> Iterator[tuple[SplitPart, SplitPart]]:
        """The pairs of parts that must not share examples: every pair of a holdout, and
        train against test within each fold."""
        if self.folds is None:
            for i, first in enumerate(self.parts):
                for second in self.parts[i + 1 :]:
                    yield first, second
            return
        for fold in range(1, self.folds + 1):
            train, test = (p for p in self.parts if p.fold == fold)
            yield train, test


@dataclass(frozen=True)
class CrossSplitDuplicate:
    """The same input (``exact``, after normalisation) or a near-duplicate input (``near``,
    3-word shingle Jaccard ≥ the threshold) on both sides of a split."""

    kind: Literal["exact", "near"]
    fold: int | None
    first_split: str
    first_ids: tuple[str, ...]
    second_split: str
    second_ids: tuple[str, ...]
    jaccard: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "fold": self.fold,
            "first": {"split": self.first_split, "ids": list(self.first_ids)},
            "second": {"split": self.second_split, "ids": list(self.second_ids)},
            "jaccard": round(self.jaccard, 4),
        }


@dataclass(frozen=True)
class _Source:
    path: Path
    fmt: FileFormat
    table: pa.Table

    def column(self, name: str, option: str) -> pa.ChunkedArray:
        names = self.table.column_names
        if name not in names:
            raise DataError(
                f'{self.path}: column "{name}" (--{option}) not found{did_you_mean(name, names)}; '
                f"columns are: {', '.join(names)}. Pass --{option} with one of them"
            )
        return self.table.column(name)

    def where(self, row: int) -> str:
        return row_location(self.path, self.fmt, row)


def plan_split(
    table: pa.Table,
    *,
    path: Path,
    fmt: FileFormat,
    test: float | None = None,
    validation: float = 0.0,
    stratify: str | None = None,
    group: str | None = None,
    time: str | None = None,
    gap: Gap | str | None = None,
    folds: int | None = None,
    time_series: int | None = None,
    seed: int = 0,
) -> SplitPlan:
    """Decide which rows of ``table`` go to which part (see the module docstring).

    Args:
        table: the rows, as :func:`read_table` returns them.
        path, fmt: the file they come from, to name lines in errors.
        test, validation: fractions of the rows for a holdout (test defaults to 0.2;
            validation 0 means no validation part); train is the rest.
        stratify: column whose classes keep their proportions in every part.
        group: column whose groups never straddle two parts.
        time: column of ISO dates/datetimes or numbers; a chronological holdout, or the
            order of a time-series cross-validation.
        gap: left out between time-ordered parts: N units, or a duration (``"7d"``).
        folds: k of a k-fold cross-validation instead of a holdout.
        time_series: k of an expanding-window cross-validation instead of a holdout.
        seed: seed of every random choice.

    Raises:
        HeldoutError: options that do not go together, or fractions out of range.
        DataError: a missing column, a null group or class, a time that does not parse,
            or too few rows, classes or groups for the parts asked for.
    """
    src = _Source(path, fmt, table)
    gap = parse_gap(gap) if isinstance(gap, str) else (gap or Gap())
    method = _method(test, validation, stratify, time, gap, folds, time_series)
    n = table.num_rows
    y = None if stratify is None else _keys(src, stratify, "stratify")
    g = None if group is None else _keys(src, group, "group")
    times: NDArray[np.float64] | None = None
    kind: _TimeKind = "order"
    if time is not None:
        times, kind = _times(src, time)
    if gap.seconds and kind != "datetime":
        what = f'column "{time}" holds numbers' if time else "rows are in file order"
        raise HeldoutError(
            f"--gap {gap}: a duration needs a --time column of dates; {what}. "
            "Give the gap as a number of rows instead"
        )

    fold_rows: list[tuple[NDArray[np.intp], ...]]
    gaps: list[tuple[int, ...]]
    if method == "k-fold":
        assert folds is not None
        fold_rows = _kfold(n, folds, y, g, seed=seed, stratify=stratify, group=group)
        gaps = [(0, 0)] * folds
    elif method == "time-series":
        assert time_series is not None
        order = times if times is not None else np.arange(n, dtype=np.float64)
        fold_rows, gaps = _time_series(order, g, time_series, gap, kind=kind)
    else:
        test = 0.2 if test is None else test
        counts = _counts(n, test, validation)
        if y is not None:
            _check_classes(y, len(counts), stratify)
        if method == "chronological":
            assert times is not None
            rows, gap_rows = _chronological(times, g, counts, gap, kind=kind)
        elif g is not None:
            rows, gap_rows = _grouped_holdout(g, y, counts, n=n, seed=seed), (0,) * len(counts)
        else:
            rows = _random_holdout(n, y, counts, seed=seed, stratify=stratify)
            gap_rows = (0,) * len(counts)
        fold_rows, gaps = [rows], [gap_rows]

    dates = times is not None and bool(np.all(times % 86_400e6 == 0))
    parts: list[SplitPart] = []
    for f, (rows_of_fold, gaps_of_fold) in enumerate(zip(fold_rows, gaps, strict=True)):
        names: tuple[PartName, ...] = (
            ("train", "validation", "test") if len(rows_of_fold) == 3 else ("train", "test")
        )
        for name, rows_of_part, dropped in zip(names, rows_of_fold, gaps_of_fold, strict=True):
            part_rows = np.sort(rows_of_part).astype(np.intp)
            parts.append(
                SplitPart(
                    name=name,
                    fold=f + 1 if method in _CV else None,
                    rows=part_rows,
                    classes=None if y is None else _class_counts(y[part_rows]),
                    groups=None if g is None else len(set(g[part_rows].tolist())),
                    time_range=None
                    if times is None
                    else _time_range(times[part_rows], kind, dates=dates),
                    gap_rows=dropped,
                )
            )
    warnings: list[str] = []
    for part in parts:
        if part.gap_rows > 0.1 * n:
            why = " and ".join(
                ([f"--gap {gap}"] if gap.units or gap.seconds else [])
                + (["groups running past the cut"] if g is not None else [])
            )
            warnings.append(
                f"{part.gap_rows:,} rows ({part.gap_rows / n:.0%}) left out before "
                f"{part.label} ({why}); every row of a part is earlier than the next part"
            )
    if y is not None:
        every = _class_counts(y)
        for part in parts:
            if method == "k-fold" and part.name == "train":
                continue
            missing = [c for c in every if not (part.classes or {}).get(c)]
            if missing:
                warnings.append(
                    f"{part.label} has no rows of class {', '.join(repr(c) for c in missing[:5])}"
                )
    return SplitPlan(
        method=method,
        rows=n,
        parts=tuple(parts),
        folds=len(fold_rows) if method in _CV else None,
        warnings=tuple(warnings),
    )


_CV = ("k-fold", "time-series")


def _method(
    test: float | None,
    validation: float,
    stratify: str | None,
    time: str | None,
    gap: Gap,
    folds: int | None,
    time_series: int | None,
) -> SplitMethod:
    if folds is not None and time_series is not None:
        raise HeldoutError("--folds and --time-series are two kinds of cross-validation; pick one")
    cv = "--folds" if folds is not None else "--time-series" if time_series is not None else None
    if cv is not None:
        k = folds if folds is not None else time_series
        if k is None or k < 2:
            raise HeldoutError(f"{cv}: expected at least 2 folds, got {k}")
        if test is not None or validation:
            raise HeldoutError(
                f"{cv} gives each fold's test part; --test and --validation are for a holdout. "
                "Leave them out"
            )
    if folds is not None:
        if time is not None:
            raise HeldoutError(
                "--folds shuffles the rows; for folds in time order use --time-series with --time"
            )
        if gap.units or gap.seconds:
            raise HeldoutError("--gap applies to --time and --time-series; leave it out of --folds")
        return "k-fold"
    if stratify is not None and (time is not None or time_series is not None):
        raise HeldoutError(
            "--stratify does not go with a time-ordered split (the order decides each part); "
            "drop --stratify or --time"
        )
    if time_series is not None:
        return "time-series"
    if time is None and (gap.units or gap.seconds):
        raise HeldoutError("--gap needs --time (or --time-series): it separates parts in time")
    return "chronological" if time is not None else "holdout"


def _counts(n: int, test: float, validation: float) -> tuple[int, ...]:
    """Rows of (train, [validation,] test): ⌈fraction × n⌉ as scikit-learn counts them."""
    for option, value in (("--test", test), ("--validation", validation)):
        if not (0 <= value < 1) or (option == "--test" and value == 0):
            raise HeldoutError(
                f"{option}: expected a fraction of the rows between 0 and 1, got {value:g}. "
                f"Write e.g. {option} 0.2"
            )
    if test + validation >= 1:
        raise HeldoutError(
            f"--test {test:g} and --validation {validation:g} add up to {test + validation:g}, "
            "leaving no rows for train; they must add up to less than 1. Lower one of them"
        )

    def rows(fraction: float) -> int:
        return max(1, math.ceil(fraction * n - 1e-9))

    n_test = rows(test)
    n_val = rows(validation) if validation else 0
    if n - n_test - n_val < 1:
        raise DataError(
            f"{n} rows are too few for train, validation and test at these fractions; "
            "add rows or lower --test/--validation"
        )
    return (n - n_test - n_val, n_val, n_test) if validation else (n - n_test, n_test)


def _keys(src: _Source, name: str, option: str) -> NDArray[np.object_]:
    """A group or class column as text keys; a missing value is an error naming its line."""
    col = src.column(name, option)
    values = column_values(src.table, name)
    empty = np.asarray(pc.is_null(col, nan_is_null=True).to_numpy(zero_copy_only=False), bool)
    keys = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        if not empty[i]:
            keys[i] = label_text(v) if isinstance(v, str | int | float | np.generic) else as_text(v)
            empty[i] = keys[i].strip() == ""
    if empty.any():
        row = int(np.flatnonzero(empty)[0])
        raise DataError(
            f'{src.where(row)}: column "{name}" (--{option}) is empty on this row. '
            f"Fill it in, drop the row, or pass another --{option} column"
        )
    return keys


def _times(src: _Source, name: str) -> tuple[NDArray[np.float64], _TimeKind]:
    """Times as float64: microseconds since 1970 (UTC) for dates, else the numbers."""
    src.column(name, "time")  # a missing column is named with did-you-mean
    times, dates = time_values(src.table, name, locate=src.where)
    return times, "datetime" if dates else "number"


def _time_range(
    times: NDArray[np.float64], kind: _TimeKind, *, dates: bool
) -> tuple[str | float, str | float]:
    if times.size == 0:
        return ("", "")
    low, high = float(times.min()), float(times.max())
    if kind != "datetime":
        return (_number(low), _number(high))
    return (_iso(low, dates=dates), _iso(high, dates=dates))


def _number(value: float) -> float:
    return int(value) if value.is_integer() else value


def _iso(micros: float, *, dates: bool) -> str:
    moment = EPOCH + timedelta(microseconds=int(micros))
    return moment.date().isoformat() if dates else moment.isoformat()


def _class_counts(y: NDArray[np.object_]) -> dict[str, int]:
    counts = pd.Series(y, dtype=object).value_counts(sort=True)
    return {str(k): int(v) for k, v in counts.items()}


def _check_classes(
    y: NDArray[np.object_], parts: int, stratify: str | None, where: str = "splits"
) -> None:
    counts = _class_counts(y)
    rare = [(c, k) for c, k in counts.items() if k < parts]
    if rare:
        c, k = min(rare, key=lambda item: item[1])
        raise DataError(
            f'--stratify {stratify}: class "{c}" has {k} row{"s" * (k != 1)}, too few to '
            f"appear in all {parts} {where}. Merge rare classes, ask for fewer {where}, or "
            "drop --stratify"
        )


def _random_holdout(
    n: int,
    y: NDArray[np.object_] | None,
    counts: tuple[int, ...],
    *,
    seed: int,
    stratify: str | None,
) -> tuple[NDArray[np.intp], ...]:
    from sklearn.model_selection import train_test_split

    n_classes = 0 if y is None else len(set(y.tolist()))
    rest = np.arange(n, dtype=np.intp)
    taken: list[NDArray[np.intp]] = []
    for size in counts[:0:-1]:  # test first, then validation, from what is left
        if y is not None and min(size, rest.size - size) < n_classes:
            raise DataError(
                f"--stratify {stratify}: {n_classes} classes do not fit a part of "
                f"{min(size, rest.size - size)} rows. Raise --test/--validation, or drop "
                "--stratify"
            )
        try:
            rest, part = train_test_split(
                rest, test_size=size, random_state=seed, stratify=None if y is None else y[rest]
            )
        except ValueError as exc:  # a class left with one row after the test draw
            raise DataError(
                f"--stratify {stratify}: cannot stratify the validation part ({exc}). Merge "
                "rare classes, leave out --validation, or drop --stratify"
            ) from exc
        taken.append(np.asarray(part, dtype=np.intp))
    return (np.asarray(rest, dtype=np.intp), *reversed(taken))


def _grouped_holdout(
    g: NDArray[np.object_],
    y: NDArray[np.object_] | None,
    counts: tuple[int, ...],
    *,
    n: int,
    seed: int,
) -> tuple[NDArray[np.intp], ...]:
    """Deal whole groups, in a seeded order, each to the part with the largest shortfall of
    its rows (per class when stratified, each class weighed by its size)."""
    codes, uniques = pd.factorize(pd.Series(g, dtype=object))
    if len(uniques) < len(counts):
        raise DataError(
            f"--group: {len(uniques)} groups are too few for {len(counts)} parts; "
            "every part needs a whole group. Use a finer --group column"
        )
    classes = np.zeros(n, dtype=np.int64) if y is None else pd.factorize(y)[0]
    cells = pd.DataFrame({"g": codes, "c": classes}).value_counts().sort_index()
    cell_group = cells.index.get_level_values("g").to_numpy()
    cell_class = cells.index.get_level_values("c").to_numpy()
    cell_rows = cells.to_numpy().astype(np.float64)
    bounds = np.searchsorted(cell_group, np.arange(len(uniques) + 1))
    totals = np.bincount(classes).astype(np.float64)
    share = np.asarray(counts, dtype=np.float64) / n
    filled = np.zeros((len(counts), totals.size), dtype=np.float64)
    assign = np.empty(len(uniques), dtype=np.intp)
    for grp in np.random.default_rng(seed).permutation(len(uniques)).tolist():
        cls = cell_class[bounds[grp] : bounds[grp + 1]]
        x = cell_rows[bounds[grp] : bounds[grp + 1]]
        # the rise in Σ (filled − share·total)² / total if the group joined each part
        rise = (x * (x + 2 * (filled[:, cls] - share[:, None] * totals[cls])) / totals[cls]).sum(1)
        part = int(np.argmin(rise))
        filled[part, cls] += x
        assign[grp] = part
    if len(set(assign.tolist())) < len(counts):
        raise DataError(
            f"--group: the {len(uniques)} groups could not fill every part (a few groups hold "
            "most rows). Use a finer --group column or raise --test/--validation"
        )
    row_part = assign[codes]
    return tuple(np.flatnonzero(row_part == p) for p in range(len(counts)))


def _kfold(
    n: int,
    k: int,
    y: NDArray[np.object_] | None,
    g: NDArray[np.object_] | None,
    *,
    seed: int,
    stratify: str | None,
    group: str | None,
) -> list[tuple[NDArray[np.intp], ...]]:
    from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold, StratifiedKFold

    if n < k:
        raise DataError(f"--folds {k}: only {n} rows. Ask for at most {n} folds")
    if g is not None and len(set(g.tolist())) < k:
        raise DataError(
            f"--folds {k}: --group {group} has only {len(set(g.tolist()))} groups, and every "
            "fold needs one. Ask for fewer folds or use a finer --group column"
        )
    if y is not None:
        _check_classes(y, k, stratify, where="folds")
    x = np.zeros((n, 1))
    if y is not None and g is not None:
        splits = StratifiedGroupKFold(k, shuffle=True, random_state=seed).split(x, y, g)
    elif g is not None:
        splits = GroupKFold(k, shuffle=True, random_state=seed).split(x, groups=g)
    elif y is not None:
        splits = StratifiedKFold(k, shuffle=True, random_state=seed).split(x, y)
    else:
        splits = KFold(k, shuffle=True, random_state=seed).split(x)
    return [(np.asarray(tr, np.intp), np.asarray(te, np.intp)) for tr, te in splits]


@dataclass(frozen=True)
class _Units:
    """Rows or groups ordered by (start, end, first row); ``unit`` maps a row to its rank."""

    start: NDArray[np.float64]
    end: NDArray[np.float64]
    size: NDArray[np.int64]
    unit: NDArray[np.intp]

    @classmethod
    def of(cls, times: NDArray[np.float64], g: NDArray[np.object_] | None) -> _Units:
        codes = np.arange(times.size) if g is None else pd.factorize(pd.Series(g, dtype=object))[0]
        frame = pd.DataFrame({"u": codes, "t": times, "row": np.arange(times.size)})
        agg = frame.groupby("u", sort=True).agg(
            start=("t", "min"), end=("t", "max"), size=("t", "size"), first=("row", "min")
        )
        order = np.lexsort(
            (agg["first"].to_numpy(), agg["end"].to_numpy(), agg["start"].to_numpy())
        )
        rank = np.empty(order.size, dtype=np.intp)
        rank[order] = np.arange(order.size)
        return cls(
            start=agg["start"].to_numpy(np.float64)[order],
            end=agg["end"].to_numpy(np.float64)[order],
            size=agg["size"].to_numpy(np.int64)[order],
            unit=rank[codes],
        )

    def rows(self, units: NDArray[np.intp]) -> NDArray[np.intp]:
        return np.flatnonzero(np.isin(self.unit, units))

    def row_count(self, units: NDArray[np.intp]) -> int:
        return int(self.size[units].sum())

    def tie_back(self, units: NDArray[np.intp], cut: int) -> int:
        """Move a cut in ``units`` back so units starting at the same time stay together."""
        while cut > 0 and self.start[units[cut - 1]] == self.start[units[cut]]:
            cut -= 1
        return cut

    def before(
        self, units: NDArray[np.intp], cut_time: float, gap: Gap, scale: float
    ) -> NDArray[np.intp]:
        """The units that may stay on the earlier side of a cut at ``cut_time``."""
        kept = units[: max(units.size - gap.units, 0)]
        ends = self.end[kept]
        return kept[(ends < cut_time) & (cut_time - ends >= gap.seconds * scale)]


def _chronological(
    times: NDArray[np.float64],
    g: NDArray[np.object_] | None,
    counts: tuple[int, ...],
    gap: Gap,
    *,
    kind: _TimeKind,
) -> tuple[tuple[NDArray[np.intp], ...], tuple[int, ...]]:
    units = _Units.of(times, g)
    scale = 1e6 if kind == "datetime" else 1.0
    left = np.arange(units.start.size, dtype=np.intp)
    later: list[NDArray[np.intp]] = []
    dropped: list[int] = []
    names = ("train", "validation", "test") if len(counts) == 3 else ("train", "test")
    for target, name in zip(counts[:0:-1], names[:0:-1], strict=True):
        if left.size < 2:
            raise _too_few_times(name)
        tail = np.cumsum(units.size[left][::-1])[: left.size - 1]
        cut = units.tie_back(left, left.size - (int(np.argmin(np.abs(tail - target))) + 1))
        if cut == 0:
            raise _too_few_times(name)
        later.append(left[cut:])
        kept = units.before(left[:cut], float(units.start[left[cut]]), gap, scale)
        dropped.append(units.row_count(left[:cut]) - units.row_count(kept))
        left = kept
        if left.size == 0:
            raise _nothing_before(name, gap, grouped=g is not None)
    parts = (left, *reversed(later))
    return tuple(units.rows(p) for p in parts), (0, *reversed(dropped))


def _nothing_before(name: str, gap: Gap, *, grouped: bool) -> DataError:
    if grouped:
        return DataError(
            f"--group: no group ends before {name} starts"
            + (f" (less a gap of {gap})" if gap.units or gap.seconds else "")
            + "; every group spans the cut, so none can sit wholly before it. Lower "
            "--test/--validation, shorten --gap, or drop --group"
        )
    return DataError(
        f"--gap {gap}: no rows are left before {name} once the gap is taken out. "
        "Shorten the gap or lower --test/--validation"
    )


def _too_few_times(name: str) -> DataError:
    return DataError(
        f"the time column has too few distinct times to put any row before {name}. "
        "Lower --test/--validation or use a finer time column"
    )


def _time_series(
    times: NDArray[np.float64],
    g: NDArray[np.object_] | None,
    k: int,
    gap: Gap,
    *,
    kind: _TimeKind,
) -> tuple[list[tuple[NDArray[np.intp], ...]], list[tuple[int, ...]]]:
    """``TimeSeriesSplit`` over the units; a cut moved back over equal start times."""
    from sklearn.model_selection import TimeSeriesSplit

    units = _Units.of(times, g)
    count = units.start.size
    what = "groups" if g is not None else "rows"
    try:
        tests = [te for _, te in TimeSeriesSplit(n_splits=k, gap=gap.units).split(np.zeros(count))]
    except ValueError as exc:
        raise DataError(
            f"--time-series {k}: {count} {what} are too few for {k} folds with a gap of "
            f"{gap.units} ({exc}). Ask for fewer folds or a smaller gap"
        ) from exc
    order = np.arange(count, dtype=np.intp)
    starts = [units.tie_back(order, int(te[0])) for te in tests]
    if starts[0] == 0 or any(b <= a for a, b in itertools.pairwise(starts)):
        raise DataError(
            f"--time-series {k}: too many {what} share a time to cut {k} folds apart. "
            "Ask for fewer folds or use a finer time column"
        )
    scale = 1e6 if kind == "datetime" else 1.0
    folds: list[tuple[NDArray[np.intp], ...]] = []
    gaps: list[tuple[int, ...]] = []
    for fold, (a, b) in enumerate(zip(starts, [*starts[1:], count], strict=True), start=1):
        train = units.before(order[:a], float(units.start[a]), gap, scale)
        if train.size == 0:
            raise _nothing_before(f"the test of fold {fold}", gap, grouped=g is not None)
        folds.append((units.rows(train), units.rows(order[a:b])))
        gaps.append((0, units.row_count(order[:a]) - units.row_count(train)))
    return folds, gaps


def cross_split_duplicates(
    plan: SplitPlan,
    ids: NDArray[np.object_],
    inputs: NDArray[Any],
    *,
    near: float = 0.8,
    seed: int = 0,
) -> tuple[CrossSplitDuplicate, ...]:
    """Inputs that are the same, or nearly, on both sides of a split.

    Texts are compared as ``heldout check`` compares them: NFKC, case-folded, whitespace
    collapsed; near-duplicates by MinHash over 3-word shingles, verified by exact Jaccard.

    Args:
        plan: the split.
        ids, inputs: every row's id and input, in file order.
        near: the least Jaccard similarity of a near-duplicate.
        seed: seed of the MinHash permutations.
    """
    norm = normalize_texts(inputs)
    codes, _ = pd.factorize(norm)
    codes = np.where(norm.to_numpy() == "", -1, codes)
    first = np.flatnonzero(~norm.duplicated(keep="first").to_numpy() & (codes >= 0))
    shingles = word_ngrams(norm.iloc[first], SHINGLE_WORDS, partial=True)
    near_pairs = [
        (int(codes[first[p.first]]), int(codes[first[p.second]]), p.jaccard)
        for p in similar_pairs(shingles, threshold=near, seed=seed)
    ]
    near_codes = {c for x, y, _ in near_pairs for c in (x, y)}
    found: list[CrossSplitDuplicate] = []
    for a, b in plan.comparisons():
        ca, cb = codes[a.rows], codes[b.rows]
        shared = set(np.intersect1d(ca[ca >= 0], cb[cb >= 0]).tolist())
        ids_a = _ids_by_code(a.rows, ca, ids, shared | near_codes)
        ids_b = _ids_by_code(b.rows, cb, ids, shared | near_codes)
        for code in sorted(shared):
            found.append(
                CrossSplitDuplicate("exact", a.fold, a.name, ids_a[code], b.name, ids_b[code])
            )
        for x, y, score in near_pairs:
            for p, q in ((x, y), (y, x)):
                if p in ids_a and q in ids_b:
                    found.append(
                        CrossSplitDuplicate(
                            "near", a.fold, a.name, ids_a[p], b.name, ids_b[q], score
                        )
                    )
    return tuple(found)


def _ids_by_code(
    rows: NDArray[np.intp], codes: NDArray[Any], ids: NDArray[np.object_], wanted: set[int]
) -> dict[int, tuple[str, ...]]:
    """The ids of a part's rows per text code, for the codes in ``wanted`` (file order)."""
    out: dict[int, list[str]] = {}
    for row, code in zip(rows.tolist(), codes.tolist(), strict=True):
        if code in wanted:
            out.setdefault(code, []).append(str(ids[row]))
    return {code: tuple(v) for code, v in out.items()}


@dataclass(frozen=True)
class SplitResult:
    """What :func:`split_dataset` wrote: the plan, the cross-split findings (``None`` when
    there was no input column to compare) and the manifest document."""

    out: Path
    plan: SplitPlan
    duplicates: tuple[CrossSplitDuplicate, ...] | None
    manifest: Mapping[str, Any]


def split_dataset(
    data: Path,
    out: Path,
    *,
    test: float | None = None,
    validation: float = 0.0,
    stratify: str | None = None,
    group: str | None = None,
    time: str | None = None,
    gap: str | None = None,
    folds: int | None = None,
    time_series: int | None = None,
    seed: int = 0,
    id: str | None = None,
    input: str | None = None,
    near: float = 0.8,
    output_format: FileFormat | None = None,
    overwrite: bool = False,
) -> SplitResult:
    """Split a dataset file and write the parts and ``manifest.json`` into the folder ``out``.

    Everything is read, planned and checked first; the files are written into a hidden
    folder beside ``out`` that is renamed to ``out`` only once all of them are written, so
    an error leaves no ``out`` behind (and an existing one as it was).

    Args:
        data: the dataset (.jsonl, .csv or .parquet).
        out: the folder to create; it may exist only empty, or with ``overwrite``.
        test, validation, stratify, group, time, gap, folds, time_series, seed: see
            :func:`plan_split`.
        id: id column of the duplicate findings (default ``id`` if present, else row numbers).
        input: column compared across parts (default ``input`` if present, else no check).
        near: the least Jaccard similarity of a near-duplicate.
        output_format: format of the parts; the input's by default (rows are then copied
            byte for byte from the source file).
        overwrite: replace a folder ``out`` that is not empty.

    Example:
        >>> split_dataset(Path("tickets.jsonl"), Path("splits"), test=0.2, stratify="label")
        ... # doctest: +SKIP
    """
    if not 0.05 <= near <= 1:
        raise HeldoutError(f"--near: expected a Jaccard similarity in 0.05–1, got {near:g}")
    _check_out(out, overwrite=overwrite)
    source_fmt = detect_format(data)
    table = read_table(data, fmt=source_fmt, what="dataset")
    src = _Source(data, source_fmt, table)
    names = table.column_names
    if id is not None:
        src.column(id, "id")
    elif "id" in names:
        id = "id"
    if input is not None:
        src.column(input, "input")
    elif "input" in names:
        input = "input"
    plan = plan_split(
        table,
        path=data,
        fmt=source_fmt,
        test=test,
        validation=validation,
        stratify=stratify,
        group=group,
        time=time,
        gap=gap,
        folds=folds,
        time_series=time_series,
        seed=seed,
    )
    duplicates = None
    warnings = list(plan.warnings)
    if input is None:
        warnings.append(
            f'no column "input": the duplicate check across parts was skipped. Pass --input '
            f"(columns: {', '.join(names)})"
        )
    else:
        duplicates = cross_split_duplicates(
            plan, example_ids(table, id), column_values(table, input), near=near, seed=seed
        )
    fmt = output_format or source_fmt
    options = {
        "test": (0.2 if test is None else test) if plan.method not in _CV else None,
        "validation": validation if plan.method not in _CV else None,
        "stratify": stratify,
        "group": group,
        "time": time,
        "gap": gap,
        "folds": folds,
        "time_series": time_series,
        "id": id,
        "input": input,
        "near": near,
        "format": fmt,
    }
    manifest: dict[str, Any] = {
        "heldout_version": __version__,
        "source": {
            "path": str(data),
            "format": source_fmt,
            "rows": table.num_rows,
            "sha256": _file_sha256(data),
        },
        "method": plan.method,
        "seed": seed,
        "options": options,
        "folds": plan.folds,
        "splits": [],
        "duplicates": None
        if duplicates is None
        else {
            "input": input,
            "near_threshold": near,
            "exact": sum(d.kind == "exact" for d in duplicates),
            "near": sum(d.kind == "near" for d in duplicates),
            "findings": [d.to_dict() for d in duplicates],
        },
        "warnings": warnings,
    }
    records = _source_records(data, source_fmt, table.num_rows) if fmt == source_fmt else None

    def build(folder: Path) -> None:
        for part in plan.parts:
            rel = f"{part.label}{_SUFFIX[fmt]}"
            target = folder / rel
            target.parent.mkdir(exist_ok=True)
            _write_rows(table, part.rows, target, fmt, records)
            manifest["splits"].append(
                {
                    "name": part.name,
                    "fold": part.fold,
                    "file": rel,
                    "rows": int(part.rows.size),
                    "share": round(part.rows.size / table.num_rows, 4),
                    "sha256": _file_sha256(target),
                    "classes": None if part.classes is None else dict(part.classes),
                    "groups": part.groups,
                    "time_range": None if part.time_range is None else list(part.time_range),
                    "gap_rows": part.gap_rows,
                }
            )
        text = json.dumps(manifest, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
        (folder / "manifest.json").write_text(text, encoding="utf-8")

    _publish(out, build)
    return SplitResult(out=out, plan=plan, duplicates=duplicates, manifest=manifest)


_SUFFIX: dict[FileFormat, str] = {"jsonl": ".jsonl", "csv": ".csv", "parquet": ".parquet"}


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _source_records(path: Path, fmt: FileFormat, rows: int) -> tuple[bytes, list[bytes]] | None:
    """The header and each row's text as they stand in the source file, to copy them
    unchanged (``None`` for Parquet, or when the rows cannot be told apart for sure)."""
    if fmt == "parquet":
        return None
    raw = path.read_bytes()
    if fmt == "jsonl":
        lines = [ln.rstrip(b"\r\n") + b"\n" for ln in raw.split(b"\n") if ln.strip()]
        if lines and lines[0].startswith(b"\xef\xbb\xbf"):
            lines[0] = lines[0][3:]
        return (b"", lines) if len(lines) == rows else None
    lines_text = list(io.StringIO(raw.decode("utf-8-sig"), newline=""))
    reader = csv.reader(iter(lines_text))
    try:
        next(reader)
        head = reader.line_num
        records, seen = [], head
        for row in reader:
            if row:
                records.append(_line("".join(lines_text[seen : reader.line_num])))
            seen = reader.line_num
    except csv.Error:
        return None
    if len(records) != rows:
        return None
    return _line("".join(lines_text[:head])), records


def _line(text: str) -> bytes:
    data = text.encode("utf-8")
    return data if data.endswith(b"\n") else data + b"\n"


def _write_rows(
    table: pa.Table,
    rows: NDArray[np.intp],
    target: Path,
    fmt: FileFormat,
    records: tuple[bytes, list[bytes]] | None,
) -> None:
    if records is not None:
        head, lines = records
        with target.open("wb") as fh:
            fh.write(head)
            fh.writelines(lines[r] for r in rows.tolist())
        return
    part = table.take(pa.array(rows, type=pa.int64()))
    if fmt == "parquet":
        pq.write_table(part, target)
        return
    if fmt == "csv":
        try:
            pa_csv.write_csv(part, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise DataError(
                f"{target.name}: cannot write these columns as CSV ({exc}). "
                "Pass --format jsonl or --format parquet"
            ) from exc
        return
    columns = [
        list(column_values(part, n)) if _is_mixed(part, n) else part.column(n).to_pylist()
        for n in part.column_names
    ]
    with target.open("w", encoding="utf-8") as fh:
        for i in range(part.num_rows):
            obj = {n: col[i] for n, col in zip(part.column_names, columns, strict=True)}
            fh.write(json.dumps(obj, ensure_ascii=False, default=_json_default) + "\n")


def _is_mixed(table: pa.Table, name: str) -> bool:
    """A column of mixed JSON types, which :func:`read_table` keeps as JSON text."""
    t = table.schema.field(name).type
    text = pa.types.is_string(t) or pa.types.is_large_string(t)
    return bool(text and not is_text_column(table, name))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _check_out(out: Path, *, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise DataError(f"{out}: is a file; --out names a folder to create. Pass a new folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise DataError(
            f"{out}: folder exists and is not empty. Pass a new --out folder, or --overwrite "
            "to replace it"
        )


def _publish(out: Path, build: Callable[[Path], None]) -> None:
    """Build the folder beside ``out`` under a hidden name, then rename it into place."""
    parent = out.absolute().parent
    token = f"{os.getpid()}-{secrets.token_hex(4)}"
    tmp = parent / f".{out.name}.{token}.partial"
    old = parent / f".{out.name}.{token}.old"
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
        build(tmp)
        if out.is_dir():
            out.rename(old)
        tmp.rename(out)
    except OSError as exc:
        if old.exists() and not out.exists():
            old.rename(out)
        raise DataError(
            f"{out}: cannot write the split ({exc.strerror}). Pass an --out folder you can write to"
        ) from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
