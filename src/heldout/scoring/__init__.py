"""Scoring: predictions to per-example sufficient statistics.

Each ``score_*`` function turns one model's predictions into :class:`ScoreRows`: blocks
of per-example sufficient statistics that :mod:`heldout.stats` resamples, and per-example
columns to store and show. :func:`metric_value` gives a metric's point estimate.
"""

from heldout.scoring._assertions import (
    Assertion,
    assertion_rows,
    compile_assertions,
    levenshtein,
    normalized_edit_distance,
)
from heldout.scoring._base import Aggregate, MetricDef, MetricKind, Ranking, ScoreRows, StatBlock
from heldout.scoring._classification import score_classification
from heldout.scoring._custom import (
    CustomMetric,
    custom_metric,
    custom_metric_names,
    custom_rows,
    import_custom_metrics,
    metric,
)
from heldout.scoring._generation import ScoredPair, score_generation, score_generation_pair
from heldout.scoring._multiple_choice import score_multiple_choice
from heldout.scoring._registry import (
    available_metrics,
    builtin_metrics,
    check_metrics,
    default_metrics,
)
from heldout.scoring._regression import score_regression
from heldout.scoring._samples import average_samples, within_example_share
from heldout.scoring._text import normalize_answer
from heldout.scoring._value import metric_value
from heldout.scoring._warnings import HeldoutMetricWarning

__all__ = [
    "Aggregate",
    "Assertion",
    "CustomMetric",
    "HeldoutMetricWarning",
    "MetricDef",
    "MetricKind",
    "Ranking",
    "ScoreRows",
    "ScoredPair",
    "StatBlock",
    "assertion_rows",
    "available_metrics",
    "average_samples",
    "builtin_metrics",
    "check_metrics",
    "compile_assertions",
    "custom_metric",
    "custom_metric_names",
    "custom_rows",
    "default_metrics",
    "import_custom_metrics",
    "levenshtein",
    "metric",
    "metric_value",
    "normalize_answer",
    "normalized_edit_distance",
    "score_classification",
    "score_generation",
    "score_generation_pair",
    "score_multiple_choice",
    "score_regression",
    "within_example_share",
]
