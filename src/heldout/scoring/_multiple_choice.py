"""Multiple-choice scoring: the chosen option against the correct one.

``accuracy`` is the share of examples whose chosen option is the correct one.
``accuracy_norm`` picks the option with the highest log-likelihood per UTF-8 byte of its
text (lm-evaluation-harness's ``acc_norm``; for ASCII options, bytes and characters are
the same), which stops long options from losing just for being long.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from heldout._errors import MetricError
from heldout.scoring._base import MetricDef, ScoreRows, StatBlock
from heldout.scoring._registry import check_metrics

__all__ = ["score_multiple_choice"]

I64 = NDArray[np.int64]
_ZERO_ONE = np.array([[0.0], [1.0]])


def score_multiple_choice(
    y_true: I64,
    y_pred: I64,
    *,
    metrics: Sequence[str],
    model: str,
    y_pred_norm: I64 | None = None,
) -> ScoreRows:
    """Score chosen options (indices; ``-1`` for none) against the correct ones.

    Args:
        y_true: index of the correct option per example.
        y_pred: index of the chosen option; ``-1`` (no valid answer) is wrong.
        metrics: ``accuracy`` and/or ``accuracy_norm``.
        model: the model's name in the spec.
        y_pred_norm: the option chosen by length-normalised log-likelihood, needed by
            ``accuracy_norm``.

    Example:
        >>> from heldout.scoring import metric_value
        >>> rows = score_multiple_choice(np.array([0, 2]), np.array([0, 1]),
        ...     metrics=["accuracy"], model="tuned")
        >>> metric_value(rows, "accuracy")
        0.5
    """
    check_metrics("multiple_choice", metrics, has_proba=y_pred_norm is not None)
    y = np.asarray(y_true, dtype=np.int64)
    if np.asarray(y_pred).shape != y.shape:
        raise MetricError(f"{model}: {len(y_pred)} predictions for {len(y)} examples")
    columns = {"correct": (np.asarray(y_pred) == y).astype(np.int64)}
    if y_pred_norm is not None:
        columns["correct_norm"] = (np.asarray(y_pred_norm) == y).astype(np.int64)
    blocks: dict[str, StatBlock] = {}
    defs: list[MetricDef] = []
    per_example: dict[str, NDArray[np.float64]] = {"correct": columns["correct"].astype(float)}
    for name in metrics:
        column = "correct" if name == "accuracy" else "correct_norm"
        blocks[column] = StatBlock.cells(columns[column], 2, _ZERO_ONE)
        per_example[column] = columns[column].astype(np.float64)
        params = {"normalisation": "utf8_bytes"} if name == "accuracy_norm" else {}
        defs.append(MetricDef(name, "mean", column, True, binary=True, params=params))
    return ScoreRows(
        model=model, n=int(y.shape[0]), metrics=tuple(defs), blocks=blocks, per_example=per_example
    )
