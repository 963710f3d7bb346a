"""Aggregates that also know when their point estimate is undefined."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["SumsAggregate", "safe_divide"]

SumsFn = Callable[[NDArray[np.float64]], NDArray[np.float64]]
UndefinedFn = Callable[[NDArray[np.float64]], "str | None"]


@dataclass(frozen=True)
class SumsAggregate:
    """An :data:`~heldout.scoring.Aggregate` with an optional undefinedness check.

    Calling it maps column sums ``(..., k)`` to values ``(...)`` silently (the bootstrap
    calls it on every resample); :func:`heldout.scoring.metric_value` additionally asks
    ``undefined(sums)`` on the full data and warns with the reason it returns. Both are
    built from module-level functions with :func:`functools.partial`, so they pickle.
    """

    compute: SumsFn
    undefined: UndefinedFn | None = None

    def __call__(self, sums: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(self.compute(np.asarray(sums, dtype=np.float64)), dtype=np.float64)

    def why_undefined(self, sums: NDArray[np.float64]) -> str | None:
        if self.undefined is None:
            return None
        return self.undefined(np.asarray(sums, dtype=np.float64))


def safe_divide(num: NDArray[np.float64], den: NDArray[np.float64]) -> NDArray[np.float64]:
    """``num / den`` where ``den > 0``, else 0 (scikit-learn's ``zero_division=0``)."""
    num, den = np.broadcast_arrays(np.asarray(num, np.float64), np.asarray(den, np.float64))
    out = np.zeros(num.shape, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out
