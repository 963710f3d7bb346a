"""Per-example sufficient statistics: the currency between scoring and statistics.

A scorer turns examples and predictions into :class:`ScoreRows`: for each metric, the
per-example numbers it is aggregated from. Intervals and paired tests then resample rows of
these matrices instead of re-scoring, which is what makes 1,000 bootstrap resamples of a
million examples cheap.

Three kinds of metric:

``mean``
    The metric is the mean of one per-example value (accuracy, exact match, absolute error,
    log loss). Its block has one column. Intervals come from the CLT (Wilson for 0/1
    values); paired tests are McNemar (0/1) or a paired t-test.
``bootstrap``
    The metric is a non-linear function of the column sums of a block (F1 from confusion
    counts, BLEU from n-gram matches, R² from sums of squares). Intervals and paired tests
    resample the block's rows.
``auc``
    Area under the ROC curve, from labels and scores; intervals and paired tests use
    DeLong's placement values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from heldout._errors import MetricError

__all__ = ["Aggregate", "MetricDef", "MetricKind", "Ranking", "ScoreRows", "StatBlock"]

MetricKind = Literal["mean", "bootstrap", "auc"]

#: Maps column sums of a block, shape ``(..., k)``, to metric values, shape ``(...)``.
#: Must be vectorised over the leading axes: the bootstrap calls it once for all resamples.
Aggregate = Callable[[NDArray[np.float64]], NDArray[np.float64]]


@dataclass(frozen=True, eq=False)
class StatBlock:
    """Per-example sufficient statistics stored compactly.

    Example ``i`` has the statistics row ``table[codes[i]]``. Classification metrics use a
    few cells (one per confusion cell), so ``codes`` is the cell of each example and
    resampling only has to redraw cell counts; continuous statistics use one cell per
    example (``codes = arange(n)``).

    Attributes:
        codes: int64 array of shape ``(n,)``, the cell of each example.
        table: float64 array of shape ``(n_cells, k)``, the statistics of each cell, or
            ``None`` for one-hot cells (the sums are then the cell counts, ``k = n_cells``).
        n_cells: number of cells.
    """

    codes: NDArray[np.int64]
    table: NDArray[np.float64] | None
    n_cells: int

    @classmethod
    def dense(cls, values: NDArray[np.float64]) -> StatBlock:
        """One cell per example: ``values`` has shape ``(n,)`` or ``(n, k)``."""
        arr = np.asarray(values, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[:, None]
        n = arr.shape[0]
        return cls(codes=np.arange(n, dtype=np.int64), table=arr, n_cells=n)

    @classmethod
    def cells(
        cls, codes: NDArray[np.int64], n_cells: int, table: NDArray[np.float64] | None = None
    ) -> StatBlock:
        """Few cells: ``codes[i]`` is example ``i``'s cell; one-hot when ``table`` is None."""
        return cls(codes=np.asarray(codes, dtype=np.int64), table=table, n_cells=n_cells)

    @property
    def n(self) -> int:
        return int(self.codes.shape[0])

    @property
    def width(self) -> int:
        """Number of statistics per example (``k``)."""
        return self.n_cells if self.table is None else int(self.table.shape[1])

    def cell_counts(self, mask: NDArray[np.bool_] | None = None) -> NDArray[np.float64]:
        """How many (selected) examples fall in each cell."""
        codes = self.codes if mask is None else self.codes[mask]
        return np.bincount(codes, minlength=self.n_cells).astype(np.float64)

    def sums_from_counts(self, counts: NDArray[np.float64]) -> NDArray[np.float64]:
        """Column sums given cell counts of shape ``(..., n_cells)``."""
        if self.table is None:
            return counts
        return counts @ self.table

    def sums(self, mask: NDArray[np.bool_] | None = None) -> NDArray[np.float64]:
        """Column sums over all (or the selected) examples, shape ``(k,)``."""
        return self.sums_from_counts(self.cell_counts(mask))

    def rows(self) -> NDArray[np.float64]:
        """The dense ``(n, k)`` matrix; avoid on large one-hot blocks."""
        if self.table is None:
            out = np.zeros((self.n, self.n_cells))
            out[np.arange(self.n), self.codes] = 1.0
            return out
        return self.table[self.codes]

    def subset(self, mask: NDArray[np.bool_]) -> StatBlock:
        """The block restricted to the selected examples (for slices)."""
        if (
            self.table is not None
            and self.n_cells == self.n
            and np.array_equal(self.codes, np.arange(self.n))
        ):
            return StatBlock.dense(self.table[mask])
        return StatBlock(codes=self.codes[mask], table=self.table, n_cells=self.n_cells)


