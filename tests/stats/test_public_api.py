from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest

import heldout.stats

EXPECTED = {
    "DEFAULT_DISAGREEMENT",
    "AucInfluence",
    "BootstrapDistribution",
    "CIMethod",
    "ClusterCodes",
    "Correction",
    "DataPower",
    "Difference",
    "Estimate",
    "HeldoutStatsWarning",
    "Interval",
    "MinimumDetectableEffect",
    "PairedTest",
    "SlicePower",
    "StatsConfig",
    "Verdict",
    "adjust_pvalues",
    "bootstrap_distribution",
    "bootstrap_estimates",
    "bootstrap_interval",
    "cluster_codes",
    "clustered_variance",
    "compare_all",
    "delong_auc",
    "delong_influence",
    "delong_paired",
    "estimate_all",
    "influence_variance",
    "mcnemar",
    "mde_for",
    "mde_for_n",
    "mde_from_data",
    "mean_interval",
    "minimum_detectable_effect",
    "paired_bootstrap",
    "paired_bootstrap_distribution",
    "paired_influence",
    "paired_mean_n",
    "paired_proportion_n",
    "paired_proportions",
    "paired_ttest",
    "point_value",
    "resamples_for",
    "shifted_null_p_value",
    "verdict_for",
    "wilson_interval",
}

MODULES = [
    "_bootstrap",
    "_clusters",
    "_compare",
    "_config",
    "_delong",
    "_estimate",
    "_intervals",
    "_multitest",
    "_paired",
    "_paired_bootstrap",
    "_planning",
    "_power",
    "_resample",
]


def test_public_surface_is_the_documented_one() -> None:
    assert set(heldout.stats.__all__) == EXPECTED
    for name in heldout.stats.__all__:
        assert getattr(heldout.stats, name) is not None


def test_warning_class_is_a_user_warning() -> None:
    assert issubclass(heldout.stats.HeldoutStatsWarning, UserWarning)


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples_run(module: str) -> None:
    mod = importlib.import_module(f"heldout.stats.{module}")
    result = doctest.testmod(mod, extraglobs={"np": np}, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
