"""Analysis: slices, confusion, efficiency and the other breakdowns of a run's results."""

from heldout.analysis._confusion import ConfusionMatrix, confusion_matrix
from heldout.analysis._efficiency import efficiency_estimates, quantile_interval
from heldout.analysis._robustness import RobustnessRow, robustness
from heldout.analysis._slices import SliceResult, slice_results

__all__ = [
    "ConfusionMatrix",
    "RobustnessRow",
    "SliceResult",
    "confusion_matrix",
    "efficiency_estimates",
    "quantile_interval",
    "robustness",
    "slice_results",
]
