"""Thresholds and confidence: ROC and PR curves, choosing a threshold, abstaining.

Binary tasks score the positive class; a multiclass task is analysed one-vs-rest for the
class named by ``positive_label`` (pass ``labels`` and the ``(n, C)`` probabilities, or the
class codes and that class's score). An example is predicted positive when its score is
``>= threshold``; a threshold of ``+inf`` predicts nothing positive.

Every function sorts the scores once and reads every threshold's confusion counts off
cumulative sums, so a million examples take a fraction of a second.

Curves
    The ROC points equal ``sklearn.metrics.roc_curve(..., drop_intermediate=False)`` and the
    PR points ``sklearn.metrics.precision_recall_curve`` (same arrays, same order). With
    ``max_points`` the curves keep at most that many thresholds, evenly spaced along the
    curve and always with both ends, each with its exact values; the areas are always those
    of the full curves.
Choosing a threshold
    ``recall``: the highest threshold whose recall reaches ``value``. ``precision``: the
    lowest threshold whose precision reaches ``value`` (the most recall at that precision).
    ``fbeta``: the threshold with the highest F-beta. ``cost``: the threshold with the
    lowest expected cost per example, ``costs`` giving the cost of each outcome (``fn``,
    ``fp``, and optionally ``tp``, ``tn``, which default to 0). Ties go to the highest
    threshold.
What it achieves
    The threshold is chosen once, on all the data, then held fixed: precision, recall,
    F-beta, expected cost and selection rate at that threshold get bootstrap intervals from
    the resampled confusion counts (precision and F-beta are 0 when nothing is predicted
    positive, as scikit-learn's ``zero_division=0``). These intervals describe the chosen
    threshold on examples like these; they leave out the optimism of choosing it on the
    same data, which ``threshold_spread=True`` shows by re-choosing the threshold in each
    resample (among at most 2,048 candidate thresholds at equal-mass ranks of the scores).
Abstaining
    :func:`coverage_accuracy` keeps the examples whose confidence is ``>=`` a cutoff and
    reports the share kept (coverage) and the accuracy on them with a Wilson interval.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np
from numpy.typing import NDArray

from heldout._errors import DataError, MetricError
from heldout._util._json import json_ready
from heldout.analysis._calibration import estimate_from, number
from heldout.scoring import StatBlock
from heldout.stats import (
    BootstrapDistribution,
    Estimate,
    HeldoutStatsWarning,
    StatsConfig,
    bootstrap_estimates,
    bootstrap_interval,
    wilson_interval,
)

__all__ = [
    "CoverageCurve",
    "CoveragePoint",
    "Curves",
    "ThresholdChoice",
    "ThresholdTarget",
    "choose_threshold",
    "coverage_accuracy",
    "curves",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
ThresholdTarget = Literal["recall", "precision", "fbeta", "cost"]

_COST_KEYS = ("tp", "fp", "fn", "tn")
#: Most numbers held at once in a chunk of resampled counts (32 MiB of float64).
_CHUNK = 1 << 22
#: The multinomial shortcut is used when there are at least this many examples per type.
_UNITS_PER_TYPE = 8
#: Most candidate thresholds searched when the threshold is re-chosen in each resample.
_SPREAD_GRID = 2048
#: Tolerance of "reaches the target" against rounding of ratios such as 9 / 10.
_TOL = 1e-12


# --- result types ---------------------------------------------------------------------


def _floats(values: Any) -> F64:
    """An array read back from a list where ``None`` stood for a non-finite value."""
    return np.array([number(v) for v in values], dtype=np.float64)


@dataclass(frozen=True, eq=False)
class Curves:
    """ROC and PR curves of one score.

    Attributes:
        positive_label: the positive class, when labels were given.
        n: number of examples.
        n_positive: number of positive examples.
        fpr: false positive rate at each ROC threshold.
        tpr: true positive rate at each ROC threshold.
        roc_thresholds: decreasing, starting at ``+inf`` (as ``roc_curve``).
        precision: precision at each PR threshold, then a final 1 (as
            ``precision_recall_curve``).
        recall: recall at each PR threshold, then a final 0.
        pr_thresholds: increasing.
        roc_auc: area under the full ROC curve (``roc_auc_score``).
        average_precision: step-wise area under the full PR curve
            (``average_precision_score``).
        subsampled: whether some thresholds were left out (see ``max_points``).
    """

    positive_label: str | None
    n: int
    n_positive: int
    fpr: F64
    tpr: F64
    roc_thresholds: F64
    precision: F64
    recall: F64
    pr_thresholds: F64
    roc_auc: float
    average_precision: float
    subsampled: bool

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; the ``+inf`` first ROC threshold becomes ``None``."""
        document: dict[str, Any] = json_ready(
            {
                "positive_label": self.positive_label,
                "n": self.n,
                "n_positive": self.n_positive,
                "fpr": self.fpr.tolist(),
                "tpr": self.tpr.tolist(),
                "roc_thresholds": self.roc_thresholds.tolist(),
                "precision": self.precision.tolist(),
                "recall": self.recall.tolist(),
                "pr_thresholds": self.pr_thresholds.tolist(),
                "roc_auc": self.roc_auc,
                "average_precision": self.average_precision,
                "subsampled": self.subsampled,
            }
        )
        return document

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Curves:
        roc = data["roc_thresholds"]
        return cls(
            positive_label=data.get("positive_label"),
            n=int(data["n"]),
            n_positive=int(data["n_positive"]),
            fpr=_floats(data["fpr"]),
            tpr=_floats(data["tpr"]),
            roc_thresholds=np.array(
                [math.inf if v is None else float(v) for v in roc], dtype=np.float64
            ),
            precision=_floats(data["precision"]),
            recall=_floats(data["recall"]),
            pr_thresholds=_floats(data["pr_thresholds"]),
            roc_auc=number(data["roc_auc"]),
            average_precision=number(data["average_precision"]),
            subsampled=bool(data["subsampled"]),
        )


