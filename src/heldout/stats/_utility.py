"""A weighted utility score: several metrics combined into one number, with a joint bootstrap.

Normalisation (each metric to [0, 1], higher better):

- a metric with a known range ``[low, high]`` maps to ``(value - low) / (high - low)``:
  scores and rates are in [0, 1], ``mcc`` in [-1, 1], ``bleu``/``chrf`` in [0, 100],
  ``brier`` in [0, 1] (binary) or [0, 2] (multiclass), judges and assertions in [0, 1],
  custom metrics in their declared ``bounds``;
- an unbounded metric (``mae``, ``rmse``, ``log_loss``, ``ter``, ``r2``...) needs an
  explicit ``scale``: it maps to ``value / scale``, clipped to [0, 1];
- a lower-is-better metric then counts as ``1 - normalised``.

Weights need not sum to 1: they are divided by their sum, so ``utility`` is the weighted
mean of the normalised metrics and lies in [0, 1].

The interval is a joint bootstrap: each resample draws the examples (or clusters) once,
every component metric of every model is recomputed on that same resample, and the
utility is combined from them; the paired delta ``candidate - baseline`` uses the same
resamples for both models. Its interval is the percentile interval of the resampled
deltas, its p-value that of the bootstrap distribution shifted to zero.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from heldout._errors import MetricError
from heldout._util._scipy import sparse
from heldout.scoring import MetricDef, Ranking, ScoreRows, StatBlock
from heldout.stats._bootstrap import BootstrapDistribution
from heldout.stats._clusters import cluster_codes
from heldout.stats._config import StatsConfig
from heldout.stats._estimate import point_value
from heldout.stats._paired_bootstrap import shifted_null_p_value
from heldout.stats._types import Difference, Estimate

__all__ = ["UtilityResult", "UtilityTerm", "known_bounds", "utility_score", "utility_terms"]

_UNIT = (0.0, 1.0)
#: Ranges of the built-in metrics that have one; the rest need ``scale``.
_BOUNDS: dict[str, tuple[float, float]] = {
    **{
        name: _UNIT
        for name in (
            "accuracy",
            "accuracy_norm",
            "balanced_accuracy",
            "precision",
            "recall",
            "f1",
            "macro_precision",
            "macro_recall",
            "macro_f1",
            "micro_precision",
            "micro_recall",
            "micro_f1",
            "weighted_precision",
            "weighted_recall",
            "weighted_f1",
            "roc_auc",
            "pr_auc",
            "exact_match",
            "token_f1",
            "rouge1",
            "rouge2",
            "rougeL",
        )
    },
    "mcc": (-1.0, 1.0),
    "bleu": (0.0, 100.0),
    "chrf": (0.0, 100.0),
}
_PER_CLASS = ("precision:", "recall:", "f1:")

#: Most numbers held at once in a chunk of resampled counts.
_BUDGET = 1 << 22


def known_bounds(metric: MetricDef) -> tuple[float, float] | None:
    """The range of a metric's value, or ``None`` when it is unbounded."""
    params = metric.params
    if "bounds" in params:
        low, high = params["bounds"]
        return float(low), float(high)
    if metric.name == "brier":
        return (0.0, 2.0) if params.get("range") == "[0, 2]" else _UNIT
    if metric.name in _BOUNDS:
        return _BOUNDS[metric.name]
    if metric.name.startswith(_PER_CLASS):
        return _UNIT
    if metric.binary or "judge" in params:
        # 0/1 values (assertions, strict judges), judge scores (normalised to [0, 1])
        return _UNIT
    return None


