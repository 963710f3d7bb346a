"""How far judges can be trusted: agreement between votes, and with human labels.

Votes (``votes: K``) are summarised by the **mean pairwise agreement**: per example, the
share of the K·(K−1)/2 pairs of votes that gave the same score, averaged over examples
(a mean of per-example values, so its interval is the CLT one).

Agreement with human labels (``human: COLUMN``) is reported as exact accuracy (Wilson
interval), Cohen's kappa — quadratic-weighted on an ordinal scale, unweighted on a nominal
one — and Spearman's rank correlation, the last two with bootstrap intervals over
examples. Kappa is computed from the confusion counts, which the bootstrap resamples;
Spearman is the Pearson correlation of the full sample's ranks (equal to
``scipy.stats.spearmanr``), and the bootstrap resamples those ranked pairs.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np
from numpy.typing import NDArray

from heldout.judges._types import ValidationInfo
from heldout.scoring import Aggregate, StatBlock
from heldout.stats import Estimate, StatsConfig, bootstrap_estimates, mean_interval

__all__ = ["LOW_KAPPA", "validate_against_humans", "vote_agreement"]

#: Kappa under this is reported as low agreement (Landis and Koch: "fair" or worse).
LOW_KAPPA = 0.4


def vote_agreement(parsed: NDArray[np.float64], *, confidence: float = 0.95) -> Estimate | None:
    """Mean pairwise agreement between votes, over the examples with every vote.

    Args:
        parsed: the value each vote gave, shape ``(n, K)``; rows with a ``nan`` are left out.
    """
    if parsed.ndim != 2 or parsed.shape[1] < 2:
        return None
    rows = parsed[np.isfinite(parsed).all(axis=1)]
    if rows.shape[0] < 2:
        return None
    pairs = list(combinations(range(rows.shape[1]), 2))
    per_example = np.mean([rows[:, a] == rows[:, b] for a, b in pairs], axis=0).astype(np.float64)
    est = mean_interval(per_example, confidence=confidence, binary=False)
    return Estimate(
        est.value,
        float(np.clip(est.ci_low, 0.0, 1.0)),
        float(np.clip(est.ci_high, 0.0, 1.0)),
        est.n,
        f"mean-pairwise-agreement-{est.method}",
        confidence,
    )


def _kappa_aggregate(k: int, weights: NDArray[np.float64]) -> Aggregate:
    def aggregate(sums: NDArray[np.float64]) -> NDArray[np.float64]:
        table = sums.reshape(*sums.shape[:-1], k, k)
        total = table.sum(axis=(-2, -1))
        rows = table.sum(axis=-1)
        cols = table.sum(axis=-2)
        expected = rows[..., :, None] * cols[..., None, :] / total[..., None, None]
        observed = (weights * table).sum(axis=(-2, -1))
        chance = (weights * expected).sum(axis=(-2, -1))
        with np.errstate(divide="ignore", invalid="ignore"):
            out: NDArray[np.float64] = 1.0 - observed / chance
        return out

    return aggregate


def _pearson(sums: NDArray[np.float64]) -> NDArray[np.float64]:
    sx, sy, sxx, syy, sxy, n = (sums[..., j] for j in range(6))
    cov = sxy - sx * sy / n
    with np.errstate(divide="ignore", invalid="ignore"):
        out: NDArray[np.float64] = cov / np.sqrt((sxx - sx**2 / n) * (syy - sy**2 / n))
    return out


def validate_against_humans(
    human: Sequence[object],
    judged: NDArray[np.float64],
    *,
    column: str,
    model: str,
    scale: Sequence[float] | None,
    nominal: bool,
    config: StatsConfig,
) -> ValidationInfo | None:
    """A judge's agreement with human labels on the examples that have both.

    Args:
        human: per example, the human label (a number on the judge's scale, or for
            reference grading the index of the choice); ``None``/``nan`` where unlabelled.
        judged: per example, the judge's integer (or choice index); ``nan`` on error.
        column / model: what is validated, for the report.
        scale: every value of the scale (categories for kappa); ``None`` takes the values
            seen.
        nominal: unweighted kappa and no Spearman (choices without an order).
        config: confidence, resamples and seed of the bootstrap.

    Returns:
        ``None`` when fewer than two examples have both.
    """
    h = np.array([_number(v) for v in human], dtype=np.float64)
    j = np.asarray(judged, dtype=np.float64)
    both = np.isfinite(h) & np.isfinite(j)
    if int(both.sum()) < 2:
        return None
    h, j = h[both], j[both]
    categories = np.array(sorted(set(scale or ()) | set(h.tolist()) | set(j.tolist())))
    k = len(categories)
    hi = np.searchsorted(categories, h)
    ji = np.searchsorted(categories, j)
    index = np.arange(k, dtype=np.float64)
    weights = 1.0 - np.eye(k) if nominal else (index[:, None] - index[None, :]) ** 2
    equal = (h == j).astype(np.float64)
    accuracy = mean_interval(equal, confidence=config.confidence, binary=True)
    kappa_block = StatBlock.cells((hi * k + ji).astype(np.int64), k * k)
    kappa = bootstrap_estimates(
        kappa_block, {"kappa": _kappa_aggregate(k, weights)}, config=config
    )["kappa"]
    spearman = None
    if not nominal:
        from scipy.stats import rankdata

        rh, rj = rankdata(h), rankdata(j)
        block = StatBlock.dense(np.column_stack([rh, rj, rh**2, rj**2, rh * rj, np.ones_like(rh)]))
        spearman = bootstrap_estimates(block, {"spearman": _pearson}, config=config)["spearman"]
    return ValidationInfo(
        column=column,
        model=model,
        n=int(both.sum()),
        accuracy=accuracy,
        kappa=kappa,
        spearman=spearman,
        weights="none" if nominal else "quadratic",
        low=bool(not np.isfinite(kappa.value) or kappa.value < LOW_KAPPA),
    )


def _number(value: object) -> float:
    if value is None:
        return float("nan")
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")
