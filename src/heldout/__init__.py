"""heldout: is your fine-tuned model really better?

>>> import heldout
>>> run = heldout.evaluate("eval.yaml")                      # doctest: +SKIP
>>> run.comparisons["macro_f1"].verdict                        # doctest: +SKIP
'better'

The pipeline behind ``evaluate``, ``compare`` and ``load_run`` (pandas, SciPy, SQLAlchemy)
is imported on first use, so ``import heldout.cli`` and the pytest plugin start quickly.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from heldout._errors import DataError, HeldoutError, MetricError, ModelError, SpecError, StoreError
from heldout._version import __version__

if TYPE_CHECKING:
    from heldout._api import load_run
    from heldout.history import compare
    from heldout.run import Run, TaskResult, evaluate
    from heldout.scoring import metric
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
    "compare",
    "evaluate",
    "load_run",
    "metric",
]

#: Where each name imported on first use lives.
_LAZY = {
    "load_run": "heldout._api",
    "compare": "heldout.history",
    "Run": "heldout.run",
    "TaskResult": "heldout.run",
    "evaluate": "heldout.run",
    "Difference": "heldout.stats",
    "Estimate": "heldout.stats",
    "MinimumDetectableEffect": "heldout.stats",
    "metric": "heldout.scoring",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'heldout' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
