from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from sklearn.metrics import f1_score, precision_score, roc_auc_score
from statsmodels.stats.proportion import proportion_confint

from heldout import MetricError
from heldout.scoring import MetricDef, ScoreRows, StatBlock
from heldout.stats import StatsConfig, bootstrap_estimates, estimate_all, point_value

RowsBuilder = Callable[..., ScoreRows]


def _data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n)
    scores = y * 0.8 + rng.normal(scale=0.6, size=n)
    return y, (scores > 0.4).astype(np.int64), scores


def test_every_metric_kind_is_estimated_with_its_method(
    make_classification_rows: RowsBuilder,
) -> None:
    y, pred, scores = _data(600, 61)
    rows = make_classification_rows("m", y, pred, scores)
    est = estimate_all(rows, config=StatsConfig(n_resamples=300))
    assert list(est) == ["accuracy", "f1", "precision", "auc"]
    assert {k: e.method for k, e in est.items()} == {
        "accuracy": "wilson",
        "f1": "bootstrap-percentile",
        "precision": "bootstrap-percentile",
        "auc": "delong",
    }
    correct = int(np.sum(pred == y))
    assert est["accuracy"].value == pytest.approx(correct / 600)
    wilson = proportion_confint(correct, 600, alpha=0.05, method="wilson")
    assert (est["accuracy"].ci_low, est["accuracy"].ci_high) == pytest.approx(wilson)
    assert est["f1"].value == pytest.approx(f1_score(y, pred))
    assert est["precision"].value == pytest.approx(precision_score(y, pred))
    assert est["auc"].value == pytest.approx(roc_auc_score(y, scores), abs=1e-9)
    for e in est.values():
        assert e.n == 600 and e.confidence == 0.95
        assert e.ci_low < e.value < e.ci_high


def test_metrics_of_one_block_are_bootstrapped_together(
    make_classification_rows: RowsBuilder,
) -> None:
    y, pred, _ = _data(300, 62)
    rows = make_classification_rows("m", y, pred)
    config = StatsConfig(n_resamples=200, seed=5)
    est = estimate_all(rows, config=config)
    aggs = {m.name: m.aggregate for m in rows.metrics if m.aggregate is not None}
    direct = bootstrap_estimates(rows.blocks["confusion"], aggs, config=config)
    assert est["f1"] == direct["f1"] and est["precision"] == direct["precision"]


def test_clustered_estimates_name_clustered_methods(make_classification_rows: RowsBuilder) -> None:
    y, pred, scores = _data(400, 63)
    rows = make_classification_rows("m", y, pred, scores)
    est = estimate_all(rows, cluster=np.arange(400) // 4, config=StatsConfig(n_resamples=100))
    assert [e.method for e in est.values()] == [
        "clt-clustered",
        "bootstrap-percentile-clustered",
        "bootstrap-percentile-clustered",
        "delong-clustered",
    ]


def test_bca_is_used_on_request(make_classification_rows: RowsBuilder) -> None:
    y, pred, _ = _data(300, 64)
    est = estimate_all(make_classification_rows("m", y, pred), config=StatsConfig(ci_method="bca"))
    assert est["f1"].method == "bootstrap-bca"
    assert est["f1"].ci_low < est["f1"].value < est["f1"].ci_high


def test_continuous_mean_metric_uses_the_clt(make_regression_rows: RowsBuilder) -> None:
    errors = np.abs(np.random.default_rng(65).normal(size=200))
    est = estimate_all(make_regression_rows("m", errors), config=StatsConfig())["mae"]
    assert est.method == "clt"
    assert est.value == pytest.approx(errors.mean())


def test_seed_fixes_bootstrap_intervals(make_classification_rows: RowsBuilder) -> None:
    y, pred, scores = _data(300, 66)
    rows = make_classification_rows("m", y, pred, scores)
    first = estimate_all(rows, config=StatsConfig(seed=1))
    assert first == estimate_all(rows, config=StatsConfig(seed=1))
    other = estimate_all(rows, config=StatsConfig(seed=2))
    assert other["f1"].ci_low != first["f1"].ci_low
    assert other["accuracy"] == first["accuracy"]


def test_point_value_matches_estimates(make_classification_rows: RowsBuilder) -> None:
    y, pred, scores = _data(200, 67)
    rows = make_classification_rows("m", y, pred, scores)
    est = estimate_all(rows, config=StatsConfig(n_resamples=50))
    for name, e in est.items():
        assert point_value(rows, name) == pytest.approx(e.value, abs=1e-12)
    with pytest.raises(MetricError, match="no metric 'bleu'"):
        point_value(rows, "bleu")


def _rows_with(metric: MetricDef, block: StatBlock) -> ScoreRows:
    return ScoreRows(model="m", n=block.n, metrics=(metric,), blocks={"b": block})


@pytest.mark.parametrize(
    ("metric", "block", "message"),
    [
        (
            MetricDef("acc", "mean", "missing"),
            StatBlock.dense(np.ones(3)),
            "which its score rows lack",
        ),
        (MetricDef("f1", "bootstrap", "b"), StatBlock.cells(np.array([0, 1]), 4), "no aggregate"),
        (
            MetricDef("acc", "mean", "b", binary=True),
            StatBlock.dense(np.array([0.5, 1.0])),
            "not all 0 or 1",
        ),
        (MetricDef("acc", "mean", "b"), StatBlock.dense(np.ones((3, 2))), "one-column"),
        (MetricDef("auc", "auc", "b"), StatBlock.dense(np.ones(3)), "which its score rows lack"),
    ],
)
def test_unusable_metric_definitions_raise_metric_error(
    metric: MetricDef, block: StatBlock, message: str
) -> None:
    with pytest.raises(MetricError, match=message):
        estimate_all(_rows_with(metric, block), config=StatsConfig())
