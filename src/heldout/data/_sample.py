"""Stratified sampling of an eval set, with weights that keep its metrics unbiased.

A costly eval (an LLM judged on every example) can run on a smaller sample that keeps rare
classes visible: each class (stratum ``h``, ``N_h`` rows) gets ``n_h`` rows drawn without
replacement, at least ``min_per_class`` of them (all of them when the class is smaller).
Every sampled row carries the weight ``N_h / n_h``, the inverse of its inclusion
probability, so the weighted mean of a per-example score over the sample,
``sum(w_i * y_i) / sum(w_i)``, is the Horvitz–Thompson estimate of the mean over the whole
set (the weights sum to ``N``), however unevenly the classes were sampled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from heldout._errors import DataError
from heldout._util._labels import label_text
from heldout.data._read import FileFormat, column_values, is_text_column, row_location

__all__ = ["Allocation", "StratifiedSample", "Stratum", "stratified_sample"]

Allocation = Literal["proportional", "neyman"]


@dataclass(frozen=True)
class Stratum:
    """One class of the stratification column, in the population and in the sample.

    Attributes:
        value: the class (as text).
        population: rows of the class in the whole set (``N_h``).
        sample: rows of the class drawn (``n_h``).
        weight: ``N_h / n_h``, the weight of each of its sampled rows.
    """

    value: str
    population: int
    sample: int
    weight: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "population": self.population,
            "sample": self.sample,
            "weight": self.weight,
        }


@dataclass(frozen=True, eq=False)
class StratifiedSample:
    """The rows a stratified sample drew, and their weights.

    Attributes:
        rows: indices of the sampled rows in the table, ascending.
        weights: the weight of each sampled row, aligned with ``rows``.
        strata: per class: population and sample counts and the weight.
        column: the stratification column (``None``: one stratum, a simple random sample).
        allocation: ``proportional`` or ``neyman``.
        min_per_class: the floor each class was given.
        seed: the seed of the draw.
    """

    rows: NDArray[np.int64]
    weights: NDArray[np.float64]
    strata: tuple[Stratum, ...]
    column: str | None
    allocation: Allocation
    min_per_class: int
    seed: int

    @property
    def n(self) -> int:
        """Rows in the sample."""
        return int(self.rows.shape[0])

    @property
    def population(self) -> int:
        """Rows in the whole set."""
        return sum(s.population for s in self.strata)

    def table(self, table: pa.Table, *, weight_column: str = "weight") -> pa.Table:
        """The sampled rows of ``table``, in their original order, with the weight column."""
        taken = table.take(pa.array(self.rows))
        return taken.append_column(weight_column, pa.array(self.weights, type=pa.float64()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "population": self.population,
            "stratify": self.column,
            "allocation": self.allocation,
            "min_per_class": self.min_per_class,
            "seed": self.seed,
            "strata": [s.to_dict() for s in self.strata],
        }


def _fill(
    weight: NDArray[np.float64], lo: NDArray[np.float64], hi: NDArray[np.float64], n: int
) -> NDArray[np.float64]:
    """``clip(lam * weight, lo, hi)`` with the ``lam`` that makes it sum to ``n``."""
    if lo.sum() >= n:
        return lo
    top = np.where(weight > 0.0, hi, lo)
    if top.sum() <= n:
        return top
    low, high = 0.0, 1.0
    while np.clip(high * weight, lo, hi).sum() < n:
        high *= 2.0
    while high - low > 1e-10 * high:  # bisection: the sum is monotone in lam
        mid = (low + high) / 2.0
        if np.clip(mid * weight, lo, hi).sum() < n:
            low = mid
        else:
            high = mid
    return np.asarray(np.clip(high * weight, lo, hi), dtype=np.float64)


def _allocate(
    sizes: NDArray[np.int64], spread: NDArray[np.float64] | None, n: int, floor: int
) -> NDArray[np.int64]:
    """Rows per stratum: proportional to ``N_h`` (or ``N_h * S_h``), each within its floor
    and its size, summing to ``n``; fractions go to the largest remainders."""
    hi = sizes.astype(np.float64)
    lo = np.minimum(sizes, floor).astype(np.float64)
    share = hi if spread is None else hi * spread
    alloc = _fill(share, lo, hi, n)
    if alloc.sum() < n:  # Neyman with every varying class taken whole: spread the rest evenly
        alloc = _fill(hi, alloc, hi, n)
    counts = np.floor(alloc).astype(np.int64)  # never above alloc: the sum stays <= n
    left = n - int(counts.sum())
    if left > 0:
        remainder = np.where(counts < sizes, alloc - counts, -1.0)
        counts[np.argsort(-remainder, kind="stable")[:left]] += 1
    return counts


def _empty(where: str, column: str) -> DataError:
    return DataError(
        f'{where}: column "{column}" is empty; every row needs a class to sample by. '
        "Fill it, or drop the row"
    )


def _labels(
    table: pa.Table, column: str, path: Path | None, fmt: FileFormat | None
) -> NDArray[np.object_]:
    def where(i: int) -> str:
        return row_location(path, fmt, i) if path and fmt else f"row {i + 1}"

    values = column_values(table, column)
    if is_text_column(table, column):  # the common case, checked without a Python loop
        col = table.column(column)
        missing = pc.fill_null(pc.equal(col, ""), True).to_numpy(zero_copy_only=False)
        if missing.any():
            raise _empty(where(int(np.argmax(missing))), column)
        return values
    keys = np.empty(values.shape[0], dtype=object)
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and math.isnan(v)) or v == "":
            raise _empty(where(i), column)
        if isinstance(v, list | dict):
            raise DataError(
                f'{where(i)}: column "{column}" holds a {type(v).__name__}, not a class. '
                "Stratify by a column of labels"
            )
        keys[i] = label_text(v)
    return keys


def _spreads(
    table: pa.Table,
    column: str,
    groups: list[NDArray[np.int64]],
    path: Path | None,
    fmt: FileFormat | None,
) -> NDArray[np.float64]:
    values = column_values(table, column)
    numbers = np.empty(values.shape[0], dtype=np.float64)
    for i, v in enumerate(values):
        if isinstance(
            v, bool | np.bool_ | int | float | np.integer | np.floating
        ) and math.isfinite(float(v)):
            numbers[i] = float(v)
            continue
        where = row_location(path, fmt, i) if path and fmt else f"row {i + 1}"
        raise DataError(
            f'{where}: column "{column}" holds {v!r}, not a number; Neyman allocation '
            "needs a numeric score on every row (e.g. a baseline's 0/1 correctness)"
        )
    return np.array([float(numbers[g].std()) for g in groups], dtype=np.float64)


def stratified_sample(
    table: pa.Table,
    *,
    n: int,
    stratify: str | None,
    min_per_class: int = 1,
    seed: int,
    allocation: Allocation = "proportional",
    sd_column: str | None = None,
    path: Path | None = None,
    fmt: FileFormat | None = None,
) -> StratifiedSample:
    """Draw ``n`` rows, stratified by a class column, with inverse-probability weights.

    Each class gets a share of ``n`` proportional to its size (``proportional``), or to its
    size times the standard deviation of ``sd_column`` within it (``neyman``: the
    allocation with the smallest variance of the weighted mean of that score), but at
    least ``min_per_class`` rows, or all of its rows when it has fewer. Rows are drawn
    without replacement, each class with its own draw from one generator seeded by
    ``seed``; the weight of a sampled row is ``N_h / n_h``.

    Args:
        table: the whole eval set.
        n: rows to draw.
        stratify: the class column (``None``: a simple random sample, weight ``N / n``).
        min_per_class: the floor of each class (at least 1, so every class is estimated).
        seed: seed of the draw.
        allocation: ``proportional`` or ``neyman``.
        sd_column: numeric column whose per-class spread Neyman allocation follows.
        path: the file the table came from, for error messages.
        fmt: its format, for the line numbers in error messages.

    Returns:
        The sampled rows, their weights and the per-class counts.

    Raises:
        DataError: for a missing column, an empty class value, ``n`` larger than the table
            or smaller than the floors need.

    Example:
        >>> t = pa.table({"label": ["a"] * 90 + ["b"] * 10})
        >>> s = stratified_sample(t, n=20, stratify="label", min_per_class=5, seed=0)
        >>> [(x.value, x.sample, x.weight) for x in s.strata]
        [('a', 15, 6.0), ('b', 5, 2.0)]
    """
    where = str(path) if path is not None else "the table"
    total = table.num_rows
    for role, name in (("stratify", stratify), ("neyman-column", sd_column)):
        if name is not None and name not in table.column_names:
            raise DataError(
                f'{where}: column "{name}" ({role}) not found; columns are: '
                f"{', '.join(table.column_names)}. Pass --{role} with one of them"
            )
    if allocation not in ("proportional", "neyman"):
        raise DataError(f"allocation must be 'proportional' or 'neyman', got {allocation!r}")
    if allocation == "neyman" and sd_column is None:
        raise DataError(
            "Neyman allocation needs a numeric score column whose spread per class it follows. "
            "Pass --neyman-column COL, or use proportional allocation"
        )
    if min_per_class < 1:
        raise DataError(
            f"min-per-class must be at least 1 (a class with no sampled row has no weight), "
            f"got {min_per_class}"
        )
    if not 1 <= n <= total:
        raise DataError(
            f"{where}: cannot draw n={n} rows from {total:,}. Pass --n between 1 and {total}"
        )
    keys = (
        np.full(total, "all", dtype=object)
        if stratify is None
        else _labels(table, stratify, path, fmt)
    )
    values = sorted(set(keys.tolist()))
    groups = [np.flatnonzero(keys == v).astype(np.int64) for v in values]
    sizes = np.array([g.shape[0] for g in groups], dtype=np.int64)
    floors = int(np.minimum(sizes, min_per_class).sum())
    if floors > n:
        raise DataError(
            f"{where}: {len(values):,} classes with at least {min_per_class} rows each need "
            f"n >= {floors:,}, got n={n}. Raise --n or lower --min-per-class"
        )
    spread = None
    if allocation == "neyman" and sd_column is not None:
        spread = _spreads(table, sd_column, groups, path, fmt)
    counts = _allocate(sizes, spread, n, min_per_class)
    rng = np.random.default_rng(seed)
    rows = np.empty(n, dtype=np.int64)
    weights = np.empty(n, dtype=np.float64)
    strata = []
    at = 0
    for value, group, size, count in zip(values, groups, sizes, counts, strict=True):
        k = int(count)
        rows[at : at + k] = rng.choice(group, size=k, replace=False)
        weight = float(size) / k
        weights[at : at + k] = weight
        at += k
        strata.append(Stratum(value, int(size), k, weight))
    order = np.argsort(rows, kind="stable")
    strata.sort(key=lambda s: (-s.population, s.value))
    return StratifiedSample(
        rows=rows[order],
        weights=weights[order],
        strata=tuple(strata),
        column=stratify,
        allocation=allocation,
        min_per_class=min_per_class,
        seed=seed,
    )
