"""Regression scoring: per-example errors and the sums behind RMSE and R²."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import numpy as np
from numpy.typing import NDArray

from heldout._errors import DataError, MetricError
from heldout.scoring._aggregate import SumsAggregate, safe_divide
from heldout.scoring._base import MetricDef, ScoreRows, StatBlock
from heldout.scoring._registry import check_metrics

__all__ = ["score_regression"]

F64 = NDArray[np.float64]

#: Columns of the shared ``sums`` block: 1, y - c, (y - c)^2, squared error, where c is
#: the mean of y on the scored data (centring keeps R² accurate for large-mean targets;
#: R² does not depend on c).
_ONES, _Y, _Y2, _SQ = range(4)

#: Relative size under which the total sum of squares counts as zero (a constant target).
_CONSTANT_TOL = 1e-12


def _rmse(sums: F64) -> F64:
    return np.sqrt(safe_divide(sums[..., _SQ], sums[..., _ONES]))


def _r2_parts(sums: F64) -> tuple[F64, F64, NDArray[np.bool_]]:
    n, s1, s2, sse = (sums[..., i] for i in (_ONES, _Y, _Y2, _SQ))
    sst = s2 - safe_divide(s1 * s1, n)
    constant = sst <= _CONSTANT_TOL * s2
    return sse, sst, constant


def _r2(sums: F64) -> F64:
    # scikit-learn's force_finite: a constant target scores 1 if predicted exactly, else 0.
    sse, sst, constant = _r2_parts(sums)
    ratio = safe_divide(sse, np.where(constant, 1.0, sst))
    return np.where(constant, np.where(sse == 0, 1.0, 0.0), 1.0 - ratio)


def _r2_undefined(sums: F64) -> str | None:
    sse, _, constant = _r2_parts(sums)
    if bool(constant):
        value = 1 if sse == 0 else 0
        return f"undefined for a constant target; reported as {value} (scikit-learn's force_finite)"
    return None


def score_regression(y_true: F64, y_pred: F64, *, metrics: Sequence[str], model: str) -> ScoreRows:
    """Score one model's numeric predictions.

    ``mae``, ``mse`` and ``mape`` are means of the per-example columns ``abs_error``,
    ``sq_error`` and ``ape`` (``|y - ŷ| / max(|y|, eps)``, a fraction as in scikit-learn,
    not a percentage); ``rmse`` and ``r2`` are aggregated from a shared ``sums`` block.

    Example:
        >>> from heldout.scoring import metric_value
        >>> rows = score_regression(np.array([1.0, 2.0]), np.array([1.5, 2.0]),
        ...     metrics=["mae", "rmse"], model="tuned")
        >>> metric_value(rows, "mae")
        0.25
    """
    check_metrics("regression", metrics)
    y, yhat = _validated(y_true, y_pred)
    error = y - yhat
    columns: dict[str, F64] = {
        "abs_error": np.abs(error),
        "sq_error": error**2,
        "ape": np.abs(error) / np.maximum(np.abs(y), np.finfo(np.float64).eps),
    }
    blocks: dict[str, StatBlock] = {}
    per_example: dict[str, F64] = {}
    defs: list[MetricDef] = []
    mean_column = {"mae": "abs_error", "mse": "sq_error", "mape": "ape"}
    for name in metrics:
        if name in mean_column:
            column = mean_column[name]
            blocks[column] = StatBlock.dense(columns[column])
            per_example[column] = columns[column]
            params = {"epsilon": float(np.finfo(np.float64).eps)} if name == "mape" else {}
            defs.append(MetricDef(name, "mean", column, False, params=params))
        elif name in ("rmse", "r2"):
            if "sums" not in blocks:
                centred = y - y.mean()
                table = np.column_stack([np.ones_like(y), centred, centred**2, columns["sq_error"]])
                blocks["sums"] = StatBlock.dense(table)
            aggregate = (
                SumsAggregate(_rmse)
                if name == "rmse"
                else SumsAggregate(_r2, partial(_r2_undefined))
            )
            params = {"force_finite": True} if name == "r2" else {}
            defs.append(
                MetricDef(name, "bootstrap", "sums", name == "r2", aggregate, False, params)
            )
        else:  # pragma: no cover - check_metrics admits only the names above
            raise MetricError(f'metric "{name}" cannot be computed for regression')
    per_example.setdefault("abs_error", columns["abs_error"])
    return ScoreRows(
        model=model, n=int(y.size), metrics=tuple(defs), blocks=blocks, per_example=per_example
    )


def _validated(y_true: F64, y_pred: F64) -> tuple[F64, F64]:
    y = np.asarray(y_true, dtype=np.float64)
    yhat = np.asarray(y_pred, dtype=np.float64)
    if y.ndim != 1 or yhat.shape != y.shape:
        raise DataError(
            f"y_true and y_pred must be 1-D and of equal length, got shapes {y.shape} "
            f"and {yhat.shape}"
        )
    if y.size == 0:
        raise DataError("there are no examples to score")
    for what, values in (("y_true", y), ("y_pred", yhat)):
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise DataError(
                f"{what} holds {bad.size} non-finite values (first at index {bad[0]}); "
                "drop or fix those examples"
            )
    return y, yhat
