"""Errors: where and how the models go wrong, and what the candidate fixed and broke.

Confusion rates
    The confusion matrix row-normalised: each true label's row divided by its count, so a
    row reads "of the examples whose label is X, this share was predicted Y".
Per-class metrics
    Precision, recall and F1 of each class (one-vs-rest), scored as the
    ``precision:LABEL`` / ``recall:LABEL`` / ``f1:LABEL`` metrics of
    :mod:`heldout.scoring` and estimated by :func:`heldout.stats.estimate_all` (bootstrap
    over the per-example confusion cells); values equal scikit-learn's
    ``precision_recall_fscore_support(..., zero_division=0)``.
Most confident errors
    Wrong predictions ranked by the probability the model gave the class it predicted.
Fixed and broken
    Examples whose per-example score rose (fixed) or fell (broken) from the baseline to the
    candidate by more than ``tolerance``: for 0/1 scores, wrong to right and right to wrong.
Lowest scores
    The examples with the worst per-example score of each model (generation).
Input length
    The headline metric per quantile bucket of the input's length in words, for every
    model, with the paired candidate-minus-baseline difference per bucket corrected across
    the buckets (the same statistics as a slice column, see :func:`slice_results`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from heldout._errors import MetricError
from heldout._util._json import json_ready
from heldout.analysis._calibration import difference_from, estimate_from, number
from heldout.analysis._confusion import ConfusionMatrix
from heldout.analysis._slices import SliceResult, slice_results
from heldout.scoring import ScoreRows, score_classification
from heldout.stats import Estimate, StatsConfig, estimate_all

__all__ = [
    "LENGTH_COLUMN",
    "ClassMetrics",
    "ConfidentError",
    "ErrorReport",
    "ExampleChange",
    "LowScore",
    "ModelErrors",
    "changed_examples",
    "confident_errors",
    "confusion_rates",
    "length_buckets",
    "lowest_scores",
    "per_class_metrics",
]

#: The slice column name under which input-length buckets are reported.
LENGTH_COLUMN = "input_words"


@dataclass(frozen=True)
class ClassMetrics:
    """One class's precision, recall and F1 with intervals, and its support."""

    label: str
    support: int
    precision: Estimate
    recall: Estimate
    f1: Estimate

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = json_ready(
            {
                "label": self.label,
                "support": self.support,
                "precision": self.precision.to_dict(),
                "recall": self.recall.to_dict(),
                "f1": self.f1.to_dict(),
            }
        )
        return document

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClassMetrics:
        return cls(
            label=str(data["label"]),
            support=int(data["support"]),
            precision=estimate_from(data["precision"]),
            recall=estimate_from(data["recall"]),
            f1=estimate_from(data["f1"]),
        )


@dataclass(frozen=True)
class ConfidentError:
    """A wrong prediction and the probability the model gave it."""

    id: str
    input: str
    target: str
    predicted: str
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "input": self.input,
            "target": self.target,
            "predicted": self.predicted,
            "confidence": self.confidence,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConfidentError:
        return cls(
            id=str(data["id"]),
            input=str(data["input"]),
            target=str(data["target"]),
            predicted=str(data["predicted"]),
            confidence=float(data["confidence"]),
        )


@dataclass(frozen=True)
class ExampleChange:
    """An example the candidate fixed or broke relative to the baseline."""

    id: str
    input: str
    target: str
    candidate: str
    baseline: str
    candidate_score: float
    baseline_score: float

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = json_ready(
            {
                "id": self.id,
                "input": self.input,
                "target": self.target,
                "candidate": self.candidate,
                "baseline": self.baseline,
                "candidate_score": self.candidate_score,
                "baseline_score": self.baseline_score,
            }
        )
        return document

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExampleChange:
        return cls(
            id=str(data["id"]),
            input=str(data["input"]),
            target=str(data["target"]),
            candidate=str(data["candidate"]),
            baseline=str(data["baseline"]),
            candidate_score=number(data["candidate_score"]),
            baseline_score=number(data["baseline_score"]),
        )


