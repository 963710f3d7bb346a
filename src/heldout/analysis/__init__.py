"""Analysis: slices, confusion and the other breakdowns of a run's results."""

from heldout.analysis._confusion import ConfusionMatrix, confusion_matrix
from heldout.analysis._slices import SliceResult, slice_results

__all__ = ["ConfusionMatrix", "SliceResult", "confusion_matrix", "slice_results"]
