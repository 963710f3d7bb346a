"""heldout: is your fine-tuned model really better?"""

from heldout._errors import DataError, HeldoutError, MetricError, ModelError, SpecError, StoreError
from heldout._version import __version__

__all__ = [
    "DataError",
    "HeldoutError",
    "MetricError",
    "ModelError",
    "SpecError",
    "StoreError",
    "__version__",
]
