"""Power: the smallest true difference a paired comparison detects."""

from __future__ import annotations

from heldout._util._scipy import special
from heldout.stats._types import MinimumDetectableEffect

__all__ = ["minimum_detectable_effect"]


def minimum_detectable_effect(
    se: float,
    *,
    metric: str,
    n: int,
    basis: str,
    power: float = 0.8,
    alpha: float = 0.05,
) -> MinimumDetectableEffect:
    """Minimum detectable effect of a two-sided paired test.

    ``MDE = (z_{1 - alpha/2} + z_{power}) * SE(delta)``: a true difference of this size is
    declared significant at level ``alpha`` with probability ``power``. The standard error is
    the caller's: ``sqrt(p_disc / n)`` for paired 0/1 scores that disagree on a share
    ``p_disc`` of examples, ``sd(d) / sqrt(n)`` for continuous differences, and the standard
    error of the paired delta for bootstrap and AUC metrics.

    Args:
        se: standard error of the paired difference under the null.
        metric: the metric's name.
        n: number of paired examples.
        basis: what the standard error came from, for people
            (``disagreement rate 0.083 over 2,000 paired examples``).
        power: the power asked for.
        alpha: the two-sided significance level.

    Returns:
        The effect, in the metric's units.

    Example:
        >>> round(minimum_detectable_effect(0.01, metric="accuracy", n=1000, basis="").effect, 4)
        0.028
    """
    multiplier = float(special.ndtri(1.0 - alpha / 2.0) + special.ndtri(power))
    return MinimumDetectableEffect(
        metric=metric, effect=multiplier * se, power=power, alpha=alpha, n=n, basis=basis
    )