@dataclass(frozen=True)
class LowScore:
    """An example with one of a model's worst per-example scores."""

    id: str
    input: str
    target: str
    output: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = json_ready(
            {
                "id": self.id,
                "input": self.input,
                "target": self.target,
                "output": self.output,
                "score": self.score,
            }
        )
        return document

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LowScore:
        return cls(
            id=str(data["id"]),
            input=str(data["input"]),
            target=str(data["target"]),
            output=str(data["output"]),
            score=number(data["score"]),
        )


@dataclass(frozen=True)
class ModelErrors:
    """One model's errors.

    Attributes:
        rates: the confusion matrix row-normalised (rows: true labels, columns as in the
            counts); a label with no example has a row of ``nan``.
        per_class: precision, recall and F1 per class, in label order.
        confident: most confident wrong predictions first.
        lowest: worst per-example scores first.
    """

    rates: tuple[tuple[float, ...], ...] = ()
    per_class: tuple[ClassMetrics, ...] = ()
    confident: tuple[ConfidentError, ...] = ()
    lowest: tuple[LowScore, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "rates": json_ready([list(r) for r in self.rates]),
            "per_class": [c.to_dict() for c in self.per_class],
            "confident": [c.to_dict() for c in self.confident],
            "lowest": [low.to_dict() for low in self.lowest],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelErrors:
        return cls(
            rates=tuple(tuple(number(v) for v in row) for row in data.get("rates", ())),
            per_class=tuple(ClassMetrics.from_dict(c) for c in data.get("per_class", ())),
            confident=tuple(ConfidentError.from_dict(c) for c in data.get("confident", ())),
            lowest=tuple(LowScore.from_dict(c) for c in data.get("lowest", ())),
        )


@dataclass(frozen=True)
class ErrorReport:
    """A task's error analysis.

    Attributes:
        score: the per-example score compared (``correct``, ``chrf``, ``abs_error``...).
        higher_is_better: whether a higher ``score`` is better.
        tolerance: the smallest change of ``score`` counted as fixed or broken.
        models: per model, its confusion rates, per-class metrics, confident errors and
            lowest scores.
        n_fixed: examples the candidate fixed (all of them; ``fixed`` lists the first).
        n_broken: examples the candidate broke.
        fixed: fixed examples, largest improvement first.
        broken: broken examples, largest drop first.
        length: the headline metric per input-length bucket (slice column
            ``input_words``), with the corrected paired difference per bucket.
    """

    score: str
    higher_is_better: bool = True
    tolerance: float = 0.0
    models: Mapping[str, ModelErrors] = field(default_factory=dict)
    n_fixed: int = 0
    n_broken: int = 0
    fixed: tuple[ExampleChange, ...] = ()
    broken: tuple[ExampleChange, ...] = ()
    length: tuple[SliceResult, ...] = ()

    @property
    def worst_length(self) -> SliceResult | None:
        """The length bucket where the candidate is significantly worse by the most."""
        worse = [
            s for s in self.length if s.comparison is not None and s.comparison.verdict == "worse"
        ]
        if not worse:
            return None
        sign = 1.0 if self.higher_is_better else -1.0
        return min(worse, key=lambda s: sign * s.comparison.delta)  # type: ignore[union-attr]

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "higher_is_better": self.higher_is_better,
            "tolerance": self.tolerance,
            "models": {m: e.to_dict() for m, e in self.models.items()},
            "n_fixed": self.n_fixed,
            "n_broken": self.n_broken,
            "fixed": [c.to_dict() for c in self.fixed],
            "broken": [c.to_dict() for c in self.broken],
            "length": json_ready([s.to_dict() for s in self.length]),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ErrorReport:
        length = []
        for s in data.get("length", ()):
            comparison = s.get("comparison")
            length.append(
                SliceResult(
                    column=s["column"],
                    value=s["value"],
                    metric=s["metric"],
                    n=int(s["n"]),
                    estimates={m: estimate_from(e) for m, e in s["estimates"].items()},
                    comparison=None if comparison is None else difference_from(comparison),
                    small=bool(s["small"]),
                )
            )
        return cls(
            score=str(data["score"]),
            higher_is_better=bool(data.get("higher_is_better", True)),
            tolerance=float(data.get("tolerance", 0.0)),
            models={m: ModelErrors.from_dict(e) for m, e in data.get("models", {}).items()},
            n_fixed=int(data.get("n_fixed", 0)),
            n_broken=int(data.get("n_broken", 0)),
            fixed=tuple(ExampleChange.from_dict(c) for c in data.get("fixed", ())),
            broken=tuple(ExampleChange.from_dict(c) for c in data.get("broken", ())),
            length=tuple(length),
        )


def confusion_rates(matrix: ConfusionMatrix) -> tuple[tuple[float, ...], ...]:
    """Each row of the confusion counts divided by its total (``nan`` for an empty row).

    Example:
        >>> from heldout.analysis import confusion_matrix
        >>> cm = confusion_matrix(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), ("a", "b"))
        >>> confusion_rates(cm)
        ((0.5, 0.5), (0.0, 1.0))
    """
    counts = np.asarray(matrix.counts, dtype=np.float64)
    totals = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = np.where(totals > 0, counts / np.where(totals > 0, totals, 1.0), np.nan)
    return tuple(tuple(float(v) for v in row) for row in rates)


def per_class_metrics(
    y_true: NDArray[np.int64],
    y_pred: NDArray[np.int64],
    labels: Sequence[str],
    *,
    config: StatsConfig,
    cluster: NDArray[Any] | None = None,
) -> tuple[ClassMetrics, ...]:
    """Precision, recall and F1 of every class, one-vs-rest, with bootstrap intervals.

    ``-1`` predictions (no valid answer) are a false negative for the true class and a
    false positive for none. A class never predicted has precision 0 (as scikit-learn's
    ``zero_division=0``).
    """
    labels = tuple(labels)
    names = [f"{family}:{label}" for label in labels for family in ("precision", "recall", "f1")]
    rows = score_classification(y_true, y_pred, labels=labels, metrics=names, model="errors")
    estimates = estimate_all(rows, cluster=cluster, config=config)
    support = np.bincount(y_true, minlength=len(labels))
    return tuple(
        ClassMetrics(
            label=label,
            support=int(support[i]),
            precision=estimates[f"precision:{label}"],
            recall=estimates[f"recall:{label}"],
            f1=estimates[f"f1:{label}"],
        )
        for i, label in enumerate(labels)
    )


def confident_errors(
    ids: NDArray[Any],
    inputs: NDArray[Any],
    y_true: NDArray[np.int64],
    y_pred: NDArray[np.int64],
    proba: NDArray[np.float64],
    labels: Sequence[str],
    *,
    limit: int = 20,
) -> tuple[ConfidentError, ...]:
    """Wrong (valid) predictions, ranked by the probability given to the predicted class.

    Ties keep the examples' order.
    """
    wrong = np.flatnonzero((y_pred != y_true) & (y_pred >= 0))
    confidence = proba[wrong, y_pred[wrong]]
    order = wrong[np.argsort(-confidence, kind="stable")][:limit]
    return tuple(
        ConfidentError(
            id=str(ids[i]),
            input=_text(inputs[i]),
            target=labels[int(y_true[i])],
            predicted=labels[int(y_pred[i])],
            confidence=float(proba[i, y_pred[i]]),
        )
        for i in order
    )


def changed_examples(
    ids: NDArray[Any],
    inputs: NDArray[Any],
    targets: NDArray[Any],
    candidate_output: NDArray[Any],
    baseline_output: NDArray[Any],
    candidate_score: NDArray[np.float64],
    baseline_score: NDArray[np.float64],
    *,
    higher_is_better: bool = True,
    tolerance: float = 0.0,
    limit: int = 20,
) -> tuple[tuple[ExampleChange, ...], tuple[ExampleChange, ...], int, int]:
    """The examples the candidate fixed and broke: ``(fixed, broken, n_fixed, n_broken)``.

    An example is fixed when its score improved by more than ``tolerance`` (for 0/1
    scores with tolerance 0: wrong to right), broken when it got worse by more than that.
    Each list holds at most ``limit`` examples, the largest changes first.
    """
    if tolerance < 0:
        raise MetricError(f"tolerance must be non-negative, got {tolerance}")
    change = np.asarray(candidate_score, dtype=np.float64) - np.asarray(
        baseline_score, dtype=np.float64
    )
    if not higher_is_better:
        change = -change
    change = np.where(np.isnan(change), 0.0, change)

    def _pick(mask: NDArray[np.bool_], sign: float) -> tuple[ExampleChange, ...]:
        where = np.flatnonzero(mask)
        order = where[np.argsort(-sign * change[where], kind="stable")][:limit]
        return tuple(
            ExampleChange(
                id=str(ids[i]),
                input=_text(inputs[i]),
                target=_text(targets[i]),
                candidate=_text(candidate_output[i]),
                baseline=_text(baseline_output[i]),
                candidate_score=float(candidate_score[i]),
                baseline_score=float(baseline_score[i]),
            )
            for i in order
        )

    fixed_mask = change > tolerance
    broken_mask = change < -tolerance
    return (
        _pick(fixed_mask, 1.0),
        _pick(broken_mask, -1.0),
        int(fixed_mask.sum()),
        int(broken_mask.sum()),
    )


def lowest_scores(
    ids: NDArray[Any],
    inputs: NDArray[Any],
    targets: NDArray[Any],
    outputs: NDArray[Any],
    score: NDArray[np.float64],
    *,
    higher_is_better: bool = True,
    limit: int = 20,
) -> tuple[LowScore, ...]:
    """The ``limit`` examples with the worst score, worst first (``nan`` scores last)."""
    values = np.asarray(score, dtype=np.float64)
    key = values if higher_is_better else -values
    key = np.where(np.isnan(key), np.inf, key)
    order = np.argsort(key, kind="stable")[:limit]
    return tuple(
        LowScore(
            id=str(ids[i]),
            input=_text(inputs[i]),
            target=_text(targets[i]),
            output=_text(outputs[i]),
            score=float(values[i]),
        )
        for i in order
    )


def length_buckets(
    rows: Mapping[str, ScoreRows],
    inputs: NDArray[Any],
    *,
    metric: str,
    candidate: str | None,
    baseline: str | None,
    config: StatsConfig,
    clusters: NDArray[Any] | None = None,
    n_buckets: int = 4,
    min_size: int = 30,
) -> tuple[SliceResult, ...]:
    """``metric`` per quantile bucket of the inputs' length in words, for every model.

    Buckets are cut at the ``1/n_buckets`` quantiles of the word counts (equal counts
    merge, so there may be fewer buckets); each is named ``Q<k>: <lo>-<hi> words`` with the
    shortest and longest input in it. The candidate-minus-baseline difference per bucket is
    corrected across the buckets.
    """
    if n_buckets < 1:
        raise MetricError(f"n_buckets must be a positive integer, got {n_buckets}")
    words = np.array([len(_text(v).split()) for v in inputs], dtype=np.int64)
    if words.size == 0:
        return ()
    edges = np.unique(np.quantile(words, np.linspace(0, 1, n_buckets + 1)[1:-1]))
    bucket = np.searchsorted(edges, words, side="left")
    names = np.empty(words.size, dtype=object)
    for k, b in enumerate(np.unique(bucket), start=1):
        mask = bucket == b
        names[mask] = f"Q{k}: {int(words[mask].min())}-{int(words[mask].max())} words"
    found = slice_results(
        rows,
        {LENGTH_COLUMN: names},
        metric=metric,
        candidate=candidate,
        baseline=baseline,
        clusters=clusters,
        config=config,
        min_size=min_size,
    )
    # slice values come back sorted as text; Q10 belongs after Q9
    return tuple(sorted(found, key=lambda s: int(s.value[1:].partition(":")[0])))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and np.isnan(value):
        return ""
    if isinstance(value, list | tuple | np.ndarray):
        return " | ".join(_text(v) for v in value)
    return str(value)
