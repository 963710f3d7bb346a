"""Custom metrics: the decorator, the entry-point group, and intervals and tests for free."""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps
from sklearn.metrics import mean_absolute_error

import heldout
from heldout import MetricError
from heldout.scoring import (
    ScoreRows,
    _custom,
    check_metrics,
    custom_metric,
    custom_metric_names,
    custom_rows,
    import_custom_metrics,
)
from heldout.stats import StatsConfig, compare_all, estimate_all


@heldout.metric("abs_gap_test", higher_is_better=False)
def abs_gap_test(y_true: list[float], y_pred: list[float]) -> list[float]:
    return [abs(t - p) for t, p in zip(y_true, y_pred, strict=True)]


@heldout.metric("median_gap_test", higher_is_better=False, aggregate=np.median)
def median_gap_test(y_true: list[float], y_pred: list[float]) -> list[float]:
    return [abs(t - p) for t, p in zip(y_true, y_pred, strict=True)]


def _rows(name: str, metric: str, y: np.ndarray, p: np.ndarray) -> ScoreRows:
    m = custom_metric(metric)
    assert m is not None
    return custom_rows(ScoreRows(model=name, n=y.size, metrics=()), [m], list(y), list(p))


def test_the_decorator_registers_and_returns_the_function() -> None:
    m = custom_metric("abs_gap_test")
    assert m is not None and m.fn is abs_gap_test and not m.higher_is_better
    assert "abs_gap_test" in custom_metric_names()
    check_metrics("regression", ["mae", "abs_gap_test"])


def test_a_mean_custom_metric_equals_sklearn_with_a_clt_interval() -> None:
    rng = np.random.default_rng(0)
    y, p = rng.normal(size=200), rng.normal(size=200)
    rows = _rows("m", "abs_gap_test", y, p)
    est = estimate_all(rows, config=StatsConfig())["abs_gap_test"]
    assert est.value == pytest.approx(mean_absolute_error(y, p))
    values = np.abs(y - p)
    half = sps.norm.ppf(0.975) * values.std(ddof=1) / np.sqrt(values.size)
    assert est.method.startswith("clt")
    assert est.ci_high - est.ci_low == pytest.approx(2 * half, rel=0.02)
    assert rows.per_example["abs_gap_test"].tolist() == values.tolist()


def test_a_custom_aggregate_is_bootstrapped_like_scipy() -> None:
    rng = np.random.default_rng(1)
    y, p = rng.normal(size=150), rng.normal(size=150)
    rows = _rows("m", "median_gap_test", y, p)
    config = StatsConfig(n_resamples=2000)
    est = estimate_all(rows, config=config)["median_gap_test"]
    values = np.abs(y - p)
    assert est.value == pytest.approx(np.median(values))
    assert est.method.startswith("bootstrap")
    ref = sps.bootstrap(
        (values,), np.median, n_resamples=2000, method="percentile", random_state=0
    ).confidence_interval
    assert est.ci_low == pytest.approx(ref.low, abs=0.06)
    assert est.ci_high == pytest.approx(ref.high, abs=0.06)


def test_custom_metrics_get_paired_tests() -> None:
    rng = np.random.default_rng(2)
    y = rng.normal(size=120)
    good, bad = y + rng.normal(0, 0.5, 120), y + rng.normal(0, 1.0, 120)
    cand, base = _rows("c", "abs_gap_test", y, good), _rows("b", "abs_gap_test", y, bad)
    d = compare_all(cand, base, config=StatsConfig())["abs_gap_test"]
    ref = sps.ttest_rel(np.abs(y - good), np.abs(y - bad))
    assert d.test == "paired-t"
    assert d.delta == pytest.approx(np.abs(y - good).mean() - np.abs(y - bad).mean())
    assert d.p_value == pytest.approx(ref.pvalue, rel=0.05)
    assert d.verdict == "better"  # lower is better and the candidate's gap is smaller
    cand_m = _rows("c", "median_gap_test", y, good)
    base_m = _rows("b", "median_gap_test", y, bad)
    dm = compare_all(cand_m, base_m, config=StatsConfig())["median_gap_test"]
    assert dm.test.startswith("paired-bootstrap")
    assert dm.delta == pytest.approx(np.median(np.abs(y - good)) - np.median(np.abs(y - bad)))
    assert dm.ci_low < dm.delta < dm.ci_high


def test_a_binary_custom_metric_uses_mcnemar() -> None:
    @heldout.metric("hit_test")
    def hit_test(y_true: list[str], y_pred: list[str]) -> list[float]:
        return [float(t == p) for t, p in zip(y_true, y_pred, strict=True)]

    y = np.array(["a"] * 40)
    cand = _rows("c", "hit_test", y, np.array(["a"] * 30 + ["b"] * 10))
    base = _rows("b", "hit_test", y, np.array(["a"] * 20 + ["b"] * 20))
    assert cand.metric("hit_test").binary
    d = compare_all(cand, base, config=StatsConfig())["hit_test"]
    assert d.test.startswith("mcnemar")


