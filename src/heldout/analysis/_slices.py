"""Metrics per slice of the data, and the paired difference on each slice."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from heldout._errors import MetricError
from heldout.scoring import ScoreRows
from heldout.stats import (
    Difference,
    Estimate,
    StatsConfig,
    adjust_pvalues,
    compare_all,
    estimate_all,
    resamples_for,
    verdict_for,
)

__all__ = ["SliceResult", "slice_results"]


@dataclass(frozen=True)
class SliceResult:
    """One metric on one slice value, for every model, and the paired difference.

    Attributes:
        column: the slice column (``language``).
        value: the slice value (``de``).
        metric: the metric estimated on the slice (the task's headline metric).
        n: examples in the slice.
        estimates: model name to estimate on the slice.
        comparison: candidate minus baseline on the slice, corrected across all slices of
            the task; ``None`` when the run has no comparison.
        small: the slice is under the minimum size: shown, flagged, never ranked.
    """

    column: str
    value: str
    metric: str
    n: int
    estimates: Mapping[str, Estimate]
    comparison: Difference | None
    small: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "value": self.value,
            "metric": self.metric,
            "n": self.n,
            "estimates": {m: e.to_dict() for m, e in self.estimates.items()},
            "comparison": None if self.comparison is None else self.comparison.to_dict(),
            "small": self.small,
        }


def slice_results(
    rows: Mapping[str, ScoreRows],
    slices: Mapping[str, NDArray[np.object_]],
    *,
    metric: str,
    candidate: str | None,
    baseline: str | None,
    clusters: NDArray[np.object_] | None,
    config: StatsConfig,
    min_size: int,
) -> tuple[SliceResult, ...]:
    """``metric`` on every value of every slice column, for every model.

    The candidate-minus-baseline difference on each slice is corrected across all the
    slices returned together (``config.correction``), so a slice is called worse only when
    it stays significant after looking at every slice. Slices under ``min_size`` are shown
    with their own (uncorrected) difference but are outside the corrected family and never
    called better or worse. Bootstrap resamples are raised (:func:`resamples_for`) so that
    the smallest possible bootstrap p-value still survives the correction.
    """
    found: list[SliceResult] = []
    distinct = {column: _distinct(values) for column, values in slices.items()}
    # the family corrected together: every slice large enough to be ranked
    n_tests = sum(int(n >= min_size) for _, _, counts in distinct.values() for n in counts)
    config = resamples_for(config, n_tests)

    for column, values in slices.items():
        names, codes, _ = distinct[column]
        for k, value in enumerate(names):
            mask = np.asarray(values == value if codes is None else codes == k, dtype=bool)
            n = int(mask.sum())
            cluster = None if clusters is None else clusters[mask]
            estimates: dict[str, Estimate] = {}
            subsets: dict[str, ScoreRows] = {}
            for model, model_rows in rows.items():
                sub = _only(model_rows.subset(mask), metric)
                subsets[model] = sub
                try:
                    estimates[model] = estimate_all(sub, cluster=cluster, config=config)[metric]
                except MetricError as exc:
                    # e.g. AUC on a slice holding one class: shown as undefined, not fatal
                    estimates[model] = _undefined(n, config, exc)
            comparison = None
            defined = all(not np.isnan(e.value) for e in estimates.values())
            if candidate is not None and baseline is not None and n >= 2 and defined:
                try:
                    comparison = compare_all(
                        subsets[candidate],
                        subsets[baseline],
                        cluster=cluster,
                        config=_uncorrected(config),
                    )[metric]
                except MetricError:
                    comparison = None
            found.append(
                SliceResult(
                    column=column,
                    value=value,
                    metric=metric,
                    n=n,
                    estimates=estimates,
                    comparison=comparison,
                    small=n < min_size,
                )
            )
    return _corrected(found, rows, metric, config)


def _distinct(values: NDArray[Any]) -> tuple[list[str], NDArray[np.intp] | None, list[int]]:
    """The sorted distinct texts of a slice column, each row's position among them (when
    every value is text), and the rows equal to each.

    Slice values are text (the dataset writes them so): then one hash pass finds them all,
    instead of a Python loop over the rows and an object comparison per value.
    """
    import pandas as pd

    if pd.api.types.infer_dtype(values, skipna=False) == "string":
        codes, uniques = pd.factorize(values, sort=True)
        counts = np.bincount(codes, minlength=len(uniques)).tolist()
        return [str(u) for u in uniques], np.asarray(codes, dtype=np.intp), counts
    names = sorted({str(v) for v in values})
    return names, None, [int(np.count_nonzero(values == v)) for v in names]


def _undefined(n: int, config: StatsConfig, exc: MetricError) -> Estimate:
    nan = float("nan")
    return Estimate(nan, nan, nan, n, f"undefined: {exc}", config.confidence)


def _only(rows: ScoreRows, metric: str) -> ScoreRows:
    return replace(rows, metrics=(rows.metric(metric),))


def _uncorrected(config: StatsConfig) -> StatsConfig:
    return replace(config, correction="none")


def _corrected(
    found: Sequence[SliceResult], rows: Mapping[str, ScoreRows], metric: str, config: StatsConfig
) -> tuple[SliceResult, ...]:
    tested = [
        i
        for i, s in enumerate(found)
        if s.comparison is not None and not s.small and not np.isnan(s.comparison.p_value)
    ]
    out = list(found)
    for i, s in enumerate(found):
        if s.comparison is not None and i not in tested:
            # outside the corrected family: shown, never called better or worse
            out[i] = replace(
                s,
                comparison=replace(
                    s.comparison, p_adjusted=None, verdict="no significant difference"
                ),
            )
    if not tested:
        return tuple(out)
    p = np.array([found[i].comparison.p_value for i in tested])  # type: ignore[union-attr]
    adjusted = adjust_pvalues(p, config.correction)
    higher = next(iter(rows.values())).metric(metric).higher_is_better
    for i, p_adj in zip(tested, adjusted, strict=True):
        d = found[i].comparison
        assert d is not None
        out[i] = replace(
            found[i],
            comparison=replace(
                d,
                p_adjusted=float(p_adj),
                verdict=verdict_for(
                    d.delta, float(p_adj), alpha=config.alpha, higher_is_better=higher
                ),
            ),
        )
    return tuple(out)