@dataclass(frozen=True)
class ThresholdChoice:
    """A threshold chosen for a target, and what it achieves on the data.

    Attributes:
        target: ``recall``, ``precision``, ``fbeta`` or ``cost``.
        value: the recall or precision asked for (``None`` for ``fbeta`` and ``cost``).
        beta: the F-beta's beta.
        costs: cost of each outcome (``tp``, ``fp``, ``fn``, ``tn``); all 0 unless given.
        threshold: predict positive when the score is ``>=`` this; ``+inf`` predicts
            nothing positive.
        reached: whether the target value is reached on the data (a precision target may
            not be: the threshold with the highest precision is then chosen).
        precision: precision at the threshold, with its bootstrap interval.
        recall: recall at the threshold.
        fbeta: F-beta at the threshold.
        cost: expected cost per example at the threshold (0 unless ``costs`` were given).
        selection_rate: share of examples predicted positive.
        threshold_spread: with ``threshold_spread=True``, the threshold re-chosen in each
            resample: its value is the chosen threshold, its interval the percentile
            interval of the re-chosen ones.
        n: number of examples.
        n_positive: number of positive examples.
        positive_label: the positive class, when labels were given.
        n_resamples: bootstrap resamples behind the intervals.
        seed: seed of the resamples.
    """

    target: ThresholdTarget
    value: float | None
    beta: float
    costs: Mapping[str, float]
    threshold: float
    reached: bool
    precision: Estimate
    recall: Estimate
    fbeta: Estimate
    cost: Estimate
    selection_rate: Estimate
    threshold_spread: Estimate | None
    n: int
    n_positive: int
    positive_label: str | None
    n_resamples: int
    seed: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``nan`` and a ``+inf`` threshold become ``None``."""
        spread = self.threshold_spread
        document: dict[str, Any] = json_ready(
            {
                "target": self.target,
                "value": self.value,
                "beta": self.beta,
                "costs": dict(self.costs),
                "threshold": self.threshold,
                "reached": self.reached,
                "precision": self.precision.to_dict(),
                "recall": self.recall.to_dict(),
                "fbeta": self.fbeta.to_dict(),
                "cost": self.cost.to_dict(),
                "selection_rate": self.selection_rate.to_dict(),
                "threshold_spread": None if spread is None else spread.to_dict(),
                "n": self.n,
                "n_positive": self.n_positive,
                "positive_label": self.positive_label,
                "n_resamples": self.n_resamples,
                "seed": self.seed,
            }
        )
        return document

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ThresholdChoice:
        spread = data.get("threshold_spread")
        value = data.get("value")
        threshold = data["threshold"]
        return cls(
            target=data["target"],
            value=None if value is None else float(value),
            beta=float(data["beta"]),
            costs={str(k): float(v) for k, v in data["costs"].items()},
            threshold=math.inf if threshold is None else float(threshold),
            reached=bool(data["reached"]),
            precision=estimate_from(data["precision"]),
            recall=estimate_from(data["recall"]),
            fbeta=estimate_from(data["fbeta"]),
            cost=estimate_from(data["cost"]),
            selection_rate=estimate_from(data["selection_rate"]),
            threshold_spread=None if spread is None else estimate_from(spread),
            n=int(data["n"]),
            n_positive=int(data["n_positive"]),
            positive_label=data.get("positive_label"),
            n_resamples=int(data["n_resamples"]),
            seed=int(data["seed"]),
        )


@dataclass(frozen=True)
class CoveragePoint:
    """Answering only where the confidence is ``>= cutoff``.

    Attributes:
        cutoff: the confidence cutoff.
        coverage: share of examples answered.
        n: examples answered.
        accuracy: accuracy on them.
        accuracy_low: lower end of the Wilson interval on ``accuracy``.
        accuracy_high: upper end of the Wilson interval on ``accuracy``.
    """

    cutoff: float
    coverage: float
    n: int
    accuracy: float
    accuracy_low: float
    accuracy_high: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "cutoff": self.cutoff,
            "coverage": self.coverage,
            "n": self.n,
            "accuracy": self.accuracy,
            "accuracy_low": self.accuracy_low,
            "accuracy_high": self.accuracy_high,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CoveragePoint:
        return cls(**{k: float(data[k]) for k in _POINT_FLOATS}, n=int(data["n"]))


_POINT_FLOATS = ("cutoff", "coverage", "accuracy", "accuracy_low", "accuracy_high")


@dataclass(frozen=True)
class CoverageCurve:
    """The coverage–accuracy trade-off of abstaining below a confidence cutoff.

    Attributes:
        n: number of examples.
        points: one point per cutoff, cutoffs increasing (coverage decreasing).
        target_accuracy: the accuracy asked for, if any.
        at_target: the lowest cutoff (most coverage) whose accuracy reaches
            ``target_accuracy``; ``None`` if none does or none was asked for.
        confidence: nominal coverage of the Wilson intervals.
    """

    n: int
    points: tuple[CoveragePoint, ...]
    target_accuracy: float | None
    at_target: CoveragePoint | None
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "points": [p.to_dict() for p in self.points],
            "target_accuracy": self.target_accuracy,
            "at_target": None if self.at_target is None else self.at_target.to_dict(),
            "confidence": self.confidence,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CoverageCurve:
        target = data.get("target_accuracy")
        at = data.get("at_target")
        return cls(
            n=int(data["n"]),
            points=tuple(CoveragePoint.from_dict(p) for p in data["points"]),
            target_accuracy=None if target is None else float(target),
            at_target=None if at is None else CoveragePoint.from_dict(at),
            confidence=float(data["confidence"]),
        )


# --- inputs and the sorted counts -----------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Ranked:
    """Cumulative confusion counts at every distinct score, highest first.

    Index 0 is the threshold ``+inf`` (nothing positive); index ``k >= 1`` predicts the
    examples scoring ``>= thresholds[k]`` positive.
    """

    thresholds: F64
    tp: F64
    fp: F64
    order: I64  # the examples by decreasing score
    starts: NDArray[np.bool_]  # in that order, whether an example starts a new score

    @property
    def positives(self) -> float:
        return float(self.tp[-1])

    @property
    def negatives(self) -> float:
        return float(self.fp[-1])

    def group(self) -> I64:
        """Index of each example's own score in ``thresholds`` (``>= 1``)."""
        out = np.empty(self.order.shape[0], dtype=np.int64)
        out[self.order] = np.cumsum(self.starts)
        return out


