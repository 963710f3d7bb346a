"""Sample-size planning, cross-checked against statsmodels and against simulated tests."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats
from statsmodels.stats.power import TTestPower, normal_power_het, normal_sample_size_one_tail

from heldout._errors import MetricError
from heldout.stats import (
    mcnemar,
    mde_for_n,
    mde_from_data,
    minimum_detectable_effect,
    paired_mean_n,
    paired_proportion_n,
)

SETTINGS = [  # delta, disagreement, alpha, power
    (0.05, 0.2, 0.05, 0.8),
    (0.03, 0.15, 0.05, 0.8),
    (0.1, 0.12, 0.01, 0.9),
    (0.01, 0.02, 0.05, 0.8),
]


@pytest.mark.parametrize(("delta", "psi", "alpha", "power"), SETTINGS)
def test_connor_n_matches_the_statsmodels_normal_sample_size(
    delta: float, psi: float, alpha: float, power: float
) -> None:
    # Connor (1987): the null sd of a paired difference is sqrt(psi), the alternative's
    # sqrt(psi - delta**2); statsmodels solves the same normal approximation.
    null, alt = math.sqrt(psi), math.sqrt(psi - delta**2)
    reference = normal_sample_size_one_tail(
        delta, power, alpha / 2, std_null=null, std_alternative=alt
    )
    n = paired_proportion_n(delta, disagreement=psi, alpha=alpha, power=power, continuity=False)
    assert n == math.ceil(reference)
    assert normal_power_het(delta, n, alpha, std_null=null, std_alternative=alt) >= power
    assert normal_power_het(delta, n - 1, alpha, std_null=null, std_alternative=alt) < power + 1e-3


@pytest.mark.parametrize(("delta", "psi", "alpha", "power"), SETTINGS)
def test_continuity_corrected_n_is_the_smallest_that_reaches_the_power(
    delta: float, psi: float, alpha: float, power: float
) -> None:
    za = special.ndtri(1 - alpha / 2)

    def corrected_power(n: int) -> float:
        # P(|b - c| - 1 > za * sqrt(b + c)) in the normal approximation
        return float(
            special.ndtr(
                (n * delta - 1 - za * math.sqrt(n * psi)) / math.sqrt(n * (psi - delta**2))
            )
        )

    n = paired_proportion_n(delta, disagreement=psi, alpha=alpha, power=power)
    assert corrected_power(n) >= power > corrected_power(n - 1)
    assert n > paired_proportion_n(
        delta, disagreement=psi, alpha=alpha, power=power, continuity=False
    )


def _mcnemar_power(n: int, delta: float, psi: float, *, sims: int, seed: int) -> float:
    """Share of simulated paired 0/1 data sets on which heldout's McNemar test rejects."""
    rng = np.random.default_rng(seed)
    p10, p01 = (psi + delta) / 2, (psi - delta) / 2
    rejected = 0
    for wins, losses, same in rng.multinomial(n, [p10, p01, 1 - psi], size=sims):
        a = np.concatenate([np.ones(wins), np.zeros(losses), np.ones(same)])
        b = np.concatenate([np.zeros(wins), np.ones(losses), np.ones(same)])
        rejected += mcnemar(a, b).p_value < 0.05
    return rejected / sims


@pytest.mark.parametrize(("delta", "psi"), [(0.05, 0.2), (0.03, 0.1)])
def test_simulated_mcnemar_power_at_the_planned_n_is_the_target(delta: float, psi: float) -> None:
    n = paired_proportion_n(delta, disagreement=psi)
    assert _mcnemar_power(n, delta, psi, sims=2000, seed=7) == pytest.approx(0.8, abs=0.04)


def test_bonferroni_family_plans_each_test_at_alpha_over_m() -> None:
    assert paired_proportion_n(0.03, disagreement=0.15, family=4) == paired_proportion_n(
        0.03, disagreement=0.15, alpha=0.05 / 4
    )
    assert paired_mean_n(1.0, sd_diff=4.0, family=3) == paired_mean_n(
        1.0, sd_diff=4.0, alpha=0.05 / 3
    )
    assert paired_proportion_n(-0.03, disagreement=0.15) == paired_proportion_n(
        0.03, disagreement=0.15
    )


@pytest.mark.parametrize(
    ("delta", "sd", "alpha", "power"),
    [(2.0, 10.0, 0.05, 0.8), (0.5, 1.0, 0.01, 0.9), (3.0, 1.0, 0.05, 0.8), (0.05, 1.0, 0.05, 0.8)],
)
def test_paired_t_n_matches_statsmodels_ttestpower(
    delta: float, sd: float, alpha: float, power: float
) -> None:
    reference = TTestPower().solve_power(effect_size=delta / sd, alpha=alpha, power=power)
    assert paired_mean_n(delta, sd_diff=sd, alpha=alpha, power=power) == math.ceil(reference)


def test_simulated_paired_t_power_at_the_planned_n_is_the_target() -> None:
    n = paired_mean_n(0.4, sd_diff=1.0)
    rng = np.random.default_rng(11)
    d = rng.normal(0.4, 1.0, size=(2000, n))
    p = stats.ttest_1samp(d, 0.0, axis=1).pvalue
    assert float(np.mean(p < 0.05)) == pytest.approx(0.8, abs=0.04)


