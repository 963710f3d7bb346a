"""Classification metrics against scikit-learn, and their edge cases."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn import metrics as skm

from heldout import DataError, MetricError
from heldout.scoring import (
    HeldoutMetricWarning,
    available_metrics,
    metric_value,
    score_classification,
)
from heldout.scoring._average_precision import MAX_THRESHOLDS

from ._data import ClassificationData, make_classification


def sklearn_value(name: str, data: ClassificationData, positive: int = 1) -> float:
    """The scikit-learn value of a metric, with "no prediction" as an extra label."""
    n_classes = len(data.labels)
    y, p, proba = data.y_true, np.where(data.y_pred < 0, n_classes, data.y_pred), data.proba
    classes = list(range(n_classes))
    with warnings.catch_warnings():
        # scikit-learn warns that the extra "no prediction" label is not in y_true.
        warnings.simplefilter("ignore")
        if name == "accuracy":
            return float(skm.accuracy_score(y, p))
        if name == "balanced_accuracy":
            return float(skm.balanced_accuracy_score(y, p))
        if name == "mcc":
            return float(skm.matthews_corrcoef(y, p))
    score_fn = {"precision": skm.precision_score, "recall": skm.recall_score, "f1": skm.f1_score}
    if name in score_fn:
        return float(score_fn[name](y, p, labels=[positive], average="micro", zero_division=0))
    prefix, _, label = name.partition(":")
    if label:
        per_class = score_fn[prefix](y, p, labels=classes, average=None, zero_division=0)
        return float(per_class[data.labels.index(label)])
    average, _, score = name.partition("_")
    if score in score_fn:
        return float(score_fn[score](y, p, labels=classes, average=average, zero_division=0))
    binary = n_classes == 2
    if name == "roc_auc":
        if binary:
            return float(skm.roc_auc_score(y == positive, proba[:, positive]))
        return float(skm.roc_auc_score(y, proba, multi_class="ovr", labels=classes))
    if name == "pr_auc":
        if binary:
            return float(skm.average_precision_score(y == positive, proba[:, positive]))
        return float(skm.average_precision_score(y, proba))
    if name == "log_loss":
        return float(skm.log_loss(y, proba, labels=classes))
    if name == "brier":
        if binary:
            return float(skm.brier_score_loss(y == positive, proba[:, positive]))
        return float(skm.brier_score_loss(y, proba, labels=classes))
    raise KeyError(name)


def score(data: ClassificationData, metrics: list[str], **kwargs: object):  # type: ignore[no-untyped-def]
    return score_classification(
        data.y_true,
        data.y_pred,
        labels=data.labels,
        metrics=metrics,
        model="tuned",
        proba=data.proba,
        **kwargs,  # type: ignore[arg-type]
    )


def test_every_metric_matches_sklearn(classification: ClassificationData) -> None:
    names = available_metrics("classification", labels=classification.labels, has_proba=True)
    rows = score(classification, names)
    for name in names:
        assert metric_value(rows, name) == pytest.approx(
            sklearn_value(name, classification), abs=1e-9
        ), name


def test_positive_label_selects_the_class_of_binary_metrics() -> None:
    data = make_classification(2, seed=3)
    names = ["precision", "recall", "f1", "roc_auc", "pr_auc", "brier"]
    rows = score(data, names, positive_label=data.labels[0])
    for name in names:
        expected = sklearn_value(name, data, positive=0)
        assert metric_value(rows, name) == pytest.approx(expected, abs=1e-9), name
    assert rows.metric("f1").params["pos_label"] == data.labels[0]


def test_pr_auc_reproduces_sklearn_from_counts_with_tied_scores() -> None:
    y = np.array([1, 0, 1, 1, 0, 0, 1, 0], dtype=np.int64)
    scores = np.array([0.9, 0.9, 0.5, 0.5, 0.5, 0.2, 0.2, 0.9])
    proba = np.column_stack([1 - scores, scores])
    rows = score_classification(
        y, y, labels=["no", "yes"], metrics=["pr_auc"], model="m", proba=proba
    )
    metric = rows.metric("pr_auc")
    assert metric.params["resampling_cells"] == "distinct_scores"
    assert metric.aggregate is not None
    from_counts = float(metric.aggregate(rows.blocks["pr_auc"].sums()))
    assert from_counts == pytest.approx(skm.average_precision_score(y, scores), abs=1e-12)


def test_pr_auc_bins_many_distinct_scores_but_keeps_the_exact_point() -> None:
    rng = np.random.default_rng(7)
    n = 3 * MAX_THRESHOLDS
    y = rng.integers(0, 2, n).astype(np.int64)
    scores = np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0, 1)
    proba = np.column_stack([1 - scores, scores])
    rows = score_classification(
        y, y, labels=["no", "yes"], metrics=["pr_auc"], model="m", proba=proba
    )
    metric = rows.metric("pr_auc")
    exact = skm.average_precision_score(y, scores)
    assert metric.params["resampling_cells"] == "quantile_bins"
    assert rows.blocks["pr_auc"].n_cells <= 2 * MAX_THRESHOLDS
    assert metric_value(rows, "pr_auc") == pytest.approx(exact, abs=1e-12)
    assert metric.aggregate is not None
    binned = float(metric.aggregate(rows.blocks["pr_auc"].sums()))
    assert binned == pytest.approx(exact, abs=2e-3)


def test_a_label_never_seen_in_y_true_follows_sklearn() -> None:
    data = make_classification(3, seed=9)
    y_true = np.where(data.y_true == 2, 0, data.y_true)  # no example of the third label
    data = ClassificationData(data.labels, y_true, data.y_pred, data.proba)
    names = ["balanced_accuracy", "macro_precision", "weighted_recall", "mcc"]
    rows = score(data, names)
    for name in names:
        expected = sklearn_value(name, data)
        assert metric_value(rows, name) == pytest.approx(expected, abs=1e-9), name


def test_multiclass_pr_auc_leaves_out_a_class_without_examples() -> None:
    data = make_classification(3, seed=10)
    y_true = np.where(data.y_true == 1, 0, data.y_true)
    rows = score(ClassificationData(data.labels, y_true, data.y_pred, data.proba), ["pr_auc"])
    expected = np.mean([skm.average_precision_score(y_true == c, data.proba[:, c]) for c in (0, 2)])
    with pytest.warns(HeldoutMetricWarning, match='no example is labelled "class_b"'):
        assert metric_value(rows, "pr_auc") == pytest.approx(expected, abs=1e-12)
    metric = rows.metric("pr_auc")
    assert metric.aggregate is not None
    from_counts = metric.aggregate(rows.blocks["pr_auc"].sums())
    assert float(from_counts) == pytest.approx(expected, abs=1e-12)


def test_log_loss_clips_zero_probabilities_like_sklearn() -> None:
    y = np.array([0, 1, 2, 1], dtype=np.int64)
    proba = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.2, 0.3, 0.5], [0.0, 1.0, 0.0]])
    rows = score_classification(
        y, y, labels=["a", "b", "c"], metrics=["log_loss"], model="m", proba=proba
    )
    assert np.isfinite(rows.per_example["log_loss"]).all()
    expected = skm.log_loss(y, proba, labels=[0, 1, 2])
    assert metric_value(rows, "log_loss") == pytest.approx(expected, abs=1e-12)


def test_no_prediction_is_wrong_but_not_a_false_positive() -> None:
    y = np.array([0, 0, 1, 1], dtype=np.int64)
    pred = np.array([0, -1, 1, -1], dtype=np.int64)
    names = ["accuracy", "micro_precision", "micro_recall", "recall:a", "precision:a"]
    rows = score_classification(y, pred, labels=["a", "b"], metrics=names, model="m")
    assert metric_value(rows, "accuracy") == 0.5
    assert metric_value(rows, "micro_recall") == 0.5  # the -1s are misses...
    assert metric_value(rows, "micro_precision") == 1.0  # ...but no class was claimed
    assert metric_value(rows, "recall:a") == 0.5
    assert metric_value(rows, "precision:a") == 1.0
    assert rows.per_example["correct"].tolist() == [1.0, 0.0, 1.0, 0.0]


def test_undefined_f1_warns_at_the_point_and_reports_zero() -> None:
    y = np.zeros(6, dtype=np.int64)
    pred = np.zeros(6, dtype=np.int64)
    rows = score_classification(y, pred, labels=["neg", "pos"], metrics=["f1"], model="m")
    with pytest.warns(HeldoutMetricWarning, match="f1 is undefined"):
        assert metric_value(rows, "f1") == 0.0
    metric = rows.metric("f1")
    assert metric.aggregate is not None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # resampling the aggregate never warns
        counts = np.stack([rows.blocks["confusion"].cell_counts()] * 3)
        assert metric.aggregate(counts).tolist() == [0.0, 0.0, 0.0]


def test_defined_metrics_do_not_warn(classification: ClassificationData) -> None:
    rows = score(classification, ["macro_f1", "mcc", "f1:class_a", "roc_auc", "pr_auc"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for metric in rows.metrics:
            metric_value(rows, metric.name)


def test_roc_auc_with_one_class_present_is_nan_with_a_warning() -> None:
    y = np.ones(5, dtype=np.int64)
    proba = np.full((5, 2), 0.5)
    rows = score_classification(
        y, y, labels=["no", "yes"], metrics=["roc_auc", "pr_auc"], model="m", proba=proba
    )
    assert rows.metric("roc_auc").kind == "auc"
    with pytest.warns(HeldoutMetricWarning, match="only one class"):
        assert np.isnan(metric_value(rows, "roc_auc"))


def test_metric_needing_probabilities_without_them_names_the_fix() -> None:
    data = make_classification(3)
    with pytest.raises(MetricError, match=r"needs predicted probabilities.*add a probabilities"):
        score_classification(
            data.y_true, data.y_pred, labels=data.labels, metrics=["roc_auc"], model="m"
        )


def test_binary_f1_on_a_multiclass_task_suggests_macro_f1() -> None:
    data = make_classification(3)
    with pytest.raises(MetricError, match='"macro_f1"'):
        score(data, ["f1"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"y_pred": np.array([0, 5, 1])}, "y_pred holds codes outside -1..1"),
        ({"y_true": np.array([0, -1, 1])}, "y_true holds codes outside 0..1"),
        ({"y_pred": np.array([0, 1])}, "equal length"),
        ({"proba": np.full((3, 3), 1 / 3)}, r"shape \(n, labels\)"),
        ({"proba": np.array([[2.0, -1.0]] * 3)}, r"probabilities in \[0, 1\]"),
        ({"positive_label": "maybe"}, 'positive_label "maybe" is not a task label'),
    ],
)
def test_inconsistent_inputs_are_rejected_with_the_reason(
    change: dict[str, object], message: str
) -> None:
    kwargs: dict[str, object] = {
        "y_true": np.array([0, 1, 1]),
        "y_pred": np.array([0, 1, 0]),
        "labels": ["no", "yes"],
        "metrics": ["accuracy"],
        "model": "m",
        "proba": None,
    }
    kwargs.update(change)
    with pytest.raises((DataError, MetricError), match=message):
        score_classification(**kwargs)  # type: ignore[arg-type]
