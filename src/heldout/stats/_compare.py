"""Paired comparison of two models on the same examples, and its power."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from heldout._errors import MetricError
from heldout.scoring import Aggregate, MetricDef, ScoreRows
from heldout.stats._clusters import cluster_codes, clustered_variance
from heldout.stats._config import StatsConfig
from heldout.stats._delong import delong_paired, influence_variance, paired_influence
from heldout.stats._estimate import (
    aggregate_of,
    block_of,
    exact_point,
    mean_column,
    point_value,
    ranking_of,
    refuse_unweighted,
)
from heldout.stats._multitest import adjust_pvalues
from heldout.stats._paired import paired_proportions, paired_ttest
from heldout.stats._paired_bootstrap import paired_bootstrap, paired_bootstrap_distribution
from heldout.stats._power import minimum_detectable_effect
from heldout.stats._types import Difference, MinimumDetectableEffect, Verdict
from heldout.stats._weighted import check_weights, linearized_variance, weighted_paired

__all__ = ["compare_all", "mde_for", "verdict_for"]

_Pair = tuple[MetricDef, MetricDef]


def _shared(candidate: ScoreRows, baseline: ScoreRows) -> list[_Pair]:
    """The metrics both models have, in the candidate's order, checked for pairing."""
    if candidate.n != baseline.n:
        raise MetricError(
            f"cannot compare {candidate.model!r} ({candidate.n} examples) with "
            f"{baseline.model!r} ({baseline.n} examples): a paired comparison needs both "
            "models scored on the same examples, in the same order"
        )
    names = {m.name for m in baseline.metrics}
    pairs = [(m, baseline.metric(m.name)) for m in candidate.metrics if m.name in names]
    _same_weights(candidate, baseline)
    for cand, base in pairs:
        refuse_unweighted(candidate, cand)
        if cand.kind != base.kind:
            raise MetricError(
                f"metric {cand.name!r} is of kind {cand.kind!r} for {candidate.model!r} but "
                f"{base.kind!r} for {baseline.model!r}; score both models with the same task"
            )
        if cand.kind not in ("mean", "bootstrap", "auc"):
            raise MetricError(
                f"metric {cand.name!r} has kind {cand.kind!r}; expected 'mean', 'bootstrap' "
                "or 'auc'"
            )
    return pairs


def _same_weights(candidate: ScoreRows, baseline: ScoreRows) -> None:
    a, b = candidate.weights, baseline.weights
    if (a is None) != (b is None) or (a is not None and b is not None and not np.array_equal(a, b)):
        raise MetricError(
            f"{candidate.model!r} and {baseline.model!r} carry different sampling weights; "
            "a paired comparison needs both scored on the same weighted examples"
        )


def _labels(candidate: ScoreRows, baseline: ScoreRows, pair: _Pair) -> NDArray[Any]:
    y = ranking_of(candidate, pair[0]).y
    if not np.array_equal(y, ranking_of(baseline, pair[1]).y):
        raise MetricError(
            f"AUC metric {pair[0].name!r}: {candidate.model!r} and {baseline.model!r} were "
            "scored against different labels; compare runs on the same examples"
        )
    return y


def resamples_for(config: StatsConfig, family: int) -> StatsConfig:
    """``config`` with enough resamples for a family of ``family`` corrected tests.

    A bootstrap p-value is at least ``1 / (B + 1)``; after a correction across ``family``
    tests it could never fall below ``alpha`` unless ``B >= 2 * family / alpha``.
    """
    needed = math.ceil(2 * max(family, 1) / config.alpha)
    if config.correction == "none" or config.n_resamples >= needed:
        return config
    return dataclasses.replace(config, n_resamples=needed)


def verdict_for(
    delta: float, p_adjusted: float, *, alpha: float, higher_is_better: bool
) -> Verdict:
    """``better`` or ``worse`` when ``p_adjusted < alpha``, else no significant difference.

    Args:
        delta: candidate minus baseline.
        p_adjusted: the corrected p-value (``nan`` is never significant).
        alpha: the significance level.
        higher_is_better: the metric's direction.

    Returns:
        The verdict for the candidate.
    """
    if not p_adjusted < alpha or delta == 0.0:
        return "no significant difference"
    return "better" if (delta > 0.0) == higher_is_better else "worse"


