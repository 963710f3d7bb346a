"""heldout: is your fine-tuned model really better?

>>> import heldout
>>> run = heldout.evaluate("eval.yaml")                      # doctest: +SKIP
>>> run.comparisons["macro_f1"].verdict                        # doctest: +SKIP
'better'
"""

from heldout._api import load_run
from heldout._errors import DataError, HeldoutError, MetricError, ModelError, SpecError, StoreError
from heldout._version import __version__
from heldout.run import Run, TaskResult, evaluate
from heldout.stats import Difference, Estimate, MinimumDetectableEffect

__all__ = [
    "DataError",
    "Difference",
    "Estimate",
    "HeldoutError",
    "MetricError",
    "MinimumDetectableEffect",
    "ModelError",
    "Run",
    "SpecError",
    "StoreError",
    "TaskResult",
    "__version__",
    "evaluate",
    "load_run",
]
