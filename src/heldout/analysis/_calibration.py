"""Calibration: does a model's confidence match how often it is right?

What is calibrated
    Binary tasks: the positive class's probability (``positive_label``, default
    ``labels[1]``) against whether the example is positive. Multiclass tasks: *top-label*
    calibration, the confidence ``max(proba)`` against whether ``argmax(proba)`` is the
    true class (ties go to the first label, as ``numpy.argmax``).

Bins
    ``quantile`` (default): equal-mass bins. With ``n`` examples sorted by confidence, the
    upper edge of bin ``j`` is the confidence of example ``ceil(j * n / bins)``; an example
    goes to the first bin whose upper edge it does not exceed, so tied confidences always
    share a bin and the bins depend only on the values, never on their order. Ties can leave
    a bin empty. ``uniform``: ``bins`` equal-width bins on ``[0, 1]``, assigned exactly as
    ``sklearn.calibration.calibration_curve`` does. Empty bins are left out of the rows.

ECE and MCE
    ECE is the mean over bins of ``|observed - mean confidence|`` weighted by the share of
    examples in the bin, i.e. ``sum_k |sum_{i in k} (y_i - p_i)| / n``; MCE is the largest
    bin gap. Their intervals are bootstrap intervals with the bins held fixed at the ones
    found on the data. Up to ``2**25`` drawn numbers (examples times resamples) the
    examples are resampled exactly; above, the resampled count of each bin (of each pair of
    bins, for a paired comparison) is drawn exactly from the multinomial and the sum of
    ``y - p`` over the drawn examples from its normal law given that count (mean and
    covariance of the bin's examples), which costs ``O(resamples x bins)`` instead of
    ``O(resamples x n)`` and differs from exact resampling by the central limit error of a
    sum over thousands of examples (method ``bootstrap-percentile-binned``).

The finite-sample floor
    ECE is biased upward: even a perfectly calibrated model shows a bin gap of order
    ``sqrt(p (1 - p) / n_k)`` in every bin. ``ece_if_calibrated`` is the expected ECE of a
    perfectly calibrated model with the same confidences and bins, and
    ``calibrated_p_value`` tests perfect calibration by drawing outcomes ``y ~
    Bernoulli(p)`` (consistency resampling, Bröcker and Smith 2007). A bootstrap replicate
    adds a second layer of the same noise, so for a well-calibrated model the interval lies
    between about ``ece_if_calibrated`` and twice that, above the point estimate. An ECE
    interval that excludes 0 therefore says nothing; one whose lower end lies well above
    ``ece_if_calibrated``, or a small ``calibrated_p_value``, does.

Brier score and log loss
    As ``sklearn.metrics.brier_score_loss`` (binary: ``mean((p_pos - y)^2)`` in ``[0, 1]``;
    multiclass: the squared error summed over classes, in ``[0, 2]``) and
    ``sklearn.metrics.log_loss`` (probabilities clipped to ``[eps, 1 - eps]``), the same
    definitions as :func:`heldout.scoring.score_classification`; means of per-example
    losses with t intervals.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from heldout._errors import DataError, MetricError
from heldout._util._json import json_ready
from heldout.stats import (
    BootstrapDistribution,
    Difference,
    Estimate,
    StatsConfig,
    Verdict,
    bootstrap_interval,
    mean_interval,
    paired_ttest,
    shifted_null_p_value,
    verdict_for,
    wilson_interval,
)

__all__ = [
    "BinStrategy",
    "CalibrationBin",
    "CalibrationComparison",
    "CalibrationReport",
    "CalibrationVerdict",
    "calibration",
    "calibration_pair",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
BinStrategy = Literal["quantile", "uniform"]
CalibrationKind = Literal["binary", "top-label"]
CalibrationVerdict = Literal["better calibrated", "worse calibrated", "no significant difference"]

_VERDICTS: dict[CalibrationVerdict, Verdict] = {
    "better calibrated": "better",
    "worse calibrated": "worse",
    "no significant difference": "no significant difference",
}

#: Most drawn numbers (examples x resamples) resampled exactly; above, bins are drawn.
_EXACT_LIMIT = 1 << 25
#: Most numbers held at once in a chunk of drawn indices (32 MiB of int64).
_CHUNK = 1 << 22


@dataclass(frozen=True)
class CalibrationBin:
    """One bin of the reliability diagram.

    Attributes:
        lower: lower edge (exclusive, except for the first bin, which starts at 0).
        upper: upper edge (inclusive).
        n: examples in the bin.
        mean_confidence: mean confidence of those examples.
        observed: share of them that are positive (binary) or correct (top-label).
        observed_low: lower end of the Wilson interval on ``observed``.
        observed_high: upper end of the Wilson interval on ``observed``.
    """

    lower: float
    upper: float
    n: int
    mean_confidence: float
    observed: float
    observed_low: float
    observed_high: float

    @property
    def gap(self) -> float:
        """``observed - mean_confidence``: negative where the model is overconfident."""
        return self.observed - self.mean_confidence

    def to_dict(self) -> dict[str, Any]:
        return {
            "lower": self.lower,
            "upper": self.upper,
            "n": self.n,
            "mean_confidence": self.mean_confidence,
            "observed": self.observed,
            "observed_low": self.observed_low,
            "observed_high": self.observed_high,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CalibrationBin:
        return cls(
            lower=float(data["lower"]),
            upper=float(data["upper"]),
            n=int(data["n"]),
            mean_confidence=float(data["mean_confidence"]),
            observed=float(data["observed"]),
            observed_low=float(data["observed_low"]),
            observed_high=float(data["observed_high"]),
        )


@dataclass(frozen=True)
class CalibrationReport:
    """How well one model's confidence matches its outcomes.

    Attributes:
        kind: ``binary`` (the positive class's probability) or ``top-label``.
        positive_label: the positive class of a binary task; ``None`` for top-label.
        strategy: ``quantile`` (equal-mass) or ``uniform`` (equal-width) bins.
        bins: the number of bins asked for (``rows`` holds the non-empty ones).
        n: number of examples.
        ece: expected calibration error with its bootstrap interval.
        mce: maximum calibration error (the largest bin gap) with its bootstrap interval.
        brier: Brier score with its t interval.
        log_loss: log loss with its t interval.
        ece_if_calibrated: expected ECE of a perfectly calibrated model with the same
            confidences and bins: ECE's finite-sample floor.
        calibrated_p_value: p-value of "the model is perfectly calibrated" from outcomes
            redrawn as ``Bernoulli(confidence)``.
        rows: the reliability diagram, one row per non-empty bin.
        n_resamples: bootstrap resamples behind the intervals.
        seed: seed of the resamples.
    """

    kind: CalibrationKind
    positive_label: str | None
    strategy: BinStrategy
    bins: int
    n: int
    ece: Estimate
    mce: Estimate
    brier: Estimate
    log_loss: Estimate
    ece_if_calibrated: float
    calibrated_p_value: float
    rows: tuple[CalibrationBin, ...]
    n_resamples: int
    seed: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``nan`` becomes ``None``."""
        document: dict[str, Any] = json_ready(
            {
                "kind": self.kind,
                "positive_label": self.positive_label,
                "strategy": self.strategy,
                "bins": self.bins,
                "n": self.n,
                "ece": self.ece.to_dict(),
                "mce": self.mce.to_dict(),
                "brier": self.brier.to_dict(),
                "log_loss": self.log_loss.to_dict(),
                "ece_if_calibrated": self.ece_if_calibrated,
                "calibrated_p_value": self.calibrated_p_value,
                "rows": [row.to_dict() for row in self.rows],
                "n_resamples": self.n_resamples,
                "seed": self.seed,
            }
        )
        return document

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CalibrationReport:
        """The report :meth:`to_dict` wrote (``None`` read back as ``nan``)."""
        return cls(
            kind=data["kind"],
            positive_label=data.get("positive_label"),
            strategy=data["strategy"],
            bins=int(data["bins"]),
            n=int(data["n"]),
            ece=estimate_from(data["ece"]),
            mce=estimate_from(data["mce"]),
            brier=estimate_from(data["brier"]),
            log_loss=estimate_from(data["log_loss"]),
            ece_if_calibrated=number(data["ece_if_calibrated"]),
            calibrated_p_value=number(data["calibrated_p_value"]),
            rows=tuple(CalibrationBin.from_dict(row) for row in data["rows"]),
            n_resamples=int(data["n_resamples"]),
            seed=int(data["seed"]),
        )


@dataclass(frozen=True)
class CalibrationComparison:
    """A candidate's calibration against a baseline's on the same examples.

    Attributes:
        candidate: the candidate's report.
        baseline: the baseline's report.
        ece: ``ECE(candidate) - ECE(baseline)`` with a paired bootstrap interval (both
            models resampled on the same examples) and its shifted-null p-value.
        brier: the paired difference of Brier scores (paired t).
        log_loss: the paired difference of log losses (paired t).
        verdict: ``better calibrated`` when the ECE interval lies below 0, ``worse
            calibrated`` when it lies above 0, else ``no significant difference``.
    """

    candidate: CalibrationReport
    baseline: CalibrationReport
    ece: Difference
    brier: Difference
    log_loss: Difference
    verdict: CalibrationVerdict

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``nan`` becomes ``None``."""
        document: dict[str, Any] = json_ready(
            {
                "candidate": self.candidate.to_dict(),
                "baseline": self.baseline.to_dict(),
                "ece": self.ece.to_dict(),
                "brier": self.brier.to_dict(),
                "log_loss": self.log_loss.to_dict(),
                "verdict": self.verdict,
            }
        )
        return document

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CalibrationComparison:
        return cls(
            candidate=CalibrationReport.from_dict(data["candidate"]),
            baseline=CalibrationReport.from_dict(data["baseline"]),
            ece=difference_from(data["ece"]),
            brier=difference_from(data["brier"]),
            log_loss=difference_from(data["log_loss"]),
            verdict=data["verdict"],
        )


def calibration(
    y_true: I64,
    proba: F64,
    *,
    labels: Sequence[str],
    positive_label: str | None = None,
    bins: int = 15,
    strategy: BinStrategy = "quantile",
    config: StatsConfig,
) -> CalibrationReport:
    """ECE, MCE, Brier score, log loss and the reliability diagram of one model.

    Args:
        y_true: true class codes, indices into ``labels``, shape ``(n,)``.
        proba: predicted probabilities, shape ``(n, len(labels))``, columns in label order.
        labels: the class labels; two labels make the task binary.
        positive_label: the positive class of a binary task (default ``labels[1]``).
        bins: number of bins.
        strategy: ``quantile`` (equal-mass) or ``uniform`` (equal-width) bins.
        config: confidence level, resample count, seed and interval method.

    Returns:
        The report (see the module docstring for the definitions).

    Raises:
        DataError: if the arrays do not fit the labels or ``proba`` is not in ``[0, 1]``.
        MetricError: if ``bins`` or ``strategy`` is not allowed, or ``positive_label`` is
            not a label.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> p = rng.random(2000)
        >>> y = (rng.random(2000) < p ** 2).astype(np.int64)  # overconfident
        >>> report = calibration(y, np.c_[1 - p, p], labels=["no", "yes"],
        ...     config=StatsConfig(n_resamples=200))
        >>> report.ece.ci_low > report.ece_if_calibrated, report.calibrated_p_value < 0.01
        (True, True)
    """
    _check_bins(bins, strategy)
    prepared = _prepare(y_true, proba, labels, positive_label)
    return _report(prepared, _bin(prepared.confidence, bins, strategy), bins, strategy, config)


def calibration_pair(
    y_true: I64,
    proba_candidate: F64,
    proba_baseline: F64,
    *,
    labels: Sequence[str],
    positive_label: str | None = None,
    bins: int = 15,
    strategy: BinStrategy = "quantile",
    config: StatsConfig,
) -> CalibrationComparison:
    """Whether a candidate (often a fine-tuned model) is better or worse calibrated.

    Each model keeps its own bins, found on its own confidences. The ECE difference is
    bootstrapped on the same resampled examples for both models, so what the two models
    share (the examples' difficulty) cancels out of the interval.

    Args:
        y_true: true class codes, shape ``(n,)``.
        proba_candidate: the candidate's probabilities, shape ``(n, len(labels))``.
        proba_baseline: the baseline's probabilities on the same examples.
        labels: the class labels.
        positive_label: the positive class of a binary task (default ``labels[1]``).
        bins: number of bins.
        strategy: ``quantile`` or ``uniform`` bins.
        config: confidence level, resample count, seed and interval method.

    Returns:
        Both reports, the paired differences and a plain-language verdict.
    """
    _check_bins(bins, strategy)
    cand = _prepare(y_true, proba_candidate, labels, positive_label)
    base = _prepare(y_true, proba_baseline, labels, positive_label)
    cand_bins = _bin(cand.confidence, bins, strategy)
    base_bins = _bin(base.confidence, bins, strategy)
    candidate = _report(cand, cand_bins, bins, strategy, config)
    baseline = _report(base, base_bins, bins, strategy, config)
    cand_d = cand.outcome - cand.confidence
    base_d = base.outcome - base.confidence
    rng = np.random.default_rng(config.seed)
    ((cc, cs), (bc, bs)), exact = _resampled(
        [(cand_bins, cand_d), (base_bins, base_d)], config.n_resamples, rng
    )
    cand_jack, _ = _jackknife(cand_bins, cand_d, *_bin_sums(cand_bins, cand_d), config)
    base_jack, _ = _jackknife(base_bins, base_d, *_bin_sums(base_bins, base_d), config)
    dist = BootstrapDistribution(
        candidate.ece.value - baseline.ece.value,
        _ece(cc, cs) - _ece(bc, bs),
        cand_jack - base_jack,
        np.ones_like(cand_jack),
    )
    ci = bootstrap_interval(
        dist, confidence=config.confidence, method=config.ci_method, name="ece difference"
    )
    verdict: CalibrationVerdict = "no significant difference"
    if ci.high < 0.0:
        verdict = "better calibrated"
    elif ci.low > 0.0:
        verdict = "worse calibrated"
    ece = Difference(
        delta=dist.point,
        ci_low=ci.low,
        ci_high=ci.high,
        p_value=shifted_null_p_value(dist),
        test="paired-bootstrap" + ("" if exact else "-binned"),
        n=cand.n,
        verdict=_VERDICTS[verdict],
        confidence=config.confidence,
    )
    return CalibrationComparison(
        candidate=candidate,
        baseline=baseline,
        ece=ece,
        brier=_loss_difference(cand.brier, base.brier, config),
        log_loss=_loss_difference(cand.log_loss, base.log_loss, config),
        verdict=verdict,
    )


def _report(
    prepared: _Prepared, binned: _Bins, bins: int, strategy: BinStrategy, config: StatsConfig
) -> CalibrationReport:
    d = prepared.outcome - prepared.confidence
    counts, dsum = _bin_sums(binned, d)
    ece_point = float(_ece(counts, dsum))
    mce_point = float(_mce(counts, dsum))
    rng = np.random.default_rng(config.seed)
    ((rc, rs),), exact = _resampled([(binned, d)], config.n_resamples, rng)
    method = f"bootstrap-{config.ci_method}" + ("" if exact else "-binned")
    jack_ece, jack_mce = _jackknife(binned, d, counts, dsum, config)
    n = prepared.n
    ece = _interval(ece_point, _ece(rc, rs), jack_ece, n, method, config, "ece")
    mce = _interval(mce_point, _mce(rc, rs), jack_mce, n, method, config, "mce")
    floor, p_value = _consistency(binned, prepared.confidence, ece_point, config)
    conf_sum = np.bincount(binned.codes, weights=prepared.confidence, minlength=binned.k)
    hit_sum = np.bincount(binned.codes, weights=prepared.outcome, minlength=binned.k)
    rows = []
    for j in range(binned.k):
        m, hits = int(counts[j]), round(float(hit_sum[j]))
        ci = wilson_interval(hits, m, confidence=config.confidence)
        rows.append(
            CalibrationBin(
                lower=float(binned.lower[j]),
                upper=float(binned.upper[j]),
                n=m,
                mean_confidence=float(conf_sum[j] / m),
                observed=hits / m,
                observed_low=ci.low,
                observed_high=ci.high,
            )
        )
    return CalibrationReport(
        kind=prepared.kind,
        positive_label=prepared.positive_label,
        strategy=strategy,
        bins=bins,
        n=n,
        ece=ece,
        mce=mce,
        brier=mean_interval(prepared.brier, confidence=config.confidence, binary=False),
        log_loss=mean_interval(prepared.log_loss, confidence=config.confidence, binary=False),
        ece_if_calibrated=floor,
        calibrated_p_value=p_value,
        rows=tuple(rows),
        n_resamples=config.n_resamples,
        seed=config.seed,
    )


def _loss_difference(cand: F64, base: F64, config: StatsConfig) -> Difference:
    diff = paired_ttest(cand, base, confidence=config.confidence)
    return replace(
        diff,
        verdict=verdict_for(diff.delta, diff.p_value, alpha=config.alpha, higher_is_better=False),
    )


# --- inputs ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Prepared:
    kind: CalibrationKind
    positive_label: str | None
    confidence: F64
    outcome: F64
    brier: F64
    log_loss: F64

    @property
    def n(self) -> int:
        return int(self.confidence.shape[0])


def _check_bins(bins: int, strategy: str) -> None:
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 1:
        raise MetricError(f"calibration: bins must be a positive integer, got {bins!r}")
    if strategy not in ("quantile", "uniform"):
        raise MetricError(
            f"calibration: strategy must be 'quantile' (equal-mass) or 'uniform' "
            f"(equal-width), got {strategy!r}"
        )


def _prepare(
    y_true: I64, proba: F64, labels: Sequence[str], positive_label: str | None
) -> _Prepared:
    labels = tuple(labels)
    c = len(labels)
    if c < 2 or len(set(labels)) != c:
        raise DataError(f"calibration needs two or more distinct labels, got {list(labels)}")
    y = np.asarray(y_true)
    p = np.asarray(proba, dtype=np.float64)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise DataError(
            f"y_true must be a 1-D array of integer label codes, got shape {y.shape} "
            f"and dtype {y.dtype}"
        )
    n = int(y.shape[0])
    if n < 2:
        raise DataError(f"calibration needs at least two examples, got {n}")
    if p.shape != (n, c):
        raise DataError(
            f"proba must have shape (n, labels) = {(n, c)}, got {p.shape}; give one "
            "probability per label, in the order of the labels"
        )
    if y.min() < 0 or y.max() >= c:
        raise DataError(
            f"y_true holds codes outside 0..{c - 1} (min {y.min()}, max {y.max()}) "
            f"for labels {list(labels)}"
        )
    if not bool(np.all(np.isfinite(p) & (p >= 0.0) & (p <= 1.0))):
        raise DataError(
            "proba must hold probabilities in [0, 1]; convert logits or scores with a softmax first"
        )
    y = y.astype(np.int64)
    rows = np.arange(n)
    eps = float(np.finfo(np.float64).eps)
    log_loss = -np.log(np.clip(p[rows, y], eps, 1.0 - eps))
    if c == 2:
        if positive_label is None:
            positive = 1
        elif positive_label in labels:
            positive = labels.index(positive_label)
        else:
            raise MetricError(
                f'positive_label "{positive_label}" is not a task label '
                f"(labels: {', '.join(labels)}); set it to one of them"
            )
        confidence = p[:, positive]
        outcome = (y == positive).astype(np.float64)
        brier = (confidence - outcome) ** 2
        return _Prepared("binary", labels[positive], confidence, outcome, brier, log_loss)
    if positive_label is not None:
        raise MetricError(
            f"positive_label applies to binary tasks; these {c} labels are calibrated "
            "top-label (confidence = the largest probability); drop positive_label"
        )
    top = np.argmax(p, axis=1)
    one_hot = np.zeros((n, c))
    one_hot[rows, y] = 1.0
    brier = ((p - one_hot) ** 2).sum(axis=1)
    outcome = (top == y).astype(np.float64)
    return _Prepared("top-label", None, p[rows, top], outcome, brier, log_loss)


# --- bins -----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Bins:
    """Non-empty bins: the bin of each example and each bin's edges."""

    codes: I64
    lower: F64
    upper: F64

    @property
    def k(self) -> int:
        return int(self.lower.shape[0])


def _bin(confidence: F64, bins: int, strategy: BinStrategy) -> _Bins:
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, bins + 1)
        inner = edges[1:-1]
    else:
        ordered = np.sort(confidence)
        n = ordered.shape[0]
        # Examples in the first j bins, ceil(j * n / bins); the edge is the last one's value.
        cuts = np.maximum(-(-np.arange(1, bins, dtype=np.int64) * n // bins), 1)
        inner = ordered[cuts - 1]
        edges = np.concatenate(([0.0], inner, [1.0]))
    raw = np.searchsorted(inner, confidence, side="left")
    present = np.bincount(raw, minlength=bins) > 0
    compact = np.cumsum(present) - 1
    return _Bins(compact[raw].astype(np.int64), edges[:-1][present], edges[1:][present])


def _bin_sums(binned: _Bins, d: F64) -> tuple[F64, F64]:
    counts = np.bincount(binned.codes, minlength=binned.k).astype(np.float64)
    sums = np.bincount(binned.codes, weights=d, minlength=binned.k)
    return counts, sums.astype(np.float64)


def _ece(counts: F64, dsum: F64) -> F64:
    """ECE from per-bin counts and sums of ``y - p``, shape ``(..., k)``."""
    return np.asarray(np.abs(dsum).sum(axis=-1) / counts.sum(axis=-1), dtype=np.float64)


def _mce(counts: F64, dsum: F64) -> F64:
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.where(counts > 0, np.abs(dsum) / counts, -np.inf)
    return np.asarray(gap.max(axis=-1), dtype=np.float64)


# --- resampling -----------------------------------------------------------------------


def _resampled(
    models: Sequence[tuple[_Bins, F64]], n_resamples: int, rng: np.random.Generator
) -> tuple[list[tuple[F64, F64]], bool]:
    """Per-bin counts and sums of ``y - p`` of every model on the same resamples.

    Returns one ``(counts, sums)`` pair of ``(B, k)`` arrays per model, and whether the
    examples were resampled exactly (else the within-bin sums are drawn from their normal
    law given the exact multinomial counts; see the module docstring).
    """
    n = int(models[0][1].shape[0])
    if n * n_resamples <= _EXACT_LIMIT:
        return _exact(models, n_resamples, rng), True
    return _binned_normal(models, n_resamples, rng), False


def _exact(
    models: Sequence[tuple[_Bins, F64]], n_resamples: int, rng: np.random.Generator
) -> list[tuple[F64, F64]]:
    n = int(models[0][1].shape[0])
    parts: list[tuple[list[F64], list[F64]]] = [([], []) for _ in models]
    chunk = max(1, _CHUNK // n)
    for start in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - start)
        drawn = rng.integers(0, n, size=(size, n))
        for (binned, d), (counts, sums) in zip(models, parts, strict=True):
            k = binned.k
            flat = (binned.codes[drawn] + (np.arange(size) * k)[:, None]).ravel()
            counts.append(np.bincount(flat, minlength=size * k).reshape(size, k).astype(float))
            weights = d[drawn].ravel()
            drawn_sums = np.bincount(flat, weights=weights, minlength=size * k)
            sums.append(drawn_sums.reshape(size, k).astype(np.float64))
    return [(np.concatenate(c), np.concatenate(s)) for c, s in parts]


def _binned_normal(
    models: Sequence[tuple[_Bins, F64]], n_resamples: int, rng: np.random.Generator
) -> list[tuple[F64, F64]]:
    n = int(models[0][1].shape[0])
    m = len(models)
    code = np.zeros(n, dtype=np.int64)
    for binned, _ in models:
        code = code * binned.k + binned.codes
    cells, joint, mult = np.unique(code, return_inverse=True, return_counts=True)
    joint = joint.ravel()
    t = int(cells.shape[0])
    d = np.stack([dm for _, dm in models], axis=1)
    mean = np.stack(
        [np.bincount(joint, weights=d[:, j], minlength=t) / mult for j in range(m)], axis=1
    ).astype(np.float64)
    second = np.empty((t, m, m))
    for j in range(m):
        for i in range(j, m):
            second[:, i, j] = second[:, j, i] = (
                np.bincount(joint, weights=d[:, i] * d[:, j], minlength=t) / mult
            )
    cov = second - mean[:, :, None] * mean[:, None, :]
    w, v = np.linalg.eigh(cov)
    root = (v * np.sqrt(np.clip(w, 0.0, None))[:, None, :]) @ np.swapaxes(v, 1, 2)
    # The bin of each joint cell in each model (mixed radix, last model fastest).
    onehots: list[F64] = []
    rest = cells
    for binned, _ in reversed(models):
        onehot = np.zeros((t, binned.k))
        onehot[np.arange(t), rest % binned.k] = 1.0
        onehots.append(onehot)
        rest = rest // binned.k
    onehots.reverse()
    parts: list[tuple[list[F64], list[F64]]] = [([], []) for _ in models]
    share = mult / n
    chunk = max(1, _CHUNK // (t * m))
    for start in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - start)
        counts = rng.multinomial(n, share, size=size).astype(np.float64)
        z = rng.standard_normal((size, t, m))
        noise = np.einsum("btj,tij->bti", z, root)
        sums = counts[..., None] * mean[None] + np.sqrt(counts)[..., None] * noise
        for j, (onehot, (cs, ss)) in enumerate(zip(onehots, parts, strict=True)):
            cs.append(counts @ onehot)
            ss.append(sums[..., j] @ onehot)
    return [(np.concatenate(c), np.concatenate(s)) for c, s in parts]


def _jackknife(
    binned: _Bins, d: F64, counts: F64, dsum: F64, config: StatsConfig
) -> tuple[F64, F64]:
    """Leave-one-out ECE and MCE (for BCa); empty for percentile intervals."""
    if config.ci_method != "bca":
        return np.zeros(0), np.zeros(0)
    n = int(d.shape[0])
    own = dsum[binned.codes]
    left = own - d
    ece = (np.abs(dsum).sum() - np.abs(own) + np.abs(left)) / (n - 1)
    gap = np.abs(dsum) / counts
    order = np.argsort(gap)[::-1]
    second = gap[order[1]] if binned.k > 1 else -np.inf
    other = np.where(np.arange(binned.k) == order[0], second, gap[order[0]])
    remaining = counts[binned.codes] - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        mine = np.where(remaining > 0, np.abs(left) / remaining, -np.inf)
    return ece, np.maximum(other[binned.codes], mine)


def _interval(
    point: float,
    replicates: F64,
    jackknife: F64,
    n: int,
    method: str,
    config: StatsConfig,
    name: str,
) -> Estimate:
    dist = BootstrapDistribution(point, replicates, jackknife, np.ones_like(jackknife))
    ci = bootstrap_interval(dist, confidence=config.confidence, method=config.ci_method, name=name)
    return Estimate(point, ci.low, ci.high, n, method, config.confidence)


def _consistency(
    binned: _Bins, confidence: F64, ece: float, config: StatsConfig
) -> tuple[float, float]:
    """Mean ECE and p-value of ``ece`` when outcomes are redrawn as ``Bernoulli(p)``."""
    n, k, b = int(confidence.shape[0]), binned.k, config.n_resamples
    rng = np.random.default_rng(config.seed)
    if n * b <= _EXACT_LIMIT:
        chunk = max(1, _CHUNK // n)
        parts = []
        for start in range(0, b, chunk):
            size = min(chunk, b - start)
            drawn = (rng.random((size, n)) < confidence).astype(np.float64) - confidence
            flat = (binned.codes + (np.arange(size) * k)[:, None]).ravel()
            sums = np.bincount(flat, weights=drawn.ravel(), minlength=size * k)
            parts.append(np.abs(sums.reshape(size, k)).sum(axis=1) / n)
        null = np.concatenate(parts)
        floor = float(null.mean())
    else:
        # Sums of many Bernoulli(p) - p are normal with variance sum p (1 - p).
        var = np.bincount(binned.codes, weights=confidence * (1.0 - confidence), minlength=k)
        null = np.abs(rng.standard_normal((b, k)) * np.sqrt(var)).sum(axis=1) / n
        floor = float(np.sqrt(2.0 * var / np.pi).sum() / n)
    p_value = (1.0 + float(np.count_nonzero(null >= ece))) / (b + 1.0)
    return floor, p_value


# --- serialisation (shared with the threshold analysis) -------------------------------


def number(value: Any) -> float:
    """A float read back from :func:`json_ready` output (``None`` is ``nan``)."""
    return math.nan if value is None else float(value)


def estimate_from(data: Mapping[str, Any]) -> Estimate:
    return Estimate(
        value=number(data["value"]),
        ci_low=number(data["ci_low"]),
        ci_high=number(data["ci_high"]),
        n=int(data["n"]),
        method=str(data["method"]),
        confidence=float(data.get("confidence", 0.95)),
    )


def difference_from(data: Mapping[str, Any]) -> Difference:
    p_adjusted = data.get("p_adjusted")
    return Difference(
        delta=number(data["delta"]),
        ci_low=number(data["ci_low"]),
        ci_high=number(data["ci_high"]),
        p_value=number(data["p_value"]),
        test=str(data["test"]),
        n=int(data["n"]),
        p_adjusted=None if p_adjusted is None else float(p_adjusted),
        verdict=data.get("verdict", "no significant difference"),
        confidence=float(data.get("confidence", 0.95)),
    )
