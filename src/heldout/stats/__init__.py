"""Statistics: estimates with confidence intervals, paired differences, power.

The pipeline calls :func:`estimate_all` on one model's score rows, :func:`compare_all` on a
candidate and a baseline, and :func:`mde_for` for power; the functions under them (Wilson,
CLT, McNemar, paired t, DeLong, the vectorised bootstrap, p-value corrections) are public
for reuse and each names its method in the result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from heldout._util._lazy import lazy_names

if TYPE_CHECKING:
    from heldout.stats._bootstrap import (
        BootstrapDistribution,
        bootstrap_distribution,
        bootstrap_estimates,
        bootstrap_interval,
    )
    from heldout.stats._clusters import ClusterCodes, cluster_codes, clustered_variance
    from heldout.stats._compare import compare_all, mde_for, resamples_for, verdict_for
    from heldout.stats._config import CIMethod, Correction, HeldoutStatsWarning, StatsConfig
    from heldout.stats._delong import (
        AucInfluence,
        delong_auc,
        delong_influence,
        delong_paired,
        influence_variance,
        paired_influence,
    )
    from heldout.stats._estimate import estimate_all, point_value
    from heldout.stats._intervals import Interval, mean_interval, wilson_interval
    from heldout.stats._multitest import adjust_pvalues
    from heldout.stats._paired import PairedTest, mcnemar, paired_proportions, paired_ttest
    from heldout.stats._paired_bootstrap import (
        paired_bootstrap,
        paired_bootstrap_distribution,
        shifted_null_p_value,
    )
    from heldout.stats._planning import (
        DEFAULT_DISAGREEMENT,
        DataPower,
        SlicePower,
        mde_for_n,
        mde_from_data,
        paired_mean_n,
        paired_proportion_n,
    )
    from heldout.stats._power import minimum_detectable_effect
    from heldout.stats._types import Difference, Estimate, MinimumDetectableEffect, Verdict

__all__ = [
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
]

__getattr__, __dir__ = lazy_names(__name__, __file__)
