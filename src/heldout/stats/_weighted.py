"""Metrics of a weighted sample that estimate the metrics of the population it was drawn from.

``heldout sample`` gives every sampled example the weight ``N_h / n_h`` (the inverse of its
inclusion probability). A metric of the population is a function of population sums, so
every sum is estimated by its Horvitz–Thompson estimate ``sum_i w_i s_i``:

- a ``mean`` metric becomes the ratio estimator ``sum w_i y_i / sum w_i``, whose standard
  error is the linearised (Taylor) one with influence values
  ``z_i = w_i (y_i - ybar_w) / sum w``: ``Var = n / (n - 1) * sum z_i ** 2``, or the CR1
  sum over clusters. This is the with-replacement design variance that R's
  ``survey::svymean`` gives for ``svydesign(ids = ~1, weights = ~w)``, and equals the HC1
  sandwich variance of a weighted least-squares fit on a constant (statsmodels
  ``WLS(y, 1, weights=w).fit(cov_type="HC1")``). Without the strata it is conservative:
  it also counts the variation between strata that stratification removed.
- a ``bootstrap`` metric (F1, BLEU, R²…) is its aggregate of the weighted column sums, so
  F1 is scikit-learn's ``f1_score(..., sample_weight=w)``; the bootstrap resamples examples
  and carries their weights (:func:`weighted_block`).
- a paired difference of ``mean`` metrics is the weighted mean difference with the same
  linearised standard error; of ``bootstrap`` metrics the paired bootstrap of the weighted
  blocks.

ROC-AUC (DeLong) and binned average precision have no weighted form here: they are
refused with a :class:`MetricError` rather than computed as if unweighted.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from heldout._errors import MetricError
from heldout._util._scipy import special
from heldout.scoring import StatBlock
from heldout.stats._clusters import cluster_codes, clustered_variance
from heldout.stats._intervals import Interval, t_critical, undefined_interval
from heldout.stats._types import Difference, Estimate

__all__ = [
    "check_weights",
    "linearized_variance",
    "weighted_block",
    "weighted_mean",
    "weighted_mean_interval",
    "weighted_paired",
]

#: Method names, ``-clustered`` appended when clusters are given.
MEAN_METHOD = "weighted-linearized"
PAIRED_TEST = "weighted-paired-linearized"


def check_weights(weights: NDArray[Any], n: int) -> NDArray[np.float64]:
    """The weights as float64, checked: one per example, finite and positive."""
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or w.shape[0] != n:
        raise MetricError(f"weights have shape {w.shape}, expected one weight per example ({n},)")
    bad = ~np.isfinite(w) | (w <= 0.0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise MetricError(
            f"weight {w[i]!r} of example {i} is not a positive finite number; "
            "every sampled example needs its inverse inclusion probability"
        )
    return w


def weighted_mean(x: NDArray[np.float64], weights: NDArray[np.float64]) -> float:
    """``sum w_i x_i / sum w_i`` (the ratio estimator of the population mean)."""
    return float(np.dot(weights, x) / weights.sum())


def linearized_variance(
    x: NDArray[np.float64],
    weights: NDArray[np.float64],
    *,
    cluster: NDArray[Any] | None = None,
) -> float:
    """Linearised variance of the weighted mean of ``x`` (see the module docstring).

    Returns ``nan`` when there is nothing to estimate it from (one example or one cluster).
    """
    n = int(x.shape[0])
    total = float(weights.sum())
    z = weights * (x - weighted_mean(x, weights)) / total
    if cluster is not None:
        return clustered_variance(z, cluster_codes(cluster, n))
    if n < 2:
        return float("nan")
    return float(n / (n - 1) * np.dot(z, z))


def _checked(
    x: NDArray[Any], weights: NDArray[Any]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1 or arr.shape[0] == 0:
        raise MetricError("a weighted mean needs a non-empty column of per-example scores")
    if not np.all(np.isfinite(arr)):
        raise MetricError("per-example scores are nan or infinite; score every example")
    return arr, check_weights(weights, int(arr.shape[0]))


def _df(n: int, cluster: NDArray[Any] | None) -> int:
    return n - 1 if cluster is None else cluster_codes(cluster, n).n_clusters - 1


def weighted_mean_interval(
    x: NDArray[Any],
    weights: NDArray[Any],
    *,
    cluster: NDArray[Any] | None = None,
    confidence: float = 0.95,
    binary: bool = False,
) -> Estimate:
    """Weighted mean of per-example scores with its linearised t interval.

    Args:
        x: per-example scores, shape ``(n,)``.
        weights: per-example sampling weights (inverse inclusion probabilities).
        cluster: optional cluster id of each example (CR1 over clusters, t on ``G - 1``).
        confidence: nominal coverage.
        binary: clip the interval to ``[0, 1]`` (0/1 scores).

    Returns:
        The estimate, method ``weighted-linearized`` (``-clustered`` with clusters).

    Example:
        >>> est = weighted_mean_interval(np.array([1.0, 0.0, 1.0, 1.0]), np.array([1.0, 3.0, 1.0, 1.0]))
        >>> est.value, est.method
        (0.5, 'weighted-linearized')
    """
    arr, w = _checked(x, weights)
    n = int(arr.shape[0])
    value = weighted_mean(arr, w)
    var = linearized_variance(arr, w, cluster=cluster)
    df = _df(n, cluster)
    if not (np.isfinite(var) and df >= 1):
        ci = undefined_interval("a weighted mean of one example or one cluster has no spread")
    else:
        half = t_critical(confidence, df) * float(np.sqrt(var))
        ci = Interval(value - half, value + half)
        if binary:
            ci = Interval(max(0.0, ci.low), min(1.0, ci.high))
    method = MEAN_METHOD + ("" if cluster is None else "-clustered")
    return Estimate(value, ci.low, ci.high, n, method, confidence)


def weighted_paired(
    a: NDArray[Any],
    b: NDArray[Any],
    weights: NDArray[Any],
    *,
    cluster: NDArray[Any] | None = None,
    confidence: float = 0.95,
) -> Difference:
    """Paired difference of two weighted means on the same examples.

    ``delta = sum w (a - b) / sum w``, its linearised standard error, a t interval and the
    two-sided t-test of ``delta = 0`` on ``n - 1`` (or ``G - 1``) degrees of freedom.

    Returns:
        The difference, test ``weighted-paired-linearized`` (``-clustered``).
    """
    xa, w = _checked(a, weights)
    xb, _ = _checked(b, weights)
    if xa.shape != xb.shape:
        raise MetricError(
            f"a paired comparison needs both models on the same examples ({xa.shape[0]} vs "
            f"{xb.shape[0]})"
        )
    d = xa - xb
    n = int(d.shape[0])
    delta = weighted_mean(d, w)
    var = linearized_variance(d, w, cluster=cluster)
    df = _df(n, cluster)
    test = PAIRED_TEST + ("" if cluster is None else "-clustered")
    if not (np.isfinite(var) and df >= 1):
        ci = undefined_interval("a weighted paired difference of one example has no spread")
        return Difference(delta, ci.low, ci.high, float("nan"), test, n, confidence=confidence)
    se = float(np.sqrt(var))
    if se == 0.0:
        # the two models never differ: no evidence of a difference
        return Difference(
            delta, delta, delta, 1.0 if delta == 0.0 else 0.0, test, n, confidence=confidence
        )
    half = t_critical(confidence, df) * se
    p = float(2.0 * special.stdtr(df, -abs(delta) / se))
    return Difference(delta, delta - half, delta + half, p, test, n, confidence=confidence)


def weighted_block(block: StatBlock, weights: NDArray[Any]) -> StatBlock:
    """The block whose column sums are the weighted sums ``sum_i w_i s_i``.

    Examples that share a cell and a weight form one cell of the result, so a stratified
    sample (a few distinct weights) of a confusion block keeps a few cells and the
    bootstrap keeps its multinomial shortcut; resampling the result's rows resamples the
    examples together with their weights.
    """
    w = check_weights(weights, block.n)
    wcode, wvalues = pd.factorize(w, sort=True)
    wvalues = np.asarray(wvalues, dtype=np.float64)
    key = block.codes * np.int64(wvalues.shape[0]) + wcode.astype(np.int64)
    uniques, inverse = np.unique(key, return_inverse=True)
    if uniques.shape[0] * 2 > block.n:
        # (nearly) every example its own cell: a dense block of weighted rows
        return StatBlock.dense(block.rows() * w[:, None])
    cells = uniques // wvalues.shape[0]
    scale = wvalues[uniques % wvalues.shape[0]]
    if block.table is None:
        table = np.zeros((uniques.shape[0], block.n_cells))
        table[np.arange(uniques.shape[0]), cells] = scale
    else:
        table = block.table[cells] * scale[:, None]
    return StatBlock.cells(inverse.astype(np.int64).ravel(), int(uniques.shape[0]), table)
