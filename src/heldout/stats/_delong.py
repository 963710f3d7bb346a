"""ROC-AUC with DeLong's variance, for one model and for two models on the same labels.

DeLong, DeLong & Clarke-Pearson (1988) write the AUC as the mean of placement values: for a
positive ``i``, ``V10_i`` is the share of negatives scored below it (ties count 1/2); for a
negative ``j``, ``V01_j`` is the share of positives scored above it. Both are read off one
sort of the scores (the midrank construction without three separate rankings), so
everything here is ``O(n log n)`` per class.

Every AUC is carried as per-example *influence* values ``psi`` with
``AUC_hat - AUC ~ sum_i psi_i``: a positive contributes ``(V10_i - AUC) / m`` and a negative
``(V01_j - AUC) / n_neg``. DeLong's variance ``S10 / m + S01 / n_neg`` is exactly
``sum psi**2`` once positive terms are scaled by ``sqrt(m / (m - 1))`` and negative terms by
``sqrt(n_neg / (n_neg - 1))``. That view extends DeLong to

- one-vs-rest macro AUC: ``psi`` is the mean over classes of each class's influence;
- two models: the variance of the difference is ``sum (psi_a - psi_b)**2``;
- clusters: unscaled influence values are summed within clusters before squaring, with the
  CR1 factor ``G / (G - 1)``.
"""

from __future__ import annotations

import warnings
import weakref
from collections import OrderedDict
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from heldout._errors import MetricError
from heldout.stats._clusters import cluster_codes, clustered_variance
from heldout.stats._config import HeldoutStatsWarning
from heldout.stats._intervals import z_critical
from heldout.stats._paired import p_from_normal
from heldout.stats._types import Difference, Estimate

__all__ = [
    "AucInfluence",
    "delong_auc",
    "delong_influence",
    "delong_paired",
    "influence_variance",
    "paired_influence",
]


class AucInfluence(NamedTuple):
    """A (macro) ROC-AUC and each example's influence on it.

    Attributes:
        auc: the AUC; for scores of shape ``(n, C)``, the mean of the one-vs-rest AUCs.
        influence: per-example influence values ``psi`` (used for clustered variances).
        scaled: the same with DeLong's small-sample factors; ``sum(scaled**2)`` is DeLong's
            variance.
        n_classes: number of classes the AUC averages (1 for binary scores).
    """

    auc: float
    influence: NDArray[np.float64]
    scaled: NDArray[np.float64]
    n_classes: int


def _placements(positive: NDArray[np.bool_], scores: NDArray[np.float64]) -> NDArray[np.float64]:
    """Unnormalised placement values from one sort, ties counting 1/2.

    Returns, for each positive, the number of negatives scored below it, and for each
    negative, the number of positives scored above it.
    """
    order = np.argsort(scores, kind="quicksort")
    ordered = scores[order]
    pos = positive[order]
    starts = np.empty(ordered.shape[0], dtype=bool)
    starts[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=starts[1:])
    group = np.cumsum(starts) - 1
    pos_in = np.bincount(group, weights=pos)
    neg_in = np.bincount(group, minlength=pos_in.shape[0]) - pos_in
    neg_below = np.cumsum(neg_in) - neg_in
    pos_above = pos_in.sum() - np.cumsum(pos_in)
    out = np.empty(ordered.shape[0])
    out[order] = np.where(pos, (neg_below + 0.5 * neg_in)[group], (pos_above + 0.5 * pos_in)[group])
    return out


