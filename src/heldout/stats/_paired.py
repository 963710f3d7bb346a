"""Paired tests of two models scored on the same examples: McNemar and paired t.

Both tests work on the per-example differences ``d = candidate - baseline``. Unclustered:
McNemar's test for 0/1 scores (exact binomial when there are fewer than 25 discordant pairs,
else chi-square with continuity correction, as ``statsmodels.stats.contingency_tables.
mcnemar``) with a Wald interval on the difference of paired proportions, and Student's
paired t-test (as ``scipy.stats.ttest_rel``) for continuous scores. Clustered: the CR1
cluster-robust standard error of ``mean(d)``; 0/1 scores are then tested against the normal
distribution (``paired-z-clustered``, like the Wald interval they replace), continuous scores
against t with ``G - 1`` degrees of freedom (``paired-t-clustered``).
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from heldout._errors import MetricError
from heldout._util._scipy import special
from heldout.stats._clusters import cluster_codes, clustered_variance
from heldout.stats._config import HeldoutStatsWarning
from heldout.stats._intervals import is_binary, t_critical, z_critical
from heldout.stats._types import Difference

__all__ = ["EXACT_DISCORDANT_LIMIT", "PairedTest", "mcnemar", "paired_proportions", "paired_ttest"]

#: McNemar's test is exact (binomial) below this many discordant pairs, chi-square above.
EXACT_DISCORDANT_LIMIT = 25


class PairedTest(NamedTuple):
    """Outcome of a paired significance test.

    Attributes:
        statistic: the test statistic (for the exact McNemar test, the smaller discordant
            count, as statsmodels reports it).
        p_value: two-sided p-value.
        test: the test's name.
    """

    statistic: float
    p_value: float
    test: str


def paired_arrays(
    candidate: NDArray[Any], baseline: NDArray[Any]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Validate two per-example score vectors of the same examples."""
    a = np.asarray(candidate, dtype=np.float64)
    b = np.asarray(baseline, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape:
        raise MetricError(
            f"paired scores must be two vectors over the same examples, got shapes "
            f"{a.shape} and {b.shape}"
        )
    if a.shape[0] == 0:
        raise MetricError("a paired test needs at least one example; got none")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise MetricError("paired scores contain nan or infinite values")
    return a, b


def p_from_normal(delta: float, se: float, df: float | None = None) -> float:
    """Two-sided p-value of ``delta / se`` against the normal (``df=None``) or t law.

    A zero standard error means every paired difference is the same number: the p-value is
    1 when that number is 0 and 0 otherwise.
    """
    if not np.isfinite(se):
        return float("nan")
    if se == 0.0:
        return 1.0 if delta == 0.0 else 0.0
    z = abs(delta) / se
    if df is None:
        return float(2.0 * special.ndtr(-z))
    return float(2.0 * special.stdtr(df, -z))


def mcnemar(candidate: NDArray[Any], baseline: NDArray[Any]) -> PairedTest:
    """McNemar's test that two 0/1 scorings of the same examples have equal means.

    Matches ``statsmodels.stats.contingency_tables.mcnemar`` with ``exact=True`` when the
    discordant pairs number fewer than 25 (test ``mcnemar-exact``), and ``exact=False,
    correction=True`` otherwise (test ``mcnemar-chi2``).

    Args:
        candidate: 0/1 score of each example under the candidate model.
        baseline: 0/1 score of the same examples under the baseline model.

    Returns:
        The statistic, p-value and test name.

    Raises:
        MetricError: if the vectors differ in length or hold values other than 0 and 1.

    Example:
        >>> mcnemar(np.array([1, 1, 1, 0]), np.array([0, 0, 1, 0])).p_value
        0.5
    """
    a, b = paired_arrays(candidate, baseline)
    if not (is_binary(a) and is_binary(b)):
        raise MetricError("McNemar's test needs 0/1 scores; use paired_ttest for other scores")
    wins = int(np.count_nonzero((a == 1.0) & (b == 0.0)))
    losses = int(np.count_nonzero((a == 0.0) & (b == 1.0)))
    discordant = wins + losses
    if discordant < EXACT_DISCORDANT_LIMIT:
        smaller = min(wins, losses)
        p = min(1.0, 2.0 * float(special.bdtr(smaller, discordant, 0.5)))
        return PairedTest(float(smaller), p, "mcnemar-exact")
    chi2 = (abs(wins - losses) - 1.0) ** 2 / discordant
    return PairedTest(chi2, float(special.chdtrc(1, chi2)), "mcnemar-chi2")


def _clustered_difference(
    d: NDArray[np.float64], cluster: NDArray[Any], confidence: float, *, normal: bool, test: str
) -> Difference:
    n = int(d.shape[0])
    delta = float(d.mean())
    clusters = cluster_codes(cluster, n)
    g = clusters.n_clusters
    if g < 2:
        warnings.warn(
            "all examples share one cluster, so the clustered test is undefined (nan)",
            HeldoutStatsWarning,
            stacklevel=3,
        )
        return Difference(
            delta, float("nan"), float("nan"), float("nan"), test, n, confidence=confidence
        )
    se = float(np.sqrt(clustered_variance((d - delta) / n, clusters)))
    df = None if normal else float(g - 1)
    crit = z_critical(confidence) if df is None else t_critical(confidence, df)
    p = p_from_normal(delta, se, df)
    return Difference(
        delta, delta - crit * se, delta + crit * se, p, test, n, confidence=confidence
    )


def paired_proportions(
    candidate: NDArray[Any],
    baseline: NDArray[Any],
    *,
    cluster: NDArray[Any] | None = None,
    confidence: float = 0.95,
) -> Difference:
    """Difference of two paired proportions (accuracy, exact match) with test and interval.

    Unclustered, the p-value is McNemar's (:func:`mcnemar`) and the interval the Wald
    interval ``delta +- z * sqrt((p_disc - delta**2) / n)``, where ``p_disc`` is the share of
    examples on which the models disagree. Clustered, both come from the CR1 standard
    error of the mean difference against the normal law (test ``paired-z-clustered``).

    Args:
        candidate: 0/1 score of each example under the candidate.
        baseline: 0/1 score of the same examples under the baseline.
        cluster: optional cluster id of each example.
        confidence: nominal coverage of the interval.

    Returns:
        ``candidate - baseline`` with its interval, p-value and test name.
    """
    a, b = paired_arrays(candidate, baseline)
    if not (is_binary(a) and is_binary(b)):
        raise MetricError("paired proportions need 0/1 scores; use paired_ttest for other scores")
    d = a - b
    if cluster is not None:
        return _clustered_difference(d, cluster, confidence, normal=True, test="paired-z-clustered")
    n = int(d.shape[0])
    delta = float(d.mean())
    p_disc = float(np.count_nonzero(d)) / n
    se = float(np.sqrt(max(p_disc - delta * delta, 0.0) / n))
    half = z_critical(confidence) * se
    test = mcnemar(a, b)
    return Difference(
        delta, delta - half, delta + half, test.p_value, test.test, n, confidence=confidence
    )


def paired_ttest(
    candidate: NDArray[Any],
    baseline: NDArray[Any],
    *,
    cluster: NDArray[Any] | None = None,
    confidence: float = 0.95,
) -> Difference:
    """Paired t-test and t interval on per-example differences of continuous scores.

    Unclustered, the p-value equals ``scipy.stats.ttest_rel(candidate, baseline).pvalue``
    (test ``paired-t``) and the interval is ``mean(d) +- t_{n-1} * sd(d) / sqrt(n)``.
    Clustered, the standard error is CR1 and t has ``G - 1`` degrees of freedom (test
    ``paired-t-clustered``).

    Args:
        candidate: score of each example under the candidate.
        baseline: score of the same examples under the baseline.
        cluster: optional cluster id of each example.
        confidence: nominal coverage of the interval.

    Returns:
        ``candidate - baseline`` with its interval, p-value and test name; the p-value and
        bounds are ``nan`` (with a :class:`HeldoutStatsWarning`) for a single example.
    """
    a, b = paired_arrays(candidate, baseline)
    d = a - b
    if cluster is not None:
        return _clustered_difference(
            d, cluster, confidence, normal=False, test="paired-t-clustered"
        )
    n = int(d.shape[0])
    delta = float(d.mean())
    if n < 2:
        warnings.warn(
            "a paired t-test of one example is undefined (nan)", HeldoutStatsWarning, stacklevel=2
        )
        return Difference(
            delta, float("nan"), float("nan"), float("nan"), "paired-t", n, confidence=confidence
        )
    se = float(d.std(ddof=1)) / np.sqrt(n)
    half = t_critical(confidence, n - 1) * se
    p = p_from_normal(delta, se, float(n - 1))
    return Difference(delta, delta - half, delta + half, p, "paired-t", n, confidence=confidence)