def _bootstrap_all(
    candidate: ScoreRows,
    baseline: ScoreRows,
    pairs: list[_Pair],
    cluster: NDArray[Any] | None,
    config: StatsConfig,
) -> dict[str, Difference]:
    """Paired bootstrap of every bootstrap metric, one resampling per pair of blocks."""
    groups: dict[tuple[str, str], tuple[_Pair, dict[str, tuple[Aggregate, Aggregate]]]] = {}
    for cand, base in pairs:
        if cand.kind == "bootstrap":
            _, aggregates = groups.setdefault((cand.block, base.block), ((cand, base), {}))
            aggregates[cand.name] = (aggregate_of(cand), aggregate_of(base))
    out: dict[str, Difference] = {}
    for (cand, base), aggregates in groups.values():
        out.update(
            paired_bootstrap(
                block_of(candidate, cand),
                block_of(baseline, base),
                aggregates,
                cluster=cluster,
                config=config,
            )
        )
    for cand, base in pairs:
        exact_cand, exact_base = exact_point(candidate, cand), exact_point(baseline, base)
        if cand.name in out and (exact_cand is not None or exact_base is not None):
            # binned resampling block: centre the difference on the exact values
            d = out[cand.name]
            delta = (
                exact_cand if exact_cand is not None else point_value(candidate, cand.name)
            ) - (exact_base if exact_base is not None else point_value(baseline, base.name))
            offset = delta - d.delta
            out[cand.name] = dataclasses.replace(
                d, delta=delta, ci_low=d.ci_low + offset, ci_high=d.ci_high + offset
            )
    return out


def compare_all(
    candidate: ScoreRows,
    baseline: ScoreRows,
    *,
    cluster: NDArray[Any] | None = None,
    config: StatsConfig,
) -> dict[str, Difference]:
    """Paired differences ``candidate - baseline`` for every metric both models have.

    Tests: McNemar with a Wald interval for 0/1 ``mean`` metrics, the paired t-test for
    other ``mean`` metrics (both cluster-robust with ``cluster``), the paired bootstrap for
    ``bootstrap`` metrics (one resampling per pair of blocks), paired DeLong for ``auc``.
    The p-values are then corrected together (``config.correction``) into ``p_adjusted``,
    and a difference is called ``better``/``worse`` only when ``p_adjusted < alpha``.

    Args:
        candidate: the candidate's score rows.
        baseline: the baseline's score rows on the same examples, in the same order.
        cluster: optional cluster id of each example.
        config: confidence, resamples, seed, interval method and correction.

    Returns:
        Metric name to difference, in the candidate's metric order.

    Raises:
        MetricError: if the models were scored on different numbers of examples, or a
            metric cannot be compared.
    """
    pairs = _shared(candidate, baseline)
    booted = _bootstrap_all(candidate, baseline, pairs, cluster, resamples_for(config, len(pairs)))
    raw: list[Difference] = []
    for cand, base in pairs:
        if cand.kind == "mean" and candidate.weights is not None:
            a, b = mean_column(candidate, cand), mean_column(baseline, base)
            raw.append(
                weighted_paired(
                    a, b, candidate.weights, cluster=cluster, confidence=config.confidence
                )
            )
        elif cand.kind == "mean":
            test = paired_proportions if cand.binary and base.binary else paired_ttest
            a, b = mean_column(candidate, cand), mean_column(baseline, base)
            raw.append(test(a, b, cluster=cluster, confidence=config.confidence))
        elif cand.kind == "bootstrap":
            diff = booted[cand.name]
            if candidate.weights is not None:
                diff = dataclasses.replace(diff, test=f"{diff.test}-weighted")
            raw.append(diff)
        else:
            raw.append(
                delong_paired(
                    _labels(candidate, baseline, (cand, base)),
                    ranking_of(candidate, cand).scores,
                    ranking_of(baseline, base).scores,
                    cluster=cluster,
                    confidence=config.confidence,
                )
            )
    adjusted = adjust_pvalues([d.p_value for d in raw], config.correction)
    out: dict[str, Difference] = {}
    for (cand, _), diff, p_adj in zip(pairs, raw, adjusted.tolist(), strict=True):
        call = verdict_for(
            diff.delta, p_adj, alpha=config.alpha, higher_is_better=cand.higher_is_better
        )
        out[cand.name] = dataclasses.replace(diff, p_adjusted=p_adj, verdict=call)
    return out