def _rank(y: NDArray[np.bool_], score: F64) -> _Ranked:
    # Ties are counted together, so the order within them does not matter.
    order = np.argsort(score)[::-1]
    ordered = score[order]
    changes = ordered[1:] != ordered[:-1]
    last = np.r_[np.flatnonzero(changes), ordered.shape[0] - 1]
    tp = np.cumsum(y[order], dtype=np.float64)[last]
    return _Ranked(
        thresholds=np.r_[np.inf, ordered[last]],
        tp=np.r_[0.0, tp],
        fp=np.r_[0.0, 1.0 + last - tp],
        order=order,
        starts=np.r_[True, changes],
    )


def _binary(
    y_true: NDArray[Any],
    score: NDArray[Any],
    labels: Sequence[str] | None,
    positive_label: str | None,
) -> tuple[NDArray[np.bool_], F64, str | None]:
    """The 0/1 target and the positive class's score."""
    y = np.asarray(y_true)
    s = np.asarray(score, dtype=np.float64)
    n = int(y.shape[0]) if y.ndim == 1 else -1
    if n < 1:
        raise DataError(f"y_true must be a non-empty 1-D array, got shape {y.shape}")
    if labels is None:
        if positive_label is not None:
            raise MetricError("positive_label needs labels: pass labels=... as well")
        if s.ndim != 1:
            raise DataError(
                f"score has shape {s.shape}; pass one score per example, or the (n, C) "
                "probabilities together with labels=... and positive_label=..."
            )
        if y.dtype != np.bool_ and not bool(np.isin(y, (0, 1)).all()):
            raise DataError(
                "without labels, y_true must hold 0/1 (1 = positive); for class codes pass "
                "labels=... and positive_label=..."
            )
        target, name = y.astype(bool), None
    else:
        labels = tuple(labels)
        if positive_label is None and len(labels) != 2:
            raise MetricError(
                f"a task with {len(labels)} labels is analysed one-vs-rest: name the class "
                f"with positive_label (labels: {', '.join(labels)})"
            )
        name = labels[1] if positive_label is None else positive_label
        if name not in labels:
            raise MetricError(
                f'positive_label "{name}" is not a task label '
                f"(labels: {', '.join(labels)}); set it to one of them"
            )
        if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= len(labels):
            raise DataError(f"y_true must hold label codes 0..{len(labels) - 1}")
        index = labels.index(name)
        target = y == index
        if s.ndim == 2:
            if s.shape[1] != len(labels):
                raise DataError(
                    f"score has {s.shape[1]} columns for {len(labels)} labels; give one "
                    "column per label, in label order"
                )
            s = s[:, index]
    if s.shape != (n,):
        raise DataError(f"score has shape {s.shape}, expected one score per example ({n})")
    if not bool(np.all(np.isfinite(s))):
        raise DataError("score holds nan or infinite values; give every example a finite score")
    if not target.any() or target.all():
        raise MetricError(
            f"threshold analysis needs both positive and negative examples; these {n} "
            f"examples hold {int(target.sum())} positives"
        )
    return target, s, name


