"""Judge reliability: agreement between votes and with human labels, cross-checked."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import cohen_kappa_score

from heldout.judges import validate_against_humans, vote_agreement
from heldout.stats import StatsConfig

CONFIG = StatsConfig(n_resamples=400, seed=3)


def test_mean_pairwise_agreement_by_hand() -> None:
    votes = np.array([[4, 4, 4], [4, 5, 4], [1, 2, 3], [np.nan, 2, 2]], dtype=float)
    est = vote_agreement(votes)
    assert est is not None
    # per example: 3/3, 1/3, 0/3; the row with a failed vote is left out
    assert est.value == pytest.approx((1 + 1 / 3 + 0) / 3)
    assert est.n == 3 and est.method.startswith("mean-pairwise-agreement")
    assert vote_agreement(votes[:, :1]) is None


def _labels(seed: int, n: int = 80) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    human = rng.integers(1, 6, size=n)
    judge = np.clip(human + rng.integers(-1, 2, size=n), 1, 5)
    return human, judge


def test_quadratic_kappa_and_spearman_match_sklearn_and_scipy() -> None:
    human, judge = _labels(0)
    info = validate_against_humans(
        list(human),
        judge.astype(float),
        column="h",
        model="m",
        scale=[1, 2, 3, 4, 5],
        nominal=False,
        config=CONFIG,
    )
    assert info is not None
    assert info.kappa.value == pytest.approx(cohen_kappa_score(human, judge, weights="quadratic"))
    assert info.spearman is not None
    assert info.spearman.value == pytest.approx(spearmanr(human, judge).statistic)
    assert info.accuracy.value == pytest.approx(np.mean(human == judge))
    assert info.accuracy.method == "wilson"
    for est in (info.kappa, info.spearman):
        assert est.ci_low < est.value < est.ci_high
        assert est.method == "bootstrap-percentile"
    assert info.weights == "quadratic" and info.low is False


def test_nominal_labels_use_unweighted_kappa_and_unlabelled_rows_are_skipped() -> None:
    human = ["a", "b", "a", None, "c", "a", "b", "c", "c", "a"]
    codes = {"a": 0, "b": 1, "c": 2}
    judge = np.array([0, 1, 1, 2, 2, 0, 0, 2, 1, 0], dtype=float)
    info = validate_against_humans(
        [None if h is None else codes[h] for h in human],
        judge,
        column="h",
        model="m",
        scale=[0, 1, 2],
        nominal=True,
        config=CONFIG,
    )
    assert info is not None and info.n == 9 and info.spearman is None
    kept = [i for i, h in enumerate(human) if h is not None]
    expected = cohen_kappa_score([codes[human[i]] for i in kept], judge[kept])
    assert info.kappa.value == pytest.approx(expected)


def test_low_agreement_is_flagged() -> None:
    rng = np.random.default_rng(1)
    human = rng.integers(1, 6, size=60)
    judge = rng.integers(1, 6, size=60).astype(float)
    info = validate_against_humans(
        list(human),
        judge,
        column="h",
        model="m",
        scale=[1, 2, 3, 4, 5],
        nominal=False,
        config=CONFIG,
    )
    assert info is not None and info.low is True
