"""Operating points of one model's probabilities: curves, a chosen threshold, abstaining.

Puts :func:`curves`, :func:`choose_threshold` and :func:`coverage_accuracy` together for a
run: one :class:`OperatingPoints` per model that gives class probabilities.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from heldout.analysis._thresholds import (
    CoverageCurve,
    Curves,
    ThresholdChoice,
    ThresholdTarget,
    choose_threshold,
    coverage_accuracy,
    curves,
)
from heldout.stats import HeldoutStatsWarning, StatsConfig

__all__ = ["CURVE_POINTS", "OperatingPoints", "ThresholdRule", "operating_points"]

#: Most thresholds kept per curve in a run (the areas are always those of the full curve).
CURVE_POINTS = 200


@dataclass(frozen=True)
class ThresholdRule:
    """What a threshold is chosen for (see :func:`choose_threshold`)."""

    target: ThresholdTarget
    value: float | None = None
    beta: float = 1.0
    costs: Mapping[str, float] | None = None


@dataclass(frozen=True, eq=False)
class OperatingPoints:
    """One model's PR/ROC curves, its chosen threshold and its coverage–accuracy curve.

    Attributes:
        curves: ROC and PR curves of the positive class (``None`` for a multiclass task
            that names no positive class).
        choice: the threshold chosen for the spec's rule, and what it achieves.
        coverage: accuracy against coverage when abstaining below a confidence (the top
            probability).
        unreached: why no threshold reached the target, when none did.
    """

    curves: Curves | None = None
    choice: ThresholdChoice | None = None
    coverage: CoverageCurve | None = None
    unreached: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "curves": None if self.curves is None else self.curves.to_dict(),
            "choice": None if self.choice is None else self.choice.to_dict(),
            "coverage": None if self.coverage is None else self.coverage.to_dict(),
            "unreached": self.unreached,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OperatingPoints:
        c, choice, coverage = data.get("curves"), data.get("choice"), data.get("coverage")
        return cls(
            curves=None if c is None else Curves.from_dict(c),
            choice=None if choice is None else ThresholdChoice.from_dict(choice),
            coverage=None if coverage is None else CoverageCurve.from_dict(coverage),
            unreached=data.get("unreached"),
        )


def operating_points(
    y_true: NDArray[np.int64],
    y_pred: NDArray[np.int64],
    proba: NDArray[np.float64],
    labels: Sequence[str],
    *,
    positive_label: str | None,
    rule: ThresholdRule | None,
    config: StatsConfig,
    max_points: int = CURVE_POINTS,
) -> OperatingPoints:
    """Curves, the chosen threshold (with ``rule``) and the coverage–accuracy curve.

    Curves and a threshold need a positive class: ``positive_label``, or the second of two
    labels. A precision target that no threshold reaches takes the threshold with the
    highest precision and says so in ``unreached``.
    """
    labels = tuple(labels)
    coverage = coverage_accuracy(y_true, y_pred, proba.max(axis=1), config=config)
    if positive_label is None and len(labels) != 2:
        return OperatingPoints(coverage=coverage)
    positive = labels[1] if positive_label is None else positive_label
    index = labels.index(positive)
    if not (y_true == index).any() or (y_true == index).all():
        # one class only: no curve and no threshold is defined
        return OperatingPoints(coverage=coverage)
    found = curves(y_true, proba, labels=labels, positive_label=positive, max_points=max_points)
    if rule is None:
        return OperatingPoints(curves=found, coverage=coverage)
    unreached = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", HeldoutStatsWarning)
        choice = choose_threshold(
            y_true,
            proba,
            target=rule.target,
            value=rule.value,
            beta=rule.beta,
            costs=rule.costs,
            labels=labels,
            positive_label=positive,
            config=config,
        )
    for w in caught:
        if issubclass(w.category, HeldoutStatsWarning):
            unreached = str(w.message)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return OperatingPoints(curves=found, choice=choice, coverage=coverage, unreached=unreached)
