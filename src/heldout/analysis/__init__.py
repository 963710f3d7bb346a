"""Analysis: slices, confusion, efficiency and the other breakdowns of a run's results."""

from __future__ import annotations

from typing import TYPE_CHECKING

from heldout._util._lazy import lazy_names

if TYPE_CHECKING:
    from heldout.analysis._calibration import (
        BinStrategy,
        CalibrationBin,
        CalibrationComparison,
        CalibrationReport,
        CalibrationVerdict,
        calibration,
        calibration_pair,
    )
    from heldout.analysis._confusion import ConfusionMatrix, confusion_matrix
    from heldout.analysis._drift import (
        ColumnDrift,
        DriftReport,
        DriftTest,
        SkippedColumn,
        TextProfile,
        Trend,
        WindowDrift,
        drift,
        psi,
        psi_band,
    )
    from heldout.analysis._efficiency import efficiency_estimates, quantile_interval
    from heldout.analysis._errors import (
        LENGTH_COLUMN,
        ClassMetrics,
        ConfidentError,
        ErrorReport,
        ExampleChange,
        LowScore,
        ModelErrors,
        changed_examples,
        confident_errors,
        confusion_rates,
        length_buckets,
        lowest_scores,
        per_class_metrics,
    )
    from heldout.analysis._fairness import (
        GAP_METRICS,
        ClassFairness,
        FairnessComparison,
        FairnessReport,
        Gap,
        GapChange,
        GroupRates,
        GroupScore,
        ScoreGapReport,
        fairness,
        fairness_pair,
        score_gap,
    )
    from heldout.analysis._forgetting import Forgetting, ForgettingVerdict, forgetting
    from heldout.analysis._operating import (
        CURVE_POINTS,
        OperatingPoints,
        ThresholdRule,
        operating_points,
    )
    from heldout.analysis._robustness import RobustnessRow, robustness
    from heldout.analysis._slices import SliceResult, slice_results
    from heldout.analysis._thresholds import (
        CoverageCurve,
        CoveragePoint,
        Curves,
        ThresholdChoice,
        ThresholdTarget,
        choose_threshold,
        coverage_accuracy,
        curves,
    )

__all__ = [
    "CURVE_POINTS",
    "GAP_METRICS",
    "LENGTH_COLUMN",
    "BinStrategy",
    "CalibrationBin",
    "CalibrationComparison",
    "CalibrationReport",
    "CalibrationVerdict",
    "ClassFairness",
    "ClassMetrics",
    "ColumnDrift",
    "ConfidentError",
    "ConfusionMatrix",
    "CoverageCurve",
    "CoveragePoint",
    "Curves",
    "DriftReport",
    "DriftTest",
    "ErrorReport",
    "ExampleChange",
    "FairnessComparison",
    "FairnessReport",
    "Forgetting",
    "ForgettingVerdict",
    "Gap",
    "GapChange",
    "GroupRates",
    "GroupScore",
    "LowScore",
    "ModelErrors",
    "OperatingPoints",
    "RobustnessRow",
    "ScoreGapReport",
    "SkippedColumn",
    "SliceResult",
    "TextProfile",
    "ThresholdChoice",
    "ThresholdRule",
    "ThresholdTarget",
    "Trend",
    "WindowDrift",
    "calibration",
    "calibration_pair",
    "changed_examples",
    "choose_threshold",
    "confident_errors",
    "confusion_matrix",
    "confusion_rates",
    "coverage_accuracy",
    "curves",
    "drift",
    "efficiency_estimates",
    "fairness",
    "fairness_pair",
    "forgetting",
    "length_buckets",
    "lowest_scores",
    "operating_points",
    "per_class_metrics",
    "psi",
    "psi_band",
    "quantile_interval",
    "robustness",
    "score_gap",
    "slice_results",
]

__getattr__, __dir__ = lazy_names(__name__, __file__)
