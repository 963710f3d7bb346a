"""Confusion matrices of classification predictions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["ConfusionMatrix", "confusion_matrix"]

INVALID_COLUMN = "(invalid)"


@dataclass(frozen=True)
class ConfusionMatrix:
    """Counts of (true label, predicted label); rows are true labels.

    ``columns`` equals ``labels`` plus, when some predictions were not a valid label,
    a final ``"(invalid)"`` column.
    """

    labels: tuple[str, ...]
    columns: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels": list(self.labels),
            "columns": list(self.columns),
            "counts": [list(r) for r in self.counts],
        }


def confusion_matrix(
    y_true: NDArray[np.int64], y_pred: NDArray[np.int64], labels: tuple[str, ...]
) -> ConfusionMatrix:
    """Counts of (true, predicted) label codes; ``-1`` predictions go to an ``(invalid)`` column."""
    c = len(labels)
    cols = np.where(y_pred < 0, c, y_pred)
    counts = np.bincount(y_true * (c + 1) + cols, minlength=c * (c + 1)).reshape(c, c + 1)
    if counts[:, c].sum() == 0:
        counts = counts[:, :c]
        columns = labels
    else:
        columns = (*labels, INVALID_COLUMN)
    return ConfusionMatrix(
        labels=labels, columns=columns, counts=tuple(tuple(int(v) for v in row) for row in counts)
    )
