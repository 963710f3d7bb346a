from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats

from heldout import MetricError
from heldout.scoring import ScoreRows
from heldout.stats import (
    StatsConfig,
    delong_paired,
    mde_for,
    minimum_detectable_effect,
    paired_bootstrap_distribution,
)

RowsBuilder = Callable[..., ScoreRows]
MULTIPLIER = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)


def test_mde_is_critical_values_times_standard_error() -> None:
    mde = minimum_detectable_effect(
        0.01, metric="accuracy", n=500, basis="b", power=0.9, alpha=0.01
    )
    expected = (stats.norm.ppf(0.995) + stats.norm.ppf(0.9)) * 0.01
    assert mde.effect == pytest.approx(expected)
    assert (mde.metric, mde.n, mde.power, mde.alpha, mde.basis) == ("accuracy", 500, 0.9, 0.01, "b")


def _pair(make: RowsBuilder, n: int = 2000) -> tuple[ScoreRows, ScoreRows]:
    rng = np.random.default_rng(51)
    y = rng.integers(0, 2, size=n)
    base_scores = y * 0.6 + rng.normal(scale=0.5, size=n)
    cand_scores = base_scores + rng.normal(scale=0.3, size=n)
    base = make("base", y, (base_scores > 0.3).astype(int), base_scores)
    cand = make("cand", y, (cand_scores > 0.3).astype(int), cand_scores)
    return cand, base


def test_binary_mde_uses_the_disagreement_rate(make_classification_rows: RowsBuilder) -> None:
    cand, base = _pair(make_classification_rows)
    mde = mde_for(cand, base, "accuracy", config=StatsConfig())
    a = cand.blocks["correct"].codes
    b = base.blocks["correct"].codes
    p_disc = float(np.mean(a != b))
    assert mde.effect == pytest.approx(MULTIPLIER * np.sqrt(p_disc / 2000))
    assert mde.basis == f"disagreement rate {p_disc:.3g} over 2,000 paired examples"
    assert mde.alpha == pytest.approx(0.05) and mde.power == 0.8


def test_binary_mde_without_disagreement_uses_rule_of_three(
    make_classification_rows: RowsBuilder,
) -> None:
    _, base = _pair(make_classification_rows)
    mde = mde_for(base, base, "accuracy", config=StatsConfig())
    assert mde.effect == pytest.approx(MULTIPLIER * np.sqrt(3 / 2000 / 2000))
    assert "rule-of-three" in mde.basis


def test_continuous_mde_uses_sd_of_differences(make_regression_rows: RowsBuilder) -> None:
    rng = np.random.default_rng(52)
    base = np.abs(rng.normal(size=400))
    cand = np.abs(base + rng.normal(scale=0.2, size=400))
    mde = mde_for(
        make_regression_rows("c", cand),
        make_regression_rows("b", base),
        "mae",
        config=StatsConfig(),
    )
    d = cand - base
    assert mde.effect == pytest.approx(MULTIPLIER * d.std(ddof=1) / np.sqrt(400))
    assert mde.basis.startswith("sd of paired differences")


def test_clustered_mde_is_larger_for_correlated_clusters(make_regression_rows: RowsBuilder) -> None:
    rng = np.random.default_rng(53)
    cluster = np.repeat(np.arange(40), 10)
    base = rng.normal(size=400)
    cand = base + rng.normal(size=40)[cluster]
    c, b = make_regression_rows("c", cand), make_regression_rows("b", base)
    naive = mde_for(c, b, "mae", config=StatsConfig())
    clustered = mde_for(c, b, "mae", cluster=cluster, config=StatsConfig())
    assert clustered.effect > 2 * naive.effect
    assert "in 40 clusters" in clustered.basis


def test_bootstrap_and_auc_mde_use_the_paired_standard_error(
    make_classification_rows: RowsBuilder,
) -> None:
    cand, base = _pair(make_classification_rows)
    config = StatsConfig(n_resamples=300)
    mde = mde_for(cand, base, "f1", config=config)
    aggregate = cand.metric("f1").aggregate
    assert aggregate is not None
    dist = paired_bootstrap_distribution(
        cand.blocks["confusion"], base.blocks["confusion"], {"f1": aggregate}, config=config
    )["f1"]
    assert mde.effect == pytest.approx(MULTIPLIER * dist.replicates.std(ddof=1))
    auc = mde_for(cand, base, "auc", config=config)
    ranking = cand.rankings["ranking"]
    diff = delong_paired(ranking.y, ranking.scores, base.rankings["ranking"].scores)
    se = (diff.ci_high - diff.ci_low) / (2 * stats.norm.ppf(0.975))
    assert auc.effect == pytest.approx(MULTIPLIER * se)


def test_mde_for_an_unknown_metric_raises(make_classification_rows: RowsBuilder) -> None:
    cand, base = _pair(make_classification_rows, n=50)
    with pytest.raises(MetricError, match="'bleu' is not scored for both"):
        mde_for(cand, base, "bleu", config=StatsConfig())
