"""Shared fixtures for the scoring tests."""

from __future__ import annotations

import pytest

from ._data import ClassificationData, make_classification


@pytest.fixture(params=[2, 4], ids=["binary", "multiclass"])
def classification(request: pytest.FixtureRequest) -> ClassificationData:
    return make_classification(request.param)
