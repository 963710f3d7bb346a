"""Models: where predictions come from (a predictions file, or a Python function)."""

from heldout.models._predictions import Predictions, load_predictions, predictions_from_table
from heldout.models._python import load_function, run_python_model

__all__ = [
    "Predictions",
    "load_function",
    "load_predictions",
    "predictions_from_table",
    "run_python_model",
]
