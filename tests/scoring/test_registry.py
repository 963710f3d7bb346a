"""Metric names: what each task offers, defaults, and the errors for bad names."""

from __future__ import annotations

import pytest

from heldout import MetricError, SpecError
from heldout.scoring import available_metrics, check_metrics, default_metrics

LABELS = ("billing", "bug", "feature")


def test_misspelt_metric_gets_a_did_you_mean_and_the_allowed_names() -> None:
    with pytest.raises(MetricError) as error:
        check_metrics("classification", ["macro_f"], labels=LABELS)
    message = str(error.value)
    assert 'did you mean "macro_f1"' in message
    assert "allowed: accuracy, balanced_accuracy" in message
    assert "recall:billing" in message


def test_unknown_label_in_a_per_class_metric_suggests_the_close_label() -> None:
    with pytest.raises(MetricError, match=r'did you mean "recall:billing"\?.*labels: billing'):
        check_metrics("classification", ["recall:biling"], labels=LABELS)


def test_per_class_metrics_of_every_label_are_accepted() -> None:
    check_metrics(
        "classification", ["precision:bug", "f1:feature", "recall:billing"], labels=LABELS
    )


def test_a_metric_listed_twice_is_an_error() -> None:
    with pytest.raises(MetricError, match="listed twice"):
        check_metrics("regression", ["mae", "mae"])


def test_unknown_task_type_lists_the_task_types() -> None:
    with pytest.raises(SpecError, match="allowed: classification, multiple_choice"):
        available_metrics("ranking")


def test_binary_defaults_add_positive_class_metrics_and_probability_metrics() -> None:
    binary = default_metrics("classification", labels=("no", "yes"), has_proba=True)
    assert binary == [
        "accuracy",
        "balanced_accuracy",
        "precision",
        "recall",
        "f1",
        "macro_precision",
        "macro_recall",
        "macro_f1",
        "micro_f1",
        "weighted_f1",
        "mcc",
        "roc_auc",
        "pr_auc",
        "log_loss",
        "brier",
    ]
    multiclass = default_metrics("classification", labels=LABELS)
    assert "f1" not in multiclass and "roc_auc" not in multiclass
    assert default_metrics("generation") == ["exact_match", "token_f1", "bleu", "chrf", "rougeL"]
    assert default_metrics("regression") == ["mae", "rmse", "r2"]


def test_multiple_choice_offers_accuracy_and_length_normalised_accuracy() -> None:
    assert available_metrics("multiple_choice", labels=LABELS) == ["accuracy"]
    assert available_metrics("multiple_choice", has_proba=True) == ["accuracy", "accuracy_norm"]
    with pytest.raises(MetricError, match="method: loglikelihood"):
        check_metrics("multiple_choice", ["accuracy_norm"])
