"""Builders of score rows for the statistics tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from numpy.typing import NDArray

from heldout.scoring import MetricDef, Ranking, ScoreRows, StatBlock

#: Confusion cells of a binary classifier, in the order of the one-hot columns.
TP, FP, FN, TN = 0, 1, 2, 3


def f1_from_sums(sums: NDArray[np.float64]) -> NDArray[np.float64]:
    """Binary F1 from one-hot confusion sums ``(..., 4)``; nan when undefined."""
    tp, fp, fn = sums[..., TP], sums[..., FP], sums[..., FN]
    return 2 * tp / (2 * tp + fp + fn)


def precision_from_sums(sums: NDArray[np.float64]) -> NDArray[np.float64]:
    return sums[..., TP] / (sums[..., TP] + sums[..., FP])


def confusion_codes(y: NDArray[np.int64], pred: NDArray[np.int64]) -> NDArray[np.int64]:
    return np.where(y == 1, np.where(pred == 1, TP, FN), np.where(pred == 1, FP, TN)).astype(
        np.int64
    )


def classification_rows(
    model: str,
    y: NDArray[np.int64],
    pred: NDArray[np.int64],
    scores: NDArray[np.float64] | None = None,
) -> ScoreRows:
    """Binary classification scores: accuracy (mean), F1 and precision (bootstrap), AUC."""
    correct = (pred == y).astype(np.int64)
    metrics = [
        MetricDef("accuracy", "mean", "correct", binary=True),
        MetricDef("f1", "bootstrap", "confusion", aggregate=f1_from_sums),
        MetricDef("precision", "bootstrap", "confusion", aggregate=precision_from_sums),
    ]
    rankings = {}
    if scores is not None:
        metrics.append(MetricDef("auc", "auc", "ranking"))
        rankings["ranking"] = Ranking(y=np.asarray(y, dtype=np.int64), scores=scores)
    return ScoreRows(
        model=model,
        n=int(y.shape[0]),
        metrics=tuple(metrics),
        blocks={
            "confusion": StatBlock.cells(confusion_codes(y, pred), 4),
            "correct": StatBlock.cells(correct, 2, np.array([[0.0], [1.0]])),
        },
        rankings=rankings,
    )


def regression_rows(model: str, abs_error: NDArray[np.float64]) -> ScoreRows:
    """A continuous lower-is-better mean metric."""
    return ScoreRows(
        model=model,
        n=int(abs_error.shape[0]),
        metrics=(MetricDef("mae", "mean", "abs_error", higher_is_better=False),),
        blocks={"abs_error": StatBlock.dense(abs_error)},
    )


RowsBuilder = Callable[..., ScoreRows]


@pytest.fixture
def make_classification_rows() -> RowsBuilder:
    return classification_rows


@pytest.fixture
def make_regression_rows() -> RowsBuilder:
    return regression_rows


@pytest.fixture
def f1() -> Callable[[NDArray[np.float64]], NDArray[np.float64]]:
    return f1_from_sums
