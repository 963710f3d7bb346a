"""Corrections of p-values for the several comparisons reported together."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from heldout.stats._config import Correction

__all__ = ["adjust_pvalues"]


def adjust_pvalues(p_values: NDArray[Any] | list[float], method: Correction) -> NDArray[np.float64]:
    """Adjust p-values for multiple comparisons.

    Matches ``statsmodels.stats.multitest.multipletests(p, method=...)[1]`` for ``holm``
    (Holm–Bonferroni step-down, controls the family-wise error rate), ``bonferroni`` and
    ``fdr_bh`` (Benjamini–Hochberg, controls the false discovery rate); ``none`` returns the
    p-values unchanged. ``nan`` p-values (tests that could not be computed) stay ``nan`` and
    do not count among the comparisons.

    Args:
        p_values: the raw p-values.
        method: ``holm``, ``bonferroni``, ``fdr_bh`` or ``none``.

    Returns:
        The adjusted p-values, in the input order.

    Raises:
        ValueError: for an unknown method.

    Example:
        >>> adjust_pvalues([0.01, 0.04, 0.03], "holm").round(3).tolist()
        [0.03, 0.06, 0.06]
    """
    p = np.asarray(p_values, dtype=np.float64).ravel()
    out = p.copy()
    ok = np.isfinite(p)
    q = p[ok]
    m = q.shape[0]
    if method == "none" or m == 0:
        return out
    if method == "bonferroni":
        adjusted = np.minimum(q * m, 1.0)
    elif method == "holm":
        order = np.argsort(q, kind="stable")
        steps = np.maximum.accumulate(q[order] * (m - np.arange(m)))
        adjusted = np.empty(m)
        adjusted[order] = np.minimum(steps, 1.0)
    elif method == "fdr_bh":
        order = np.argsort(q, kind="stable")
        scaled = q[order] * m / np.arange(1, m + 1)
        steps = np.minimum.accumulate(scaled[::-1])[::-1]
        adjusted = np.empty(m)
        adjusted[order] = np.minimum(steps, 1.0)
    else:
        raise ValueError(
            f"unknown correction {method!r}; use 'holm', 'bonferroni', 'fdr_bh' or 'none'"
        )
    out[ok] = adjusted
    return out
