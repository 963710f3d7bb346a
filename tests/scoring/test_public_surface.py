"""The public surface of heldout.scoring."""

from __future__ import annotations

import heldout.scoring


def test_scoring_exports_exactly_its_public_names() -> None:
    assert sorted(heldout.scoring.__all__) == [
        "Aggregate",
        "HeldoutMetricWarning",
        "MetricDef",
        "MetricKind",
        "Ranking",
        "ScoreRows",
        "ScoredPair",
        "StatBlock",
        "available_metrics",
        "average_samples",
        "check_metrics",
        "default_metrics",
        "metric_value",
        "normalize_answer",
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
