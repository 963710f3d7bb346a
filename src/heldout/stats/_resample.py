"""Resampled cell counts: the engine under every bootstrap in this package.

A bootstrap resample draws ``N`` *units* (examples, or clusters when ``cluster`` is set) with
replacement. Units with identical statistics form a *type* (a confusion cell, a pair of
cells for a paired comparison, or a single example or cluster), so a resample is fully
described by how many units of each type it drew. Its column sums are then
``counts @ type_sums`` for every block at once.

Two ways to draw the counts, both exactly the row-resampling distribution:

- few types (``8 * types <= units``): ``rng.multinomial(N, share_of_each_type, size=B)``,
  ``O(B * types)`` and no per-row work at all;
- otherwise unit indices are drawn in chunks of at most ``_BUDGET`` numbers and
  ``np.bincount``-ed into counts, so memory stays bounded for a million rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import NDArray

from heldout._util._scipy import sparse
from heldout.scoring import StatBlock
from heldout.stats._clusters import ClusterCodes

__all__ = ["Design", "design_for", "jackknife_sums", "resampled_sums"]

#: Most numbers held at once in a chunk of drawn indices or counts (32 MiB of int64).
_BUDGET = 1 << 22
#: The multinomial shortcut is used when there are at least this many units per type.
_UNITS_PER_TYPE = 8

#: ``scipy.sparse.csr_array`` (scipy has no type hints, so it reads as ``Any``).
SparseRows: TypeAlias = Any
#: Per-type column sums: dense, or sparse for large one-hot blocks.
TypeSums: TypeAlias = NDArray[np.float64] | SparseRows


@dataclass(frozen=True, eq=False)
class Design:
    """Resampling units grouped into types of identical units.

    Attributes:
        multiplicity: how many units of each type the data hold, shape ``(T,)``.
        unit_type: the type of each unit, shape ``(N,)``; ``None`` when unit ``u`` is type
            ``u``.
        type_sums: per block, the column sums of one unit of each type, ``(T, k_b)``.
    """

    multiplicity: NDArray[np.float64]
    unit_type: NDArray[np.int64] | None
    type_sums: tuple[TypeSums, ...]

    @property
    def n_units(self) -> int:
        return round(float(self.multiplicity.sum()))

    @property
    def n_types(self) -> int:
        return int(self.multiplicity.shape[0])


def _one_hot_rows(cells: NDArray[np.int64], n_cells: int) -> TypeSums:
    rows = cells.shape[0]
    if rows * n_cells <= _BUDGET:
        out = np.zeros((rows, n_cells))
        out[np.arange(rows), cells] = 1.0
        return out
    data = np.ones(rows)
    return sparse.csr_array((data, (np.arange(rows), cells)), shape=(rows, n_cells))


def _cell_rows(block: StatBlock, cells: NDArray[np.int64]) -> TypeSums:
    """The statistics of one example in each of the given cells."""
    if block.table is None:
        return _one_hot_rows(cells, block.n_cells)
    return np.asarray(block.table[cells], dtype=np.float64)


def _per_example(block: StatBlock) -> bool:
    return block.n_cells * 2 > block.n


def _clustered(blocks: Sequence[StatBlock], clusters: ClusterCodes) -> Design:
    g = clusters.n_clusters
    type_sums: list[TypeSums] = []
    for block in blocks:
        # Per-cluster cell counts, (G, n_cells), sparse: a cluster touches few cells.
        counts = sparse.csr_array(
            (np.ones(block.n), (clusters.codes, block.codes)), shape=(g, block.n_cells)
        )
        if block.table is None:
            dense = g * block.n_cells <= _BUDGET
            type_sums.append(counts.toarray() if dense else counts)
        else:
            type_sums.append(np.asarray(counts @ block.table, dtype=np.float64))
    return Design(np.ones(g), None, tuple(type_sums))


def design_for(blocks: Sequence[StatBlock], clusters: ClusterCodes | None = None) -> Design:
    """Group the examples (or clusters) of blocks over the same examples into types.

    Args:
        blocks: one block, or a candidate and a baseline block on the same examples.
        clusters: resample whole clusters instead of examples.

    Returns:
        The design; with several blocks a type is a joint cell (one cell in each block).
    """
    if clusters is not None:
        return _clustered(blocks, clusters)
    n = blocks[0].n
    if any(_per_example(b) for b in blocks):
        cells = [b.codes for b in blocks]
        return Design(
            np.ones(n), None, tuple(_cell_rows(b, c) for b, c in zip(blocks, cells, strict=True))
        )
    if len(blocks) == 1:
        joint = blocks[0].codes
        kinds = np.arange(blocks[0].n_cells, dtype=np.int64)
        multiplicity = blocks[0].cell_counts()
        cells = [kinds]
    else:
        # Mixed-radix joint cell code, compressed to the joint cells that occur.
        code = np.zeros(n, dtype=np.int64)
        for b in blocks:
            code = code * b.n_cells + b.codes
        uniques, inverse, counts = np.unique(code, return_inverse=True, return_counts=True)
        joint = inverse.astype(np.int64).ravel()
        multiplicity = counts.astype(np.float64)
        cells = []
        rest = uniques
        for b in reversed(blocks):
            cells.append(rest % b.n_cells)
            rest = rest // b.n_cells
        cells.reverse()
    type_sums = tuple(_cell_rows(b, c) for b, c in zip(blocks, cells, strict=True))
    return Design(multiplicity, joint, type_sums)


def _counts(
    design: Design, n_resamples: int, rng: np.random.Generator
) -> Iterator[NDArray[np.float64]]:
    units, types = design.n_units, design.n_types
    if types * _UNITS_PER_TYPE <= units:
        share = design.multiplicity / units
        chunk = max(1, _BUDGET // types)
        for start in range(0, n_resamples, chunk):
            size = min(chunk, n_resamples - start)
            yield rng.multinomial(units, share, size=size).astype(np.float64)
        return
    chunk = max(1, _BUDGET // max(units, types))
    for start in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - start)
        drawn = rng.integers(0, units, size=(size, units))
        if design.unit_type is not None:
            drawn = design.unit_type[drawn]
        drawn += (np.arange(size, dtype=np.int64) * types)[:, None]
        flat = np.bincount(drawn.ravel(), minlength=size * types)
        yield flat.reshape(size, types).astype(np.float64)


def _times(counts: NDArray[np.float64], sums: TypeSums) -> NDArray[np.float64]:
    if isinstance(sums, np.ndarray):
        return counts @ sums
    return np.asarray((sums.T @ counts.T).T, dtype=np.float64)


def resampled_sums(
    design: Design, n_resamples: int, rng: np.random.Generator
) -> list[NDArray[np.float64]]:
    """Column sums of every block on each of ``n_resamples`` bootstrap resamples.

    Args:
        design: the units and types to resample.
        n_resamples: number of resamples ``B``.
        rng: the random generator (consumed).

    Returns:
        One ``(B, k_b)`` array per block, all from the same resampled counts.
    """
    parts: list[list[NDArray[np.float64]]] = [[] for _ in design.type_sums]
    for counts in _counts(design, n_resamples, rng):
        for part, sums in zip(parts, design.type_sums, strict=True):
            part.append(_times(counts, sums))
    return [np.concatenate(part, axis=0) for part in parts]


def jackknife_sums(design: Design) -> tuple[NDArray[np.float64], list[NDArray[np.float64]]]:
    """Leave-one-unit-out column sums, one row per type that occurs.

    Leaving out any one unit of a type gives the same sums, so the jackknife costs one
    aggregate evaluation per type, weighted by the type's multiplicity.

    Returns:
        The weights (multiplicities) and one ``(T', k_b)`` array per block.
    """
    keep = design.multiplicity > 0
    weights = design.multiplicity[keep]
    out: list[NDArray[np.float64]] = []
    for sums in design.type_sums:
        total = _times(design.multiplicity[None, :], sums)
        rows = sums[keep] if isinstance(sums, np.ndarray) else sums[np.flatnonzero(keep)].toarray()
        out.append(total - rows)
    return weights, out