def _one_vs_rest(
    positive: NDArray[np.bool_], scores: NDArray[np.float64]
) -> tuple[float, NDArray[np.float64], NDArray[np.float64]]:
    """AUC of one class against the rest, with raw and scaled influence values."""
    m = int(np.count_nonzero(positive))
    n_neg = int(positive.shape[0]) - m
    placement = _placements(positive, scores)
    auc = float(np.dot(placement, positive)) / (m * n_neg)
    # V10 = placement / n_neg for positives, V01 = placement / m for negatives; the
    # influence divides V - AUC once more by the size of the example's own class.
    own = np.where(positive, float(m), float(n_neg))
    other = np.where(positive, float(n_neg), float(m))
    psi = (placement / other - auc) / own
    if m < 2 or n_neg < 2:
        warnings.warn(
            f"the AUC variance rests on {m} positive(s) and {n_neg} negative(s); "
            "with fewer than 2 of either it understates the uncertainty",
            HeldoutStatsWarning,
            stacklevel=4,
        )
    scale = np.sqrt(own / np.maximum(own - 1.0, 1.0))
    return auc, psi, psi * scale


# The influence values of the last few read-only (y, scores) pairs: an estimate and the
# paired test of the same ranking then sort its scores once. Only arrays that cannot change
# are remembered (rankings hand out read-only views), checked by identity through weak
# references, so a new array with a recycled id is never mistaken for an old one.
_RECENT: OrderedDict[tuple[int, int], tuple[weakref.ref[Any], weakref.ref[Any], AucInfluence]] = (
    OrderedDict()
)
_RECENT_SIZE = 8


def delong_influence(y: NDArray[Any], scores: NDArray[Any]) -> AucInfluence:
    """ROC-AUC and per-example influence values, in ``O(n log n)``.

    The AUC equals ``sklearn.metrics.roc_auc_score(y, scores)`` for binary scores of shape
    ``(n,)`` (``y`` in {0, 1}), and ``roc_auc_score(y, scores, multi_class="ovr",
    average="macro")`` for scores of shape ``(n, C)`` (``y`` in ``0 .. C-1``). A class with
    no positive or no negative example is left out of the macro average with a
    :class:`HeldoutStatsWarning`.

    Args:
        y: class index of each example.
        scores: the model's scores, ``(n,)`` or ``(n, C)``.

    Returns:
        The AUC and the influence values.

    Raises:
        MetricError: if shapes disagree, labels are out of range, scores are not finite, or
            no class has both positives and negatives.
    """
    labels = np.asarray(y)
    s = np.asarray(scores, dtype=np.float64)
    frozen = not labels.flags.writeable and not s.flags.writeable
    key = (id(labels), id(s))
    if frozen and key in _RECENT:
        y_ref, s_ref, known = _RECENT[key]
        if y_ref() is labels and s_ref() is s:
            return known
    result = _influence(labels, s)
    if frozen:
        _RECENT[key] = (weakref.ref(labels), weakref.ref(s), result)
        while len(_RECENT) > _RECENT_SIZE:
            _RECENT.popitem(last=False)
    return result


def _influence(labels: NDArray[Any], s: NDArray[np.float64]) -> AucInfluence:
    n = int(labels.shape[0])
    if labels.ndim != 1 or s.ndim not in (1, 2) or s.shape[0] != n:
        raise MetricError(
            f"AUC needs labels of shape (n,) and scores of shape (n,) or (n, C); got "
            f"{labels.shape} and {s.shape}"
        )
    if not np.all(np.isfinite(s)):
        raise MetricError("AUC scores contain nan or infinite values")
    columns = s[:, None] if s.ndim == 1 else s
    n_classes = int(columns.shape[1])
    valid = (0, 1) if s.ndim == 1 else (0, n_classes - 1)
    if n and (labels.min() < valid[0] or labels.max() > valid[1]):
        raise MetricError(
            f"AUC labels must lie in {valid[0]}..{valid[1]} for scores of shape {s.shape}; "
            f"got values from {labels.min()} to {labels.max()}"
        )
    aucs: list[float] = []
    psi = np.zeros(n)
    scaled = np.zeros(n)
    skipped: list[int] = []
    for c in range(n_classes):
        positive = labels == (1 if s.ndim == 1 else c)
        m = int(np.count_nonzero(positive))
        if m == 0 or m == n:
            skipped.append(c)
            continue
        auc_c, psi_c, scaled_c = _one_vs_rest(positive, columns[:, c])
        aucs.append(auc_c)
        psi += psi_c
        scaled += scaled_c
    if not aucs:
        raise MetricError(
            f"AUC is undefined on these {n} examples: no class has both positive and "
            "negative examples"
        )
    if skipped and s.ndim == 2:
        warnings.warn(
            f"classes {skipped} have no positive or no negative example and are left out "
            f"of the macro AUC ({len(aucs)} of {n_classes} classes averaged)",
            HeldoutStatsWarning,
            stacklevel=2,
        )
    k = len(aucs)
    return AucInfluence(float(np.mean(aucs)), psi / k, scaled / k, k)


