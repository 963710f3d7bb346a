"""Repeated samples: score each draw, then average per example before any interval.

With ``samples: K`` a model answers every example K times. Each draw is scored on its
own; the per-example statistics are then averaged over the draws, so every example still
counts once and the standard error is across examples, as it must be: the draws of one
example are not independent evidence about the population of examples.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from heldout.scoring._base import MetricDef, Ranking, ScoreRows, StatBlock

__all__ = ["average_samples", "within_example_share"]


def average_samples(draws: Sequence[ScoreRows]) -> ScoreRows:
    """The per-example average of K scorings of the same examples by the same model.

    Blocks become dense (one row per example, the mean of its draws); rankings average
    their scores; 0/1 metrics stop being 0/1, so their intervals use the CLT and their
    paired tests the paired t-test.
    """
    if len(draws) == 1:
        return draws[0]
    first = draws[0]
    blocks = {
        key: StatBlock.dense(np.mean([d.blocks[key].rows() for d in draws], axis=0))
        for key in first.blocks
    }
    rankings = {
        key: Ranking(
            y=block.y,
            scores=np.mean([d.rankings[key].scores for d in draws], axis=0),
        )
        for key, block in first.rankings.items()
    }
    per_example = {
        key: np.mean([d.per_example[key] for d in draws], axis=0) for key in first.per_example
    }
    metrics = tuple(
        MetricDef(
            m.name,
            m.kind,
            m.block,
            m.higher_is_better,
            aggregate=m.aggregate,
            binary=False,
            params={**m.params, "samples": len(draws)},
        )
        for m in first.metrics
    )
    return ScoreRows(
        model=first.model,
        n=first.n,
        metrics=metrics,
        blocks=blocks,
        rankings=rankings,
        per_example=per_example,
    )


def within_example_share(draws: Sequence[NDArray[np.float64]]) -> float:
    """The share of a per-example score's variance that lies within examples.

    ``draws[k][i]`` is example i's score in draw k. 0 means every draw of an example
    scores the same (sampling adds no noise); near 1 means the draws of one example vary
    as much as different examples do. NaN when the scores do not vary at all.
    """
    scores = np.asarray(draws, dtype=np.float64)  # (K, n)
    total = float(scores.var())
    if scores.shape[0] < 2 or total == 0.0:
        return float("nan")
    within = float(scores.var(axis=0).mean())
    return within / total