@dataclass(frozen=True, eq=False)
class Ranking:
    """Labels and scores for rank metrics (ROC-AUC).

    Attributes:
        y: int64 class index per example, shape ``(n,)``; for binary tasks 1 is positive.
        scores: float64 scores, shape ``(n,)`` for binary (score of class 1) or ``(n, C)``
            for one-vs-rest multiclass AUC (macro average over classes).
    """

    y: NDArray[np.int64]
    scores: NDArray[np.float64]

    def __post_init__(self) -> None:
        # A ranking is a value: it keeps read-only copies (the caller's arrays stay its
        # own), so the statistics can reuse what they computed from it, e.g. DeLong's
        # placement values, without fearing a later change.
        for name in ("y", "scores"):
            value = np.array(getattr(self, name), copy=True)
            value.flags.writeable = False
            object.__setattr__(self, name, value)

    @property
    def n(self) -> int:
        return int(self.y.shape[0])

    def subset(self, mask: NDArray[np.bool_]) -> Ranking:
        return Ranking(y=self.y[mask], scores=self.scores[mask])


@dataclass(frozen=True, eq=False)
class MetricDef:
    """One metric of a task: how it is aggregated and which way is better.

    Attributes:
        name: the metric's name as written in the spec (``macro_f1``, ``recall:billing``).
        kind: ``mean``, ``bootstrap`` or ``auc`` (see the module docstring).
        block: key of its :class:`StatBlock` (``mean``/``bootstrap``) or
            :class:`Ranking` (``auc``) in :class:`ScoreRows`.
        higher_is_better: ``*_score`` metrics are, ``*_error``/``*_loss`` metrics are not.
        aggregate: for ``bootstrap`` metrics, column sums to value (vectorised).
        binary: for ``mean`` metrics, whether every per-example value is 0 or 1.
        params: the metric's parameters, recorded in its signature.
    """

    name: str
    kind: MetricKind
    block: str
    higher_is_better: bool = True
    aggregate: Aggregate | None = None
    binary: bool = False
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class ScoreRows:
    """Everything one model's predictions on one task are scored into.

    Attributes:
        model: the model's name in the spec.
        n: number of examples.
        metrics: the metrics asked for, in the spec's order.
        blocks: sufficient-statistic blocks by key.
        rankings: label/score pairs by key, for ``auc`` metrics.
        per_example: named per-example columns to store and show (``correct``,
            ``token_f1``, ``abs_error``...), each of shape ``(n,)``.
        weights: sampling weights of the examples (``dataset.weight``), shape ``(n,)``,
            or ``None``; with weights every metric estimates the population's value
            (see :mod:`heldout.stats._weighted`).
    """

    model: str
    n: int
    metrics: tuple[MetricDef, ...]
    blocks: Mapping[str, StatBlock] = field(default_factory=dict)
    rankings: Mapping[str, Ranking] = field(default_factory=dict)
    per_example: Mapping[str, NDArray[np.float64]] = field(default_factory=dict)
    weights: NDArray[np.float64] | None = None

    def subset(self, mask: NDArray[np.bool_]) -> ScoreRows:
        """The same scores restricted to the selected examples (a slice)."""
        return ScoreRows(
            model=self.model,
            n=int(np.count_nonzero(mask)),
            metrics=self.metrics,
            blocks={k: b.subset(mask) for k, b in self.blocks.items()},
            rankings={k: r.subset(mask) for k, r in self.rankings.items()},
            per_example={k: v[mask] for k, v in self.per_example.items()},
            weights=None if self.weights is None else self.weights[mask],
        )

    def with_metric(
        self, definition: MetricDef, block: StatBlock, values: NDArray[np.float64], *, what: str
    ) -> ScoreRows:
        """These rows with one more metric, its block and its per-example column.

        Args:
            definition: the metric; its name keys the block and the column.
            block: its sufficient statistics.
            values: its per-example values, shape ``(n,)``.
            what: how the user calls it (``assertion``, ``custom metric``), for the error.

        Raises:
            MetricError: the name is already a block or a column of these rows.
        """
        name = definition.name
        if name in self.blocks or name in self.per_example:
            raise MetricError(
                f'{what} "{name}" has the name of a score column of the task; rename it'
            )
        return replace(
            self,
            metrics=(*self.metrics, definition),
            blocks={**self.blocks, name: block},
            per_example={**self.per_example, name: values},
        )

    def metric(self, name: str) -> MetricDef:
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(name)