def _mean_se(
    d: NDArray[np.float64], *, binary: bool, cluster: NDArray[Any] | None, where: str
) -> tuple[float, str]:
    """Null standard error of a mean paired difference, and its basis."""
    n = int(d.shape[0])
    if binary:
        p_disc = float(np.count_nonzero(d)) / n
        if p_disc == 0.0:
            # Never a disagreement: use the one-sided 95% upper bound on its rate.
            bound = min(1.0, 3.0 / n)
            basis = f"no disagreement over {where}; rule-of-three bound {bound:.3g} on its rate"
            return float(np.sqrt(bound / n)), basis
        basis = f"disagreement rate {p_disc:.3g} over {where}"
        if cluster is None:
            return float(np.sqrt(p_disc / n)), basis
        # Under the null the differences have mean 0: their uncentered spread is the variance.
        return float(np.sqrt(clustered_variance(d / n, cluster_codes(cluster, n)))), basis
    sd = float(d.std(ddof=1)) if n > 1 else float("nan")
    basis = f"sd of paired differences {sd:.3g} over {where}"
    if cluster is None:
        return sd / float(np.sqrt(n)), basis
    return float(np.sqrt(clustered_variance((d - d.mean()) / n, cluster_codes(cluster, n)))), basis


def mde_for(
    candidate: ScoreRows,
    baseline: ScoreRows,
    metric_name: str,
    *,
    cluster: NDArray[Any] | None = None,
    config: StatsConfig,
    family: int = 1,
) -> MinimumDetectableEffect:
    """Minimum detectable effect of comparing the two models on one metric.

    With ``family`` tests corrected together (the metrics of a task) the effect is the one
    detectable at level ``alpha / family`` (Bonferroni, a conservative bound on Holm), so
    that a true effect of that size would pass the correction, not just the raw test.

    The standard error of the paired difference comes from the observed data:
    ``sqrt(p_disc / n)`` for 0/1 metrics with disagreement rate ``p_disc`` (the
    rule-of-three bound ``3 / n`` when the models never disagree), ``sd(d) / sqrt(n)`` for
    other means, the standard deviation of the paired bootstrap distribution for
    ``bootstrap`` metrics, DeLong's paired standard error for ``auc``. With ``cluster`` all
    of them are cluster-robust (CR1, or resampling whole clusters).

    Args:
        candidate: the candidate's score rows.
        baseline: the baseline's score rows on the same examples.
        metric_name: the metric.
        cluster: optional cluster id of each example.
        config: power, confidence (``alpha = 1 - confidence``), resamples and seed.

    Returns:
        The minimum detectable effect with a description of its basis.

    Raises:
        MetricError: if the models differ in example count or the metric is not shared.
    """
    pairs = {cand.name: (cand, base) for cand, base in _shared(candidate, baseline)}
    if metric_name not in pairs:
        raise MetricError(
            f"metric {metric_name!r} is not scored for both {candidate.model!r} and "
            f"{baseline.model!r} (shared: {', '.join(pairs) or 'none'})"
        )
    cand, base = pairs[metric_name]
    n = candidate.n
    where = f"{n:,} paired examples"
    if cluster is not None:
        where += f" in {cluster_codes(cluster, n).n_clusters:,} clusters"
    if cand.kind == "mean" and candidate.weights is not None:
        d = mean_column(candidate, cand) - mean_column(baseline, base)
        w = check_weights(candidate.weights, n)
        se = float(np.sqrt(linearized_variance(d, w, cluster=cluster)))
        basis = f"linearised sd of weighted paired differences over {where}"
    elif cand.kind == "mean":
        d = mean_column(candidate, cand) - mean_column(baseline, base)
        se, basis = _mean_se(d, binary=cand.binary and base.binary, cluster=cluster, where=where)
    elif cand.kind == "bootstrap":
        dist = paired_bootstrap_distribution(
            block_of(candidate, cand),
            block_of(baseline, base),
            {cand.name: (aggregate_of(cand), aggregate_of(base))},
            cluster=cluster,
            config=config,
        )[cand.name]
        reps = dist.replicates[np.isfinite(dist.replicates)]
        se = float(reps.std(ddof=1)) if reps.shape[0] > 1 else float("nan")
        basis = f"sd of {reps.shape[0]:,} paired bootstrap deltas over {where}"
    else:
        infl = paired_influence(
            _labels(candidate, baseline, (cand, base)),
            ranking_of(candidate, cand).scores,
            ranking_of(baseline, base).scores,
        )
        se = float(np.sqrt(influence_variance(infl, cluster)))
        basis = f"DeLong standard error of the paired AUC difference over {where}"
    alpha = config.alpha if config.correction == "none" else config.alpha / max(family, 1)
    if family > 1 and config.correction != "none":
        basis += f"; alpha {config.alpha:g} / {family} tests corrected together"
    if not se > 0.0:
        # identical outputs leave nothing to estimate the variance from: say so, not 0
        se = float("nan")
        basis = (
            f"the two models' per-example values never differ over {where}; no variance to estimate"
        )
    return minimum_detectable_effect(
        se, metric=metric_name, n=n, basis=basis, power=config.power, alpha=alpha
    )
