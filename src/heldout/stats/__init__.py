"""Statistics: estimates with confidence intervals and paired differences."""

from heldout.stats._types import Difference, Estimate, MinimumDetectableEffect, Verdict

__all__ = ["Difference", "Estimate", "MinimumDetectableEffect", "Verdict"]
