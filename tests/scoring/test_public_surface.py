"""The public surface of heldout.scoring."""

from __future__ import annotations

import heldout.scoring


def test_scoring_exports_exactly_its_public_names() -> None:
    assert sorted(heldout.scoring.__all__) == [
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
    for name in heldout.scoring.__all__:
        assert getattr(heldout.scoring, name) is not None
    assert issubclass(heldout.scoring.HeldoutMetricWarning, UserWarning)