def influence_variance(infl: AucInfluence, cluster: NDArray[Any] | None = None) -> float:
    """DeLong's variance (``sum scaled**2``), or the CR1 clustered one from raw influence."""
    if cluster is None:
        return float(np.dot(infl.scaled, infl.scaled))
    clusters = cluster_codes(cluster, infl.influence.shape[0])
    if clusters.n_clusters < 2:
        warnings.warn(
            "all examples share one cluster, so the clustered AUC variance is undefined (nan)",
            HeldoutStatsWarning,
            stacklevel=3,
        )
    return clustered_variance(infl.influence, clusters)


def delong_auc(
    y: NDArray[Any],
    scores: NDArray[Any],
    *,
    cluster: NDArray[Any] | None = None,
    confidence: float = 0.95,
) -> Estimate:
    """ROC-AUC with a DeLong normal interval, clipped to ``[0, 1]``.

    Args:
        y: class index of each example (1 is positive for binary scores).
        scores: ``(n,)`` binary or ``(n, C)`` one-vs-rest scores.
        cluster: optional cluster id of each example (method ``delong-clustered``).
        confidence: nominal coverage.

    Returns:
        The AUC estimate (method ``delong`` or ``delong-clustered``).
    """
    infl = delong_influence(y, scores)
    se = float(np.sqrt(influence_variance(infl, cluster)))
    half = z_critical(confidence) * se
    method = "delong" if cluster is None else "delong-clustered"
    n = int(infl.influence.shape[0])
    return Estimate(
        infl.auc, max(0.0, infl.auc - half), min(1.0, infl.auc + half), n, method, confidence
    )


def paired_influence(
    y: NDArray[Any], candidate_scores: NDArray[Any], baseline_scores: NDArray[Any]
) -> AucInfluence:
    """AUC difference ``candidate - baseline`` and its per-example influence values."""
    cand = delong_influence(y, candidate_scores)
    base = delong_influence(y, baseline_scores)
    return AucInfluence(
        cand.auc - base.auc,
        cand.influence - base.influence,
        cand.scaled - base.scaled,
        cand.n_classes,
    )


def delong_paired(
    y: NDArray[Any],
    candidate_scores: NDArray[Any],
    baseline_scores: NDArray[Any],
    *,
    cluster: NDArray[Any] | None = None,
    confidence: float = 0.95,
) -> Difference:
    """DeLong's test that two models' AUCs on the same labelled examples are equal.

    The variance of ``AUC_candidate - AUC_baseline`` is the sum of squared differences of
    the two models' influence values (DeLong's covariance formula for binary scores); the
    p-value and interval are normal.

    Args:
        y: class index of each example, shared by both models.
        candidate_scores: the candidate's scores.
        baseline_scores: the baseline's scores on the same examples.
        cluster: optional cluster id of each example (test ``delong-clustered``).
        confidence: nominal coverage of the interval.

    Returns:
        The AUC difference with interval, p-value and test name (``delong``).
    """
    diff = paired_influence(y, candidate_scores, baseline_scores)
    se = float(np.sqrt(influence_variance(diff, cluster)))
    half = z_critical(confidence) * se
    test = "delong" if cluster is None else "delong-clustered"
    n = int(diff.influence.shape[0])
    p = p_from_normal(diff.auc, se)
    return Difference(diff.auc, diff.auc - half, diff.auc + half, p, test, n, confidence=confidence)
