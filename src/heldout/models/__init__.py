"""Models: where predictions come from."""

from heldout.models._predictions import Predictions, load_predictions

__all__ = ["Predictions", "load_predictions"]
