"""Settings shared by every statistic, and the warning the stage raises."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["CIMethod", "Correction", "HeldoutStatsWarning", "StatsConfig"]

CIMethod = Literal["percentile", "bca"]
Correction = Literal["holm", "bonferroni", "fdr_bh", "none"]

_CI_METHODS = ("percentile", "bca")
_CORRECTIONS = ("holm", "bonferroni", "fdr_bh", "none")


class HeldoutStatsWarning(UserWarning):
    """A statistic was computed, but with a caveat the reader should know.

    Raised, for instance, when some bootstrap resamples leave a metric undefined and are
    dropped, or when a variance rests on fewer than two positives.
    """


@dataclass(frozen=True, kw_only=True)
class StatsConfig:
    """How intervals, paired tests and power are computed.

    Attributes:
        confidence: nominal coverage of every interval.
        n_resamples: bootstrap resamples per block.
        seed: seed of ``numpy.random.default_rng`` for every bootstrap; each block (or pair
            of blocks) starts from this seed, so adding a metric never changes another
            metric's interval.
        ci_method: ``percentile`` or ``bca`` (bias-corrected and accelerated) bootstrap
            intervals.
        correction: multiple-comparison correction across the metrics compared together.
        power: power at which the minimum detectable effect is reported.

    Example:
        >>> round(StatsConfig(confidence=0.9).alpha, 3)
        0.1
    """

    confidence: float = 0.95
    n_resamples: int = 1000
    seed: int = 0
    ci_method: CIMethod = "percentile"
    correction: Correction = "holm"
    power: float = 0.8

    def __post_init__(self) -> None:
        if not 0.0 < self.confidence < 1.0:
            raise ValueError(
                f"StatsConfig.confidence must lie strictly between 0 and 1, got "
                f"{self.confidence!r}; write 0.95 for a 95% interval"
            )
        if not 0.0 < self.power < 1.0:
            raise ValueError(
                f"StatsConfig.power must lie strictly between 0 and 1, got {self.power!r}"
            )
        if isinstance(self.n_resamples, bool) or self.n_resamples < 1:
            raise ValueError(
                f"StatsConfig.n_resamples must be a positive integer, got {self.n_resamples!r}"
            )
        if self.ci_method not in _CI_METHODS:
            raise ValueError(
                f"StatsConfig.ci_method must be one of {_CI_METHODS}, got {self.ci_method!r}"
            )
        if self.correction not in _CORRECTIONS:
            raise ValueError(
                f"StatsConfig.correction must be one of {_CORRECTIONS}, got {self.correction!r}"
            )

    @property
    def alpha(self) -> float:
        """Two-sided significance level, ``1 - confidence``."""
        return 1.0 - self.confidence