def test_a_bad_return_value_is_a_metric_error() -> None:
    @heldout.metric("nan_test")
    def nan_test(y_true: list[float], y_pred: list[float]) -> list[float]:
        return [float("nan")] * len(y_pred)

    @heldout.metric("short_test")
    def short_test(y_true: list[float], y_pred: list[float]) -> list[float]:
        return [1.0]

    y = np.zeros(3)
    with pytest.raises(MetricError, match="nan for example 0"):
        _rows("m", "nan_test", y, y)
    with pytest.raises(MetricError, match="returned 1 values for 3"):
        _rows("m", "short_test", y, y)


def test_unknown_names_suggest_custom_metrics() -> None:
    with pytest.raises(MetricError, match='did you mean "abs_gap_test"'):
        check_metrics("regression", ["abs_gap_tst"])


def test_the_entry_point_group_is_read_on_first_lookup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "plugin_metrics_ep.py").write_text(
        "import heldout\n"
        "@heldout.metric('from_plugin_ep')\n"
        "def from_plugin_ep(y_true, y_pred):\n"
        "    return [1.0 for _ in y_pred]\n"
        "def bare_ep(y_true, y_pred):\n"
        "    return [0.0 for _ in y_pred]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    points = importlib.metadata.EntryPoints(
        [
            importlib.metadata.EntryPoint("plugin", "plugin_metrics_ep", _custom.ENTRY_POINT_GROUP),
            importlib.metadata.EntryPoint(
                "bare_ep", "plugin_metrics_ep:bare_ep", _custom.ENTRY_POINT_GROUP
            ),
        ]
    )
    seen: list[str] = []

    def entry_points(*, group: str) -> importlib.metadata.EntryPoints:
        seen.append(group)
        return points

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    monkeypatch.setattr(_custom, "_entry_points_read", False)
    assert custom_metric("from_plugin_ep") is not None
    assert custom_metric("bare_ep") is not None
    assert seen == [_custom.ENTRY_POINT_GROUP]
    monkeypatch.delitem(sys.modules, "plugin_metrics_ep")


def test_custom_metrics_modules_are_imported_from_the_spec_folder(tmp_path: Path) -> None:
    (tmp_path / "spec_metrics_mod.py").write_text(
        "def plain_spec_metric(y_true, y_pred):\n    return [2.0 for _ in y_pred]\n"
    )
    import_custom_metrics(["spec_metrics_mod:plain_spec_metric"], root=tmp_path, where="e:1:1")
    m = custom_metric("plain_spec_metric")
    assert m is not None and m.fn([1], [1]) == [2.0]
    from heldout import SpecError

    with pytest.raises(SpecError, match=r"e:1:1: custom_metrics\[0\]: cannot import"):
        import_custom_metrics(["not_a_module_xyz"], root=tmp_path, where="e:1:1")
    with pytest.raises(SpecError, match="has no function 'nope'"):
        import_custom_metrics(["spec_metrics_mod:nope"], root=tmp_path, where="e:1:1")


def test_weights_give_a_weighted_mean_and_refuse_a_custom_aggregate() -> None:
    from dataclasses import replace

    rng = np.random.default_rng(5)
    y, p = rng.normal(size=80), rng.normal(size=80)
    w = rng.uniform(1, 3, size=80)
    base = replace(ScoreRows(model="m", n=80, metrics=()), weights=w)
    mean_metric = custom_metric("abs_gap_test")
    median_metric = custom_metric("median_gap_test")
    assert mean_metric is not None and median_metric is not None
    rows = custom_rows(base, [mean_metric], list(y), list(p))
    est = estimate_all(rows, config=StatsConfig())["abs_gap_test"]
    assert est.value == pytest.approx(np.average(np.abs(y - p), weights=w))
    with pytest.raises(MetricError, match=r"cannot use dataset\.weight"):
        custom_rows(base, [median_metric], list(y), list(p))


def test_a_custom_metric_is_averaged_over_every_draw() -> None:
    m = custom_metric("abs_gap_test")
    assert m is not None
    y = [1.0, 2.0, 3.0]
    rows = custom_rows(
        ScoreRows(model="m", n=3, metrics=()), [m], y, [1.0, 2.0, 5.0], more_draws=[[2.0, 2.0, 3.0]]
    )
    np.testing.assert_allclose(rows.per_example["abs_gap_test"], [0.5, 0.0, 1.0])
    assert rows.metric("abs_gap_test").params["samples"] == 2
    assert "bounds" not in rows.metric("abs_gap_test").params  # not 0/1: no range assumed
    est = estimate_all(rows, config=StatsConfig())["abs_gap_test"]
    assert est.value == pytest.approx(mean_absolute_error(y * 2, [1.0, 2.0, 5.0, 2.0, 2.0, 3.0]))
