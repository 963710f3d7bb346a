"""Classification scoring: label codes (and optional probabilities) to sufficient statistics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from heldout._errors import DataError, MetricError
from heldout.scoring._average_precision import binary_ap_block, multiclass_ap_block
from heldout.scoring._base import MetricDef, Ranking, ScoreRows, StatBlock
from heldout.scoring._confusion import confusion_aggregate, confusion_block, is_confusion_metric
from heldout.scoring._registry import check_metrics, metric_info

__all__ = ["score_classification"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: Block holding 0/1 correctness, shared by ``accuracy`` and the ``correct`` column.
_ZERO_ONE = np.array([[0.0], [1.0]])


def score_classification(
    y_true: I64,
    y_pred: I64,
    *,
    labels: Sequence[str],
    metrics: Sequence[str],
    model: str,
    proba: F64 | None = None,
    positive_label: str | None = None,
) -> ScoreRows:
    """Score one model's class predictions into per-example sufficient statistics.

    Args:
        y_true: true class codes, indices into ``labels``, shape ``(n,)``.
        y_pred: predicted class codes; ``-1`` means no valid prediction (unparseable or
            missing), which is wrong for every metric: a false negative for the true
            class and a false positive for no class.
        labels: the class labels; two labels make the task binary.
        metrics: metric names (see :func:`available_metrics`).
        model: the model's name in the spec.
        proba: predicted probabilities, shape ``(n, len(labels))``, columns in label
            order; needed by ``roc_auc``, ``pr_auc``, ``log_loss`` and ``brier``.
        positive_label: the positive class of a binary task (default ``labels[1]``) for
            ``precision``, ``recall``, ``f1``, ``roc_auc``, ``pr_auc`` and ``brier``.

    Returns:
        The blocks and rankings of the metrics asked for, with per-example columns
        ``correct`` (always) and ``log_loss`` / ``brier`` when those are asked for.

    Example:
        >>> from heldout.scoring import metric_value
        >>> rows = score_classification(np.array([0, 1, 1]), np.array([0, 1, -1]),
        ...     labels=["no", "yes"], metrics=["accuracy", "f1"], model="tuned")
        >>> round(metric_value(rows, "f1"), 3)
        0.667
    """
    labels = tuple(labels)
    check_metrics("classification", metrics, labels=labels, has_proba=proba is not None)
    y_true, y_pred, proba = _validated(y_true, y_pred, proba, labels)
    n_classes = len(labels)
    binary = n_classes == 2
    positive = _positive_index(labels, positive_label) if binary else 1

    correct = (y_true == y_pred).astype(np.int64)
    blocks: dict[str, StatBlock] = {}
    rankings: dict[str, Ranking] = {}
    per_example: dict[str, F64] = {"correct": correct.astype(np.float64)}
    defs: list[MetricDef] = []
    if proba is not None:
        rankings["proba"] = (
            Ranking(y=(y_true == positive).astype(np.int64), scores=proba[:, positive])
            if binary
            else Ranking(y=y_true, scores=proba)
        )
    shape = {"average": "binary", "pos_label": labels[positive]} if binary else {}
    multi = {"average": "macro", "multi_class": "ovr", "labels": list(labels)}

    for name in metrics:
        higher = metric_info("classification", name).higher_is_better
        if name == "accuracy":
            blocks["correct"] = StatBlock.cells(correct, 2, _ZERO_ONE)
            defs.append(
                MetricDef(name, "mean", "correct", binary=True, params={"no_prediction": "wrong"})
            )
        elif is_confusion_metric(name):
            if "confusion" not in blocks:
                blocks["confusion"] = confusion_block(y_true, y_pred, n_classes)
            params = _confusion_params(name, labels, positive)
            aggregate = confusion_aggregate(name, labels, positive)
            defs.append(MetricDef(name, "bootstrap", "confusion", higher, aggregate, False, params))
        elif proba is not None and name == "roc_auc":
            defs.append(MetricDef(name, "auc", "proba", params=shape if binary else multi))
        elif proba is not None and name == "pr_auc":
            if binary:
                block, aggregate, params = binary_ap_block(rankings["proba"].y, proba[:, positive])
                params["pos_label"] = labels[positive]
            else:
                block, aggregate, params = multiclass_ap_block(y_true, proba, labels)
                params["labels"] = list(labels)
            params["point_ranking"] = "proba"
            blocks["pr_auc"] = block
            defs.append(MetricDef(name, "bootstrap", "pr_auc", True, aggregate, False, params))
        elif proba is not None and name == "log_loss":
            eps = float(np.finfo(np.float64).eps)
            p_true = proba[np.arange(y_true.size), y_true]
            loss = -np.log(np.clip(p_true, eps, 1.0 - eps))
            blocks["log_loss"] = StatBlock.dense(loss)
            per_example["log_loss"] = loss
            params = {"eps": eps, "clip": "[eps, 1 - eps] as in scikit-learn", "base": "e"}
            defs.append(MetricDef(name, "mean", "log_loss", False, params=params))
        elif proba is not None and name == "brier":
            loss, params = _brier(y_true, proba, positive, labels)
            blocks["brier"] = StatBlock.dense(loss)
            per_example["brier"] = loss
            defs.append(MetricDef(name, "mean", "brier", False, params=params))
        else:  # pragma: no cover - check_metrics admits only the names above
            raise MetricError(f'metric "{name}" cannot be computed for classification')

    return ScoreRows(
        model=model,
        n=int(y_true.size),
        metrics=tuple(defs),
        blocks=blocks,
        rankings=rankings,
        per_example=per_example,
    )


def _confusion_params(name: str, labels: tuple[str, ...], positive: int) -> dict[str, Any]:
    params: dict[str, Any] = {
        "labels": list(labels),
        "zero_division": 0,
        "no_prediction": "wrong: a false negative for the true class",
    }
    prefix, sep, label = name.partition(":")
    if sep:
        params.update(average=None, label=label)
    elif name in ("precision", "recall", "f1"):
        params.update(average="binary", pos_label=labels[positive])
    elif name.startswith(("macro_", "micro_", "weighted_")):
        params["average"] = prefix.split("_", 1)[0]
    return params


def _brier(
    y_true: I64, proba: F64, positive: int, labels: tuple[str, ...]
) -> tuple[F64, dict[str, Any]]:
    # scikit-learn 1.9 (scale_by_half="auto"): binary is the mean of (p_pos - y)^2 in
    # [0, 1]; multiclass sums the squared error over classes, in [0, 2].
    if len(labels) == 2:
        loss = (proba[:, positive] - (y_true == positive)) ** 2
        return loss, {"average": "binary", "pos_label": labels[positive], "range": "[0, 1]"}
    one_hot = (y_true[:, None] == np.arange(len(labels))[None, :]).astype(np.float64)
    loss = ((proba - one_hot) ** 2).sum(axis=1)
    return loss, {"multi_class": "sum over classes", "range": "[0, 2]"}


def _positive_index(labels: tuple[str, ...], positive_label: str | None) -> int:
    if positive_label is None:
        return 1
    if positive_label not in labels:
        raise MetricError(
            f'positive_label "{positive_label}" is not a task label '
            f"(labels: {', '.join(labels)}); set it to one of them"
        )
    return labels.index(positive_label)


def _validated(
    y_true: I64, y_pred: I64, proba: F64 | None, labels: tuple[str, ...]
) -> tuple[I64, I64, F64 | None]:
    n_classes = len(labels)
    if n_classes < 2 or len(set(labels)) != n_classes:
        raise DataError(f"classification needs two or more distinct labels, got {list(labels)}")
    true = np.asarray(y_true)
    pred = np.asarray(y_pred)
    if true.ndim != 1 or pred.shape != true.shape:
        raise DataError(
            f"y_true and y_pred must be 1-D and of equal length, got shapes {true.shape} "
            f"and {pred.shape}"
        )
    if true.size == 0:
        raise DataError("there are no examples to score")
    for what, codes, low in (("y_true", true, 0), ("y_pred", pred, -1)):
        if not np.issubdtype(codes.dtype, np.integer):
            raise DataError(f"{what} must hold integer label codes, got dtype {codes.dtype}")
        if codes.min() < low or codes.max() >= n_classes:
            raise DataError(
                f"{what} holds codes outside {low}..{n_classes - 1} "
                f"(min {codes.min()}, max {codes.max()}) for labels {list(labels)}"
            )
    if proba is None:
        return true.astype(np.int64), pred.astype(np.int64), None
    p = np.asarray(proba, dtype=np.float64)
    if p.shape != (true.size, n_classes):
        raise DataError(
            f"proba must have shape (n, labels) = {(true.size, n_classes)}, got {p.shape}; "
            "give one probability per label, in the order of task.labels"
        )
    bad_rows = np.flatnonzero(~(np.isfinite(p) & (p >= 0.0) & (p <= 1.0)).all(axis=1))
    if bad_rows.size:
        raise DataError(
            f"proba must hold probabilities in [0, 1], but {bad_rows.size} rows do not "
            f"(first: example {bad_rows[0]}, {p[bad_rows[0]].tolist()}); "
            "convert logits or scores with a softmax first"
        )
    return true.astype(np.int64), pred.astype(np.int64), p
