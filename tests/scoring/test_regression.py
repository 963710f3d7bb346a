"""Regression metrics against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from heldout import DataError
from heldout.scoring import HeldoutMetricWarning, metric_value, score_regression

REFERENCE = {
    "mae": skm.mean_absolute_error,
    "mse": skm.mean_squared_error,
    "rmse": skm.root_mean_squared_error,
    "mape": skm.mean_absolute_percentage_error,
    "r2": skm.r2_score,
}


@pytest.mark.parametrize("offset", [0.0, 1e6], ids=["centred", "large-mean"])
def test_every_metric_matches_sklearn(offset: float) -> None:
    rng = np.random.default_rng(0)
    y = offset + rng.normal(0, 2, 500)
    y[:3] = 0.0  # exact zeros exercise MAPE's epsilon
    yhat = y + rng.normal(0, 1, 500)
    rows = score_regression(y, yhat, metrics=list(REFERENCE), model="m")
    for name, reference in REFERENCE.items():
        assert metric_value(rows, name) == pytest.approx(reference(y, yhat), rel=1e-9, abs=1e-9), (
            name
        )


def test_r2_of_a_slice_matches_sklearn_on_that_slice() -> None:
    rng = np.random.default_rng(1)
    y = 50.0 + rng.normal(0, 2, 300)
    yhat = y + rng.normal(0, 1, 300)
    mask = y > 51.0  # a slice whose mean differs from the full data's
    rows = score_regression(y, yhat, metrics=["r2", "rmse"], model="m").subset(mask)
    assert metric_value(rows, "r2") == pytest.approx(skm.r2_score(y[mask], yhat[mask]), abs=1e-9)
    expected_rmse = skm.root_mean_squared_error(y[mask], yhat[mask])
    assert metric_value(rows, "rmse") == pytest.approx(expected_rmse, abs=1e-9)


def test_errors_are_lower_is_better_and_r2_is_not() -> None:
    rows = score_regression(
        np.array([1.0, 2.0]), np.array([1.0, 3.0]), metrics=list(REFERENCE), model="m"
    )
    direction = {m.name: m.higher_is_better for m in rows.metrics}
    assert direction == {"mae": False, "mse": False, "rmse": False, "mape": False, "r2": True}
    assert rows.metric("mae").kind == "mean" and rows.metric("rmse").kind == "bootstrap"
    assert rows.per_example["abs_error"].tolist() == [0.0, 1.0]


def test_r2_of_a_constant_target_warns_and_follows_sklearn() -> None:
    y = np.full(4, 0.1)
    rows = score_regression(y, y + 1.0, metrics=["r2"], model="m")
    with pytest.warns(HeldoutMetricWarning, match="constant target"):
        assert metric_value(rows, "r2") == skm.r2_score(y, y + 1.0) == 0.0
    exact = score_regression(y, y.copy(), metrics=["r2"], model="m")
    with pytest.warns(HeldoutMetricWarning):
        assert metric_value(exact, "r2") == 1.0


def test_non_finite_values_are_rejected() -> None:
    with pytest.raises(DataError, match="y_pred holds 1 non-finite"):
        score_regression(np.ones(3), np.array([1.0, np.nan, 2.0]), metrics=["mae"], model="m")
