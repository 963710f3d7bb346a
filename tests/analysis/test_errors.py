"""Error analysis: per-class metrics and confusion rates against scikit-learn, confident
errors, fixed and broken examples, lowest scores and input-length buckets."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix as sk_confusion_matrix
from sklearn.metrics import precision_recall_fscore_support

from heldout._errors import MetricError
from heldout.analysis import (
    LENGTH_COLUMN,
    ErrorReport,
    ModelErrors,
    changed_examples,
    confident_errors,
    confusion_matrix,
    confusion_rates,
    length_buckets,
    lowest_scores,
    per_class_metrics,
)
from heldout.scoring import score_classification, score_regression
from heldout.stats import StatsConfig

LABELS = ("billing", "bug", "feature")
CONFIG = StatsConfig(n_resamples=300, seed=3)


def _labels(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    pred = np.where(rng.uniform(size=n) < 0.7, y, rng.integers(0, 3, n))
    # a few answers that are not a label at all
    pred[rng.choice(n, 7, replace=False)] = -1
    return y.astype(np.int64), pred.astype(np.int64)


def test_per_class_metrics_match_sklearn() -> None:
    y, pred = _labels(400, 1)
    found = per_class_metrics(y, pred, LABELS, config=CONFIG)
    p, r, f, support = precision_recall_fscore_support(y, pred, labels=[0, 1, 2], zero_division=0)
    for i, c in enumerate(found):
        assert c.label == LABELS[i]
        assert c.support == support[i]
        assert c.precision.value == pytest.approx(p[i], abs=1e-12)
        assert c.recall.value == pytest.approx(r[i], abs=1e-12)
        assert c.f1.value == pytest.approx(f[i], abs=1e-12)
        for est in (c.precision, c.recall, c.f1):
            assert est.ci_low <= est.value <= est.ci_high
            assert est.ci_high - est.ci_low > 0.01
            assert est.method.startswith("bootstrap")


def test_a_class_never_predicted_has_zero_precision() -> None:
    y = np.array([0, 1, 2, 2, 1, 0] * 10, dtype=np.int64)
    pred = np.where(y == 2, 1, y).astype(np.int64)
    found = per_class_metrics(y, pred, LABELS, config=CONFIG)
    assert found[2].precision.value == 0.0
    assert found[2].recall.value == 0.0
    _, r, _, _ = precision_recall_fscore_support(y, pred, labels=[0, 1, 2], zero_division=0)
    assert [c.recall.value for c in found] == pytest.approx(r.tolist())


def test_confusion_rates_match_sklearn_row_normalisation() -> None:
    y, pred = _labels(300, 2)
    valid = pred >= 0
    cm = confusion_matrix(y[valid], pred[valid], LABELS)
    expected = sk_confusion_matrix(y[valid], pred[valid], labels=[0, 1, 2], normalize="true")
    np.testing.assert_allclose(np.array(confusion_rates(cm)), expected, atol=1e-12)


def test_confusion_rates_keep_the_invalid_column_and_mark_empty_rows() -> None:
    cm = confusion_matrix(
        np.array([0, 0, 0, 1], dtype=np.int64), np.array([0, -1, 1, 1], dtype=np.int64), LABELS
    )
    rates = confusion_rates(cm)
    assert rates[0] == pytest.approx((1 / 3, 1 / 3, 0.0, 1 / 3))
    assert rates[1] == pytest.approx((0.0, 1.0, 0.0, 0.0))
    assert all(np.isnan(v) for v in rates[2])


def test_confident_errors_rank_wrong_answers_by_predicted_probability() -> None:
    y = np.array([0, 1, 2, 0, 1], dtype=np.int64)
    pred = np.array([1, 1, 0, 2, -1], dtype=np.int64)
    proba = np.array(
        [
            [0.3, 0.6, 0.1],
            [0.0, 1.0, 0.0],  # right: never listed, however sure
            [0.9, 0.05, 0.05],
            [0.2, 0.2, 0.6],
            [0.4, 0.3, 0.3],  # no valid answer: not a confident error
        ]
    )
    ids = np.array(["a", "b", "c", "d", "e"], dtype=object)
    inputs = np.array(["x1", "x2", "x3", "x4", "x5"], dtype=object)
    found = confident_errors(ids, inputs, y, pred, proba, LABELS, limit=2)
    assert [(e.id, e.predicted, e.target) for e in found] == [
        ("c", "billing", "feature"),
        ("a", "bug", "billing"),
    ]
    assert found[0].confidence == 0.9


def test_fixed_and_broken_for_zero_one_scores() -> None:
    cand = np.array([1, 1, 0, 0, 1], dtype=np.float64)
    base = np.array([0, 1, 1, 0, 0], dtype=np.float64)
    ids = np.array(list("abcde"), dtype=object)
    text = np.array(["t"] * 5, dtype=object)
    fixed, broken, n_fixed, n_broken = changed_examples(
        ids, text, text, np.array(list("PQRST"), dtype=object), text, cand, base
    )
    assert (n_fixed, n_broken) == (2, 1)
    assert [c.id for c in fixed] == ["a", "e"]
    assert [(c.id, c.candidate, c.baseline_score) for c in broken] == [("c", "R", 1.0)]


def test_continuous_changes_count_only_beyond_the_tolerance_and_respect_direction() -> None:
    cand = np.array([0.50, 0.80, 0.10, 0.44])
    base = np.array([0.45, 0.30, 0.60, 0.40])
    ids = np.array(list("abcd"), dtype=object)
    text = np.array(["t"] * 4, dtype=object)
    fixed, broken, _, _ = changed_examples(ids, text, text, text, text, cand, base, tolerance=0.1)
    assert ([c.id for c in fixed], [c.id for c in broken]) == (["b"], ["c"])
    # an error (lower is better): the same numbers swap roles
    fixed, broken, _, _ = changed_examples(
        ids, text, text, text, text, cand, base, tolerance=0.1, higher_is_better=False
    )
    assert ([c.id for c in fixed], [c.id for c in broken]) == (["c"], ["b"])
    with pytest.raises(MetricError, match="tolerance"):
        changed_examples(ids, text, text, text, text, cand, base, tolerance=-1)


def test_lowest_scores_come_worst_first() -> None:
    score = np.array([0.9, 0.1, np.nan, 0.5])
    ids = np.array(list("abcd"), dtype=object)
    text = np.array(list("wxyz"), dtype=object)
    low = lowest_scores(ids, text, text, text, score, limit=3)
    assert [x.id for x in low] == ["b", "d", "a"]
    low = lowest_scores(ids, text, text, text, score, higher_is_better=False, limit=2)
    assert [x.id for x in low] == ["a", "d"]


def _length_rows(n: int, seed: int, planted: bool) -> tuple[dict[str, object], np.ndarray]:
    rng = np.random.default_rng(seed)
    words = rng.integers(1, 60, n)
    inputs = np.array([" ".join(["w"] * int(k)) for k in words], dtype=object)
    y = rng.integers(0, 2, n).astype(np.int64)
    base = np.where(rng.uniform(size=n) < 0.8, y, 1 - y)
    tuned = np.where(rng.uniform(size=n) < 0.8, y, 1 - y)
    if planted:
        # the tuned model falls apart on the longest quarter of the inputs
        long = words >= np.quantile(words, 0.75)
        tuned = np.where(long & (rng.uniform(size=n) < 0.6), 1 - y, tuned)
    rows = {
        name: score_classification(
            y, p.astype(np.int64), labels=("no", "yes"), metrics=["accuracy"], model=name
        )
        for name, p in (("base", base), ("tuned", tuned))
    }
    return rows, inputs


def test_length_buckets_find_a_planted_regression_on_long_inputs() -> None:
    rows, inputs = _length_rows(1200, 4, planted=True)
    found = length_buckets(
        rows, inputs, metric="accuracy", candidate="tuned", baseline="base", config=CONFIG
    )
    assert len(found) == 4
    assert all(s.column == LENGTH_COLUMN for s in found)
    assert [s.value.split(":")[0] for s in found] == ["Q1", "Q2", "Q3", "Q4"]
    assert sum(s.n for s in found) == 1200
    verdicts = [s.comparison.verdict for s in found if s.comparison is not None]
    assert verdicts[-1] == "worse"
    assert verdicts[:-1].count("worse") == 0
    report = ErrorReport(score="correct", length=found)
    assert report.worst_length is found[-1]


def test_length_buckets_raise_no_alarm_on_a_null() -> None:
    alarms = 0
    for seed in range(10):
        rows, inputs = _length_rows(400, 100 + seed, planted=False)
        found = length_buckets(
            rows, inputs, metric="accuracy", candidate="tuned", baseline="base", config=CONFIG
        )
        alarms += any(
            s.comparison is not None and s.comparison.verdict != "no significant difference"
            for s in found
        )
    # corrected across 4 buckets at alpha 0.05: about one run in twenty at most
    assert alarms <= 2


def test_length_buckets_of_equal_lengths_merge() -> None:
    y = np.zeros(40, dtype=np.int64)
    rows = {"m": score_regression(y.astype(np.float64), np.ones(40), metrics=["mae"], model="m")}
    inputs = np.array(["two words"] * 40, dtype=object)
    found = length_buckets(rows, inputs, metric="mae", candidate=None, baseline=None, config=CONFIG)
    assert [(s.value, s.n) for s in found] == [("Q1: 2-2 words", 40)]


def test_error_report_round_trips_through_json() -> None:
    rows, inputs = _length_rows(300, 9, planted=True)
    y, pred = _labels(300, 9)
    ids = np.array([str(i) for i in range(300)], dtype=object)
    fixed, broken, n_fixed, n_broken = changed_examples(
        ids,
        inputs,
        inputs,
        inputs,
        inputs,
        rows["tuned"].per_example["correct"],
        rows["base"].per_example["correct"],
    )
    report = ErrorReport(
        score="correct",
        models={"tuned": ModelErrors(per_class=per_class_metrics(y, pred, LABELS, config=CONFIG))},
        n_fixed=n_fixed,
        n_broken=n_broken,
        fixed=fixed,
        broken=broken,
        length=length_buckets(
            rows, inputs, metric="accuracy", candidate="tuned", baseline="base", config=CONFIG
        ),
    )
    again = ErrorReport.from_dict(report.to_dict())
    assert again == report
