"""Which metrics each task type offers, which are on by default, and name checking.

The catalogue is data: one :class:`MetricInfo` per metric name (per-class metrics are one
entry for the ``precision:LABEL`` family). Scorers build a metric from its name; the
name plus the recorded ``params`` are enough to rebuild it for a stored run.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from heldout._errors import MetricError, SpecError

__all__ = [
    "PER_CLASS_PREFIXES",
    "MetricInfo",
    "TaskType",
    "available_metrics",
    "builtin_metrics",
    "check_metrics",
    "default_metrics",
    "metric_info",
]

TaskType = Literal["classification", "multiple_choice", "regression", "generation"]

#: Families of per-class metrics, written ``precision:LABEL``.
PER_CLASS_PREFIXES = ("precision", "recall", "f1")


@dataclass(frozen=True)
class MetricInfo:
    """What the catalogue knows about a metric before any data is seen.

    Attributes:
        name: the spec name (for per-class families, the prefix with ``:LABEL``).
        higher_is_better: ``False`` for errors and losses.
        default: on when the spec lists no metrics.
        needs_proba: needs predicted class probabilities.
        binary_only: only defined for two labels; ``instead`` names the multiclass metric.
        instead: the metric to suggest when ``binary_only`` is violated.
    """

    name: str
    higher_is_better: bool = True
    default: bool = False
    needs_proba: bool = False
    binary_only: bool = False
    instead: str | None = None


def _info(*items: MetricInfo) -> dict[str, MetricInfo]:
    return {m.name: m for m in items}


_CLASSIFICATION = _info(
    MetricInfo("accuracy", default=True),
    MetricInfo("balanced_accuracy", default=True),
    MetricInfo("precision", default=True, binary_only=True, instead="macro_precision"),
    MetricInfo("recall", default=True, binary_only=True, instead="macro_recall"),
    MetricInfo("f1", default=True, binary_only=True, instead="macro_f1"),
    MetricInfo("macro_precision", default=True),
    MetricInfo("macro_recall", default=True),
    MetricInfo("macro_f1", default=True),
    MetricInfo("micro_precision"),
    MetricInfo("micro_recall"),
    MetricInfo("micro_f1", default=True),
    MetricInfo("weighted_precision"),
    MetricInfo("weighted_recall"),
    MetricInfo("weighted_f1", default=True),
    MetricInfo("mcc", default=True),
    MetricInfo("roc_auc", default=True, needs_proba=True),
    MetricInfo("pr_auc", default=True, needs_proba=True),
    MetricInfo("log_loss", higher_is_better=False, default=True, needs_proba=True),
    MetricInfo("brier", higher_is_better=False, default=True, needs_proba=True),
)

_REGRESSION = _info(
    MetricInfo("mae", higher_is_better=False, default=True),
    MetricInfo("mse", higher_is_better=False),
    MetricInfo("rmse", higher_is_better=False, default=True),
    MetricInfo("mape", higher_is_better=False),
    MetricInfo("r2", default=True),
)

_GENERATION = _info(
    MetricInfo("exact_match", default=True),
    MetricInfo("token_f1", default=True),
    MetricInfo("bleu", default=True),
    MetricInfo("chrf", default=True),
    MetricInfo("ter", higher_is_better=False),
    MetricInfo("rouge1"),
    MetricInfo("rouge2"),
    MetricInfo("rougeL", default=True),
)

#: ``needs_proba`` here means "needs per-choice log-likelihoods" (method: loglikelihood).
_MULTIPLE_CHOICE = _info(
    MetricInfo("accuracy", default=True),
    MetricInfo("accuracy_norm", default=True, needs_proba=True),
)

_CATALOGUE: dict[str, dict[str, MetricInfo]] = {
    "classification": _CLASSIFICATION,
    "multiple_choice": _MULTIPLE_CHOICE,
    "regression": _REGRESSION,
    "generation": _GENERATION,
}


def _catalogue(task_type: str) -> dict[str, MetricInfo]:
    try:
        return _CATALOGUE[task_type]
    except KeyError:
        allowed = ", ".join(get_args(TaskType))
        raise SpecError(
            f'task type "{task_type}" is unknown (allowed: {allowed}); set task.type to one of them'
        ) from None


def _is_classification(task_type: str) -> bool:
    return _catalogue(task_type) is _CLASSIFICATION


def metric_info(task_type: str, name: str) -> MetricInfo:
    """The catalogue entry of ``name`` (``precision:billing`` maps to its family)."""
    catalogue = _catalogue(task_type)
    prefix, sep, _ = name.partition(":")
    if sep and _is_classification(task_type) and prefix in PER_CLASS_PREFIXES:
        return MetricInfo(name)
    if name in catalogue:
        return catalogue[name]
    raise MetricError(_unknown_message(task_type, name, list(catalogue)))


def available_metrics(
    task_type: str, *, labels: Sequence[str] = (), has_proba: bool = False
) -> list[str]:
    """Every metric name the task offers, in a stable order.

    Args:
        task_type: ``classification``, ``multiple_choice``, ``regression`` or ``generation``.
        labels: the class labels (classification); two labels make the task binary and
            enable ``precision``/``recall``/``f1``; each label adds ``precision:LABEL``,
            ``recall:LABEL`` and ``f1:LABEL``.
        has_proba: whether predicted probabilities are available (enables ``roc_auc``,
            ``pr_auc``, ``log_loss``, ``brier``).

    Example:
        >>> available_metrics("regression")
        ['mae', 'mse', 'rmse', 'mape', 'r2']
    """
    names = [m.name for m in _selectable(task_type, labels=labels, has_proba=has_proba)]
    if _is_classification(task_type):
        names += [f"{prefix}:{label}" for prefix in PER_CLASS_PREFIXES for label in labels]
    return names


def default_metrics(
    task_type: str, *, labels: Sequence[str] = (), has_proba: bool = False
) -> list[str]:
    """The metrics computed when the spec names none."""
    return [m.name for m in _selectable(task_type, labels=labels, has_proba=has_proba) if m.default]


def _selectable(task_type: str, *, labels: Sequence[str], has_proba: bool) -> list[MetricInfo]:
    binary = len(labels) == 2
    return [
        m
        for m in _catalogue(task_type).values()
        if (has_proba or not m.needs_proba) and (binary or not m.binary_only)
    ]


def check_metrics(
    task_type: str, names: Sequence[str], *, labels: Sequence[str] = (), has_proba: bool = False
) -> None:
    """Raise :class:`~heldout.MetricError` unless every name can be computed.

    The message names the metric, says why it cannot be computed and what to do: a
    did-you-mean for misspellings (with the allowed names), the multiclass alternative for
    binary-only metrics, and how to provide probabilities for metrics that need them.

    Example:
        >>> check_metrics("classification", ["acuracy"], labels=["a", "b"])
        Traceback (most recent call last):
        heldout._errors.MetricError: unknown classification metric "acuracy"; did you mean "accuracy"? ...
    """
    catalogue = _catalogue(task_type)
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise MetricError(f'metric "{name}" is listed twice; list each metric once')
        seen.add(name)
        prefix, sep, label = name.partition(":")
        if sep and _is_classification(task_type) and prefix in PER_CLASS_PREFIXES:
            if label not in labels:
                raise MetricError(_unknown_label_message(name, prefix, label, labels))
            continue
        info = catalogue.get(name)
        if info is None and _is_custom(name):
            continue
        if info is None:
            allowed = available_metrics(task_type, labels=labels, has_proba=has_proba)
            allowed += _custom_names()
            raise MetricError(_unknown_message(task_type, name, allowed))
        if info.needs_proba and not has_proba and task_type == "multiple_choice":
            raise MetricError(
                f'metric "{name}" compares length-normalised log-likelihoods of the choices; '
                f'use method: loglikelihood, or drop "{name}" from metrics'
            )
        if info.needs_proba and not has_proba:
            raise MetricError(
                f'metric "{name}" needs predicted probabilities, and these predictions have '
                "none; add a probabilities field to the predictions file (one probability "
                f'per label, in the order of task.labels), or drop "{name}" from metrics'
            )
        if info.binary_only and len(labels) != 2:
            raise MetricError(
                f'metric "{name}" is only defined for two labels and this task has '
                f'{len(labels)} ({", ".join(labels)}); use "{info.instead}", or '
                f'"{name}:LABEL" for one class'
            )


def _is_custom(name: str) -> bool:
    from heldout.scoring._custom import custom_metric

    return custom_metric(name) is not None


def _custom_names() -> list[str]:
    from heldout.scoring._custom import custom_metric_names

    return custom_metric_names()


def builtin_metrics(task_type: str, names: Sequence[str]) -> list[str]:
    """The names a task type's own scorer computes (custom metrics left out)."""
    catalogue = _catalogue(task_type)
    return [n for n in names if n in catalogue or ":" in n or not _is_custom(n)]


def _unknown_message(task_type: str, name: str, allowed: Sequence[str]) -> str:
    close = [f'"{c}"' for c in difflib.get_close_matches(name, allowed, n=3, cutoff=0.6)]
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    return f'unknown {task_type} metric "{name}"{hint} (allowed: {", ".join(allowed)})'


def _unknown_label_message(name: str, prefix: str, label: str, labels: Sequence[str]) -> str:
    close = difflib.get_close_matches(label, list(labels), n=3, cutoff=0.6)
    quoted = [f'"{prefix}:{c}"' for c in close]
    hint = f"; did you mean {' or '.join(quoted)}?" if close else ""
    return (
        f'metric "{name}" names label "{label}", which is not a task label{hint} '
        f"(labels: {', '.join(labels)})"
    )
