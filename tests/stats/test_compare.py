from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from heldout import MetricError
from heldout.scoring import ScoreRows
from heldout.stats import StatsConfig, compare_all, verdict_for

RowsBuilder = Callable[..., ScoreRows]
CONFIG = StatsConfig(n_resamples=400)


@pytest.mark.parametrize(
    ("delta", "p", "higher", "expected"),
    [
        (0.1, 0.01, True, "better"),
        (-0.1, 0.01, True, "worse"),
        (-0.1, 0.01, False, "better"),
        (0.1, 0.01, False, "worse"),
        (0.1, 0.05, True, "no significant difference"),
        (0.1, float("nan"), True, "no significant difference"),
    ],
)
def test_verdict_needs_significance_and_follows_direction(
    delta: float, p: float, higher: bool, expected: str
) -> None:
    assert verdict_for(delta, p, alpha=0.05, higher_is_better=higher) == expected


def _models(
    make: RowsBuilder, n: int, seed: int, *, fix_share: float
) -> tuple[ScoreRows, ScoreRows]:
    """A baseline and a candidate that fixes ``fix_share`` of its errors (and its scores)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n)
    base_scores = y * 0.5 + rng.normal(scale=0.5, size=n)
    fixed = rng.random(n) < fix_share
    cand_scores = np.where(fixed, y * 1.5 + rng.normal(scale=0.3, size=n), base_scores)
    cand_scores = cand_scores + rng.normal(scale=0.05, size=n)
    base = make("base", y, (base_scores > 0.25).astype(int), base_scores)
    cand = make("cand", y, (cand_scores > 0.25).astype(int), cand_scores)
    return cand, base


def test_clearly_better_candidate_wins_every_metric(make_classification_rows: RowsBuilder) -> None:
    cand, base = _models(make_classification_rows, 1500, 71, fix_share=0.5)
    diffs = compare_all(cand, base, config=CONFIG)
    assert {k: d.test for k, d in diffs.items()} == {
        "accuracy": "mcnemar-chi2",
        "f1": "paired-bootstrap",
        "precision": "paired-bootstrap",
        "auc": "delong",
    }
    assert {d.verdict for d in diffs.values()} == {"better"}
    assert all(d.delta > 0 and d.ci_low > 0 for d in diffs.values())


def test_clearly_worse_candidate_loses_every_metric(make_classification_rows: RowsBuilder) -> None:
    better, base = _models(make_classification_rows, 1500, 72, fix_share=0.5)
    diffs = compare_all(base, better, config=CONFIG)
    assert {d.verdict for d in diffs.values()} == {"worse"}
    assert all(d.ci_high < 0 for d in diffs.values())


def test_indistinguishable_models_get_no_verdict(make_classification_rows: RowsBuilder) -> None:
    rng = np.random.default_rng(73)
    n = 800
    y = rng.integers(0, 2, size=n)
    scores = [y * 0.6 + rng.normal(scale=0.5, size=n) for _ in range(2)]
    cand, base = (
        make_classification_rows(name, y, (s > 0.3).astype(int), s)
        for name, s in zip(("cand", "base"), scores, strict=True)
    )
    diffs = compare_all(cand, base, config=CONFIG)
    assert {d.verdict for d in diffs.values()} == {"no significant difference"}
    assert all(d.ci_low < 0 < d.ci_high for d in diffs.values())


def test_lower_error_is_better(make_regression_rows: RowsBuilder) -> None:
    rng = np.random.default_rng(74)
    base = np.abs(rng.normal(size=300))
    cand = base * 0.7
    diff = compare_all(
        make_regression_rows("c", cand), make_regression_rows("b", base), config=CONFIG
    )["mae"]
    assert diff.test == "paired-t" and diff.delta < 0
    assert diff.verdict == "better"


def test_p_values_are_corrected_across_the_compared_metrics(
    make_classification_rows: RowsBuilder,
) -> None:
    cand, base = _models(make_classification_rows, 300, 75, fix_share=0.08)
    holm = compare_all(cand, base, config=CONFIG)
    raw = [d.p_value for d in holm.values()]
    expected = multipletests(raw, method="holm")[1]
    np.testing.assert_allclose([float(d.p_adjusted or 0.0) for d in holm.values()], expected)
    plain = compare_all(cand, base, config=StatsConfig(n_resamples=400, correction="none"))
    assert [d.p_adjusted for d in plain.values()] == raw


def test_clustered_comparison_names_clustered_tests(make_classification_rows: RowsBuilder) -> None:
    cand, base = _models(make_classification_rows, 600, 76, fix_share=0.3)
    diffs = compare_all(cand, base, cluster=np.arange(600) // 5, config=CONFIG)
    assert [d.test for d in diffs.values()] == [
        "paired-z-clustered",
        "paired-bootstrap-clustered",
        "paired-bootstrap-clustered",
        "delong-clustered",
    ]


def test_only_metrics_both_models_have_are_compared(make_classification_rows: RowsBuilder) -> None:
    cand, base = _models(make_classification_rows, 200, 77, fix_share=0.3)
    base_without_auc = ScoreRows(
        model="base", n=base.n, metrics=base.metrics[:3], blocks=base.blocks
    )
    assert list(compare_all(cand, base_without_auc, config=CONFIG)) == [
        "accuracy",
        "f1",
        "precision",
    ]


def test_models_scored_on_different_examples_are_rejected(
    make_classification_rows: RowsBuilder,
) -> None:
    cand, _ = _models(make_classification_rows, 200, 78, fix_share=0.3)
    _, base = _models(make_classification_rows, 201, 78, fix_share=0.3)
    with pytest.raises(MetricError, match=r"'cand' \(200 examples\) with 'base' \(201 examples\)"):
        compare_all(cand, base, config=CONFIG)


def test_auc_against_different_labels_is_rejected(make_classification_rows: RowsBuilder) -> None:
    cand, _ = _models(make_classification_rows, 200, 79, fix_share=0.3)
    rng = np.random.default_rng(0)
    other = make_classification_rows(
        "base", rng.integers(0, 2, 200), rng.integers(0, 2, 200), rng.random(200)
    )
    with pytest.raises(MetricError, match="different labels"):
        compare_all(cand, other, config=CONFIG)
