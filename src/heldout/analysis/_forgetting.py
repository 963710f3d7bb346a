"""Forgetting: whether the candidate lost a general capability the baseline had.

The rule, on a suite's accuracy, with ``d`` the paired candidate-minus-baseline
difference, its interval ``[low, high]`` and its p-value corrected across the suite's
metrics:

- ``forgotten``: the candidate is significantly worse (corrected p below alpha) and by
  more than the tolerance (``d < -tolerance``);
- ``kept``: the whole interval lies above ``-tolerance`` (any loss is within tolerance);
- ``inconclusive``: neither — the suite is too small to tell.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from heldout.analysis._calibration import difference_from, estimate_from
from heldout.stats import Difference, Estimate

__all__ = ["Forgetting", "ForgettingVerdict", "forgetting"]

ForgettingVerdict = Literal["forgotten", "kept", "inconclusive"]


@dataclass(frozen=True)
class Forgetting:
    """One suite's verdict.

    Attributes:
        suite: the suite's name in the spec.
        format: the file's layout (``mmlu``, ``arc``, ``hellaswag``, ``truthfulqa``,
            ``heldout``).
        path: the suite file.
        metric: the metric judged (``accuracy``).
        candidate: the candidate's estimate.
        baseline: the baseline's estimate.
        difference: candidate minus baseline, paired.
        tolerance: the loss allowed.
        verdict: ``forgotten``, ``kept`` or ``inconclusive`` (see the module docstring).
    """

    suite: str
    format: str
    path: str
    metric: str
    candidate: Estimate
    baseline: Estimate
    difference: Difference
    tolerance: float
    verdict: ForgettingVerdict

    def to_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "format": self.format,
            "path": self.path,
            "metric": self.metric,
            "candidate": self.candidate.to_dict(),
            "baseline": self.baseline.to_dict(),
            "difference": self.difference.to_dict(),
            "tolerance": self.tolerance,
            "verdict": self.verdict,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Forgetting:
        return cls(
            suite=str(data["suite"]),
            format=str(data["format"]),
            path=str(data["path"]),
            metric=str(data["metric"]),
            candidate=estimate_from(data["candidate"]),
            baseline=estimate_from(data["baseline"]),
            difference=difference_from(data["difference"]),
            tolerance=float(data["tolerance"]),
            verdict=data["verdict"],
        )


def forgetting(
    difference: Difference, *, tolerance: float, alpha: float = 0.05
) -> ForgettingVerdict:
    """The verdict of a paired accuracy difference (see the module docstring).

    Example:
        >>> from heldout.stats import Difference
        >>> d = Difference(-0.06, -0.09, -0.03, 0.001, "mcnemar-chi2", 500, 0.002)
        >>> forgetting(d, tolerance=0.01)
        'forgotten'
    """
    p = difference.p_adjusted if difference.p_adjusted is not None else difference.p_value
    if p < alpha and difference.delta < -tolerance:
        return "forgotten"
    if difference.ci_low > -tolerance:
        return "kept"
    return "inconclusive"
