"""Confusion-matrix metrics, aggregated from one shared block of cell counts.

Example ``i`` falls in cell ``true[i] * (C + 1) + (pred[i] + 1)``: a ``(C, C + 1)``
confusion matrix whose column 0 holds examples with no valid prediction (``pred == -1``).
Such an example is a false negative for its true class and a false positive for nobody.
Every aggregate reshapes counts ``(..., C * (C + 1))`` into matrices ``(..., C, C + 1)``,
so one call computes a metric for all bootstrap resamples at once. Values follow
scikit-learn with ``labels=range(C)`` and ``zero_division=0``, with "no prediction" taken
as an extra predicted label outside ``labels``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import NDArray

from heldout.scoring._aggregate import SumsAggregate, safe_divide
from heldout.scoring._base import StatBlock

__all__ = ["CONFUSION_METRICS", "confusion_aggregate", "confusion_block", "is_confusion_metric"]

Score = Literal["precision", "recall", "f1"]
Average = Literal["binary", "macro", "micro", "weighted", "class"]

CONFUSION_METRICS = frozenset(
    {
        "balanced_accuracy",
        "precision",
        "recall",
        "f1",
        "macro_precision",
        "macro_recall",
        "macro_f1",
        "micro_precision",
        "micro_recall",
        "micro_f1",
        "weighted_precision",
        "weighted_recall",
        "weighted_f1",
        "mcc",
    }
)

F64 = NDArray[np.float64]


class _Counts(NamedTuple):
    tp: F64  # (..., C) true positives per class
    predicted: F64  # (..., C) examples predicted as the class
    support: F64  # (..., C) examples of the class


def is_confusion_metric(name: str) -> bool:
    prefix, sep, _ = name.partition(":")
    return name in CONFUSION_METRICS or (sep != "" and prefix in ("precision", "recall", "f1"))


def confusion_block(
    y_true: NDArray[np.int64], y_pred: NDArray[np.int64], n_classes: int
) -> StatBlock:
    """One-hot cells of the ``(C, C + 1)`` confusion matrix (column 0: no prediction)."""
    codes = y_true * (n_classes + 1) + (y_pred + 1)
    return StatBlock.cells(codes, n_classes * (n_classes + 1))


def _matrix(sums: F64, n_classes: int) -> F64:
    return sums.reshape(*sums.shape[:-1], n_classes, n_classes + 1)


def _counts(sums: F64, n_classes: int) -> _Counts:
    cm = _matrix(sums, n_classes)
    matched = cm[..., 1:]
    return _Counts(
        tp=np.diagonal(matched, axis1=-2, axis2=-1),
        predicted=matched.sum(axis=-2),
        support=cm.sum(axis=-1),
    )


def _per_class(score: Score, tp: F64, predicted: F64, support: F64) -> F64:
    if score == "precision":
        return safe_divide(tp, predicted)
    if score == "recall":
        return safe_divide(tp, support)
    return safe_divide(2.0 * tp, predicted + support)


def _prf(sums: F64, *, n_classes: int, score: Score, average: Average, index: int) -> F64:
    c = _counts(sums, n_classes)
    if average == "micro":
        return _per_class(score, c.tp.sum(-1), c.predicted.sum(-1), c.support.sum(-1))
    values = _per_class(score, c.tp, c.predicted, c.support)
    if average in ("binary", "class"):
        return values[..., index]
    if average == "macro":
        mean: F64 = values.mean(axis=-1)
        return mean
    return safe_divide((values * c.support).sum(-1), c.support.sum(-1))


def _balanced_accuracy(sums: F64, *, n_classes: int) -> F64:
    # scikit-learn averages recall over the classes that occur in y_true.
    c = _counts(sums, n_classes)
    present = c.support > 0
    recall = safe_divide(c.tp, c.support)
    return safe_divide((recall * present).sum(-1), present.sum(-1).astype(np.float64))


def _mcc(sums: F64, *, n_classes: int) -> F64:
    cm = _matrix(sums, n_classes)
    t = cm.sum(axis=-1)  # (..., C)
    p = cm.sum(axis=-2)  # (..., C + 1), "no prediction" included as a predicted label
    n = t.sum(axis=-1)
    correct = np.trace(cm[..., 1:], axis1=-2, axis2=-1)
    cov_tp = correct * n - (t * p[..., 1:]).sum(-1)
    cov_pp = n**2 - (p * p).sum(-1)
    cov_tt = n**2 - (t * t).sum(-1)
    product = cov_pp * cov_tt
    return safe_divide(cov_tp, np.sqrt(np.where(product > 0, product, 0.0)))


def _prf_undefined(
    sums: F64, *, labels: tuple[str, ...], score: Score, average: Average, index: int
) -> str | None:
    c = _counts(sums, len(labels))
    no_pred = c.predicted == 0
    no_true = c.support == 0
    if average == "micro":
        empty = {
            "precision": no_pred.all(),
            "recall": no_true.all(),
            "f1": no_pred.all() & no_true.all(),
        }[score]
        return "no valid predictions; reported as 0" if empty else None
    if average in ("binary", "class"):
        no_pred, no_true = no_pred[index : index + 1], no_true[index : index + 1]
    elif average == "weighted":
        no_pred = no_pred & ~no_true  # classes without support carry no weight
        no_true = np.zeros_like(no_true)
    bad = {"precision": no_pred, "recall": no_true, "f1": no_pred & no_true}[score]
    if average in ("binary", "class"):
        bad_labels = [labels[index]] if bad.any() else []
    else:
        bad_labels = [labels[i] for i in np.flatnonzero(bad)]
    if not bad_labels:
        return None
    what = {
        "precision": "no example was predicted as",
        "recall": "no example is labelled",
        "f1": "no example is labelled or predicted as",
    }[score]
    names = ", ".join(f'"{x}"' for x in bad_labels)
    which = "that class" if len(bad_labels) == 1 else "those classes"
    return f"{score} is undefined because {what} {names}; reported as 0 for {which}"


def _mcc_undefined(sums: F64, *, n_classes: int) -> str | None:
    cm = _matrix(sums, n_classes)
    if (cm.sum(-1) > 0).sum() < 2 or (cm.sum(-2) > 0).sum() < 2:
        return "undefined when only one class is labelled or predicted; reported as 0"
    return None


def confusion_aggregate(name: str, labels: Sequence[str], positive: int) -> SumsAggregate:
    """The aggregate of confusion metric ``name`` over a block from :func:`confusion_block`.

    Args:
        name: a metric in :data:`CONFUSION_METRICS` or ``precision|recall|f1:LABEL``.
        labels: the class labels, in code order.
        positive: index of the positive label (binary ``precision``/``recall``/``f1``).
    """
    labels = tuple(labels)
    n_classes = len(labels)
    if name == "balanced_accuracy":
        return SumsAggregate(partial(_balanced_accuracy, n_classes=n_classes))
    if name == "mcc":
        return SumsAggregate(
            partial(_mcc, n_classes=n_classes), partial(_mcc_undefined, n_classes=n_classes)
        )
    score, average, index = _parse(name, labels, positive)
    return SumsAggregate(
        partial(_prf, n_classes=n_classes, score=score, average=average, index=index),
        partial(_prf_undefined, labels=labels, score=score, average=average, index=index),
    )


def _parse(name: str, labels: tuple[str, ...], positive: int) -> tuple[Score, Average, int]:
    prefix, sep, label = name.partition(":")
    if sep:
        return _SCORES[prefix], "class", labels.index(label)
    if name in _SCORES:
        return _SCORES[name], "binary", positive
    average, _, score = name.partition("_")
    return _SCORES[score], _AVERAGES[average], 0


_SCORES: dict[str, Score] = {"precision": "precision", "recall": "recall", "f1": "f1"}
_AVERAGES: dict[str, Average] = {"macro": "macro", "micro": "micro", "weighted": "weighted"}
