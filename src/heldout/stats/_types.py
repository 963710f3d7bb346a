"""Result types of the statistics stage: point estimates and paired differences."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = ["Difference", "Estimate", "MinimumDetectableEffect", "Verdict"]

Verdict = Literal["better", "worse", "no significant difference"]


@dataclass(frozen=True)
class Estimate:
    """A metric value with its confidence interval.

    Attributes:
        value: the point estimate, equal to the reference library's value.
        ci_low: lower bound of the interval.
        ci_high: upper bound of the interval.
        n: number of examples the estimate rests on.
        method: how the interval was computed (``wilson``, ``clt``, ``clt-clustered``,
            ``bootstrap-percentile``, ``bootstrap-bca``, ``delong``, ...).
        confidence: the interval's nominal coverage.
    """

    value: float
    ci_low: float
    ci_high: float
    n: int
    method: str
    confidence: float = 0.95

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Difference:
    """A paired difference ``candidate - baseline`` on the same examples.

    Attributes:
        delta: candidate minus baseline, in the metric's units.
        ci_low: lower bound of the interval on ``delta``.
        ci_high: upper bound of the interval on ``delta``.
        p_value: two-sided p-value of the paired test.
        test: the test used (``mcnemar-exact``, ``mcnemar-chi2``, ``paired-t``,
            ``paired-bootstrap``, ``delong``, ...).
        n: number of paired examples.
        p_adjusted: p-value after correction across the comparisons reported together.
        verdict: ``better``/``worse`` only when significant after correction.
        confidence: the interval's nominal coverage.
    """

    delta: float
    ci_low: float
    ci_high: float
    p_value: float
    test: str
    n: int
    p_adjusted: float | None = None
    verdict: Verdict = "no significant difference"
    confidence: float = 0.95

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class MinimumDetectableEffect:
    """The smallest true difference the eval detects with the given power.

    Attributes:
        metric: the metric the effect is expressed in.
        effect: the minimum detectable absolute difference.
        power: the power it is computed for (0.8 by default).
        alpha: the two-sided significance level.
        n: number of paired examples.
        basis: what the variance came from (e.g. ``disagreement rate 0.083``).
    """

    metric: str
    effect: float
    power: float
    alpha: float
    n: int
    basis: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
