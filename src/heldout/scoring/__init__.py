"""Scoring: predictions to per-example sufficient statistics."""

from heldout.scoring._base import Aggregate, MetricDef, MetricKind, Ranking, ScoreRows, StatBlock

__all__ = ["Aggregate", "MetricDef", "MetricKind", "Ranking", "ScoreRows", "StatBlock"]