@dataclass(frozen=True)
class UtilityTerm:
    """One component of the utility: how its metric is normalised and weighted.

    Attributes:
        metric: the metric's name.
        weight: its weight after dividing by the sum of weights.
        low: the value that maps to 0 (before the direction is applied).
        high: the value that maps to 1.
        higher_is_better: when ``False`` the normalised value counts as ``1 - x``.
        rule: the normalisation in words (``range [0, 1]``, ``scale 10``).
    """

    metric: str
    weight: float
    low: float
    high: float
    higher_is_better: bool
    rule: str

    def normalise(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        x = np.clip((values - self.low) / (self.high - self.low), 0.0, 1.0)
        return x if self.higher_is_better else 1.0 - x

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UtilityTerm:
        return cls(**data)


@dataclass(frozen=True)
class UtilityResult:
    """Each model's utility with its interval, and the candidate's paired delta.

    Attributes:
        terms: the components, weights normalised to sum to 1.
        estimates: utility per model (``method``: ``bootstrap-joint-percentile``).
        difference: candidate minus baseline (``test``: ``paired-bootstrap-joint``), when
            the task compares two models.
        components: per model, each component's normalised point value.
    """

    terms: tuple[UtilityTerm, ...]
    estimates: Mapping[str, Estimate]
    difference: Difference | None
    components: Mapping[str, Mapping[str, float]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "terms": [t.to_dict() for t in self.terms],
            "estimates": {m: e.to_dict() for m, e in self.estimates.items()},
            "difference": None if self.difference is None else self.difference.to_dict(),
            "components": {m: dict(c) for m, c in self.components.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UtilityResult:
        diff = data.get("difference")
        return cls(
            terms=tuple(UtilityTerm.from_dict(t) for t in data["terms"]),
            estimates={m: Estimate(**e) for m, e in data["estimates"].items()},
            difference=None if diff is None else Difference(**diff),
            components={m: dict(c) for m, c in data.get("components", {}).items()},
        )


def utility_terms(
    weights: Mapping[str, tuple[float, float | None]], rows: ScoreRows, *, where: str = "utility"
) -> tuple[UtilityTerm, ...]:
    """The utility's components, checked against the metrics scored into ``rows``.

    Args:
        weights: metric name to ``(weight, scale)``; ``scale`` is ``None`` unless given.
        rows: one model's score rows (every model has the same metrics).
        where: where ``utility:`` is in the spec, for messages.

    Raises:
        MetricError: an unknown metric, or an unbounded one without ``scale``.
    """
    known = [m.name for m in rows.metrics]
    total = float(sum(w for w, _ in weights.values()))
    if not weights or total <= 0.0:
        raise MetricError(f"{where}: give at least one metric with a positive weight")
    terms = []
    for name, (weight, scale) in weights.items():
        if name not in known:
            raise MetricError(
                f'{where}: metric "{name}" is not computed by this task (metrics: '
                f"{', '.join(known)}); add it to metrics: or drop it from utility:"
            )
        metric = rows.metric(name)
        if scale is not None:
            low, high, rule = 0.0, float(scale), f"scale {scale:g}"
        else:
            bounds = known_bounds(metric)
            if bounds is None:
                raise MetricError(
                    f'{where}: metric "{name}" has no fixed range; give its scale, e.g. '
                    f"{name}: {{weight: {weight:g}, scale: 10}} (value / scale, clipped to [0, 1])"
                )
            low, high = bounds
            rule = f"range [{low:g}, {high:g}]"
        if not metric.higher_is_better:
            rule += ", lower is better: 1 - x"
        terms.append(
            UtilityTerm(
                metric=name,
                weight=weight / total,
                low=low,
                high=high,
                higher_is_better=metric.higher_is_better,
                rule=rule,
            )
        )
    return tuple(terms)


def _combine(
    terms: Sequence[UtilityTerm], values: Sequence[NDArray[np.float64]]
) -> NDArray[np.float64]:
    out = np.zeros_like(np.asarray(values[0], dtype=np.float64))
    for term, v in zip(terms, values, strict=True):
        out = out + term.weight * term.normalise(np.asarray(v, dtype=np.float64))
    return out


@dataclass(frozen=True, eq=False)
class _Units:
    """What a resample draws: ``draws`` units with replacement, unit ``u`` with
    probability ``share[u]``; ``cells(block)`` maps unit counts to the block's cell
    counts, ``examples`` (when not ``None``) maps them to example counts."""

    share: NDArray[np.float64] | None
    n_units: int
    draws: int
    unit_cells: Callable[[StatBlock], Any]
    examples: Any
    per_example: bool = False

    def counts(self, size: int, rng: np.random.Generator) -> NDArray[np.float64]:
        if self.share is not None:
            return rng.multinomial(self.draws, self.share, size=size).astype(np.float64)
        drawn = rng.integers(0, self.n_units, size=(size, self.draws))
        drawn += (np.arange(size, dtype=np.int64) * self.n_units)[:, None]
        flat = np.bincount(drawn.ravel(), minlength=size * self.n_units)
        return flat.reshape(size, self.n_units).astype(np.float64)


def _csr(rows: NDArray[np.int64], cols: NDArray[np.int64], shape: tuple[int, int]) -> Any:
    return sparse.csr_array((np.ones(rows.shape[0]), (rows, cols)), shape=shape)


def _units(
    rows: Mapping[str, ScoreRows], terms: Sequence[UtilityTerm], cluster: NDArray[Any] | None
) -> _Units:
    """Examples, clusters, or (when few) types of examples with identical cells in every
    block the utility reads, so a resample is a multinomial draw over the types."""
    n = next(iter(rows.values())).n
    examples = np.arange(n, dtype=np.int64)
    if cluster is not None:
        cc = cluster_codes(cluster, n)
        g = cc.n_clusters
        return _Units(
            share=None,
            n_units=g,
            draws=g,
            unit_cells=lambda b: _csr(cc.codes, b.codes, (g, b.n_cells)),
            examples=_csr(cc.codes, examples, (g, n)),
        )
    per_example = _Units(
        share=None,
        n_units=n,
        draws=n,
        unit_cells=lambda b: _csr(examples, b.codes, (n, b.n_cells)),
        examples=None,
        per_example=True,
    )
    metrics = [r.metric(t.metric) for r in rows.values() for t in terms]
    if any(m.kind == "auc" for m in metrics):
        return per_example
    blocks = [r.blocks[r.metric(t.metric).block] for r in rows.values() for t in terms]
    if any(b.n_cells * 2 > b.n for b in blocks):
        return per_example
    joint = np.stack([b.codes for b in blocks], axis=1)
    types, first, multiplicity = np.unique(joint, axis=0, return_index=True, return_counts=True)
    if types.shape[0] * 8 > n:
        return per_example
    t = types.shape[0]
    return _Units(
        share=multiplicity.astype(np.float64) / n,
        n_units=t,
        draws=n,
        unit_cells=lambda b: _csr(np.arange(t, dtype=np.int64), b.codes[first], (t, b.n_cells)),
        examples=None,
    )


def _auc(ranking: Ranking, counts: NDArray[np.float64]) -> NDArray[np.float64]:
    from sklearn.metrics import roc_auc_score

    if ranking.scores.ndim == 1:
        curves = [(ranking.y, ranking.scores)]
    else:
        curves = [
            ((ranking.y == c).astype(np.int64), ranking.scores[:, c])
            for c in range(ranking.scores.shape[1])
        ]
    out = np.full(counts.shape[0], np.nan)
    for b, w in enumerate(counts):
        values = []
        for y, s in curves:
            drawn = w > 0
            if 0 < np.count_nonzero(y[drawn]) < np.count_nonzero(drawn):
                values.append(float(roc_auc_score(y, s, sample_weight=w)))
        if values:
            out[b] = float(np.mean(values))
    return out


def _resampled_metric(
    rows: ScoreRows,
    metric: MetricDef,
    units: _Units,
    counts: NDArray[np.float64],
    cache: dict[str, Any],
) -> NDArray[np.float64]:
    """The metric on each resample, ``counts[b, u]`` = how often unit ``u`` was drawn."""
    if metric.kind == "auc":
        per_example = counts if units.examples is None else _times(counts, units.examples)
        return _auc(rows.rankings[metric.block], per_example)
    block = rows.blocks[metric.block]
    if units.per_example and block.table is not None and block.n_cells == block.n:
        # one cell per example (dense statistics): the sums are a plain matrix product
        sums = counts @ block.table[block.codes]
        drawn = counts.sum(axis=1)
    else:
        if metric.block not in cache:
            cache[metric.block] = units.unit_cells(block)
        cells = _times(counts, cache[metric.block])
        sums = block.sums_from_counts(cells)
        drawn = cells.sum(axis=1)
    if metric.kind == "mean":
        return np.asarray(sums[:, 0] / drawn, dtype=np.float64)
    assert metric.aggregate is not None
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(metric.aggregate(sums), dtype=np.float64)


def _times(counts: NDArray[np.float64], matrix: Any) -> NDArray[np.float64]:
    return np.asarray((matrix.T @ counts.T).T, dtype=np.float64)


def utility_score(
    rows: Mapping[str, ScoreRows],
    terms: Sequence[UtilityTerm],
    *,
    candidate: str | None = None,
    baseline: str | None = None,
    cluster: NDArray[Any] | None = None,
    config: StatsConfig,
) -> UtilityResult:
    """Each model's utility with a joint bootstrap interval, and the paired delta.

    Args:
        rows: every model's score rows on the same examples, in the same order.
        terms: the components (:func:`utility_terms`).
        candidate: the candidate model, for the paired delta.
        baseline: the baseline model.
        cluster: optional cluster id per example; whole clusters are resampled.
        config: confidence, resample count and seed.

    Returns:
        The :class:`UtilityResult`.

    Raises:
        MetricError: the rows carry sampling weights (the joint bootstrap resamples
            unweighted examples).
    """
    if any(r.weights is not None for r in rows.values()):
        raise MetricError(
            "utility: combines unweighted metrics; drop dataset.weight or drop utility:"
        )
    models = list(rows)
    n = rows[models[0]].n
    units = _units(rows, terms, cluster)
    rng = np.random.default_rng(config.seed)
    chunk = max(1, _BUDGET // max(units.n_units, units.draws, 1))
    caches: dict[str, dict[str, Any]] = {m: {} for m in models}
    parts: dict[str, list[NDArray[np.float64]]] = {m: [] for m in models}
    for start in range(0, config.n_resamples, chunk):
        size = min(chunk, config.n_resamples - start)
        counts = units.counts(size, rng)
        for m in models:
            r = rows[m]
            values = [
                _resampled_metric(r, r.metric(t.metric), units, counts, caches[m]) for t in terms
            ]
            parts[m].append(_combine(terms, values))
    replicates = {m: np.concatenate(parts[m]) for m in models}
    points: dict[str, float] = {}
    components: dict[str, dict[str, float]] = {}
    for m in models:
        raw = [np.array([point_value(rows[m], t.metric)]) for t in terms]
        points[m] = float(_combine(terms, raw)[0])
        components[m] = {
            t.metric: float(t.normalise(v)[0]) for t, v in zip(terms, raw, strict=True)
        }
    alpha = 1.0 - config.confidence
    estimates = {}
    for m in models:
        reps = replicates[m][np.isfinite(replicates[m])]
        low, high = _percentile(reps, alpha)
        estimates[m] = Estimate(
            value=points[m],
            ci_low=low,
            ci_high=high,
            n=n,
            method="bootstrap-joint-percentile",
            confidence=config.confidence,
        )
    difference = None
    if candidate is not None and baseline is not None:
        deltas = replicates[candidate] - replicates[baseline]
        point = points[candidate] - points[baseline]
        finite = deltas[np.isfinite(deltas)]
        low, high = _percentile(finite, alpha)
        p = shifted_null_p_value(BootstrapDistribution(point, deltas, np.empty(0), np.empty(0)))
        difference = Difference(
            delta=point,
            ci_low=low,
            ci_high=high,
            p_value=p,
            test="paired-bootstrap-joint",
            n=n,
            confidence=config.confidence,
        )
    return UtilityResult(
        terms=tuple(terms), estimates=estimates, difference=difference, components=components
    )


def _percentile(reps: NDArray[np.float64], alpha: float) -> tuple[float, float]:
    if reps.shape[0] == 0:
        return float("nan"), float("nan")
    low, high = np.quantile(reps, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)
