"""Sampling weights of a task's examples (``dataset.weight``), read and checked."""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

import numpy as np
from numpy.typing import NDArray

from heldout._errors import DataError, SpecError
from heldout._util._suggest import did_you_mean
from heldout.data import Dataset, column_values

__all__ = ["UNWEIGHTED_METRICS", "read_weights", "weighted_metrics"]

#: Metrics with no weighted estimate (DeLong's AUC, binned average precision).
UNWEIGHTED_METRICS = ("roc_auc", "pr_auc")


def _as_weight(value: Any) -> float | None:
    """The value as a positive finite weight, or ``None`` when it is not one."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, Real):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) and number > 0.0 else None


def read_weights(dataset: Dataset, column: str | None) -> NDArray[np.float64] | None:
    """The weight of every example, from the dataset's ``column`` (``None``: unweighted).

    Raises:
        DataError: naming the file, line and column when the column is absent or a weight
            is missing, not a number, zero, negative or infinite.
    """
    if column is None:
        return None
    names = [] if dataset.table is None else list(dataset.table.column_names)
    if dataset.table is None or column not in names:
        raise DataError(
            f'{dataset.path}: column "{column}" (dataset.weight) not found'
            f"{did_you_mean(column, names)}; columns are: {', '.join(names)}. "
            "heldout sample writes it as weight"
        )
    values = column_values(dataset.table, column)
    out = np.empty(len(values), dtype=np.float64)
    for i, value in enumerate(values):
        weight = _as_weight(value)
        if weight is None:
            missing = value is None or (isinstance(value, float) and math.isnan(value))
            what = "is missing" if missing else f"holds {value!r}, not a positive number"
            raise DataError(
                f'{dataset.where(i)}: column "{column}" (dataset.weight) {what}. Every example '
                "needs its sampling weight (N_h / n_h, as heldout sample writes it)"
            )
        out[i] = weight
    return out


def weighted_metrics(
    metrics: tuple[str, ...], *, chosen: bool, task: str, where: str
) -> tuple[str, ...]:
    """The task's metrics on a weighted dataset: the defaults without the metrics that
    have no weighted estimate, or a :class:`SpecError` when the spec lists one."""
    refused = [m for m in metrics if m.split(":", 1)[0] in UNWEIGHTED_METRICS]
    if not refused:
        return metrics
    if chosen:
        raise SpecError(
            f'{where}: task "{task}": {", ".join(refused)} cannot be estimated on a weighted '
            "sample (dataset.weight): heldout has no weighted form of it. Drop it from "
            "metrics:, or evaluate the full set without weights"
        )
    return tuple(m for m in metrics if m not in refused)
