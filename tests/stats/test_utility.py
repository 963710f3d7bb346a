"""The utility score: normalisation, weights, the joint bootstrap and the paired delta."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef, mean_absolute_error

from heldout import MetricError
from heldout.scoring import ScoreRows, score_classification, score_regression
from heldout.stats import StatsConfig, estimate_all
from heldout.stats._utility import utility_score, utility_terms

LABELS = ("a", "b", "c")


def _classification(seed: int, skill: float, n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    right = rng.random(n) < skill
    return y, np.where(right, y, (y + 1) % 3)


def _rows(y: np.ndarray, p: np.ndarray, name: str) -> ScoreRows:
    return score_classification(
        y, p, labels=LABELS, metrics=["accuracy", "macro_f1", "mcc"], model=name
    )


def test_one_component_of_weight_one_is_the_metric_with_its_bootstrap_interval() -> None:
    y, p = _classification(0, 0.7)
    rows = _rows(y, p, "m")
    config = StatsConfig(n_resamples=2000)
    terms = utility_terms({"macro_f1": (1.0, None)}, rows)
    result = utility_score({"m": rows}, terms, config=config)
    est = result.estimates["m"]
    ref = estimate_all(rows, config=config)["macro_f1"]
    assert est.value == pytest.approx(f1_score(y, p, average="macro"))
    assert est.value == pytest.approx(ref.value)
    assert est.ci_low == pytest.approx(ref.ci_low, abs=0.01)
    assert est.ci_high == pytest.approx(ref.ci_high, abs=0.01)
    assert est.method == "bootstrap-joint-percentile"


def test_the_joint_bootstrap_matches_resampling_examples_with_sklearn() -> None:
    y, p = _classification(1, 0.65, n=200)
    rows = _rows(y, p, "m")
    weights = {"accuracy": (3.0, None), "macro_f1": (1.0, None), "mcc": (1.0, None)}
    terms = utility_terms(weights, rows)
    assert [t.weight for t in terms] == pytest.approx([0.6, 0.2, 0.2])

    def utility(yy: np.ndarray, pp: np.ndarray) -> float:
        mcc = (matthews_corrcoef(yy, pp) + 1) / 2  # range [-1, 1] to [0, 1]
        return 0.6 * accuracy_score(yy, pp) + 0.2 * f1_score(yy, pp, average="macro") + 0.2 * mcc

    result = utility_score({"m": rows}, terms, config=StatsConfig(n_resamples=1000))
    est = result.estimates["m"]
    assert est.value == pytest.approx(utility(y, p))
    rng = np.random.default_rng(123)
    reps = []
    for _ in range(1000):
        idx = rng.integers(0, y.size, size=y.size)
        reps.append(utility(y[idx], p[idx]))
    low, high = np.quantile(reps, [0.025, 0.975])
    assert est.ci_low == pytest.approx(low, abs=0.012)
    assert est.ci_high == pytest.approx(high, abs=0.012)
    assert result.components["m"]["mcc"] == pytest.approx((matthews_corrcoef(y, p) + 1) / 2)


def test_lower_is_better_metrics_need_a_scale_and_count_as_one_minus() -> None:
    rng = np.random.default_rng(2)
    y = rng.normal(size=100)
    pred = y + rng.normal(0, 0.5, 100)
    rows = score_regression(y, pred, metrics=["mae", "r2"], model="m")
    with pytest.raises(MetricError, match='"mae" has no fixed range; give its scale'):
        utility_terms({"mae": (1.0, None)}, rows)
    with pytest.raises(MetricError, match='"rmse" is not computed'):
        utility_terms({"rmse": (1.0, 2.0)}, rows)
    terms = utility_terms({"mae": (1.0, 2.0)}, rows)
    assert terms[0].rule == "scale 2, lower is better: 1 - x"
    result = utility_score({"m": rows}, terms, config=StatsConfig())
    assert result.estimates["m"].value == pytest.approx(1 - mean_absolute_error(y, pred) / 2)
    # values past the scale clip to 0
    clipped = utility_score(
        {"m": rows}, utility_terms({"mae": (1.0, 0.1)}, rows), config=StatsConfig()
    )
    assert clipped.estimates["m"].value == 0.0


def test_the_paired_delta_uses_the_same_resamples_for_both_models() -> None:
    y, good = _classification(3, 0.8)
    _, bad = _classification(3, 0.6)
    cand, base = _rows(y, good, "c"), _rows(y, bad, "b")
    terms = utility_terms({"accuracy": (1.0, None), "macro_f1": (1.0, None)}, cand)
    result = utility_score(
        {"c": cand, "b": base}, terms, candidate="c", baseline="b", config=StatsConfig()
    )
    d = result.difference
    assert d is not None
    want = 0.5 * (accuracy_score(y, good) - accuracy_score(y, bad)) + 0.5 * (
        f1_score(y, good, average="macro") - f1_score(y, bad, average="macro")
    )
    assert d.delta == pytest.approx(want)
    assert d.ci_low < d.delta < d.ci_high
    assert d.ci_low > 0 and d.p_value < 0.01
    assert d.test == "paired-bootstrap-joint"
    # the paired interval is narrower than the unpaired one would be
    ec, eb = result.estimates["c"], result.estimates["b"]
    unpaired = np.hypot(ec.ci_high - ec.ci_low, eb.ci_high - eb.ci_low)
    assert d.ci_high - d.ci_low < unpaired


def test_a_model_against_itself_has_delta_zero_and_p_one() -> None:
    y, p = _classification(4, 0.7)
    rows = _rows(y, p, "m")
    terms = utility_terms({"accuracy": (1.0, None)}, rows)
    result = utility_score(
        {"c": rows, "b": rows}, terms, candidate="c", baseline="b", config=StatsConfig()
    )
    assert result.difference is not None
    assert result.difference.delta == 0.0 and result.difference.p_value == 1.0


def test_clusters_are_resampled_whole() -> None:
    y, p = _classification(5, 0.7, n=240)
    rows = _rows(y, p, "m")
    terms = utility_terms({"accuracy": (1.0, None)}, rows)
    # examples duplicated in clusters of 4 share their outcome: the clustered interval is wider
    cluster = np.repeat(np.arange(60), 4)
    dup = _rows(np.repeat(y[:60], 4), np.repeat(p[:60], 4), "m")
    plain = utility_score({"m": dup}, terms, config=StatsConfig()).estimates["m"]
    clustered = utility_score({"m": dup}, terms, cluster=cluster, config=StatsConfig()).estimates[
        "m"
    ]
    assert clustered.ci_high - clustered.ci_low > 1.5 * (plain.ci_high - plain.ci_low)
    assert rows.n == 240


def test_the_result_round_trips_through_a_dict() -> None:
    from heldout.stats._utility import UtilityResult

    y, p = _classification(6, 0.7)
    rows = _rows(y, p, "m")
    result = utility_score(
        {"m": rows}, utility_terms({"accuracy": (1.0, None)}, rows), config=StatsConfig()
    )
    assert UtilityResult.from_dict(result.to_dict()) == result


def test_a_bounded_custom_metric_with_its_own_aggregate_joins_the_utility() -> None:
    import heldout
    from heldout.scoring import custom_metric, custom_rows

    @heldout.metric("median_hit_utility", aggregate=np.median, bounds=(0.0, 2.0))
    def median_hit_utility(y_true: list[int], y_pred: list[int]) -> list[float]:
        return [2.0 * (t == p) for t, p in zip(y_true, y_pred, strict=True)]

    y, p = _classification(8, 0.7, n=101)
    m = custom_metric("median_hit_utility")
    assert m is not None
    rows = custom_rows(_rows(y, p, "m"), [m], list(y), list(p))
    terms = utility_terms({"median_hit_utility": (1.0, None), "accuracy": (1.0, None)}, rows)
    assert terms[0].rule == "range [0, 2]"
    result = utility_score({"m": rows}, terms, config=StatsConfig(n_resamples=200))
    median = np.median(2.0 * (y == p)) / 2.0
    assert result.estimates["m"].value == pytest.approx(0.5 * median + 0.5 * accuracy_score(y, p))
    assert result.estimates["m"].ci_low <= result.estimates["m"].value