# --- curves ---------------------------------------------------------------------------


def curves(
    y_true: NDArray[Any],
    score: NDArray[Any],
    *,
    labels: Sequence[str] | None = None,
    positive_label: str | None = None,
    max_points: int | None = None,
) -> Curves:
    """ROC and precision–recall curves, with their areas.

    Args:
        y_true: 0/1 targets (1 = positive), or label codes with ``labels``.
        score: the positive class's score, shape ``(n,)``, or with ``labels`` the
            ``(n, C)`` probabilities.
        labels: the class labels, when ``y_true`` holds codes.
        positive_label: the class analysed (default ``labels[1]`` for two labels).
        max_points: keep at most this many thresholds per curve (exact values at those);
            ``None`` keeps every one, equal to scikit-learn's arrays.

    Returns:
        The curves.

    Example:
        >>> c = curves(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
        >>> c.tpr.tolist(), c.roc_auc
        ([0.0, 0.5, 0.5, 1.0, 1.0], 0.75)
    """
    if max_points is not None and max_points < 2:
        raise MetricError(f"max_points must be at least 2, got {max_points}")
    y, s, name = _binary(y_true, score, labels, positive_label)
    ranked = _rank(y, s)
    fpr = ranked.fp / ranked.negatives
    tpr = ranked.tp / ranked.positives
    tp, fp = ranked.tp[1:], ranked.fp[1:]
    precision = np.r_[(tp / (tp + fp))[::-1], 1.0]
    recall = np.r_[(tp / ranked.positives)[::-1], 0.0]
    pr_thresholds = ranked.thresholds[1:][::-1]
    roc_auc = float(np.trapezoid(tpr, fpr))
    average_precision = float(-np.sum(np.diff(recall) * precision[:-1]))
    roc_thresholds = ranked.thresholds
    subsampled = max_points is not None and roc_thresholds.shape[0] > max_points
    if max_points is not None and subsampled:
        keep = _spaced(roc_thresholds.shape[0], max_points)
        fpr, tpr, roc_thresholds = fpr[keep], tpr[keep], roc_thresholds[keep]
        keep = _spaced(pr_thresholds.shape[0], max_points - 1)
        precision = np.r_[precision[keep], 1.0]
        recall = np.r_[recall[keep], 0.0]
        pr_thresholds = pr_thresholds[keep]
    return Curves(
        positive_label=name,
        n=int(s.shape[0]),
        n_positive=int(ranked.positives),
        fpr=fpr,
        tpr=tpr,
        roc_thresholds=roc_thresholds,
        precision=precision,
        recall=recall,
        pr_thresholds=pr_thresholds,
        roc_auc=roc_auc,
        average_precision=average_precision,
        subsampled=subsampled,
    )


