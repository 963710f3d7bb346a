"""The normal critical value comes from the standard library; SciPy's is the reference."""

from __future__ import annotations

import math

import pytest
from scipy import special

from heldout.stats._intervals import z_critical


@pytest.mark.parametrize("confidence", [0.5, 0.8, 0.9, 0.95, 0.99, 0.999, 0.999999])
def test_z_critical_equals_scipy_ndtri(confidence: float) -> None:
    expected = float(special.ndtri(0.5 + confidence / 2))
    assert z_critical(confidence) == pytest.approx(expected, rel=2e-15, abs=0)


def test_a_confidence_that_rounds_to_one_gives_an_unbounded_value() -> None:
    assert z_critical(1.0) == math.inf
    assert z_critical(0.9999999999999999) == math.inf
