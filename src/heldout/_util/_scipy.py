"""SciPy's ``special`` and ``sparse``, imported on first use.

``import scipy.special`` costs 0.3-0.5 s (it loads SciPy's array-API layer); a run that only
needs normal quantiles, or a command that computes no statistic, never pays for it. Use as
the modules themselves: ``special.stdtrit(df, q)``, ``sparse.csr_array(...)``.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["sparse", "special"]


class _OnFirstUse:
    """A module, imported when one of its attributes is first read."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(importlib.import_module(self._name), attribute)

    def __repr__(self) -> str:
        return f"<{self._name}, imported on first use>"


special: Any = _OnFirstUse("scipy.special")
sparse: Any = _OnFirstUse("scipy.sparse")
