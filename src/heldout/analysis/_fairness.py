"""Fairness: rates per group, the gaps between groups, and how a candidate changes them.

For classification, each group gets its selection rate, true positive rate (TPR) and false
positive rate (FPR) with Wilson intervals, and the groups are compared by the five gaps of
fairlearn, with the same definitions (``method="between_groups"``, ``agg="worst_case"``):

- ``demographic_parity_difference``: max − min selection rate; ``..._ratio``: min / max;
- ``equalized_odds_difference``: the larger of the TPR and FPR differences;
  ``equalized_odds_ratio``: the smaller of the TPR and FPR ratios;
- ``equal_opportunity_difference``: the TPR difference.

A group with no positives (negatives) has no TPR (FPR): its own estimate is ``nan``, and in
the gaps it counts as ``zero_division`` — 0 by default, which is what fairlearn computes
(scikit-learn's normalised confusion matrix); ``nan`` leaves the group out of that gap.
Multiclass labels are compared one class against the rest (an invalid prediction, code
``-1``, is a negative for every class), and the worst gap over the classes is reported too.

Intervals come from a bootstrap stratified by group: every resample keeps each group's size
and redraws its examples, as per-group confusion-cell counts (one multinomial draw per
group), so 1,000 resamples of a million rows cost milliseconds. Intervals are percentile
intervals whatever ``StatsConfig.ci_method`` says.

A gap is never below 0 (a ratio never above 1), so its interval excludes 0 even when the
groups are alike: the interval says how large the gap is, not whether there is one. Each gap
therefore also carries the p-value of parity (every group has the same rate), from the same
resamples centred on each group's own rate (Hall and Wilson 1991): ``p = (1 + #{gap*_b >=
gap}) / (B + 1)`` where ``gap*_b`` is the gap of ``rate*_g - rate_g``. A difference and its
ratio test the same parity, so they share the p-value. For the same reason, when several
groups (or, for the worst over classes, several classes) are nearly tied at the top or the
bottom, the resampled extremes lie further apart than the observed ones and the interval
sits above the point value (below, for a ratio); it covers the true gap well once the
extreme groups stand apart.

For per-example scores (token F1, chrF, judge scores), :func:`score_gap` gives each group's
mean and the gap max − min between group means, with the same interval and p-value.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, cast, get_args

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from heldout._errors import MetricError
from heldout.stats import (
    BootstrapDistribution,
    Difference,
    Estimate,
    HeldoutStatsWarning,
    StatsConfig,
    Verdict,
    adjust_pvalues,
    bootstrap_interval,
    mean_interval,
    resamples_for,
    shifted_null_p_value,
    verdict_for,
    wilson_interval,
)

__all__ = [
    "GAP_METRICS",
    "ClassFairness",
    "FairnessComparison",
    "FairnessReport",
    "Gap",
    "GapChange",
    "GroupRates",
    "GroupScore",
    "ScoreGapReport",
    "fairness",
    "fairness_pair",
    "score_gap",
]

#: The gaps between groups, in report order.
GAP_METRICS = (
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "equal_opportunity_difference",
)
#: The difference whose parity test a ratio shares.
_PARITY_OF = {
    "demographic_parity_difference": "demographic_parity_difference",
    "demographic_parity_ratio": "demographic_parity_difference",
    "equalized_odds_difference": "equalized_odds_difference",
    "equalized_odds_ratio": "equalized_odds_difference",
    "equal_opportunity_difference": "equal_opportunity_difference",
}
_METHOD = "bootstrap-percentile-stratified"
_TEST = "paired-bootstrap-stratified"
#: Most numbers held at once in one chunk of draws (32 MiB of float64).
_BUDGET = 1 << 22
#: Multinomial cell draws when a group has at least this many examples per distinct cell.
_UNITS_PER_CELL = 8
#: Largest group whose examples are drawn one by one when its cells are mostly distinct.
_EXACT_UNITS = 5_000
_NONE = np.zeros(0)


# ----------------------------------------------------------------------------- result types


@dataclass(frozen=True)
class GroupRates:
    """One group's rates for one positive class.

    Attributes:
        group: the group value (as text).
        n: examples in the group.
        selection_rate: share predicted positive (Wilson interval, ``n`` examples).
        true_positive_rate: share of the positives predicted positive (``n`` = positives;
            ``nan`` when the group has none).
        false_positive_rate: share of the negatives predicted positive (``n`` = negatives;
            ``nan`` when the group has none).
        small: the group is under the minimum size: shown, flagged.
    """

    group: str
    n: int
    selection_rate: Estimate
    true_positive_rate: Estimate
    false_positive_rate: Estimate
    small: bool

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``nan`` becomes ``None``."""
        return _json(asdict(self))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GroupRates:
        """The rates :meth:`to_dict` wrote."""
        return cls(
            group=str(data["group"]),
            n=int(data["n"]),
            selection_rate=_estimate(data["selection_rate"]),
            true_positive_rate=_estimate(data["true_positive_rate"]),
            false_positive_rate=_estimate(data["false_positive_rate"]),
            small=bool(data["small"]),
        )


