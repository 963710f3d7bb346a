"""Average precision (``pr_auc``) as an aggregate of resamplable counts.

Binary: one cell per (distinct score, label), thresholds in descending score order. With
tp/fp counts cumulated over thresholds, ``AP = sum_t (pos_t / P) * TP_t / (TP_t + FP_t)``,
which is scikit-learn's ``average_precision_score`` (ties share one threshold) computed
from counts. Past :data:`MAX_THRESHOLDS` distinct scores (fewer for large ``n``, see
:func:`thresholds_for`) the cells are quantile bins of the score instead (ties always
share a bin), which keeps resampling cheap at any ``n``; the
point estimate is then still scikit-learn's exact value, computed from the scores kept in
the ``proba`` ranking (``params["point"] == "exact"``).

Multiclass (one-vs-rest, macro): one cell per example, so counts are per-example weights;
the aggregate walks each class's fixed descending-score order with cumulative sums.
Classes with no positive example (in the data or in a resample) are left out of the macro
average; scikit-learn would refuse such data outright.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, partial
from typing import Any

import numpy as np
from numpy.typing import NDArray

from heldout.scoring._aggregate import SumsAggregate, safe_divide
from heldout.scoring._base import StatBlock

__all__ = ["LARGE_N", "MAX_THRESHOLDS", "binary_ap_block", "multiclass_ap_block", "thresholds_for"]

#: Most thresholds (distinct scores) kept exactly in the binary resampling block.
MAX_THRESHOLDS = 4096

#: Above this many examples the block uses about sqrt(n)/16 score bins (at least 64), so
#: that the paired bootstrap's joint (candidate bin, baseline bin, label) cells stay far
#: fewer than the examples and a resample costs O(cells), not O(n).
LARGE_N = 50_000


def thresholds_for(n: int) -> int:
    """How many thresholds the resampling block keeps for ``n`` examples."""
    if n <= LARGE_N:
        return MAX_THRESHOLDS
    return int(min(MAX_THRESHOLDS, max(64, np.sqrt(n) / 16)))


F64 = NDArray[np.float64]


def _threshold_index(scores: F64, max_thresholds: int) -> tuple[NDArray[np.int64], int, bool]:
    """Rank of each example's threshold, 0 for the highest score; and how many thresholds."""
    uniq, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    inverse = inverse.astype(np.int64).reshape(-1)
    if uniq.size <= max_thresholds:
        return uniq.size - 1 - inverse, int(uniq.size), False
    # Equal-mass quantile bins: a distinct score goes to the bin of its first occurrence in
    # sorted order, so tied examples always share a bin; empty bins are dropped.
    first = np.cumsum(counts) - counts
    bins = first * max_thresholds // scores.size
    kept, bin_of_uniq = np.unique(bins, return_inverse=True)
    n_bins = int(kept.size)
    return n_bins - 1 - bin_of_uniq.reshape(-1)[inverse].astype(np.int64), n_bins, True


def _binary_ap(sums: F64, *, n_thresholds: int) -> F64:
    cells = sums.reshape(*sums.shape[:-1], n_thresholds, 2)
    pos = cells[..., 1]
    tp = np.cumsum(pos, axis=-1)
    seen = np.cumsum(cells[..., 0] + pos, axis=-1)
    return safe_divide((pos * safe_divide(tp, seen)).sum(-1), tp[..., -1])


def _binary_undefined(sums: F64, *, n_thresholds: int) -> str | None:
    if sums.reshape(n_thresholds, 2)[:, 1].sum() == 0:
        return "undefined because no example is positive; reported as 0"
    return None


def binary_ap_block(
    y: NDArray[np.int64], scores: F64, *, max_thresholds: int | None = None
) -> tuple[StatBlock, SumsAggregate, dict[str, Any]]:
    """Block, aggregate and params of binary average precision.

    Args:
        y: 1 for the positive class, else 0.
        scores: the positive class's predicted probability.
        max_thresholds: beyond this many distinct scores, cells are quantile bins
            (default: :func:`thresholds_for` the number of examples).
    """
    if max_thresholds is None:
        max_thresholds = thresholds_for(int(y.size))
    rank, n_thresholds, binned = _threshold_index(scores, max_thresholds)
    block = StatBlock.cells(2 * rank + y, 2 * n_thresholds)
    aggregate = SumsAggregate(
        partial(_binary_ap, n_thresholds=n_thresholds),
        partial(_binary_undefined, n_thresholds=n_thresholds),
    )
    params: dict[str, Any] = {
        "average": "binary",
        "resampling_cells": "quantile_bins" if binned else "distinct_scores",
        "thresholds": n_thresholds,
        "max_thresholds": max_thresholds,
        "point": "exact",
    }
    return block, aggregate, params


@dataclass(frozen=True, eq=False)
class _MulticlassAP:
    """Macro one-vs-rest AP from per-example weights ``(..., n)``.

    Each class's descending-score order and tie-group ends are computed on first use (the
    bootstrap needs them; scoring alone does not), then walked with cumulative sums.
    """

    y: NDArray[np.int64]
    proba: F64

    @cached_property
    def _walks(self) -> list[tuple[NDArray[np.intp], NDArray[np.bool_], NDArray[np.intp]]]:
        n = self.y.size
        walks = []
        for c in range(self.proba.shape[1]):
            order = np.argsort(-self.proba[:, c])  # ties are grouped below, so any order
            ends = np.append(np.flatnonzero(np.diff(self.proba[order, c]) != 0), n - 1)
            walks.append((order, self.y[order] == c, ends))
        return walks

    def __call__(self, sums: F64) -> F64:
        total = np.zeros(sums.shape[:-1])
        used = np.zeros(sums.shape[:-1])
        for order, positive, ends in self._walks:
            weight = sums[..., order]
            tp = np.cumsum(weight * positive, axis=-1)[..., ends]
            seen = np.cumsum(weight, axis=-1)[..., ends]
            gained = np.diff(tp, axis=-1, prepend=0.0)
            n_pos = tp[..., -1]
            total += safe_divide((gained * safe_divide(tp, seen)).sum(-1), n_pos)
            used += n_pos > 0
        return safe_divide(total, used)


def _multiclass_undefined(
    sums: F64, *, labels: tuple[str, ...], y: NDArray[np.int64]
) -> str | None:
    weight = np.bincount(y, weights=sums, minlength=len(labels))
    missing = [labels[c] for c in np.flatnonzero(weight == 0)]
    if not missing:
        return None
    names = ", ".join(f'"{x}"' for x in missing)
    return f"no example is labelled {names}; left out of the macro average"


def multiclass_ap_block(
    y: NDArray[np.int64], proba: F64, labels: tuple[str, ...]
) -> tuple[StatBlock, SumsAggregate, dict[str, Any]]:
    """Block, aggregate and params of one-vs-rest macro average precision."""
    n = y.size
    aggregate = SumsAggregate(
        _MulticlassAP(y, proba), partial(_multiclass_undefined, labels=labels, y=y)
    )
    params: dict[str, Any] = {
        "average": "macro",
        "multi_class": "ovr",
        "resampling_cells": "examples",
        "point": "exact",
    }
    return StatBlock.cells(np.arange(n, dtype=np.int64), n), aggregate, params
