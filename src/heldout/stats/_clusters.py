"""Cluster ids and cluster-robust standard errors of a mean.

With ``cluster`` set, examples from the same cluster (conversation, document, user) are not
independent. Every clustered standard error in this package is the CR1 sandwich of a mean:
sum the residuals within each cluster, square the cluster sums, and scale by the
small-sample factor ``G / (G - 1)`` for ``G`` clusters (for a regression on a constant,
Stata's and statsmodels' CR1 factor ``G/(G-1) * (N-1)/(N-K)`` reduces to ``G/(G-1)``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from heldout._errors import MetricError

__all__ = ["ClusterCodes", "cluster_codes", "clustered_variance"]


class ClusterCodes(NamedTuple):
    """Clusters relabelled ``0 .. n_clusters - 1``.

    Attributes:
        codes: int64 cluster index of each example, shape ``(n,)``.
        n_clusters: number of distinct clusters ``G``.
    """

    codes: NDArray[np.int64]
    n_clusters: int


def cluster_codes(cluster: NDArray[Any], n: int) -> ClusterCodes:
    """Relabel arbitrary cluster ids (strings, ints) as ``0 .. G - 1``.

    Args:
        cluster: one cluster id per example.
        n: the number of examples the ids must cover.

    Returns:
        The codes and the number of clusters.

    Raises:
        MetricError: if ``cluster`` does not hold exactly one id per example.
    """
    arr = np.asarray(cluster)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise MetricError(
            f"cluster ids have shape {arr.shape}, expected one id per example ({n},); "
            "pass the cluster column of the same examples that were scored"
        )
    uniques, inverse = np.unique(arr, return_inverse=True)
    return ClusterCodes(codes=inverse.astype(np.int64).ravel(), n_clusters=int(uniques.shape[0]))


def clustered_variance(influence: NDArray[np.float64], clusters: ClusterCodes) -> float:
    """CR1 variance of a statistic that is linear in per-example influence values.

    Args:
        influence: each example's contribution to the statistic minus its mean share; for a
            mean of ``x`` this is ``(x_i - mean(x)) / n``.
        clusters: the cluster of each example.

    Returns:
        ``G / (G - 1) * sum_g (sum_{i in g} influence_i) ** 2``, or ``nan`` with one cluster.
    """
    g = clusters.n_clusters
    if g < 2:
        return float("nan")
    sums = np.bincount(clusters.codes, weights=influence, minlength=g)
    return float(g / (g - 1) * np.dot(sums, sums))