@dataclass(frozen=True)
class Gap:
    """One gap between groups, with its interval and the p-value of parity.

    Attributes:
        metric: one of :data:`GAP_METRICS`, or ``score_gap``.
        estimate: the gap with its stratified bootstrap interval.
        p_value: p-value of parity (every group has the same rate or mean).
        lowest: the group with the lowest rate (of the rate the gap comes from).
        highest: the group with the highest rate.
        label: the positive class the gap is computed for; for a worst-of-classes gap, the
            class it comes from; ``None`` for a score gap.
        worst_of_classes: the gap is the worst over all classes (largest difference,
            smallest ratio), and its interval and p-value are those of that maximum.
    """

    metric: str
    estimate: Estimate
    p_value: float
    lowest: str | None
    highest: str | None
    label: str | None = None
    worst_of_classes: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``nan`` becomes ``None``."""
        return _json(asdict(self))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Gap:
        """The gap :meth:`to_dict` wrote."""
        return cls(
            metric=str(data["metric"]),
            estimate=_estimate(data["estimate"]),
            p_value=_float(data["p_value"]),
            lowest=_text(data.get("lowest")),
            highest=_text(data.get("highest")),
            label=_text(data.get("label")),
            worst_of_classes=bool(data.get("worst_of_classes", False)),
        )


@dataclass(frozen=True)
class ClassFairness:
    """Rates per group and gaps between groups, for one positive class."""

    label: str
    groups: tuple[GroupRates, ...]
    gaps: tuple[Gap, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``nan`` becomes ``None``."""
        return {
            "label": self.label,
            "groups": [g.to_dict() for g in self.groups],
            "gaps": [g.to_dict() for g in self.gaps],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClassFairness:
        """The class :meth:`to_dict` wrote."""
        return cls(
            label=str(data["label"]),
            groups=tuple(GroupRates.from_dict(g) for g in data["groups"]),
            gaps=tuple(Gap.from_dict(g) for g in data["gaps"]),
        )


@dataclass(frozen=True)
class FairnessReport:
    """Fairness of one model's classification predictions across groups.

    Attributes:
        labels: the task's labels.
        positive_label: the positive class of a binary report; ``None`` when every class is
            reported one against the rest.
        n: examples.
        min_group_size: groups under this size are flagged ``small``.
        zero_division: what an undefined TPR or FPR counts as in the gaps.
        n_resamples: bootstrap resamples.
        seed: the bootstrap's seed.
        classes: rates and gaps per positive class (one for a binary report).
        worst: for several classes, the worst gap over the classes per metric (flagged
            ``worst_of_classes``); empty otherwise.
    """

    labels: tuple[str, ...]
    positive_label: str | None
    n: int
    min_group_size: int
    zero_division: float
    n_resamples: int
    seed: int
    classes: tuple[ClassFairness, ...]
    worst: tuple[Gap, ...] = ()

    @property
    def gaps(self) -> tuple[Gap, ...]:
        """The headline gaps: the only class's, or the worst over the classes."""
        return self.worst if self.worst else self.classes[0].gaps

    def gap(self, metric: str, *, label: str | None = None) -> Gap:
        """One gap: of class ``label``, or the headline one when ``label`` is ``None``."""
        gaps = self.gaps if label is None else _by_label(self.classes, label).gaps
        return _named(gaps, metric)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``nan`` becomes ``None``."""
        return _json(
            {
                "labels": list(self.labels),
                "positive_label": self.positive_label,
                "n": self.n,
                "min_group_size": self.min_group_size,
                "zero_division": self.zero_division,
                "n_resamples": self.n_resamples,
                "seed": self.seed,
                "classes": [c.to_dict() for c in self.classes],
                "worst": [g.to_dict() for g in self.worst],
            }
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FairnessReport:
        """The report :meth:`to_dict` wrote (``None`` read back as ``nan``)."""
        return cls(
            labels=tuple(str(v) for v in data["labels"]),
            positive_label=_text(data.get("positive_label")),
            n=int(data["n"]),
            min_group_size=int(data["min_group_size"]),
            zero_division=_float(data["zero_division"]),
            n_resamples=int(data["n_resamples"]),
            seed=int(data["seed"]),
            classes=tuple(ClassFairness.from_dict(c) for c in data["classes"]),
            worst=tuple(Gap.from_dict(g) for g in data.get("worst", ())),
        )


@dataclass(frozen=True)
class GapChange:
    """How a candidate changes one gap, on the same examples as the baseline.

    Attributes:
        metric: one of :data:`GAP_METRICS`.
        label: the positive class; ``None`` for the worst gap over the classes.
        candidate: the candidate's gap.
        baseline: the baseline's gap.
        change: candidate minus baseline, with the paired stratified bootstrap interval
            and shifted-null p-value (test ``paired-bootstrap-stratified``), corrected across
            every change of the comparison; ``better`` means closer to parity.
    """

    metric: str
    label: str | None
    candidate: Estimate
    baseline: Estimate
    change: Difference

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``nan`` becomes ``None``."""
        return _json(asdict(self))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GapChange:
        """The change :meth:`to_dict` wrote."""
        return cls(
            metric=str(data["metric"]),
            label=_text(data.get("label")),
            candidate=_estimate(data["candidate"]),
            baseline=_estimate(data["baseline"]),
            change=_difference(data["change"]),
        )


@dataclass(frozen=True)
class FairnessComparison:
    """A candidate's gaps against a baseline's, per class (and worst over the classes)."""

    labels: tuple[str, ...]
    positive_label: str | None
    n: int
    zero_division: float
    n_resamples: int
    seed: int
    changes: tuple[GapChange, ...]

    def change(self, metric: str, *, label: str | None = None) -> GapChange:
        """One change: of class ``label``, or the headline one when ``label`` is ``None``."""
        rows = [c for c in self.changes if c.metric == metric]
        if label is None and len(rows) > 1:
            rows = [c for c in rows if c.label is None]
        elif label is not None:
            rows = [c for c in rows if c.label == label]
        if len(rows) != 1:
            raise KeyError(f"no change of {metric!r} for label {label!r}")
        return rows[0]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``nan`` becomes ``None``."""
        return _json(
            {
                "labels": list(self.labels),
                "positive_label": self.positive_label,
                "n": self.n,
                "zero_division": self.zero_division,
                "n_resamples": self.n_resamples,
                "seed": self.seed,
                "changes": [c.to_dict() for c in self.changes],
            }
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FairnessComparison:
        """The comparison :meth:`to_dict` wrote."""
        return cls(
            labels=tuple(str(v) for v in data["labels"]),
            positive_label=_text(data.get("positive_label")),
            n=int(data["n"]),
            zero_division=_float(data["zero_division"]),
            n_resamples=int(data["n_resamples"]),
            seed=int(data["seed"]),
            changes=tuple(GapChange.from_dict(c) for c in data["changes"]),
        )


@dataclass(frozen=True)
class GroupScore:
    """One group's mean score (Wilson interval for 0/1 scores, t interval otherwise)."""

    group: str
    n: int
    mean: Estimate
    small: bool

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``nan`` becomes ``None``."""
        return _json(asdict(self))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GroupScore:
        """The group :meth:`to_dict` wrote."""
        return cls(
            group=str(data["group"]),
            n=int(data["n"]),
            mean=_estimate(data["mean"]),
            small=bool(data["small"]),
        )


@dataclass(frozen=True)
class ScoreGapReport:
    """Mean score per group and the gap between the highest and lowest group means."""

    n: int
    min_group_size: int
    n_resamples: int
    seed: int
    groups: tuple[GroupScore, ...]
    gap: Gap

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``nan`` becomes ``None``."""
        return _json(
            {
                "n": self.n,
                "min_group_size": self.min_group_size,
                "n_resamples": self.n_resamples,
                "seed": self.seed,
                "groups": [g.to_dict() for g in self.groups],
                "gap": self.gap.to_dict(),
            }
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScoreGapReport:
        """The report :meth:`to_dict` wrote."""
        return cls(
            n=int(data["n"]),
            min_group_size=int(data["min_group_size"]),
            n_resamples=int(data["n_resamples"]),
            seed=int(data["seed"]),
            groups=tuple(GroupScore.from_dict(g) for g in data["groups"]),
            gap=Gap.from_dict(data["gap"]),
        )


# ----------------------------------------------------------------------------- public API


def fairness(
    y_true: NDArray[np.int64],
    y_pred: NDArray[np.int64],
    groups: NDArray[np.object_],
    *,
    labels: Sequence[str],
    positive_label: str | None = None,
    config: StatsConfig,
    min_group_size: int = 30,
    zero_division: float = 0.0,
) -> FairnessReport:
    """Selection rate, TPR and FPR per group, and the fairness gaps between the groups.

    Args:
        y_true: true label codes (indices into ``labels``).
        y_pred: predicted label codes; ``-1`` is an invalid prediction, a negative for every
            class.
        groups: the sensitive feature of each example (compared as text).
        labels: the task's labels.
        positive_label: the positive class; by default ``labels[1]`` for two labels, and
            every class against the rest for more.
        config: confidence, resample count and seed.
        min_group_size: groups under this size are flagged ``small``.
        zero_division: what a group's TPR (FPR) counts as in the gaps when it has no
            positives (negatives): 0 as in fairlearn, or ``nan`` to leave the group out.

    Returns:
        The report; its gaps equal fairlearn's ``demographic_parity_difference`` and the
        other gap functions on the binarised labels.

    Raises:
        MetricError: if the arrays differ in length or hold codes outside ``labels``.

    Example:
        >>> y = np.array([1, 0, 1, 0, 1, 1, 0, 0] * 50)
        >>> pred = np.array([1, 0, 1, 1, 0, 1, 0, 0] * 50)
        >>> g = np.array(["a", "a", "a", "a", "b", "b", "b", "b"] * 50, dtype=object)
        >>> report = fairness(y, pred, g, labels=("no", "yes"), config=StatsConfig())
        >>> report.gap("demographic_parity_difference").estimate.value
        0.5
    """
    n_labels = len(labels)
    classes = _classes(labels, positive_label)
    truth = _codes("y_true", y_true, n_labels, invalid=False)
    pred = _codes("y_pred", y_pred, n_labels, invalid=True)
    _same_length(y_true=truth, y_pred=pred)
    grp = _Groups.of(groups, truth.shape[0])
    width = n_labels + 1
    cells = _by_group(grp, truth * width + np.where(pred < 0, n_labels, pred), n_labels * width)
    rows = [_class_rows(c.cells // width, c.cells % width, n_labels) for c in cells]
    point = np.stack([c.counts @ r for c, r in zip(cells, rows, strict=True)])
    (reps,) = _stratified_sums(
        cells, [rows], config.n_resamples, np.random.default_rng(config.seed)
    )
    _warn_undefined(point, grp, labels, classes, zero_division)
    table = _GapTable.of(point, reps, grp.sizes, classes, n_labels, zero_division)
    n = int(truth.shape[0])
    per_class = tuple(
        ClassFairness(
            label=labels[k],
            groups=_group_rates(point, grp, k, n_labels, config, min_group_size),
            gaps=tuple(table.gap(m, i, grp, labels, n, config) for m in GAP_METRICS),
        )
        for i, k in enumerate(classes)
    )
    worst = (
        tuple(table.worst_gap(m, grp, labels, n, config) for m in GAP_METRICS)
        if len(classes) > 1
        else ()
    )
    return FairnessReport(
        labels=tuple(labels),
        positive_label=labels[classes[0]] if len(classes) == 1 else None,
        n=n,
        min_group_size=min_group_size,
        zero_division=zero_division,
        n_resamples=config.n_resamples,
        seed=config.seed,
        classes=per_class,
        worst=worst,
    )


def fairness_pair(
    y_true: NDArray[np.int64],
    pred_candidate: NDArray[np.int64],
    pred_baseline: NDArray[np.int64],
    groups: NDArray[np.object_],
    *,
    labels: Sequence[str],
    positive_label: str | None = None,
    config: StatsConfig,
    zero_division: float = 0.0,
) -> FairnessComparison:
    """The change in every fairness gap from a baseline to a candidate, on the same examples.

    Both models' gaps are computed on the same stratified resamples, so the interval of the
    change keeps the pairing. The p-values are corrected across every change returned
    (``config.correction``; resamples are raised so a corrected p-value can reach
    ``config.alpha``), and ``better`` means the candidate is closer to parity.

    Args:
        y_true: true label codes.
        pred_candidate: the candidate's predicted codes (``-1``: invalid).
        pred_baseline: the baseline's predicted codes on the same examples.
        groups: the sensitive feature of each example.
        labels: the task's labels.
        positive_label: as in :func:`fairness`.
        config: confidence, resample count, seed and correction.
        zero_division: as in :func:`fairness`.

    Returns:
        One :class:`GapChange` per gap and class, plus the worst over the classes when
        several classes are reported.
    """
    n_labels = len(labels)
    classes = _classes(labels, positive_label)
    truth = _codes("y_true", y_true, n_labels, invalid=False)
    cand = _codes("pred_candidate", pred_candidate, n_labels, invalid=True)
    base = _codes("pred_baseline", pred_baseline, n_labels, invalid=True)
    _same_length(y_true=truth, pred_candidate=cand, pred_baseline=base)
    grp = _Groups.of(groups, truth.shape[0])
    width = n_labels + 1
    joint = (truth * width + np.where(cand < 0, n_labels, cand)) * width + np.where(
        base < 0, n_labels, base
    )
    cells = _by_group(grp, joint, n_labels * width * width)
    rows_c = [
        _class_rows(c.cells // (width * width), c.cells // width % width, n_labels) for c in cells
    ]
    rows_b = [_class_rows(c.cells // (width * width), c.cells % width, n_labels) for c in cells]
    n_tests = len(GAP_METRICS) * (len(classes) + (len(classes) > 1))
    config = resamples_for(config, n_tests)
    rng = np.random.default_rng(config.seed)
    reps_c, reps_b = _stratified_sums(cells, [rows_c, rows_b], config.n_resamples, rng)
    points = [
        np.stack([c.counts @ r for c, r in zip(cells, rows, strict=True)])
        for rows in (rows_c, rows_b)
    ]
    _warn_undefined(points[0], grp, labels, classes, zero_division)
    tables = [
        _GapTable.of(point, reps, grp.sizes, classes, n_labels, zero_division)
        for point, reps in zip(points, (reps_c, reps_b), strict=True)
    ]
    n = int(truth.shape[0])
    found: list[GapChange] = []
    slots: list[tuple[int | None, str | None]] = [(i, labels[k]) for i, k in enumerate(classes)]
    if len(classes) > 1:
        slots.append((None, None))
    for index, label in slots:
        for metric in GAP_METRICS:
            (pc, rc), (pb, rb) = (t.values(metric, index) for t in tables)
            found.append(_change(metric, label, pc, rc, pb, rb, n, config))
    return FairnessComparison(
        labels=tuple(labels),
        positive_label=labels[classes[0]] if len(classes) == 1 else None,
        n=n,
        zero_division=zero_division,
        n_resamples=config.n_resamples,
        seed=config.seed,
        changes=_corrected(found, config),
    )


def score_gap(
    scores: NDArray[np.float64],
    groups: NDArray[np.object_],
    *,
    config: StatsConfig,
    min_group_size: int = 30,
) -> ScoreGapReport:
    """Mean per-example score per group, and the gap between the highest and lowest means.

    A group of more than 5,000 examples whose scores are mostly distinct (continuous
    scores) draws its resampled mean from the mean's normal limit rather than example by
    example, which keeps a million scores to a second; the gap's method then reads
    ``bootstrap-percentile-stratified-clt``. Groups of few distinct scores (0/1, judge
    grades) are always resampled exactly, as cell counts.

    Args:
        scores: one finite score per example (token F1, chrF, a judge's grade).
        groups: the group of each example (compared as text).
        config: confidence, resample count and seed.
        min_group_size: groups under this size are flagged ``small``.

    Returns:
        Per-group means (Wilson intervals for 0/1 scores, t intervals otherwise) and the
        gap with its stratified bootstrap interval and the p-value of equal means.

    Raises:
        MetricError: if a score is not finite or the lengths differ.
    """
    x = np.asarray(scores, dtype=np.float64)
    if x.ndim != 1 or x.shape[0] == 0:
        raise MetricError(f"scores must be a non-empty one-dimensional array, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        bad = int(np.count_nonzero(~np.isfinite(x)))
        raise MetricError(f"{bad} of {x.shape[0]} scores are nan or infinite; drop or rescore them")
    grp = _Groups.of(groups, x.shape[0])
    values, codes = np.unique(x, return_inverse=True)
    cells = _by_group(grp, codes.astype(np.int64).ravel(), int(values.shape[0]))
    rows = [values[c.cells][:, None] for c in cells]
    sizes = grp.sizes.astype(np.float64)
    means = np.array([float(c.counts @ r[:, 0]) for c, r in zip(cells, rows, strict=True)]) / sizes
    (sums,) = _stratified_sums(
        cells, [rows], config.n_resamples, np.random.default_rng(config.seed), clt=True
    )
    reps = sums[..., 0] / sizes
    clt = any(_uses_clt(c) for c in cells)
    point = _spread(means, axis=-1)
    low, high = _extremes(means, grp.names)
    gap = _make_gap(
        "score_gap",
        float(point),
        _spread(reps, axis=-1),
        _p_value(_spread(reps - means, axis=-1), float(point)),
        (low, high),
        None,
        int(x.shape[0]),
        config,
        method=_METHOD + ("-clt" if clt else ""),
    )
    found = tuple(
        GroupScore(
            group=name,
            n=int(size),
            mean=mean_interval(x[grp.codes == g], confidence=config.confidence),
            small=int(size) < min_group_size,
        )
        for g, (name, size) in enumerate(zip(grp.names, grp.sizes, strict=True))
    )
    return ScoreGapReport(
        n=int(x.shape[0]),
        min_group_size=min_group_size,
        n_resamples=config.n_resamples,
        seed=config.seed,
        groups=found,
        gap=gap,
    )


# ----------------------------------------------------------------------------- groups, cells


@dataclass(frozen=True)
class _Groups:
    names: tuple[str, ...]
    codes: NDArray[np.int64]
    sizes: NDArray[np.int64]

    @classmethod
    def of(cls, groups: NDArray[Any], n: int) -> _Groups:
        arr = np.asarray(groups, dtype=object)
        if arr.ndim != 1 or arr.shape[0] != n:
            raise MetricError(
                f"groups must hold one value per example ({n}), got shape {arr.shape}"
            )
        # hashing, not sorting, a million objects; values equal as text are one group
        raw, uniques = pd.factorize(arr, use_na_sentinel=False)
        names = np.array([str(u) for u in uniques], dtype=object)
        text, remap = np.unique(names, return_inverse=True)
        codes = np.asarray(remap, dtype=np.int64).ravel()[np.asarray(raw, dtype=np.int64)]
        sizes = np.bincount(codes, minlength=text.shape[0]).astype(np.int64)
        return cls(tuple(str(t) for t in text), codes, sizes)


@dataclass(frozen=True)
class _Cells:
    """The distinct cells one group's examples fall in, and how many fall in each."""

    cells: NDArray[np.int64]
    counts: NDArray[np.float64]


def _by_group(grp: _Groups, cells: NDArray[np.int64], n_cells: int) -> list[_Cells]:
    n_groups = len(grp.names)
    code = grp.codes * n_cells + cells
    if n_groups * n_cells <= _BUDGET:
        table = np.bincount(code, minlength=n_groups * n_cells).reshape(n_groups, n_cells)
        found = [np.flatnonzero(row) for row in table]
        return [
            _Cells(nz, row[nz].astype(np.float64)) for nz, row in zip(found, table, strict=True)
        ]
    uniq, counts = np.unique(code, return_counts=True)
    starts = np.searchsorted(uniq // n_cells, np.arange(n_groups + 1))
    return [
        _Cells(uniq[a:b] % n_cells, counts[a:b].astype(np.float64))
        for a, b in itertools.pairwise(starts)
    ]


def _class_rows(t: NDArray[np.int64], p: NDArray[np.int64], n_labels: int) -> NDArray[np.float64]:
    """Statistics of cells (true ``t``, predicted ``p``): [positives | selected | hits]."""
    rows = np.zeros((t.shape[0], 3 * n_labels))
    r = np.arange(t.shape[0])
    rows[r, t] = 1.0
    valid = p < n_labels
    rows[r[valid], n_labels + p[valid]] = 1.0
    hit = p == t
    rows[r[hit], 2 * n_labels + t[hit]] = 1.0
    return rows


def _stratified_sums(
    cells: Sequence[_Cells],
    tables: Sequence[Sequence[NDArray[np.float64]]],
    n_resamples: int,
    rng: np.random.Generator,
    *,
    clt: bool = False,
) -> list[NDArray[np.float64]]:
    """Per-group column sums of each table on ``n_resamples`` resamples within each group.

    ``tables[t][g]`` holds the statistics of one example in each cell of group ``g``. A
    group redraws its cell counts from one multinomial, or, when it has about as many
    distinct cells as examples and is small, draws its examples (in chunks of bounded
    memory): both are exactly the row bootstrap. With ``clt``, a large group of mostly
    distinct values (continuous scores; one-column tables) draws its resampled sum from
    the sum's normal limit instead (see :func:`_uses_clt`).

    Returns:
        One ``(B, G, k_t)`` array per table.
    """
    n_groups = len(cells)
    outs = [np.empty((n_resamples, n_groups, t[0].shape[1])) for t in tables]
    for g, group in enumerate(cells):
        rows = [t[g] for t in tables]
        units = round(float(group.counts.sum()))
        distinct = group.counts.shape[0]
        if clt and _uses_clt(group):
            for out, r in zip(outs, rows, strict=True):
                mean = float(group.counts @ r[:, 0]) / units
                spread = math.sqrt(float(group.counts @ (r[:, 0] - mean) ** 2))
                out[:, g, 0] = units * mean + spread * rng.standard_normal(n_resamples)
            continue
        few = distinct * _UNITS_PER_CELL <= units or units > _EXACT_UNITS
        width = distinct if few else units
        chunk = max(1, _BUDGET // max(1, width * max(r.shape[1] for r in rows)))
        unit_rows = (
            [] if few else [np.repeat(r, group.counts.astype(np.int64), axis=0) for r in rows]
        )
        for start in range(0, n_resamples, chunk):
            size = min(chunk, n_resamples - start)
            if few:
                draws = rng.multinomial(units, group.counts / units, size=size).astype(np.float64)
                for out, r in zip(outs, rows, strict=True):
                    out[start : start + size, g] = draws @ r
            else:
                idx = rng.integers(0, units, size=(size, units), dtype=np.int32)
                for out, u in zip(outs, unit_rows, strict=True):
                    out[start : start + size, g] = u[idx].sum(axis=1)
    return outs


def _uses_clt(group: _Cells) -> bool:
    """Whether a group of scores is resampled through the normal limit of its mean.

    Drawing each of ``n`` examples costs ``n`` draws per resample, a billion for a million
    continuous scores and 1,000 resamples. Past ``_EXACT_UNITS`` examples the bootstrap mean
    is normal to within a skewness of ``skew(scores) / sqrt(n)`` (under 0.05 for scores of
    skewness 3), so its mean and variance (``mean``, ``var / n``) are drawn directly.
    """
    units = float(group.counts.sum())
    return group.counts.shape[0] * _UNITS_PER_CELL > units and units > _EXACT_UNITS


# ----------------------------------------------------------------------------- gaps


def _spread(x: NDArray[np.float64], *, axis: int) -> NDArray[np.float64]:
    """max − min ignoring ``nan`` (``nan`` when every value is)."""
    return np.asarray(np.fmax.reduce(x, axis=axis) - np.fmin.reduce(x, axis=axis))


def _ratio(x: NDArray[np.float64], *, axis: int) -> NDArray[np.float64]:
    """min / max ignoring ``nan``; ``nan`` when the max is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.fmin.reduce(x, axis=axis) / np.fmax.reduce(x, axis=axis))


@dataclass(frozen=True)
class _Rates:
    """Selection rate, TPR and FPR, shape ``(..., G, K)`` for the ``K`` reported classes."""

    selection: NDArray[np.float64]
    tpr: NDArray[np.float64]
    fpr: NDArray[np.float64]

    @classmethod
    def of(
        cls,
        sums: NDArray[np.float64],
        sizes: NDArray[np.int64],
        classes: Sequence[int],
        n_labels: int,
        zero_division: float,
    ) -> _Rates:
        k = np.asarray(classes, dtype=np.int64)
        n = sizes.astype(np.float64)[:, None]
        pos, sel, tp = sums[..., k], sums[..., n_labels + k], sums[..., 2 * n_labels + k]
        neg = n - pos
        with np.errstate(divide="ignore", invalid="ignore"):
            return cls(
                sel / n,
                np.where(pos > 0, tp / pos, zero_division),
                np.where(neg > 0, (sel - tp) / neg, zero_division),
            )

    def gaps(self) -> dict[str, NDArray[np.float64]]:
        """Every gap metric, shape ``(..., K)``, reduced over the groups."""
        tpr_difference = _spread(self.tpr, axis=-2)
        return {
            "demographic_parity_difference": _spread(self.selection, axis=-2),
            "demographic_parity_ratio": _ratio(self.selection, axis=-2),
            "equalized_odds_difference": np.maximum(tpr_difference, _spread(self.fpr, axis=-2)),
            "equalized_odds_ratio": np.minimum(
                _ratio(self.tpr, axis=-2), _ratio(self.fpr, axis=-2)
            ),
            "equal_opportunity_difference": tpr_difference,
        }

    def centred(self, point: _Rates) -> dict[str, NDArray[np.float64]]:
        """The difference gaps of ``rate* - rate``: their distribution under parity."""
        selection = _spread(self.selection - point.selection, axis=-2)
        tpr = _spread(self.tpr - point.tpr, axis=-2)
        fpr = _spread(self.fpr - point.fpr, axis=-2)
        return {
            "demographic_parity_difference": selection,
            "equalized_odds_difference": np.maximum(tpr, fpr),
            "equal_opportunity_difference": tpr,
        }

    def source(self, metric: str, k: int) -> NDArray[np.float64]:
        """The per-group rates a gap of class index ``k`` comes from, shape ``(G,)``."""
        if metric.startswith("demographic"):
            return self.selection[:, k]
        tpr, fpr = self.tpr[:, k], self.fpr[:, k]
        if metric == "equalized_odds_difference":
            return tpr if not _spread(fpr, axis=0) > _spread(tpr, axis=0) else fpr
        if metric == "equalized_odds_ratio":
            return tpr if not _ratio(fpr, axis=0) < _ratio(tpr, axis=0) else fpr
        return tpr


@dataclass(frozen=True)
class _GapTable:
    """Point values, replicates and parity p-values of every gap, per class and worst."""

    rates: _Rates
    classes: tuple[int, ...]
    point: dict[str, NDArray[np.float64]]
    reps: dict[str, NDArray[np.float64]]
    p: dict[str, NDArray[np.float64]]
    worst_point: dict[str, float]
    worst_reps: dict[str, NDArray[np.float64]]
    worst_p: dict[str, float]
    worst_class: dict[str, int | None]

    @classmethod
    def of(
        cls,
        point_sums: NDArray[np.float64],
        rep_sums: NDArray[np.float64],
        sizes: NDArray[np.int64],
        classes: Sequence[int],
        n_labels: int,
        zero_division: float,
    ) -> _GapTable:
        rates = _Rates.of(point_sums, sizes, classes, n_labels, zero_division)
        draws = _Rates.of(rep_sums, sizes, classes, n_labels, zero_division)
        point, reps, null = rates.gaps(), draws.gaps(), draws.centred(rates)
        p: dict[str, NDArray[np.float64]] = {}
        worst_point: dict[str, float] = {}
        worst_reps: dict[str, NDArray[np.float64]] = {}
        worst_p: dict[str, float] = {}
        worst_class: dict[str, int | None] = {}
        for metric in GAP_METRICS:
            parity = _PARITY_OF[metric]
            p[metric] = np.array(
                [_p_value(null[parity][:, i], float(v)) for i, v in enumerate(point[parity])]
            )
            ratio = metric.endswith("_ratio")
            reduce = np.fmin if ratio else np.fmax
            worst_point[metric] = float(reduce.reduce(point[metric]))
            worst_reps[metric] = np.asarray(reduce.reduce(reps[metric], axis=-1))
            worst_p[metric] = _p_value(
                np.fmax.reduce(null[parity], axis=-1), float(np.fmax.reduce(point[parity]))
            )
            finite = np.isfinite(point[metric])
            pick = np.argmin if ratio else np.argmax
            worst_class[metric] = (
                int(np.flatnonzero(finite)[pick(point[metric][finite])]) if finite.any() else None
            )
        return cls(
            rates, tuple(classes), point, reps, p, worst_point, worst_reps, worst_p, worst_class
        )

    def values(self, metric: str, index: int | None) -> tuple[float, NDArray[np.float64]]:
        """Point and replicates of a gap of class index ``index`` (``None``: worst)."""
        if index is None:
            return self.worst_point[metric], self.worst_reps[metric]
        return float(self.point[metric][index]), self.reps[metric][:, index]

    def gap(
        self,
        metric: str,
        index: int,
        grp: _Groups,
        labels: Sequence[str],
        n: int,
        config: StatsConfig,
    ) -> Gap:
        return _make_gap(
            metric,
            float(self.point[metric][index]),
            self.reps[metric][:, index],
            float(self.p[metric][index]),
            _extremes(self.rates.source(metric, index), grp.names),
            labels[self.classes[index]],
            n,
            config,
        )

    def worst_gap(
        self, metric: str, grp: _Groups, labels: Sequence[str], n: int, config: StatsConfig
    ) -> Gap:
        index = self.worst_class[metric]
        extremes = (
            (None, None)
            if index is None
            else _extremes(self.rates.source(metric, index), grp.names)
        )
        return _make_gap(
            metric,
            self.worst_point[metric],
            self.worst_reps[metric],
            self.worst_p[metric],
            extremes,
            None if index is None else labels[self.classes[index]],
            n,
            config,
            worst=True,
        )


def _p_value(null: NDArray[np.float64], point: float) -> float:
    """``(1 + #{null >= point}) / (B + 1)`` over the finite null replicates."""
    reps = null[np.isfinite(null)]
    if not math.isfinite(point) or reps.shape[0] == 0:
        return math.nan
    return float((1 + np.count_nonzero(reps >= point)) / (reps.shape[0] + 1))


def _extremes(rates: NDArray[np.float64], names: Sequence[str]) -> tuple[str | None, str | None]:
    finite = np.flatnonzero(np.isfinite(rates))
    if finite.shape[0] == 0:
        return None, None
    values = rates[finite]
    return names[int(finite[np.argmin(values)])], names[int(finite[np.argmax(values)])]


def _interval(
    name: str, point: float, reps: NDArray[np.float64], config: StatsConfig
) -> tuple[float, float]:
    if not math.isfinite(point):
        return math.nan, math.nan
    dist = BootstrapDistribution(point, reps, _NONE, _NONE)
    ci = bootstrap_interval(dist, confidence=config.confidence, method="percentile", name=name)
    return ci.low, ci.high


def _make_gap(
    metric: str,
    point: float,
    reps: NDArray[np.float64],
    p_value: float,
    extremes: tuple[str | None, str | None],
    label: str | None,
    n: int,
    config: StatsConfig,
    *,
    worst: bool = False,
    method: str = _METHOD,
) -> Gap:
    name = metric if label is None else f"{metric} of {label!r}"
    low, high = _interval(name, point, reps, config)
    return Gap(
        metric=metric,
        estimate=Estimate(point, low, high, n, method, config.confidence),
        p_value=p_value,
        lowest=extremes[0],
        highest=extremes[1],
        label=label,
        worst_of_classes=worst,
    )


def _change(
    metric: str,
    label: str | None,
    cand: float,
    cand_reps: NDArray[np.float64],
    base: float,
    base_reps: NDArray[np.float64],
    n: int,
    config: StatsConfig,
) -> GapChange:
    name = metric if label is None else f"{metric} of {label!r}"
    estimates = []
    for point, reps in ((cand, cand_reps), (base, base_reps)):
        low, high = _interval(name, point, reps, config)
        estimates.append(Estimate(point, low, high, n, _METHOD, config.confidence))
    delta = cand - base
    dist = BootstrapDistribution(delta, cand_reps - base_reps, _NONE, _NONE)
    low, high = _interval(f"change in {name}", delta, dist.replicates, config)
    p = shifted_null_p_value(dist) if math.isfinite(delta) else math.nan
    change = Difference(delta, low, high, p, _TEST, n, confidence=config.confidence)
    return GapChange(metric, label, estimates[0], estimates[1], change)


def _corrected(found: Sequence[GapChange], config: StatsConfig) -> tuple[GapChange, ...]:
    adjusted = adjust_pvalues([c.change.p_value for c in found], config.correction)
    out = []
    for c, p_adj in zip(found, adjusted, strict=True):
        d = c.change
        verdict = verdict_for(
            d.delta,
            float(p_adj),
            alpha=config.alpha,
            higher_is_better=c.metric.endswith("_ratio"),
        )
        p = None if math.isnan(p_adj) else float(p_adj)
        out.append(
            GapChange(
                c.metric,
                c.label,
                c.candidate,
                c.baseline,
                Difference(
                    d.delta, d.ci_low, d.ci_high, d.p_value, d.test, d.n, p, verdict, d.confidence
                ),
            )
        )
    return tuple(out)


# ----------------------------------------------------------------------------- per-group rates


def _group_rates(
    point: NDArray[np.float64],
    grp: _Groups,
    k: int,
    n_labels: int,
    config: StatsConfig,
    min_group_size: int,
) -> tuple[GroupRates, ...]:
    out = []
    for g, (name, size) in enumerate(zip(grp.names, grp.sizes, strict=True)):
        n = int(size)
        pos, sel, tp = (round(float(point[g, j])) for j in (k, n_labels + k, 2 * n_labels + k))
        out.append(
            GroupRates(
                group=name,
                n=n,
                selection_rate=_wilson(sel, n, config),
                true_positive_rate=_wilson(tp, pos, config),
                false_positive_rate=_wilson(sel - tp, n - pos, config),
                small=n < min_group_size,
            )
        )
    return tuple(out)


def _wilson(successes: int, n: int, config: StatsConfig) -> Estimate:
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, 0, "wilson", config.confidence)
    ci = wilson_interval(successes, n, confidence=config.confidence)
    return Estimate(successes / n, ci.low, ci.high, n, "wilson", config.confidence)


def _warn_undefined(
    point: NDArray[np.float64],
    grp: _Groups,
    labels: Sequence[str],
    classes: Sequence[int],
    zero_division: float,
) -> None:
    n_labels = len(labels)
    pos = point[:, :n_labels]
    neg = grp.sizes[:, None] - pos
    missing = [
        f"{grp.names[g]!r} has no {kind} of {labels[k]!r}"
        for k in classes
        for g in range(len(grp.names))
        for kind, count in (("positives", pos[g, k]), ("negatives", neg[g, k]))
        if count == 0
    ]
    if missing:
        shown = "; ".join(missing[:5]) + (
            f"; and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        warnings.warn(
            f"a rate is undefined where a group {shown}: its estimate is nan and the gaps count "
            f"it as {zero_division} (zero_division; nan leaves the group out)",
            HeldoutStatsWarning,
            stacklevel=3,
        )


# ----------------------------------------------------------------------------- validation, I/O


def _classes(labels: Sequence[str], positive_label: str | None) -> tuple[int, ...]:
    if len(labels) < 2:
        raise MetricError(f"fairness needs at least two labels, got {list(labels)}")
    if positive_label is not None:
        if positive_label not in labels:
            raise MetricError(
                f"positive_label {positive_label!r} is not one of the labels {list(labels)}"
            )
        return (list(labels).index(positive_label),)
    return (1,) if len(labels) == 2 else tuple(range(len(labels)))


def _codes(name: str, values: NDArray[Any], n_labels: int, *, invalid: bool) -> NDArray[np.int64]:
    arr = np.asarray(values)
    low = -1 if invalid else 0
    allowed = f"{low}..{n_labels - 1}" + (" (-1: invalid prediction)" if invalid else "")
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise MetricError(
            f"{name} must be a one-dimensional array of label codes {allowed}, got dtype "
            f"{arr.dtype} and shape {arr.shape}; map labels to codes with labels.index(label)"
        )
    bad = np.flatnonzero((arr < low) | (arr >= n_labels))
    if bad.shape[0]:
        raise MetricError(
            f"{name}[{bad[0]}] = {arr[bad[0]]} is not a label code; allowed {allowed}"
        )
    return arr.astype(np.int64)


def _same_length(**arrays: NDArray[np.int64]) -> None:
    lengths = {name: int(a.shape[0]) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise MetricError(f"every array needs one value per example; got lengths {lengths}")
    if not next(iter(lengths.values())):
        raise MetricError("fairness needs at least one example; got none")


def _by_label(classes: Sequence[ClassFairness], label: str) -> ClassFairness:
    for c in classes:
        if c.label == label:
            return c
    raise KeyError(f"no class {label!r} in the report (classes: {[c.label for c in classes]})")


def _named(gaps: Sequence[Gap], metric: str) -> Gap:
    for g in gaps:
        if g.metric == metric:
            return g
    raise KeyError(f"no gap {metric!r}; gaps are {list(GAP_METRICS)}")


def _json(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with every non-finite float replaced by ``None``."""
    cleaned: dict[str, Any] = _clean(document)
    return cleaned


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _estimate(data: Mapping[str, Any]) -> Estimate:
    return Estimate(
        value=_float(data["value"]),
        ci_low=_float(data["ci_low"]),
        ci_high=_float(data["ci_high"]),
        n=int(data["n"]),
        method=str(data["method"]),
        confidence=float(data.get("confidence", 0.95)),
    )


def _difference(data: Mapping[str, Any]) -> Difference:
    verdict = str(data.get("verdict", "no significant difference"))
    if verdict not in get_args(Verdict):
        raise MetricError(f"stored verdict {verdict!r} is not one of {get_args(Verdict)}")
    p_adj = data.get("p_adjusted")
    return Difference(
        delta=_float(data["delta"]),
        ci_low=_float(data["ci_low"]),
        ci_high=_float(data["ci_high"]),
        p_value=_float(data["p_value"]),
        test=str(data["test"]),
        n=int(data["n"]),
        p_adjusted=None if p_adj is None else float(p_adj),
        verdict=cast(Verdict, verdict),
        confidence=float(data.get("confidence", 0.95)),
    )
