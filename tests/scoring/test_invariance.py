"""Invariances every metric of every registry must satisfy (one test per invariance)."""

from __future__ import annotations

import numpy as np
import pytest

from heldout.scoring import (
    ScoreRows,
    available_metrics,
    default_metrics,
    metric_value,
    score_classification,
    score_generation,
    score_regression,
)
from heldout.scoring._registry import metric_info

from ._data import ClassificationData, make_classification


def _classification_rows(data: ClassificationData, order: np.ndarray) -> ScoreRows:
    names = available_metrics("classification", labels=data.labels, has_proba=True)
    return score_classification(
        data.y_true[order],
        data.y_pred[order],
        labels=data.labels,
        metrics=names,
        model="m",
        proba=data.proba[order],
    )


def _regression_rows(order: np.ndarray) -> ScoreRows:
    rng = np.random.default_rng(5)
    y = rng.normal(100.0, 3.0, order.size)
    yhat = y + rng.normal(0.0, 1.0, order.size)
    return score_regression(
        y[order], yhat[order], metrics=available_metrics("regression"), model="m"
    )


def _generation_rows(order: np.ndarray) -> ScoreRows:
    rng = np.random.default_rng(6)
    words = np.array(
        [
            "the",
            "cat",
            "a",
            "dog",
            "sat",
            "on",
            "mat",
            "ran",
            "fast",
            "slowly",
            "red",
            "big",
            "house",
        ]
    )
    refs = [[" ".join(rng.choice(words, 8)) for _ in range(1 + i % 2)] for i in range(order.size)]
    preds = [" ".join(rng.choice(words, 7)) for _ in range(order.size)]
    return score_generation(
        [preds[i] for i in order],
        [refs[i] for i in order],
        metrics=available_metrics("generation"),
        model="m",
    )


def _all_rows(order: np.ndarray) -> list[ScoreRows]:
    return [
        _classification_rows(make_classification(2, n=order.size, seed=11), order),
        _classification_rows(make_classification(4, n=order.size, seed=12), order),
        _regression_rows(order),
        _generation_rows(order),
    ]


N = 300


def test_every_metric_is_invariant_to_example_order() -> None:
    identity = np.arange(N)
    shuffled = np.random.default_rng(0).permutation(N)
    for rows, permuted in zip(_all_rows(identity), _all_rows(shuffled), strict=True):
        for metric in rows.metrics:
            assert metric_value(permuted, metric.name) == pytest.approx(
                metric_value(rows, metric.name), rel=1e-12, abs=1e-12
            ), metric.name


def test_every_aggregate_is_vectorised_over_resamples() -> None:
    rng = np.random.default_rng(1)
    first, second = rng.random(N) < 0.5, rng.random(N) < 0.7
    for rows in _all_rows(np.arange(N)):
        for metric in rows.metrics:
            if metric.kind != "bootstrap":
                continue
            assert metric.aggregate is not None, metric.name
            block = rows.blocks[metric.block]
            counts = np.stack([block.cell_counts(first), block.cell_counts(second)])
            both = metric.aggregate(block.sums_from_counts(counts))
            assert both.shape == (2,), metric.name
            expected = []
            for mask in (first, second):
                sub = rows.subset(mask)
                point = metric_value(sub, metric.name)
                if metric.name == "pr_auc":  # the point uses the scores; so do these cells
                    point = float(metric.aggregate(sub.blocks[metric.block].sums()))
                expected.append(point)
            np.testing.assert_allclose(both, expected, rtol=1e-12, atol=1e-12, err_msg=metric.name)
            deeper = metric.aggregate(block.sums_from_counts(np.stack([counts, counts])))
            assert deeper.shape == (2, 2), metric.name


def test_every_metric_def_agrees_with_the_catalogue() -> None:
    for rows, task in zip(
        _all_rows(np.arange(N)),
        ["classification", "classification", "regression", "generation"],
        strict=True,
    ):
        for metric in rows.metrics:
            info = metric_info(task, metric.name)
            assert metric.higher_is_better == info.higher_is_better, metric.name
            assert metric.block in rows.blocks or metric.block in rows.rankings
            if metric.kind == "mean":
                assert rows.blocks[metric.block].width == 1, metric.name
            if metric.binary:
                assert set(np.unique(rows.blocks[metric.block].rows())) <= {0.0, 1.0}


@pytest.mark.parametrize("task", ["classification", "regression", "generation"])
def test_defaults_are_available_metrics(task: str) -> None:
    for labels in (("a", "b"), ("a", "b", "c")):
        for has_proba in (False, True):
            available = available_metrics(task, labels=labels, has_proba=has_proba)
            assert set(default_metrics(task, labels=labels, has_proba=has_proba)) <= set(available)
