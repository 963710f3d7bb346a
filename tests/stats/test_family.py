"""Corrections across a family of tests: the bootstrap floor and the detectable effect."""

from __future__ import annotations

import math

import numpy as np

from heldout.scoring import score_classification
from heldout.stats import StatsConfig, compare_all, mde_for, resamples_for

METRICS = ["balanced_accuracy", "precision", "recall", "f1", "macro_f1", "mcc"]


def _pair(n: int = 3000, seed: int = 0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    base = np.where(rng.random(n) < 0.7, y, 1 - y)
    tuned = np.where(rng.random(n) < 0.9, y, 1 - y)
    labels = ("neg", "pos")
    return (
        score_classification(y, tuned, labels=labels, metrics=METRICS, model="tuned"),
        score_classification(y, base, labels=labels, metrics=METRICS, model="base"),
    )


def test_resamples_grow_with_the_family() -> None:
    config = StatsConfig(n_resamples=100)
    assert resamples_for(config, 6).n_resamples == math.ceil(2 * 6 / 0.05)
    assert resamples_for(StatsConfig(n_resamples=5000), 6).n_resamples == 5000
    assert resamples_for(StatsConfig(n_resamples=100, correction="none"), 6).n_resamples == 100


def test_few_resamples_can_still_reach_significance_after_holm() -> None:
    tuned, base = _pair()
    diffs = compare_all(tuned, base, config=StatsConfig(n_resamples=100))
    # with 100 resamples the smallest p is 1/101; Holm over 6 tests would make it 0.059
    assert all(d.verdict == "better" for d in diffs.values()), {
        k: d.p_adjusted for k, d in diffs.items()
    }


def test_detectable_effect_accounts_for_the_correction_and_for_identical_models() -> None:
    tuned, base = _pair()
    config = StatsConfig(n_resamples=200)
    one = mde_for(tuned, base, "f1", config=config)
    six = mde_for(tuned, base, "f1", config=config, family=6)
    assert six.effect > one.effect and six.alpha == config.alpha / 6
    assert "6 tests corrected together" in six.basis
    same = mde_for(tuned, tuned, "f1", config=config)
    assert math.isnan(same.effect) and "never differ" in same.basis