@pytest.mark.parametrize("n", [50, 400, 2500, 40_000])
@pytest.mark.parametrize("continuity", [True, False])
def test_mde_for_n_inverts_the_mcnemar_sample_size(n: int, continuity: bool) -> None:
    mde = mde_for_n(n, disagreement=0.2, continuity=continuity)
    assert 0 < mde.effect <= 0.2
    assert paired_proportion_n(mde.effect, disagreement=0.2, continuity=continuity) == n
    assert mde.n == n and mde.alpha == 0.05 and mde.power == 0.8


def test_uncorrected_mde_is_close_to_the_run_reports_approximation() -> None:
    # A run reports (z + z) * sqrt(psi / n), which takes psi - delta**2 for psi; the exact
    # Connor inverse is a little smaller and converges to it as n grows.
    for n in (200, 2000, 20_000):
        exact = mde_for_n(n, disagreement=0.15, continuity=False).effect
        approx = minimum_detectable_effect(
            math.sqrt(0.15 / n), metric="accuracy", n=n, basis=""
        ).effect
        assert exact <= approx
        assert exact == pytest.approx(approx, rel=0.02)


@pytest.mark.parametrize("n", [10, 34, 300, 5000])
def test_continuous_mde_matches_statsmodels(n: int) -> None:
    effect = mde_for_n(n, sd_diff=3.0).effect
    # statsmodels' own power function puts it exactly at the target; its solver agrees to
    # its looser tolerance
    assert TTestPower().power(effect / 3.0, n, 0.05) == pytest.approx(0.8, abs=1e-9)
    reference = TTestPower().solve_power(effect_size=None, nobs=n, alpha=0.05, power=0.8)
    assert effect == pytest.approx(3.0 * reference, rel=1e-4)


def test_too_few_examples_detect_nothing() -> None:
    assert mde_for_n(10, disagreement=0.2).effect == math.inf
    assert mde_for_n(1, sd_diff=1.0).effect == math.inf


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: paired_proportion_n(0.3, disagreement=0.2), "larger than the disagreement"),
        (lambda: paired_proportion_n(0.0, disagreement=0.2), "non-zero"),
        (lambda: paired_proportion_n(0.1, disagreement=1.5), "share of examples"),
        (lambda: paired_proportion_n(0.1, disagreement=0.2, alpha=0.0), "alpha"),
        (lambda: paired_proportion_n(0.1, disagreement=0.2, power=0.3), "power"),
        (lambda: paired_proportion_n(0.1, disagreement=0.2, family=0), "family"),
        (lambda: paired_mean_n(1.0, sd_diff=0.0), "sd_diff"),
        (lambda: paired_mean_n(float("nan"), sd_diff=1.0), "non-zero"),
        (lambda: mde_for_n(100), "either"),
        (lambda: mde_for_n(100, disagreement=0.2, sd_diff=1.0), "either"),
        (lambda: mde_for_n(0, disagreement=0.2), "positive"),
    ],
)
def test_impossible_plans_raise_a_metric_error(call: object, message: str) -> None:
    with pytest.raises(MetricError, match=message):
        call()  # type: ignore[operator]


def test_assumed_disagreement_overall_and_per_slice_with_slice_correction() -> None:
    target = np.array(["x"] * 290 + [None] * 10, dtype=object)
    region = np.array(["eu"] * 200 + ["us"] * 80 + ["ap"] * 20, dtype=object)
    power = mde_from_data(target, slices={"region": region})
    assert power.source == "assumed" and power.disagreement == 0.2
    assert power.missing_target == 10
    assert power.overall == mde_for_n(290, disagreement=0.2, basis="assumed disagreement rate 0.2")
    by_value = {s.value: s for s in power.slices}
    assert {k: v.mde.n for k, v in by_value.items()} == {"ap": 10, "eu": 200, "us": 80}
    # eu and us are corrected together; ap is below 30 examples and stays at alpha
    assert power.slice_family == 2
    assert by_value["eu"].mde.alpha == by_value["us"].mde.alpha == 0.025
    assert by_value["ap"].small and by_value["ap"].mde.alpha == 0.05
    assert by_value["eu"].mde.effect == pytest.approx(
        mde_for_n(200, disagreement=0.2, alpha=0.025).effect
    )


def test_observed_disagreement_comes_from_the_paired_correctness() -> None:
    n = 1000
    target = np.array([1] * n, dtype=object)  # written as a number, predicted as text
    first = np.array(["1"] * 900 + ["0"] * 100, dtype=object)
    second = np.array(["0"] * 60 + ["1"] * 800 + ["0"] * 140, dtype=object)
    power = mde_from_data(target, predictions=(first, second))
    right_a, right_b = np.arange(n) < 900, (np.arange(n) >= 60) & (np.arange(n) < 860)
    psi = float(np.mean(right_a != right_b))
    assert power.source == "observed"
    assert power.disagreement == pytest.approx(psi)
    assert power.observed_delta == pytest.approx(float(right_a.mean() - right_b.mean()))
    assert power.overall.effect == pytest.approx(mde_for_n(n, disagreement=psi).effect)


def test_models_that_never_disagree_use_the_rule_of_three_bound() -> None:
    target = np.array(["a", "b"] * 150, dtype=object)
    power = mde_from_data(target, predictions=(target.copy(), target.copy()))
    assert power.disagreement == pytest.approx(3 / 300)
    assert "rule-of-three" in power.overall.basis


def test_a_set_without_targets_detects_nothing_instead_of_failing() -> None:
    target = np.array([None, ""], dtype=object)
    power = mde_from_data(target, slices={"region": np.array(["eu", "us"], dtype=object)})
    assert power.overall.effect == math.inf and power.overall.n == 0
    assert power.missing_target == 2 and power.slices == ()
