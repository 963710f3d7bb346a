"""Repeated samples are averaged per example before any interval."""

from __future__ import annotations

import math

import numpy as np
import pytest

from heldout.scoring import (
    average_samples,
    metric_value,
    score_classification,
    score_regression,
    within_example_share,
)
from heldout.stats import StatsConfig, estimate_all

LABELS = ["a", "b"]


def test_averaged_draws_give_the_mean_per_example_and_one_row_per_example() -> None:
    y = np.array([0, 1, 1, 0])
    draws = [
        score_classification(y, np.array(p), labels=LABELS, metrics=["accuracy"], model="m")
        for p in ([0, 1, 1, 0], [0, 0, 1, 0], [1, 1, 1, 0])
    ]
    rows = average_samples(draws)
    assert rows.n == 4
    assert list(rows.per_example["correct"]) == pytest.approx([2 / 3, 2 / 3, 1.0, 1.0])
    assert metric_value(rows, "accuracy") == pytest.approx(10 / 12)
    # no longer 0/1: the interval is a t interval over examples, not Wilson over draws
    est = estimate_all(rows, config=StatsConfig())["accuracy"]
    assert est.method != "wilson"
    assert est.n == 4


def test_bootstrap_metrics_average_their_statistics() -> None:
    y = np.array([1.0, 2.0, 3.0])
    draws = [
        score_regression(y, np.array(p), metrics=["rmse"], model="m")
        for p in ([1.0, 2.0, 4.0], [2.0, 2.0, 3.0])
    ]
    rows = average_samples(draws)
    # the mean squared error over draws and examples, then its root
    assert metric_value(rows, "rmse") == pytest.approx(math.sqrt((1 + 1) / 6))


def test_within_example_share() -> None:
    same = [np.array([0.0, 1.0, 1.0]), np.array([0.0, 1.0, 1.0])]
    assert within_example_share(same) == 0.0
    noise = [np.array([0.0, 1.0]), np.array([1.0, 0.0])]
    assert within_example_share(noise) == 1.0
    mixed = [np.array([0.0, 1.0, 1.0, 0.0]), np.array([0.0, 1.0, 0.0, 0.0])]
    scores = np.array(mixed)
    expected = scores.var(axis=0).mean() / scores.var()
    assert within_example_share(mixed) == pytest.approx(expected)
    assert math.isnan(within_example_share([np.ones(3), np.ones(3)]))


def test_one_draw_is_returned_as_it_is() -> None:
    rows = score_regression(np.array([1.0]), np.array([2.0]), metrics=["mae"], model="m")
    assert average_samples([rows]) is rows