def _spaced(length: int, count: int) -> I64:
    """At most ``count`` indices into ``range(length)``, evenly spaced, with both ends."""
    return np.unique(np.round(np.linspace(0, length - 1, max(count, 2))).astype(np.int64))


# --- choosing a threshold -------------------------------------------------------------


@dataclass(frozen=True)
class _Rule:
    target: ThresholdTarget
    value: float
    beta: float
    costs: tuple[float, float, float, float]  # tp, fp, fn, tn


def _select(tp: F64, fp: F64, rule: _Rule) -> tuple[I64, NDArray[np.bool_]]:
    """Chosen threshold index and whether the target is reached, for each row.

    ``tp`` and ``fp`` are cumulative counts of shape ``(rows, T + 1)``, column 0 being the
    ``+inf`` threshold; the last column holds each row's positives and negatives.
    """
    positives, negatives = tp[:, -1:], fp[:, -1:]
    rows = tp.shape[0]
    reached: NDArray[np.bool_] = np.ones(rows, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        if rule.target == "recall":
            ok = tp / positives >= rule.value - _TOL
            index = np.argmax(ok, axis=1)
            reached = np.asarray(ok.any(axis=1), dtype=bool)
        elif rule.target == "precision":
            precision = np.where(tp + fp > 0, tp / (tp + fp), -np.inf)
            precision[:, 0] = -np.inf
            ok = precision >= rule.value - _TOL
            reached = np.asarray(ok.any(axis=1), dtype=bool)
            lowest = ok.shape[1] - 1 - np.argmax(ok[:, ::-1], axis=1)
            index = np.where(reached, lowest, np.argmax(precision, axis=1))
        elif rule.target == "fbeta":
            b2 = rule.beta**2
            denom = (1.0 + b2) * tp + b2 * (positives - tp) + fp
            index = np.argmax(np.where(denom > 0, (1.0 + b2) * tp / denom, 0.0), axis=1)
        else:
            c_tp, c_fp, c_fn, c_tn = rule.costs
            cost = c_tp * tp + c_fp * fp + c_fn * (positives - tp) + c_tn * (negatives - fp)
            index = np.argmin(cost, axis=1)
    return index.astype(np.int64), reached


def _rule(
    target: str, value: float | None, beta: float, costs: Mapping[str, float] | None
) -> _Rule:
    if target not in ("recall", "precision", "fbeta", "cost"):
        raise MetricError(f"target must be recall, precision, fbeta or cost, got {target!r}")
    if target in ("recall", "precision"):
        if value is None or not 0.0 < value <= 1.0:
            raise MetricError(
                f"target {target!r} needs value in (0, 1], the {target} to reach; got {value!r}"
            )
    elif value is not None:
        raise MetricError(f"target {target!r} takes no value; got value={value!r}")
    if not beta > 0.0:
        raise MetricError(f"beta must be positive, got {beta!r}")
    spelled = dict(costs or {})
    if target == "cost":
        unknown = sorted(set(spelled) - set(_COST_KEYS))
        if unknown or not {"fn", "fp"} <= set(spelled):
            raise MetricError(
                f"costs must give fn and fp (and optionally tp, tn), e.g. "
                f"{{fn: 10, fp: 1}}; got {spelled!r}"
            )
    elif costs is not None:
        raise MetricError(f"costs are only used with target='cost', not {target!r}")
    cost_tuple = tuple(float(spelled.get(k, 0.0)) for k in _COST_KEYS)
    if not all(math.isfinite(c) for c in cost_tuple):
        raise MetricError(f"costs must be finite numbers, got {spelled!r}")
    c_tp, c_fp, c_fn, c_tn = cost_tuple
    return _Rule(
        cast(ThresholdTarget, target),
        0.0 if value is None else float(value),
        float(beta),
        (c_tp, c_fp, c_fn, c_tn),
    )


def choose_threshold(
    y_true: NDArray[Any],
    score: NDArray[Any],
    *,
    target: ThresholdTarget,
    value: float | None = None,
    beta: float = 1.0,
    costs: Mapping[str, float] | None = None,
    labels: Sequence[str] | None = None,
    positive_label: str | None = None,
    threshold_spread: bool = False,
    config: StatsConfig,
) -> ThresholdChoice:
    """The threshold that reaches a target, and what it achieves with bootstrap intervals.

    Args:
        y_true: 0/1 targets (1 = positive), or label codes with ``labels``.
        score: the positive class's score, or with ``labels`` the ``(n, C)`` probabilities.
        target: ``recall`` or ``precision`` (reach ``value``), ``fbeta`` (maximise) or
            ``cost`` (minimise the expected cost from ``costs``).
        value: the recall or precision to reach.
        beta: beta of the F-beta reported (and maximised for ``fbeta``).
        costs: for ``cost``, the cost of each outcome: ``{"fn": 10, "fp": 1}``, optionally
            with ``tp`` and ``tn``.
        labels: the class labels, when ``y_true`` holds codes.
        positive_label: the class analysed (default ``labels[1]`` for two labels).
        threshold_spread: also re-choose the threshold in each resample.
        config: confidence level, resample count, seed and interval method.

    Returns:
        The threshold and its precision, recall, F-beta, expected cost and selection rate,
        the threshold held fixed across resamples (see the module docstring).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> y = rng.integers(0, 2, 500)
        >>> s = y + rng.normal(0, 0.8, 500)
        >>> pick = choose_threshold(y, s, target="recall", value=0.9,
        ...     config=StatsConfig(n_resamples=200))
        >>> pick.recall.value >= 0.9, pick.recall.ci_low < 0.9 < pick.recall.ci_high
        (True, True)
    """
    rule = _rule(target, value, beta, costs)
    y, s, name = _binary(y_true, score, labels, positive_label)
    ranked = _rank(y, s)
    index, reached = _select(ranked.tp[None, :], ranked.fp[None, :], rule)
    k = int(index[0])
    threshold = float(ranked.thresholds[k])
    if not reached[0]:
        warnings.warn(
            f"no threshold reaches {target} {value} on these {s.shape[0]} examples; "
            f"using the one with the highest {target} ({threshold})",
            HeldoutStatsWarning,
            stacklevel=2,
        )
    predicted = s >= threshold
    cells = np.where(predicted, np.where(y, 0, 1), np.where(y, 2, 3)).astype(np.int64)
    block = StatBlock.cells(cells, 4)  # TP FP FN TN
    b2 = rule.beta**2
    weights = np.asarray(rule.costs)

    def _precision(t: F64) -> F64:
        denom = t[..., 0] + t[..., 1]
        return np.where(denom > 0, t[..., 0] / denom, 0.0)

    def _fbeta(t: F64) -> F64:
        denom = (1.0 + b2) * t[..., 0] + b2 * t[..., 2] + t[..., 1]
        return np.where(denom > 0, (1.0 + b2) * t[..., 0] / denom, 0.0)

    estimates = bootstrap_estimates(
        block,
        {
            "precision": _precision,
            "recall": lambda t: t[..., 0] / (t[..., 0] + t[..., 2]),
            "fbeta": _fbeta,
            "cost": lambda t: (t @ weights) / t.sum(axis=-1),
            "selection_rate": lambda t: (t[..., 0] + t[..., 1]) / t.sum(axis=-1),
        },
        config=config,
    )
    spread = _spread(ranked, y, rule, threshold, config) if threshold_spread else None
    return ThresholdChoice(
        target=rule.target,
        value=value,
        beta=rule.beta,
        costs=dict(zip(_COST_KEYS, rule.costs, strict=True)),
        threshold=threshold,
        reached=bool(reached[0]),
        precision=estimates["precision"],
        recall=estimates["recall"],
        fbeta=estimates["fbeta"],
        cost=estimates["cost"],
        selection_rate=estimates["selection_rate"],
        threshold_spread=spread,
        n=int(s.shape[0]),
        n_positive=int(ranked.positives),
        positive_label=name,
        n_resamples=config.n_resamples,
        seed=config.seed,
    )


def _spread(
    ranked: _Ranked, y: NDArray[np.bool_], rule: _Rule, threshold: float, config: StatsConfig
) -> Estimate:
    """The threshold re-chosen on each resample, as a percentile interval.

    With more than ``_SPREAD_GRID`` distinct scores, the re-chosen threshold is searched
    among that many of them, at equal-mass ranks, so a resample costs ``O(grid)``.
    """
    n = int(y.shape[0])
    sorted_group = np.cumsum(ranked.starts)  # group of each example, by decreasing score
    distinct = int(sorted_group[-1])
    if distinct <= _SPREAD_GRID:
        grid = np.arange(1, distinct + 1, dtype=np.int64)
    else:
        ranks = -(-np.arange(1, _SPREAD_GRID + 1, dtype=np.int64) * n // _SPREAD_GRID)
        grid = np.unique(sorted_group[ranks - 1])
    groups = int(grid.shape[0])
    thresholds = np.r_[np.inf, ranked.thresholds[grid]]
    # A type is (grid threshold that first predicts the example positive, label); a
    # resample is the count of each type.
    types = np.searchsorted(grid, ranked.group()) * 2 + y.astype(np.int64)
    n_types = 2 * groups
    rng = np.random.default_rng(config.seed)
    chosen: list[F64] = []
    b = config.n_resamples
    multinomial = n_types * _UNITS_PER_TYPE <= n
    chunk = max(1, _CHUNK // (n_types if multinomial else max(n, n_types)))
    share = np.bincount(types, minlength=n_types) / n
    for start in range(0, b, chunk):
        size = min(chunk, b - start)
        if multinomial:
            counts = rng.multinomial(n, share, size=size).astype(np.float64)
        else:
            drawn = types[rng.integers(0, n, size=(size, n))]
            drawn += (np.arange(size, dtype=np.int64) * n_types)[:, None]
            flat = np.bincount(drawn.ravel(), minlength=size * n_types)
            counts = flat.reshape(size, n_types).astype(np.float64)
        pairs = counts.reshape(size, groups, 2)
        zero = np.zeros((size, 1))
        tp = np.concatenate([zero, np.cumsum(pairs[..., 1], axis=1)], axis=1)
        fp = np.concatenate([zero, np.cumsum(pairs[..., 0], axis=1)], axis=1)
        index, reached = _select(tp, fp, rule)
        undefined = ~reached | (tp[:, -1] == 0) | (fp[:, -1] == 0)
        chosen.append(np.where(undefined, np.nan, thresholds[index]))
    dist = BootstrapDistribution(threshold, np.concatenate(chosen), np.zeros(0), np.zeros(0))
    ci = bootstrap_interval(dist, confidence=config.confidence, name="threshold")
    return Estimate(
        threshold, ci.low, ci.high, n, "bootstrap-percentile-rechosen", config.confidence
    )


# --- abstaining -----------------------------------------------------------------------


def coverage_accuracy(
    y_true: NDArray[Any],
    y_pred: NDArray[Any],
    confidence: NDArray[Any],
    *,
    n_cutoffs: int = 20,
    target_accuracy: float | None = None,
    config: StatsConfig | None = None,
) -> CoverageCurve:
    """Accuracy against coverage when the model abstains below a confidence cutoff.

    Args:
        y_true: true class codes, shape ``(n,)``.
        y_pred: predicted class codes; ``-1`` (no valid prediction) is always wrong.
        confidence: the model's confidence in each prediction (e.g. its top probability).
        n_cutoffs: cutoffs at the confidences ranked ``j * n // n_cutoffs`` from the
            lowest, ``j = 0, 1, ...``, so that coverage steps down from 100% in steps of
            ``1/n_cutoffs`` (tied confidences are kept or dropped together, and equal
            cutoffs merge).
        target_accuracy: also find the lowest cutoff whose accuracy reaches this, over
            every distinct confidence.
        config: its ``confidence`` sets the Wilson intervals' level (default 0.95).

    Returns:
        The curve, cutoffs increasing.

    Example:
        >>> curve = coverage_accuracy(np.array([0, 1, 1, 0]), np.array([0, 1, 0, 1]),
        ...     np.array([0.9, 0.8, 0.6, 0.55]), n_cutoffs=4, target_accuracy=1.0)
        >>> [(p.coverage, p.accuracy) for p in curve.points]
        [(1.0, 0.5), (0.75, 0.6666666666666666), (0.5, 1.0), (0.25, 1.0)]
        >>> curve.at_target.cutoff
        0.8
    """
    level = (config or StatsConfig()).confidence
    truth = np.asarray(y_true)
    pred = np.asarray(y_pred)
    conf = np.asarray(confidence, dtype=np.float64)
    n = int(truth.shape[0]) if truth.ndim == 1 else 0
    if n == 0 or pred.shape != (n,) or conf.shape != (n,):
        raise DataError(
            f"y_true, y_pred and confidence must be non-empty 1-D arrays of one length, got "
            f"shapes {truth.shape}, {pred.shape} and {conf.shape}"
        )
    if not bool(np.all(np.isfinite(conf))):
        raise DataError("confidence holds nan or infinite values")
    if isinstance(n_cutoffs, bool) or n_cutoffs < 1:
        raise MetricError(f"n_cutoffs must be a positive integer, got {n_cutoffs!r}")
    if target_accuracy is not None and not 0.0 < target_accuracy <= 1.0:
        raise MetricError(f"target_accuracy must lie in (0, 1], got {target_accuracy!r}")
    order = np.argsort(conf)[::-1]
    ordered = conf[order]
    last = np.r_[np.flatnonzero(ordered[1:] != ordered[:-1]), n - 1]
    cut = ordered[last]  # distinct confidences, decreasing
    kept = last + 1
    right = np.cumsum(truth[order] == pred[order])[last]

    def _point(g: int) -> CoveragePoint:
        ci = wilson_interval(int(right[g]), int(kept[g]), confidence=level)
        return CoveragePoint(
            cutoff=float(cut[g]),
            coverage=float(kept[g] / n),
            n=int(kept[g]),
            accuracy=float(right[g] / kept[g]),
            accuracy_low=ci.low,
            accuracy_high=ci.high,
        )

    # The cutoff that keeps the top 1 - j / n_cutoffs of the confidences (without ties).
    rank = np.arange(n_cutoffs, dtype=np.int64) * n // n_cutoffs
    cutoffs = np.unique(ordered[::-1][rank])
    found = np.searchsorted(-cut, -cutoffs)
    points = tuple(_point(int(g)) for g in found)
    at_target = None
    if target_accuracy is not None:
        ok = right / kept >= target_accuracy - _TOL
        if ok.any():
            at_target = _point(int(ok.shape[0] - 1 - np.argmax(ok[::-1])))
        else:
            warnings.warn(
                f"no confidence cutoff reaches accuracy {target_accuracy} "
                f"(the highest is {float((right / kept).max()):.4f})",
                HeldoutStatsWarning,
                stacklevel=2,
            )
    return CoverageCurve(
        n=n,
        points=points,
        target_accuracy=target_accuracy,
        at_target=at_target,
        confidence=level,
    )
