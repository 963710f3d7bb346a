"""Sample-size planning: how many examples a paired comparison needs, and what n detects.

Paired 0/1 scores (accuracy, exact match) are planned for McNemar's test. With ``psi`` the
share of examples on which the two models disagree and ``delta`` the difference of their
accuracies, Connor's (1987) sample size is

    n = (z_{1-a/2} * sqrt(psi) + z_{power} * sqrt(psi - delta**2))**2 / delta**2

and, because heldout's McNemar chi-square test is continuity corrected
(``|b - c| - 1``), the planned size solves ``n*delta - 1 = sqrt(n) * K`` instead, with
``K`` the bracket above: ``n' = (K + sqrt(K**2 + 4*delta))**2 / (4*delta**2)``, which is
``n/4 * (1 + sqrt(1 + 4/(n*delta)))**2`` (the form of Fleiss, Levin and Paik's correction).
Continuous scores are planned for the paired t-test from the noncentral t distribution,
as ``statsmodels.stats.power.TTestPower``. A family of ``m`` tests corrected together is
planned at ``alpha / m`` (Bonferroni, a conservative bound on Holm).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from heldout._errors import MetricError
from heldout._util._labels import label_text
from heldout._util._scipy import special
from heldout.stats._types import MinimumDetectableEffect

__all__ = [
    "DEFAULT_DISAGREEMENT",
    "DataPower",
    "SlicePower",
    "mde_for_n",
    "mde_from_data",
    "paired_mean_n",
    "paired_proportion_n",
]

#: Disagreement rate assumed when no second model's predictions are at hand: a middle value,
#: stated wherever it is used; the observed rate replaces it when predictions are given.
DEFAULT_DISAGREEMENT = 0.2
#: Slices smaller than this stay outside the corrected family, as in a run.
MIN_SLICE_SIZE = 30


def _level(alpha: float, power: float, family: int) -> float:
    """Validate the level, power and family; return the per-test level ``alpha / family``."""
    if not 0.0 < alpha < 1.0:
        raise MetricError(f"alpha must be between 0 and 1, got {alpha:g}. Try 0.05")
    if not 0.5 <= power < 1.0:
        raise MetricError(f"power must be at least 0.5 and below 1, got {power:g}. Try 0.8 or 0.9")
    if family < 1:
        raise MetricError(f"family must be a positive number of tests, got {family}")
    return alpha / family


def _rate(disagreement: float) -> float:
    if not (math.isfinite(disagreement) and 0.0 < disagreement <= 1.0):
        raise MetricError(
            f"disagreement must be a share of examples in (0, 1], got {disagreement:g}. "
            "Try 0.2 (models disagree on 20% of examples)"
        )
    return disagreement


def _proportion_args(delta: float, disagreement: float) -> float:
    _rate(disagreement)
    d = abs(delta)
    if not (math.isfinite(d) and d > 0.0):
        raise MetricError(f"delta must be a non-zero difference of accuracy, got {delta:g}")
    if d > disagreement:
        raise MetricError(
            f"delta {d:g} is larger than the disagreement rate {disagreement:g}: two models "
            f"that disagree on {disagreement:.0%} of examples differ in accuracy by at most "
            f"{disagreement:g}. Raise the disagreement or lower delta"
        )
    return d


def paired_proportion_n(
    delta: float,
    *,
    disagreement: float,
    alpha: float = 0.05,
    power: float = 0.8,
    family: int = 1,
    continuity: bool = True,
) -> int:
    """Examples needed for McNemar's test to detect a difference of accuracy ``delta``.

    Connor's (1987) normal approximation for the paired 0/1 comparison, where the two
    models disagree on a share ``disagreement`` of examples (``p10 + p01``) and
    ``delta = p10 - p01``; with ``continuity`` (the default) corrected for the continuity
    correction of the chi-square test heldout runs (see the module docstring).

    Args:
        delta: the difference of accuracy to detect (its sign does not matter).
        disagreement: expected share of examples on which exactly one model is right.
        alpha: two-sided significance level of one test.
        power: probability of detecting a true difference ``delta``.
        family: number of tests corrected together; each is planned at ``alpha / family``.
        continuity: plan for the continuity-corrected test; ``False`` gives Connor's n.

    Returns:
        The number of paired examples, rounded up.

    Raises:
        MetricError: unless ``0 < |delta| <= disagreement <= 1`` and the level is valid.

    Example:
        >>> paired_proportion_n(0.05, disagreement=0.2, continuity=False)
        626
        >>> paired_proportion_n(0.05, disagreement=0.2)
        665
    """
    a = _level(alpha, power, family)
    d = _proportion_args(delta, disagreement)
    k = float(special.ndtri(1.0 - a / 2.0)) * math.sqrt(disagreement) + float(
        special.ndtri(power)
    ) * math.sqrt(disagreement - d * d)
    n = (k + math.sqrt(k * k + 4.0 * d)) ** 2 / (4.0 * d * d) if continuity else (k / d) ** 2
    return max(1, math.ceil(n * (1.0 - 1e-12)))  # rounding noise must not add an example


def _t_power(effect: float, n: int, alpha: float) -> float:
    """Two-sided power of the one-sample (paired) t-test at standardised effect ``effect``."""
    df = n - 1
    crit = float(special.stdtrit(df, 1.0 - alpha / 2.0))
    nc = effect * math.sqrt(n)
    from scipy import stats  # heavy: imported only when a plan needs the noncentral t

    return float(stats.nct.sf(crit, df, nc) + stats.nct.cdf(-crit, df, nc))


def _mean_args(delta: float, sd_diff: float) -> float:
    if not (math.isfinite(sd_diff) and sd_diff > 0.0):
        raise MetricError(
            f"sd_diff must be a positive standard deviation of the paired differences, "
            f"got {sd_diff:g}"
        )
    if not (math.isfinite(delta) and delta != 0.0):
        raise MetricError(f"delta must be a non-zero difference of mean score, got {delta:g}")
    return abs(delta) / sd_diff


def paired_mean_n(
    delta: float,
    *,
    sd_diff: float,
    alpha: float = 0.05,
    power: float = 0.8,
    family: int = 1,
) -> int:
    """Examples needed for the paired t-test to detect a difference of mean score ``delta``.

    The smallest ``n`` whose two-sided power under the noncentral t distribution
    (``df = n - 1``, noncentrality ``delta / sd_diff * sqrt(n)``) reaches ``power``: the
    number ``statsmodels.stats.power.TTestPower().solve_power`` finds, rounded up.

    Args:
        delta: the difference of mean score to detect, in the score's units.
        sd_diff: standard deviation of the per-example differences ``candidate - baseline``.
        alpha: two-sided significance level of one test.
        power: probability of detecting a true difference ``delta``.
        family: number of tests corrected together; each is planned at ``alpha / family``.

    Returns:
        The number of paired examples (at least 2).

    Example:
        >>> paired_mean_n(2.0, sd_diff=10.0)
        199
    """
    a = _level(alpha, power, family)
    effect = _mean_args(delta, sd_diff)
    # The two-sided z-test is at least as powerful as t, so its n is a lower bound.
    z = float(special.ndtri(1.0 - a / 2.0) + special.ndtri(power - a / 2.0))
    n = max(2, math.floor((z / effect) ** 2))
    while _t_power(effect, n, a) < power:
        n += 1
    return n


def _basis(what: str, n: int, alpha: float, family: int) -> str:
    text = f"{what} over {n:,} paired examples"
    if family > 1:
        text += f"; alpha {alpha:g} / {family} tests corrected together"
    return text


def mde_for_n(
    n: int,
    *,
    disagreement: float | None = None,
    sd_diff: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    family: int = 1,
    continuity: bool = True,
    metric: str | None = None,
    basis: str | None = None,
) -> MinimumDetectableEffect:
    """The smallest true difference ``n`` paired examples detect: the inverse of the sizes.

    Give ``disagreement`` for 0/1 scores (McNemar, Connor's formula solved for ``delta``,
    continuity corrected by default) or ``sd_diff`` for continuous scores (paired t, solved
    on the noncentral t like ``TTestPower().solve_power(nobs=n)``). When no difference
    within what the disagreement allows is detectable (too few examples), the effect is
    ``inf``.

    Args:
        n: number of paired examples.
        disagreement: share of examples on which the models disagree (0/1 scores).
        sd_diff: standard deviation of the paired differences (continuous scores).
        alpha: two-sided significance level of one test.
        power: the power asked for.
        family: number of tests corrected together; each is at ``alpha / family``.
        continuity: for 0/1 scores, plan for the continuity-corrected test.
        metric: the metric's name (``accuracy`` or ``mean score`` by default).
        basis: what the disagreement or sd came from, for people (default: "assumed ...").

    Returns:
        The effect with its level (``alpha / family``), power, n and basis.

    Example:
        >>> round(mde_for_n(1000, disagreement=0.2, continuity=False).effect, 4)
        0.0396
    """
    a = _level(alpha, power, family)
    if (disagreement is None) == (sd_diff is None):
        raise MetricError("give either disagreement (0/1 scores) or sd_diff (continuous scores)")
    if n < 1:
        raise MetricError(f"n must be a positive number of examples, got {n}")
    za = float(special.ndtri(1.0 - a / 2.0))
    zb = float(special.ndtri(power))
    if disagreement is not None:
        psi = _rate(disagreement)
        # Solve n*delta - c - za*sqrt(n*psi) = zb*sqrt(n*(psi - delta**2)) for delta.
        big_c = (1.0 if continuity else 0.0) + za * math.sqrt(n * psi)
        disc = (n + zb * zb) * psi - big_c * big_c / n
        effect = math.inf
        if disc >= 0.0:
            root = (big_c + zb * math.sqrt(disc)) / (n + zb * zb)
            effect = root if 0.0 < root <= psi else math.inf
        what = basis or f"assumed disagreement rate {psi:g}"
        return MinimumDetectableEffect(
            metric=metric or "accuracy",
            effect=effect,
            power=power,
            alpha=a,
            n=n,
            basis=_basis(what, n, alpha, family),
        )
    assert sd_diff is not None
    _mean_args(1.0, sd_diff)
    effect = math.inf
    if n >= 2:
        hi = 2.0 * (za + zb) / math.sqrt(n)
        while _t_power(hi, n, a) < power:
            hi *= 2.0
        from scipy import optimize

        effect = float(optimize.brentq(lambda e: _t_power(e, n, a) - power, 0.0, hi, xtol=1e-12))
        effect *= sd_diff
    what = basis or f"assumed sd of paired differences {sd_diff:g}"
    return MinimumDetectableEffect(
        metric=metric or "mean score",
        effect=effect,
        power=power,
        alpha=a,
        n=n,
        basis=_basis(what, n, alpha, family),
    )


@dataclass(frozen=True)
class SlicePower:
    """What one slice of an eval set can detect.

    Attributes:
        column: the slice column.
        value: the slice's value in it.
        mde: its minimum detectable difference of accuracy.
        disagreement: the disagreement rate used (assumed, or observed in the slice).
        small: fewer examples than the smallest slice a run corrects together; such a slice
            is planned at the uncorrected level.
    """

    column: str
    value: str
    mde: MinimumDetectableEffect
    disagreement: float
    small: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "value": self.value,
            "n": self.mde.n,
            "effect": self.mde.effect,
            "alpha": self.mde.alpha,
            "disagreement": self.disagreement,
            "small": self.small,
            "basis": self.mde.basis,
        }


@dataclass(frozen=True)
class DataPower:
    """What an eval set can detect, overall and per slice.

    Attributes:
        overall: the minimum detectable difference of accuracy over the whole set.
        disagreement: the disagreement rate used overall.
        source: ``assumed`` (no predictions) or ``observed`` (two models' predictions).
        slices: one entry per value of each slice column.
        slice_family: how many slices are corrected together (those of at least
            ``min_slice_size`` examples).
        missing_target: rows left out because their target is missing.
        observed_delta: accuracy of the first model minus the second, when observed.
    """

    overall: MinimumDetectableEffect
    disagreement: float
    source: Literal["assumed", "observed"]
    slices: tuple[SlicePower, ...] = ()
    slice_family: int = 0
    missing_target: int = 0
    observed_delta: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.overall.metric,
            "n": self.overall.n,
            "effect": self.overall.effect,
            "power": self.overall.power,
            "alpha": self.overall.alpha,
            "disagreement": self.disagreement,
            "disagreement_source": self.source,
            "observed_delta": self.observed_delta,
            "missing_target": self.missing_target,
            "basis": self.overall.basis,
            "slice_family": self.slice_family,
            "slices": [s.to_dict() for s in self.slices],
        }


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v == ""


def _observed_rate(d: NDArray[np.float64]) -> tuple[float, str]:
    """Observed disagreement rate; the rule-of-three bound when the models never disagree."""
    n = int(d.shape[0])
    rate = float(np.count_nonzero(d)) / n if n else 0.0
    if rate == 0.0:
        bound = min(1.0, 3.0 / max(n, 1))
        return bound, f"no disagreement observed; rule-of-three bound {bound:.3g} on its rate"
    return rate, f"observed disagreement rate {rate:.3g}"


def mde_from_data(
    target: NDArray[Any],
    *,
    predictions: tuple[NDArray[Any], NDArray[Any]] | None = None,
    slices: Mapping[str, NDArray[Any]] | None = None,
    disagreement: float = DEFAULT_DISAGREEMENT,
    alpha: float = 0.05,
    power: float = 0.8,
    family: int = 1,
    min_slice_size: int = MIN_SLICE_SIZE,
) -> DataPower:
    """What an eval set can detect in accuracy, overall and per slice.

    Rows whose target is missing are left out. Without ``predictions`` the models are
    assumed to disagree on a share ``disagreement`` of examples (default 0.2). With the
    predictions of two models the rate is the observed share of examples on which exactly
    one of them is right (the non-zero paired differences), overall and in each slice.
    The overall effect is at ``alpha / family``; the slices of at least
    ``min_slice_size`` examples are corrected together at ``alpha / m`` for ``m`` such
    slices, as a run corrects them, and smaller slices are at ``alpha``.

    Args:
        target: the target of each example.
        predictions: the predictions of two models on the same examples, in order.
        slices: slice column name to the slice value of each example.
        disagreement: the rate assumed without predictions.
        alpha: two-sided significance level.
        power: the power asked for.
        family: number of metrics corrected together overall.
        min_slice_size: slices smaller than this are outside the corrected family.

    Returns:
        The effects, the rate they rest on, and where it came from.
    """
    kept = np.array([not _missing(v) for v in target], dtype=bool)
    n = int(kept.sum())
    if n == 0:  # nothing to score: say so, rather than fail a data check
        a = _level(alpha, power, family)
        return DataPower(
            overall=MinimumDetectableEffect(
                "accuracy", math.inf, power, a, 0, "no example has a target"
            ),
            disagreement=disagreement,
            source="assumed" if predictions is None else "observed",
            missing_target=len(target),
        )
    d: NDArray[np.float64] | None = None
    observed_delta = None
    if predictions is None:
        rate, basis = _rate(disagreement), f"assumed disagreement rate {disagreement:g}"
    else:
        y = [label_text(v) for v in target[kept]]
        right = [
            np.array(
                [
                    not _missing(p) and label_text(p) == t
                    for p, t in zip(preds[kept], y, strict=True)
                ],
                dtype=np.float64,
            )
            for preds in predictions
        ]
        d = right[0] - right[1]
        observed_delta = float(d.mean())
        rate, basis = _observed_rate(d)
    overall = mde_for_n(n, disagreement=rate, alpha=alpha, power=power, family=family, basis=basis)
    groups: list[tuple[str, str, NDArray[np.bool_]]] = []
    for column, values in (slices or {}).items():
        keys = np.array(["" if _missing(v) else label_text(v) for v in values[kept]], dtype=object)
        for value in sorted(set(keys.tolist()) - {""}):
            groups.append((column, value, keys == value))
    m = sum(1 for _, _, mask in groups if int(mask.sum()) >= min_slice_size)
    out = []
    for column, value, mask in groups:
        size = int(mask.sum())
        small = size < min_slice_size
        if d is None:
            slice_rate, slice_basis = rate, basis
        else:
            slice_rate, slice_basis = _observed_rate(d[mask])
        mde = mde_for_n(
            size,
            disagreement=slice_rate,
            alpha=alpha,
            power=power,
            family=1 if small else m,
            basis=slice_basis,
        )
        out.append(SlicePower(column, value, mde, slice_rate, small))
    return DataPower(
        overall=overall,
        disagreement=rate,
        source="assumed" if predictions is None else "observed",
        slices=tuple(out),
        slice_family=m,
        missing_target=len(target) - n,
        observed_delta=observed_delta,
    )
