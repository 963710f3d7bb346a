"""Robustness per stress operation, checked by hand and against scipy and statsmodels."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from heldout.analysis import RobustnessRow, robustness
from heldout.stats import HeldoutStatsWarning

# originals a-e; a typo variant of each; case variants of a and b; a typo of the absent z
IDS = np.array(
    ["a", "b", "c", "d", "e"]
    + [f"{x}~typo~0" for x in "abcde"]
    + ["a~case~0", "b~case~0", "z~typo~0"],
    dtype=object,
)
OF = np.array(["a", "b", "c", "d", "e", *"abcde", "a", "b", "z"], dtype=object)
OPS = np.array(["original"] * 5 + ["typo"] * 5 + ["case", "case", "typo"], dtype=object)
M = np.array([1, 1, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0, 1], dtype=np.float64)
K = np.array([1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1, 1, 0], dtype=np.float64)


def _by(rows: list[RobustnessRow]) -> dict[tuple[str, str], RobustnessRow]:
    return {(r.operation, r.model): r for r in rows}


def test_change_flip_rate_and_broke_fixed_by_hand() -> None:
    rows = _by(robustness({"m": M}, example_ids=IDS, original_of=OF, operation=OPS))
    assert list(rows) == [("typo", "m"), ("case", "m")]
    typo = rows["typo", "m"]
    # diffs (variant - original): a -1, b 0, c +1, d -1, e 0
    assert typo.n == 5 and typo.unpaired == 1  # z~typo~0 has no original
    assert (typo.original, typo.variant) == pytest.approx((0.6, 0.4))
    assert typo.change.value == pytest.approx(-0.2)
    assert (typo.broke, typo.fixed) == (2, 1)
    assert typo.flip_rate is not None and typo.flip_rate.value == pytest.approx(0.6)
    case = rows["case", "m"]
    assert (case.n, case.unpaired, case.broke, case.fixed) == (2, 0, 1, 0)
    assert case.change.value == pytest.approx(-0.5)


def test_intervals_equal_scipy_paired_t_and_statsmodels_wilson() -> None:
    typo = _by(
        robustness({"m": M}, example_ids=IDS, original_of=OF, operation=OPS, confidence=0.9)
    )["typo", "m"]
    before, after = M[:5], M[5:10]
    ci = stats.ttest_rel(after, before).confidence_interval(0.9)
    assert typo.change.method == "paired-t"
    assert (typo.change.ci_low, typo.change.ci_high) == pytest.approx((ci.low, ci.high))
    low, high = proportion_confint(3, 5, alpha=0.1, method="wilson")
    assert typo.flip_rate is not None and typo.flip_rate.method == "wilson"
    assert (typo.flip_rate.ci_low, typo.flip_rate.ci_high) == pytest.approx((low, high))


def test_continuous_scores_have_no_flip_rate_and_nan_pairs_are_left_out() -> None:
    scores = M * 0.5 + 0.25
    scores[6] = np.nan  # b~typo~0 unscored
    typo = _by(robustness({"s": scores}, example_ids=IDS, original_of=OF, operation=OPS))[
        "typo", "s"
    ]
    assert typo.n == 4
    assert typo.flip_rate is None and typo.broke is None and typo.fixed is None
    assert typo.change.value == pytest.approx(np.mean([-0.5, 0.5, -0.5, 0.0]))


def test_candidate_versus_baseline_is_a_paired_t_on_the_differences_of_changes() -> None:
    rows = robustness(
        {"k": K, "m": M},
        example_ids=IDS,
        original_of=OF,
        operation=OPS,
        candidate="m",
        baseline="k",
    )
    by = _by(rows)
    assert by["typo", "k"].versus_baseline is None
    versus = by["typo", "m"].versus_baseline
    assert versus is not None and by["typo", "m"].baseline == "k"
    dm, dk = M[5:10] - M[:5], K[5:10] - K[:5]
    expected = stats.ttest_rel(dm, dk)
    ci = expected.confidence_interval(0.95)
    assert versus.delta == pytest.approx(float(np.mean(dm - dk)))
    assert (versus.ci_low, versus.ci_high) == pytest.approx((ci.low, ci.high))
    assert versus.p_value == pytest.approx(expected.pvalue)
    assert versus.n == 5


def test_several_variants_of_one_original_are_clustered() -> None:
    import statsmodels.api as sm

    rng = np.random.default_rng(0)
    originals = [f"o{i}" for i in range(12)]
    ids = [*originals, *(f"{o}~typo~{k}" for o in originals for k in range(3))]
    of = [*originals, *(o for o in originals for _ in range(3))]
    ops = ["original"] * 12 + ["typo"] * 36
    scores = rng.integers(0, 2, len(ids)).astype(np.float64)
    row = robustness(
        {"m": scores},
        example_ids=np.array(ids, dtype=object),
        original_of=np.array(of, dtype=object),
        operation=np.array(ops, dtype=object),
    )[0]
    assert row.change.method == "paired-t-clustered"
    assert row.flip_rate is not None and row.flip_rate.method == "clt-clustered"
    groups = np.repeat(np.arange(12), 3)
    d = scores[12:] - np.repeat(scores[:12], 3)
    fit = sm.OLS(d, np.ones_like(d)).fit(
        cov_type="cluster", cov_kwds={"groups": groups}, use_t=True
    )
    low, high = fit.conf_int(0.05)[0]
    assert (row.change.ci_low, row.change.ci_high) == pytest.approx((low, high))


def test_an_operation_without_any_original_warns_and_reports_nan() -> None:
    ids = np.array(["a", "x~case~0"], dtype=object)
    with pytest.warns(HeldoutStatsWarning, match="none of the 1 'case' variants"):
        rows = robustness(
            {"m": np.array([1.0, 0.0])},
            example_ids=ids,
            original_of=np.array(["", "x"], dtype=object),
            operation=np.array(["original", "case"], dtype=object),
        )
    assert rows[0].n == 0 and rows[0].unpaired == 1 and np.isnan(rows[0].change.value)


def test_rows_round_trip_through_json_with_nan() -> None:
    with pytest.warns(HeldoutStatsWarning):  # one pair: no spread, nan bounds
        rows = robustness(
            {"k": K[[0, 1, 5, 10]], "m": M[[0, 1, 5, 10]]},
            example_ids=IDS[[0, 1, 5, 10]],
            original_of=OF[[0, 1, 5, 10]],
            operation=OPS[[0, 1, 5, 10]],
            candidate="m",
            baseline="k",
        )
    for row in rows:
        text = json.dumps(row.to_dict(), allow_nan=False)
        back = RobustnessRow.from_dict(json.loads(text))
        assert back.to_dict() == row.to_dict()
        assert np.isnan(back.change.ci_low)


def test_mismatched_lengths_and_a_lone_candidate_are_errors() -> None:
    from heldout._errors import MetricError

    with pytest.raises(MetricError, match="operation has shape"):
        robustness({"m": M}, example_ids=IDS, original_of=OF, operation=OPS[:3])
    with pytest.raises(MetricError, match="both candidate and baseline"):
        robustness({"m": M}, example_ids=IDS, original_of=OF, operation=OPS, candidate="m")
