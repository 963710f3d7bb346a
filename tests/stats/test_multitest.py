from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from heldout.stats import adjust_pvalues

P_VALUES = [
    [0.01, 0.04, 0.03, 0.2],
    [0.001, 0.001, 0.04, 0.04, 0.5, 0.9],
    [0.6],
    [0.02, 0.3, 0.011, 0.049, 0.04, 0.7, 0.0001],
]


@pytest.mark.parametrize("method", ["holm", "bonferroni", "fdr_bh"])
@pytest.mark.parametrize("p", P_VALUES)
def test_adjusted_pvalues_match_statsmodels_multipletests(p: list[float], method: str) -> None:
    ours = adjust_pvalues(p, method)  # type: ignore[arg-type]
    ref = multipletests(p, method=method)[1]
    np.testing.assert_allclose(ours, ref, rtol=1e-12)


def test_no_correction_returns_the_pvalues() -> None:
    np.testing.assert_array_equal(adjust_pvalues([0.2, 0.01], "none"), [0.2, 0.01])


def test_nan_pvalues_stay_nan_and_do_not_count_as_comparisons() -> None:
    ours = adjust_pvalues([0.01, np.nan, 0.04], "holm")
    assert np.isnan(ours[1])
    np.testing.assert_allclose(ours[[0, 2]], multipletests([0.01, 0.04], method="holm")[1])


def test_unknown_correction_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown correction 'sidak'"):
        adjust_pvalues([0.1, 0.2], "sidak")  # type: ignore[arg-type]
