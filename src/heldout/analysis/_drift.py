"""Drift: how a current sample of rows differs from a reference sample, column by column.

Each compared column is read as numeric, categorical or text (:func:`column_kind`), and
each kind gets its tests. A comparison is *small* when its smaller side has fewer than
``small`` non-missing values (1,000 by default): the sampling noise of a two-sample
comparison is set by the smaller side, so a 200-row window against a 100,000-row reference
is still tested, not measured.

================  =======================================  ===================================
what is compared  small: a test, corrected p < alpha       large: a distance > its threshold
================  =======================================  ===================================
numeric values    two-sample Kolmogorov–Smirnov            Wasserstein-1 / reference IQR
categories        Pearson chi-square, 2 × K table          Jensen–Shannon distance (base 2)
text length       Kolmogorov–Smirnov                       Wasserstein-1 / reference IQR
text OOV rate     Kolmogorov–Smirnov                       Wasserstein-1 (in shares)
text characters   permutation test of the JS distance      Jensen–Shannon distance (base 2)
================  =======================================  ===================================

Why two regimes: on a few hundred rows only a test tells a change from sampling noise, and
the distances' own noise is larger than any useful threshold; on many thousands every test
rejects for a change too small to matter, so a distance with a threshold decides. The
p-values of every small test of the report are corrected together (Holm by default, which
keeps the chance of any false alarm across all columns at ``alpha``).

Distances: ``W1 / scale`` is scipy's ``wasserstein_distance`` divided by the reference's
interquartile range (its standard deviation when the IQR is 0, 1 when both are), so 0.1
reads "the values moved by a tenth of the reference's IQR". The Jensen–Shannon distance is
scipy's ``jensenshannon(current_shares, reference_shares, base=2)``, in [0, 1]. Every
threshold defaults to :data:`DEFAULT_THRESHOLD` (0.1) and is set per column. A JS distance
also has a *noise floor*, the distance sampling alone exceeds with probability 0.001
(``8 ln 2 · JSD ≈ χ²(K − 1) · (1/n₁ + 1/n₂)`` with no drift); the effective threshold is
the larger of the two, so many sparse categories do not raise alarms on their own.

PSI is reported for every test: 10 quantile bins of the reference for numbers (bin edges
at its deciles, outer bins open), the categories (or character classes) otherwise. Shares
are floored at :data:`PSI_FLOOR`, so a bin empty on one side counts as 0.0001 there. Bands:
below 0.1 none, 0.1 to 0.25 moderate, above 0.25 major. PSI does not decide drift.

Text: words are the runs of letters, digits and marks of the NFKC-normalised, lower-cased
text. The OOV rate of a current text is the share of its words no reference text holds;
that of a reference text, the share no *other* reference text holds (leave one out), so
both sides are "a text against a sample of other texts". Characters fall into letters,
digits, punctuation (the other ASCII characters), whitespace and non-ASCII; the test
compares the two sides' pooled class shares, and permutes whole texts because the
characters of one text are not independent.

Windows: with ``time`` and ``window`` the current rows are cut into windows of that length
from the earliest time; each window is compared with the reference (p-values corrected
within the window), and with ``target`` and ``prediction`` the window's accuracy (exact
equality; Wilson interval) or MAE (numeric targets; t interval). The trend is the slope of
the metric over the windows, per window, by weighted least squares (statsmodels ``WLS``,
window midpoints against window values, weights the windows' row counts) with its t
interval and p-value on ``windows - 2`` degrees of freedom.
"""

from __future__ import annotations

import math
import re
import string
import warnings
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from heldout._errors import DataError, HeldoutError
from heldout._util._labels import label_text
from heldout._util._scipy import special
from heldout._util._suggest import did_you_mean
from heldout._version import __version__
from heldout.data import column_values, detect_format, is_text_column, row_location
from heldout.data._text_norm import as_text
from heldout.data._times import EPOCH, time_values
from heldout.stats import (
    Correction,
    Estimate,
    HeldoutStatsWarning,
    adjust_pvalues,
    mean_interval,
)

__all__ = [
    "CHAR_CLASSES",
    "DEFAULT_THRESHOLD",
    "PSI_FLOOR",
    "ColumnDrift",
    "ColumnKind",
    "DriftReport",
    "DriftTest",
    "SkippedColumn",
    "TextProfile",
    "Trend",
    "WindowDrift",
    "column_kind",
    "drift",
    "psi",
    "psi_band",
]

ColumnKind = Literal["numeric", "categorical", "text"]
Role = Literal["feature", "prediction", "target"]
PsiBand = Literal["none", "moderate", "major"]

#: Threshold of every distance unless set per column.
DEFAULT_THRESHOLD = 0.1
#: Share given to a PSI bin that is empty on one side.
PSI_FLOOR = 1e-4
#: Character classes of the text check, in this order.
CHAR_CLASSES = ("letters", "digits", "punctuation", "whitespace", "non-ascii")
_PSI_BINS = 10
_NOISE_QUANTILE = 0.999
_FEW_LABELS = 20  # an integer target or prediction with at most this many values is classes
_MIN_ID_ROWS = 20
_MAX_WINDOWS = 1000
_PERMUTATION_CELLS = 2_000_000
_UNIT_SECONDS = {"s": 1, "m": 60, "min": 60, "h": 3_600, "d": 86_400, "w": 604_800}
_CORRECTIONS = ("holm", "bonferroni", "fdr_bh", "none")
_TEST_NAMES = {"ks": "KS", "chi-square": "chi-square", "permutation": "permutation"}
_DISTANCE_NAMES = {
    "wasserstein/iqr": "W1/IQR",
    "wasserstein/std": "W1/std",
    "wasserstein": "W1",
    "jensen-shannon": "JS distance",
}


def _clean(value: Any) -> Any:
    """NaN and infinities become ``None`` so the document is plain JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


@dataclass(frozen=True)
class DriftTest:
    """One comparison of a column (its values, or one feature of a text column).

    Attributes:
        feature: ``values``; for text ``length``, ``oov`` or ``characters``.
        test: ``ks``, ``chi-square`` or ``permutation`` (small samples), ``wasserstein`` or
            ``jensen-shannon`` (large samples).
        statistic: KS D, Pearson χ², the permutation test's JS distance, or the distance.
        p_value: the test's p-value; ``nan`` for large samples (decided by the distance).
        p_adjusted: ``p_value`` corrected across every test of the report (or window).
        distance: W1 / scale or the JS distance, computed for small samples too.
        distance_name: ``wasserstein/iqr``, ``wasserstein/std``, ``wasserstein`` (no
            scaling) or ``jensen-shannon``.
        threshold: the distance above which a large sample drifts (the configured one, or
            the noise floor where that is larger).
        noise_floor: the JS distance sampling alone exceeds with probability 0.001
            (large samples only; ``nan`` for Wasserstein and small samples).
        psi: the population stability index.
        psi_band: ``none`` (< 0.1), ``moderate`` (0.1–0.25) or ``major`` (> 0.25).
        n_current: non-missing values compared on the current side.
        n_reference: non-missing values compared on the reference side.
        large: whether the distance (not the test) decided.
        drift: the decision.
        reason: why, in words.
    """

    feature: str
    test: str
    statistic: float
    p_value: float
    p_adjusted: float
    distance: float
    distance_name: str
    threshold: float
    noise_floor: float
    psi: float
    psi_band: PsiBand
    n_current: int
    n_reference: int
    large: bool
    drift: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return dict(_clean(asdict(self)))


@dataclass(frozen=True)
class TextProfile:
    """What the texts of a column look like on both sides.

    Attributes:
        mean_length_current: mean characters per current text.
        mean_length_reference: mean characters per reference text.
        vocabulary_overlap: weighted Jaccard of the two word-frequency distributions,
            ``Σ min(p, q) / Σ max(p, q)`` (1 = same words, same frequencies).
        oov_rate_current: share of current words no reference text holds.
        oov_rate_reference: share of reference words no other reference text holds.
        characters_current: share of each class in :data:`CHAR_CLASSES` among current
            characters.
        characters_reference: the same for the reference.
    """

    mean_length_current: float
    mean_length_reference: float
    vocabulary_overlap: float
    oov_rate_current: float
    oov_rate_reference: float
    characters_current: Mapping[str, float]
    characters_reference: Mapping[str, float]

    def to_dict(self) -> dict[str, Any]:
        return dict(_clean(asdict(self)))


@dataclass(frozen=True)
class ColumnDrift:
    """Drift of one column.

    Attributes:
        name: the column.
        kind: ``numeric``, ``categorical`` or ``text``.
        role: ``feature``, or ``prediction``/``target`` for the columns named so.
        tests: one for numeric and categorical columns, three for text.
        missing_current: current rows where the column is missing.
        missing_reference: reference rows where it is missing.
        text: the text profile (text columns only).
    """

    name: str
    kind: ColumnKind
    role: Role
    tests: tuple[DriftTest, ...]
    missing_current: int
    missing_reference: int
    text: TextProfile | None = None

    @property
    def drift(self) -> bool:
        """Whether any of its tests drifts."""
        return any(t.drift for t in self.tests)

    @property
    def psi(self) -> float:
        """PSI of the column's values (of the text lengths for text)."""
        return self.tests[0].psi

    @property
    def reason(self) -> str:
        """The reasons of the drifting tests, or of the first test when none drifts."""
        drifting = [t for t in self.tests if t.drift]
        shown = drifting or list(self.tests[:1])
        if self.kind != "text":
            return "; ".join(t.reason for t in shown)
        return "; ".join(f"{t.feature}: {t.reason}" for t in shown)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "role": self.role,
            "drift": self.drift,
            "reason": self.reason,
            "psi": _clean(self.psi),
            "missing_current": self.missing_current,
            "missing_reference": self.missing_reference,
            "tests": [t.to_dict() for t in self.tests],
            "text": None if self.text is None else self.text.to_dict(),
        }


@dataclass(frozen=True)
class SkippedColumn:
    """A column that is not compared, and why."""

    name: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class WindowDrift:
    """One time window of the current rows against the whole reference.

    Attributes:
        index: 0-based position of the window from the earliest time.
        start: where it starts (ISO text for dates and times, else the number).
        end: where it ends, exclusive.
        n: current rows in it.
        columns: per-column drift, p-values corrected within the window.
        metric: accuracy or MAE of the prediction on the window's rows, with its interval
            (``None`` without ``target`` and ``prediction``, or with no row holding both).
    """

    index: int
    start: str | float
    end: str | float
    n: int
    columns: tuple[ColumnDrift, ...]
    metric: Estimate | None = None

    @property
    def drifted(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.drift)

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "start": self.start,
            "end": self.end,
            "n": self.n,
            "drifted": list(self.drifted),
            "metric": None if self.metric is None else _clean(self.metric.to_dict()),
            "columns": [c.to_dict() for c in self.columns],
        }


@dataclass(frozen=True)
class Trend:
    """The slope of a metric over the windows.

    Attributes:
        metric: ``accuracy`` or ``mae``.
        slope: change of the metric per window.
        ci_low: lower bound of the slope's interval.
        ci_high: upper bound.
        p_value: two-sided p-value of slope = 0.
        windows: windows with a metric value (the fit's points).
        method: ``wls`` (weights: the windows' row counts).
        confidence: the interval's nominal coverage.
    """

    metric: str
    slope: float
    ci_low: float
    ci_high: float
    p_value: float
    windows: int
    method: str = "wls"
    confidence: float = 0.95

    def to_dict(self) -> dict[str, Any]:
        return dict(_clean(asdict(self)))


@dataclass(frozen=True)
class DriftReport:
    """Drift of the current rows from the reference, per column, and per time window.

    Attributes:
        n_current: current rows.
        n_reference: reference rows.
        columns: the compared columns, in table order.
        skipped: columns not compared, with the reason.
        settings: the options the numbers rest on (thresholds, correction, seed, …).
        windows: the time windows (empty without ``time``).
        metric: ``accuracy`` or ``mae`` per window, when target and prediction are given.
        trend: the metric's slope over the windows (``None`` with fewer than two).
    """

    n_current: int
    n_reference: int
    columns: tuple[ColumnDrift, ...]
    skipped: tuple[SkippedColumn, ...]
    settings: Mapping[str, Any] = field(default_factory=dict)
    windows: tuple[WindowDrift, ...] = ()
    metric: str | None = None
    trend: Trend | None = None

    @property
    def drifted(self) -> tuple[str, ...]:
        """Names of the columns that drift (over the whole current sample)."""
        return tuple(c.name for c in self.columns if c.drift)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_current": self.n_current,
            "n_reference": self.n_reference,
            "drifted": list(self.drifted),
            "columns": [c.to_dict() for c in self.columns],
            "skipped": [s.to_dict() for s in self.skipped],
            "settings": _clean(dict(self.settings)),
            "metric": self.metric,
            "windows": [w.to_dict() for w in self.windows],
            "trend": None if self.trend is None else self.trend.to_dict(),
        }


# ---------------------------------------------------------------------------------- PSI


def psi_band(value: float) -> PsiBand:
    """The band of a PSI value: ``none`` below 0.1, ``moderate`` to 0.25, ``major`` above."""
    if not value >= 0.1:
        return "none"
    return "moderate" if value <= 0.25 else "major"


def _category_counts(
    current: NDArray[Any], reference: NDArray[Any]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Counts of each category seen on either side: (current, reference)."""
    codes, uniques = pd.factorize(np.concatenate([reference, current]).astype(object))
    k = len(uniques)
    r = np.bincount(codes[: len(reference)], minlength=k).astype(np.float64)
    c = np.bincount(codes[len(reference) :], minlength=k).astype(np.float64)
    return c, r


def _psi_shares(current: NDArray[np.float64], reference: NDArray[np.float64]) -> float:
    cur = np.maximum(current / max(current.sum(), 1.0), PSI_FLOOR)
    ref = np.maximum(reference / max(reference.sum(), 1.0), PSI_FLOOR)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def psi(current: NDArray[Any], reference: NDArray[Any], *, categorical: bool = False) -> float:
    """Population stability index ``Σ (c − r) · ln(c / r)`` of current shares ``c`` against
    reference shares ``r``.

    Numbers fall into the reference's 10 quantile bins (edges at its deciles, ties merged,
    outer bins open); with ``categorical`` each distinct value is a bin. Shares are floored
    at :data:`PSI_FLOOR`, so an empty bin has a logarithm. ``nan`` when a side is empty.

    Example:
        >>> round(psi(np.array(["a", "a", "b"]), np.array(["a", "b", "b"]), categorical=True), 3)
        0.462
    """
    cur, ref = np.asarray(current), np.asarray(reference)
    if cur.size == 0 or ref.size == 0:
        return float("nan")
    if categorical:
        c, r = _category_counts(cur, ref)
        return _psi_shares(c, r)
    ref_f, cur_f = ref.astype(np.float64), cur.astype(np.float64)
    edges = np.unique(np.quantile(ref_f, np.arange(1, _PSI_BINS) / _PSI_BINS))
    k = edges.size + 1
    r = np.bincount(np.searchsorted(edges, ref_f, side="right"), minlength=k).astype(np.float64)
    c = np.bincount(np.searchsorted(edges, cur_f, side="right"), minlength=k).astype(np.float64)
    return _psi_shares(c, r)


# ---------------------------------------------------------------------------- the tests


@dataclass(frozen=True)
class _Raw:
    """A test before the correction across the report."""

    feature: str
    test: str
    statistic: float
    p_value: float
    distance: float
    distance_name: str
    threshold: float
    noise_floor: float
    psi: float
    n_current: int
    n_reference: int
    large: bool


def _scale(reference: NDArray[np.float64]) -> tuple[float, str]:
    q25, q75 = np.percentile(reference, [25, 75])
    if q75 - q25 > 0:
        return float(q75 - q25), "wasserstein/iqr"
    sd = float(reference.std())
    if sd > 0:
        return sd, "wasserstein/std"
    return 1.0, "wasserstein"


def _numeric_test(
    feature: str,
    cur: NDArray[np.float64],
    ref: NDArray[np.float64],
    *,
    small: int,
    threshold: float,
    scaled: bool = True,
    scale: tuple[float, str] | None = None,
) -> _Raw:
    large = min(cur.size, ref.size) >= small
    if scale is None:
        scale = _scale(ref) if scaled else (1.0, "wasserstein")
    divisor, name = scale
    distance = float(_scipy_stats().wasserstein_distance(cur, ref)) / divisor
    if large:
        statistic, p = distance, float("nan")
    else:
        res = _scipy_stats().ks_2samp(cur, ref)
        statistic, p = float(res.statistic), float(res.pvalue)
    return _Raw(
        feature,
        "wasserstein" if large else "ks",
        statistic,
        p,
        distance,
        name,
        threshold,
        float("nan"),
        psi(cur, ref),
        cur.size,
        ref.size,
        large,
    )


def _noise_floor(k: int, n_cur: float, n_ref: float) -> float:
    """The JS distance (base 2) sampling alone exceeds with probability 0.001."""
    if k < 2 or n_cur <= 0 or n_ref <= 0:
        return 0.0
    chi = float(_scipy_stats().chi2.ppf(_NOISE_QUANTILE, k - 1))
    return math.sqrt(chi * (1.0 / n_cur + 1.0 / n_ref) / (8.0 * math.log(2.0)))


def _categorical_test(
    cur: NDArray[np.object_],
    ref: NDArray[np.object_],
    *,
    small: int,
    threshold: float,
    categories: _Categories | None = None,
) -> _Raw:
    large = min(cur.size, ref.size) >= small
    c, r = _category_counts(cur, ref) if categories is None else categories.counts(cur)
    k = c.size
    distance = float(_jensenshannon()(c / c.sum(), r / r.sum(), base=2)) if k > 1 else 0.0
    floor = _noise_floor(k, c.sum(), r.sum()) if large else math.nan
    if large:
        statistic, p = distance, float("nan")
    elif k < 2:
        statistic, p = 0.0, 1.0
    else:
        res = _scipy_stats().chi2_contingency(np.vstack([r, c]), correction=False)
        statistic, p = float(res.statistic), float(res.pvalue)
    return _Raw(
        "values",
        "jensen-shannon" if large else "chi-square",
        statistic,
        p,
        distance,
        "jensen-shannon",
        threshold if math.isnan(floor) else max(threshold, floor),
        floor,
        _psi_shares(c, r),
        cur.size,
        ref.size,
        large,
    )


def _js_rows(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """JS distance (base 2) between the rows of two count matrices, as scipy computes it."""
    p = a / a.sum(axis=1, keepdims=True)
    q = b / b.sum(axis=1, keepdims=True)
    m = (p + q) / 2.0
    js = (special.rel_entr(p, m).sum(axis=1) + special.rel_entr(q, m).sum(axis=1)) / 2.0
    return np.asarray(np.sqrt(np.maximum(js, 0.0) / math.log(2.0)), dtype=np.float64)


def _characters_test(
    cur: NDArray[np.float64],
    ref: NDArray[np.float64],
    *,
    small: int,
    threshold: float,
    permutations: int,
    rng: np.random.Generator,
) -> _Raw | None:
    n_cur, n_ref = cur.shape[0], ref.shape[0]
    c, r = cur.sum(axis=0), ref.sum(axis=0)
    if c.sum() == 0 or r.sum() == 0:
        return None
    large = min(n_cur, n_ref) >= small
    distance = float(_jensenshannon()(c / c.sum(), r / r.sum(), base=2))
    floor = _noise_floor(int(np.count_nonzero(c + r)), n_cur, n_ref) if large else math.nan
    p = float("nan")
    if not large:
        counts = np.vstack([cur, ref])
        total = counts.sum(axis=0)
        side = np.r_[np.ones(n_cur), np.zeros(n_ref)]
        block = max(1, _PERMUTATION_CELLS // side.size)  # bounds the memory of a block
        extreme = done = 0
        while done < permutations:
            size = min(block, permutations - done)
            labels = rng.permuted(np.tile(side, (size, 1)), axis=1)
            a = labels @ counts
            b = total - a
            ok = (a.sum(axis=1) > 0) & (b.sum(axis=1) > 0)
            # a permuted statistic equal to the observed one (to rounding) counts as extreme
            extreme += int(np.count_nonzero(_js_rows(a[ok], b[ok]) >= distance - 1e-12))
            done += size
        p = (1 + extreme) / (1 + permutations)
    return _Raw(
        "characters",
        "jensen-shannon" if large else "permutation",
        distance,
        p,
        distance,
        "jensen-shannon",
        threshold if math.isnan(floor) else max(threshold, floor),
        floor,
        _psi_shares(c, r),
        n_cur,
        n_ref,
        large,
    )


def _decide(raw: _Raw, p_adjusted: float, *, alpha: float, correction: str) -> DriftTest:
    if raw.large:
        drift = raw.distance > raw.threshold
        floor = raw.noise_floor > 0 and raw.noise_floor >= raw.threshold
        limit = f"noise floor {raw.threshold:.3g}" if floor else f"threshold {raw.threshold:g}"
        label = _DISTANCE_NAMES[raw.distance_name]
        reason = f"{label} {raw.distance:.3g} {'>' if drift else '≤'} {limit}"
    else:
        drift = bool(p_adjusted < alpha)
        how = "uncorrected" if correction == "none" else correction
        name = _TEST_NAMES[raw.test]
        reason = f"{name} p {'<' if drift else '≥'} {alpha:g} ({how})"
    return DriftTest(
        feature=raw.feature,
        test=raw.test,
        statistic=raw.statistic,
        p_value=raw.p_value,
        p_adjusted=p_adjusted,
        distance=raw.distance,
        distance_name=raw.distance_name,
        threshold=raw.threshold,
        noise_floor=raw.noise_floor,
        psi=raw.psi,
        psi_band=psi_band(raw.psi),
        n_current=raw.n_current,
        n_reference=raw.n_reference,
        large=raw.large,
        drift=drift,
        reason=reason,
    )


# ----------------------------------------------------------------------------- text


def _ascii_classes() -> NDArray[np.intp]:
    """The class of each ASCII code; symbols and control characters are punctuation."""
    table = np.full(128, CHAR_CLASSES.index("punctuation"), dtype=np.intp)
    for name, chars in (
        ("letters", string.ascii_letters),
        ("digits", string.digits),
        ("whitespace", string.whitespace),
    ):
        table[[ord(c) for c in chars]] = CHAR_CLASSES.index(name)
    return table


_ASCII_CLASS = _ascii_classes()


def _char_counts(texts: list[str]) -> NDArray[np.float64]:
    """Per text, how many characters fall in each class of :data:`CHAR_CLASSES`."""
    points = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    classes = np.where(points < 128, _ASCII_CLASS[np.minimum(points, 127)], len(CHAR_CLASSES) - 1)
    owner = np.repeat(np.arange(len(texts)), lengths)
    k = len(CHAR_CLASSES)
    flat = np.bincount(owner * k + classes, minlength=len(texts) * k)
    return flat.reshape(len(texts), k).astype(np.float64)


def _split_words(texts: list[str]) -> tuple[pa.Array, NDArray[np.int64]]:
    """Every word of the texts, and the position of the text each comes from.

    Words: NFKC, lower-cased, split at anything but letters, digits and marks.
    """
    folded = pc.utf8_lower(pc.utf8_normalize(pa.array(texts, type=pa.string()), "NFKC"))
    lists = pc.utf8_split_whitespace(pc.replace_substring_regex(folded, r"[^\pL\pN\pM]+", " "))
    flat, parents = pc.list_flatten(lists), pc.list_parent_indices(lists)
    keep = pc.not_equal(flat, "")
    doc = pc.filter(parents, keep).to_numpy(zero_copy_only=False)
    return pc.filter(flat, keep), np.asarray(doc, dtype=np.int64)


def _rates(unseen: NDArray[np.float64], doc: NDArray[np.int64], n: int) -> NDArray[np.float64]:
    """Per text, the share of its words that are unseen (``nan`` for a text without words)."""
    tokens = np.bincount(doc, minlength=n).astype(np.float64)
    oov = np.bincount(doc, weights=unseen, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tokens > 0, oov / np.maximum(tokens, 1.0), np.nan)


@dataclass(frozen=True)
class _TextReference:
    """What the reference texts of a column look like, computed once for every window."""

    lengths: NDArray[np.float64]
    chars: NDArray[np.float64]
    dictionary: pa.Array  # the distinct reference words
    shares: NDArray[np.float64]  # each dictionary word's share of the reference words
    oov: NDArray[np.float64]  # per text, leave one out
    pooled_oov: float

    @classmethod
    def of(cls, texts: list[str]) -> _TextReference:
        flat, doc = _split_words(texts)
        encoded = pc.dictionary_encode(flat)
        codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        v = max(len(encoded.dictionary), 1)
        # in how many reference texts each word occurs
        pairs = np.sort(doc * v + codes)
        first = np.r_[True, pairs[1:] != pairs[:-1]] if pairs.size else pairs.astype(bool)
        df = np.bincount(pairs[first] % v, minlength=v)
        # a word is unseen when its own text is the only one holding it
        unseen = (df[codes] == 1).astype(np.float64)
        return cls(
            lengths=np.array([len(t) for t in texts], dtype=np.float64),
            chars=_char_counts(texts),
            dictionary=encoded.dictionary,
            shares=np.bincount(codes, minlength=v) / max(codes.size, 1),
            oov=_rates(unseen, doc, len(texts)),
            pooled_oov=float(unseen.mean()) if unseen.size else math.nan,
        )


def _shares(counts: NDArray[np.float64]) -> dict[str, float]:
    total = counts.sum()
    return {
        name: float(counts[j] / total) if total else float("nan")
        for j, name in enumerate(CHAR_CLASSES)
    }


def _text_tests(
    cur: list[str],
    ref: _TextReference,
    *,
    small: int,
    thresholds: Mapping[str, float],
    permutations: int,
    rng: np.random.Generator,
) -> tuple[list[_Raw], TextProfile]:
    lengths = np.array([len(t) for t in cur], dtype=np.float64)
    raws = [
        _numeric_test("length", lengths, ref.lengths, small=small, threshold=thresholds["length"])
    ]
    flat, doc = _split_words(cur)
    code = pc.index_in(flat, value_set=ref.dictionary)
    seen = np.asarray(pc.is_valid(code).to_numpy(zero_copy_only=False), dtype=bool)
    oov = _rates((~seen).astype(np.float64), doc, len(cur))
    oc, orr = oov[np.isfinite(oov)], ref.oov[np.isfinite(ref.oov)]
    if oc.size and orr.size:
        raws.append(
            _numeric_test("oov", oc, orr, small=small, threshold=thresholds["oov"], scaled=False)
        )
    chars = _char_counts(cur)
    tested = _characters_test(
        chars,
        ref.chars,
        small=small,
        threshold=thresholds["characters"],
        permutations=permutations,
        rng=rng,
    )
    if tested is not None:
        raws.append(tested)
    overlap = math.nan
    if seen.size and ref.shares.size:
        # weighted Jaccard: Σ min / Σ max over all words; words new to the reference add
        # only to the max
        codes = np.asarray(pc.drop_null(code).to_numpy(zero_copy_only=False), dtype=np.int64)
        p = np.bincount(codes, minlength=ref.shares.size) / seen.size
        new = float((~seen).mean())
        overlap = float(np.minimum(p, ref.shares).sum() / (np.maximum(p, ref.shares).sum() + new))
    profile = TextProfile(
        mean_length_current=float(lengths.mean()),
        mean_length_reference=float(ref.lengths.mean()),
        vocabulary_overlap=overlap,
        oov_rate_current=float((~seen).mean()) if seen.size else math.nan,
        oov_rate_reference=ref.pooled_oov,
        characters_current=_shares(chars.sum(axis=0)),
        characters_reference=_shares(ref.chars.sum(axis=0)),
    )
    return raws, profile


# ------------------------------------------------------------------- reading the columns


@dataclass(frozen=True)
class _Plan:
    """A compared column, its values on both sides (``nan``/``None`` for missing)."""

    name: str
    kind: ColumnKind
    role: Role
    current: NDArray[Any]
    reference: NDArray[Any]
    text: _TextReference | None = None


def _is_number(t: pa.DataType) -> bool:
    return bool(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t))


def _looks_like_id(name: str) -> bool:
    low = name.lower()
    return (
        low in {"id", "uuid", "guid", "key", "index"}
        or low.endswith(("_id", "-id", " id", ".id", "_uuid"))
        or name.endswith(("Id", "ID"))
    )


def _present_values(table: pa.Table, name: str, to: pa.DataType) -> pa.Array:
    col = pc.drop_null(pc.cast(table.column(name), to))
    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


def _all_distinct(*sides: pa.Array) -> bool:
    total = sum(len(v) for v in sides)
    return total >= _MIN_ID_ROWS and all(pc.count_distinct(v).as_py() == len(v) for v in sides)


def _numbers(table: pa.Table, name: str) -> NDArray[np.float64]:
    col = pc.cast(table.column(name), pa.float64())
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)


def _keys(table: pa.Table, name: str) -> NDArray[np.object_]:
    """Each value as its category: the label text, ``None`` where missing."""
    values = column_values(table, name)
    if is_text_column(table, name):
        return values
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float | np.floating) and math.isnan(v)):
            out[i] = None
        elif isinstance(v, str | int | float | bool | np.generic):
            out[i] = label_text(v)
        else:
            out[i] = as_text(v)
    return out


def column_kind(
    current: pa.Table, reference: pa.Table, name: str, *, role: Role = "feature"
) -> ColumnKind | str:
    """How a column present in both tables is compared, or why it is not (a sentence).

    - Integers and floats are ``numeric``; booleans are ``categorical``. A target or
      prediction of integers with at most 20 distinct values is ``categorical`` (classes).
    - Strings are ``text`` when they average three words or more, or more than one word
      with over half the values distinct; otherwise ``categorical``.
    - Skipped: id-like columns (every value distinct on each side, at least 20 values in
      all, and single-word strings or integers in a column named like an id), dates and
      times, lists and objects. Columns whose type differs between the files, or that mix
      types, are compared as categories of their text.
    """
    ct, rt = current.schema.field(name).type, reference.schema.field(name).type
    if pa.types.is_nested(ct) or pa.types.is_nested(rt):
        return "holds lists or objects"
    if any(pa.types.is_temporal(t) for t in (ct, rt)):
        return "holds dates or times (pass it as --time to compare time windows)"
    if any(pa.types.is_boolean(t) for t in (ct, rt)):
        return "categorical"
    if _is_number(ct) and _is_number(rt):
        if not (pa.types.is_integer(ct) and pa.types.is_integer(rt)):
            return "numeric"
        sides = [_present_values(tab, name, pa.int64()) for tab in (current, reference)]
        if _looks_like_id(name) and _all_distinct(*sides):
            return "id-like: every value is distinct"
        distinct = pc.count_distinct(pa.concat_arrays(sides)).as_py()
        if role != "feature" and distinct <= _FEW_LABELS:
            return "categorical"
        return "numeric"
    if is_text_column(current, name) and is_text_column(reference, name):
        sides = [_present_values(tab, name, pa.string()) for tab in (current, reference)]
        values = pa.concat_arrays(sides)
        if len(values) == 0:
            return "categorical"
        split = pc.utf8_split_whitespace(pc.utf8_trim_whitespace(values))
        words = pc.list_value_length(split)
        if pc.max(words).as_py() <= 1 and _all_distinct(*sides):
            return "id-like: every value is distinct"
        mean_words = pc.mean(words).as_py()
        many = pc.count_distinct(values).as_py() > len(values) / 2
        if mean_words >= 3 or (mean_words > 1 and many):
            return "text"
        return "categorical"
    return "categorical"


def _plan(current: pa.Table, reference: pa.Table, name: str, role: Role) -> _Plan | str:
    kind = column_kind(current, reference, name, role=role)
    if kind not in ("numeric", "categorical", "text"):
        return kind
    if kind == "numeric":
        return _Plan(name, "numeric", role, _numbers(current, name), _numbers(reference, name))
    if kind == "categorical":
        return _Plan(name, "categorical", role, _keys(current, name), _keys(reference, name))
    cur, ref = column_values(current, name), column_values(reference, name)
    texts = [as_text(v) for v in ref if v is not None]
    return _Plan(name, "text", role, cur, ref, _TextReference.of(texts) if texts else None)


def _present(plan: _Plan, values: NDArray[Any]) -> tuple[NDArray[Any], int]:
    """The non-missing values, and how many were missing."""
    numeric = plan.kind == "numeric"
    # ``v is not None`` for every value in one pass: object equality tests identity first
    keep = np.isfinite(values) if numeric else np.asarray(values != None, dtype=bool)  # noqa: E711
    return values[keep], int(keep.size - keep.sum())


@dataclass(frozen=True)
class _Categories:
    """The reference's categories, counted once for every window."""

    uniques: pd.Index  # in order of first appearance, as ``pd.factorize`` gives them
    counts_reference: NDArray[np.float64]

    @classmethod
    def of(cls, reference: NDArray[Any]) -> _Categories:
        codes, uniques = pd.factorize(reference.astype(object))
        counts = np.bincount(codes, minlength=len(uniques)).astype(np.float64)
        return cls(pd.Index(uniques, dtype=object), counts)

    def counts(self, current: NDArray[Any]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """What :func:`_category_counts` gives for ``(current, reference)``: the reference's
        categories first, then those new in ``current`` in their order of appearance."""
        codes, uniques = pd.factorize(current.astype(object))
        where = self.uniques.get_indexer(pd.Index(uniques, dtype=object))
        new = where < 0
        k = len(self.uniques)
        where[new] = k + np.arange(int(new.sum()))
        total = k + int(new.sum())
        c = np.bincount(where[codes], minlength=total).astype(np.float64)
        r = np.zeros(total)
        r[:k] = self.counts_reference
        return c, r


@dataclass(frozen=True)
class _Side:
    """A plan's non-missing reference values, how many were missing, and what every
    window's comparison needs of them: the categories counted, or for numbers the scale
    (of the values as read) and the values sorted. Every numeric statistic of the reference
    side (quantiles, KS, Wasserstein, PSI bins) depends only on the sorted values, and
    sorting once spares each window a sort of the whole reference."""

    values: NDArray[Any]
    missing: int
    categories: _Categories | None = None
    scale: tuple[float, str] | None = None

    @classmethod
    def of(cls, plan: _Plan, *, count: bool = False) -> _Side:
        values, missing = _present(plan, plan.reference)
        if not count or values.size == 0:
            return cls(values, missing)
        if plan.kind == "categorical":
            return cls(values, missing, categories=_Categories.of(values))
        if plan.kind == "numeric":
            scale = _scale(values.astype(np.float64))
            return cls(np.sort(values), missing, scale=scale)
        return cls(values, missing)


# ------------------------------------------------------------------------- comparing


@dataclass(frozen=True)
class _Options:
    small: int
    alpha: float
    correction: Correction
    thresholds: Mapping[str, float]
    permutations: int
    seed: int

    def threshold(self, column: str, feature: str) -> float:
        return self.thresholds.get(
            f"{column}.{feature}", self.thresholds.get(column, DEFAULT_THRESHOLD)
        )


def _compare(
    plans: Sequence[_Plan],
    rows: NDArray[np.intp] | None,
    opts: _Options,
    *,
    window: int,
    references: Mapping[str, _Side] | None = None,
) -> tuple[list[ColumnDrift], list[SkippedColumn]]:
    pending: list[tuple[_Plan, list[_Raw], int, int, TextProfile | None]] = []
    skipped: list[SkippedColumn] = []
    for plan in plans:
        cur, miss_c = _present(plan, plan.current if rows is None else plan.current[rows])
        known = references[plan.name] if references else _Side.of(plan)
        ref, miss_r = known.values, known.missing
        if cur.size == 0 or ref.size == 0:
            side = "current" if cur.size == 0 else "reference"
            skipped.append(SkippedColumn(plan.name, f"no values in the {side} rows"))
            continue
        profile = None
        if plan.kind == "numeric":
            raws = [
                _numeric_test(
                    "values",
                    cur.astype(np.float64),
                    ref.astype(np.float64),
                    small=opts.small,
                    threshold=opts.threshold(plan.name, "values"),
                    scale=known.scale,
                )
            ]
        elif plan.kind == "categorical":
            raws = [
                _categorical_test(
                    cur,
                    ref,
                    small=opts.small,
                    threshold=opts.threshold(plan.name, "values"),
                    categories=known.categories,
                )
            ]
        else:
            rng = np.random.default_rng([opts.seed, zlib.crc32(plan.name.encode()), window])
            assert plan.text is not None  # the reference has values
            raws, profile = _text_tests(
                [as_text(v) for v in cur],
                plan.text,
                small=opts.small,
                thresholds={f: opts.threshold(plan.name, f) for f in _TEXT_FEATURES},
                permutations=opts.permutations,
                rng=rng,
            )
        pending.append((plan, raws, miss_c, miss_r, profile))
    p_values = [r.p_value for _, raws, *_ in pending for r in raws]
    adjusted = iter(adjust_pvalues(p_values, opts.correction).tolist())
    columns = []
    for plan, raws, miss_c, miss_r, profile in pending:
        tests = tuple(
            _decide(r, next(adjusted), alpha=opts.alpha, correction=opts.correction) for r in raws
        )
        columns.append(ColumnDrift(plan.name, plan.kind, plan.role, tests, miss_c, miss_r, profile))
    return columns, skipped


_TEXT_FEATURES = ("length", "oov", "characters")


# --------------------------------------------------------------------------- windows


def _where(path: Path | None, row: int) -> str:
    if path is None:
        return f"current row {row + 1}"
    try:
        return row_location(path, detect_format(path), row)
    except (HeldoutError, OSError):
        return f"{path}:row {row + 1}"


def _times(table: pa.Table, name: str, path: Path | None) -> tuple[NDArray[np.float64], bool]:
    """Times as float64 (microseconds since 1970 for dates), and whether they are dates."""
    col = table.column(name)
    text = pa.types.is_string(col.type) or pa.types.is_large_string(col.type)
    if not text or col.null_count:
        return time_values(table, name, locate=lambda row: _where(path, row))
    # Text times repeat (a day, an hour): parse each distinct text once, in the order of
    # first appearance, so the first bad or mixed value found is the first in the file.
    encoded = pc.dictionary_encode(col.combine_chunks())
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.intp)
    first_row = np.full(len(encoded.dictionary), codes.size, dtype=np.intp)
    np.minimum.at(first_row, codes, np.arange(codes.size, dtype=np.intp))
    # the file's metadata says how the values were written (mixed-type columns as JSON)
    distinct = pa.table({name: encoded.dictionary}).replace_schema_metadata(table.schema.metadata)
    values, dates = time_values(distinct, name, locate=lambda k: _where(path, int(first_row[k])))
    return values[codes], dates


def _window_width(window: str | float, *, dates: bool, name: str) -> float:
    """The window's length in the time column's units (microseconds for dates)."""
    text = str(window).strip().lower()
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)?", text)
    if match is None or float(match[1]) <= 0:
        raise HeldoutError(
            f"--window: expected a positive duration (12h, 7d, 2w) or number, got {window!r}"
        )
    if dates and match[2] is None:
        raise HeldoutError(
            f'--window {window}: column "{name}" holds dates; give a duration like 7d or 12h'
        )
    if not dates and match[2] is not None:
        raise HeldoutError(
            f'--window {window}: column "{name}" holds numbers, not dates; give the window '
            "as a number in the column's units"
        )
    if match[2] is None:
        return float(match[1])
    return float(match[1]) * _UNIT_SECONDS[match[2]] * 1e6


def _time_label(value: float, *, dates: bool) -> str | float:
    if not dates:
        return int(value) if float(value).is_integer() else value
    moment = EPOCH + timedelta(microseconds=round(value))
    if moment.time() == datetime.min.time():
        return moment.date().isoformat()
    return moment.isoformat()


def _metric_rows(table: pa.Table, target: str, prediction: str) -> tuple[str, NDArray[np.float64]]:
    """``accuracy`` (1 when equal) or ``mae`` (absolute error) per row, ``nan`` if missing."""
    tt, pt = table.schema.field(target).type, table.schema.field(prediction).type
    numeric = _is_number(tt) and _is_number(pt) and not pa.types.is_boolean(tt)
    if numeric and pa.types.is_integer(tt):
        numeric = pd.Series(_numbers(table, target)).nunique() > _FEW_LABELS
    if numeric:
        return "mae", np.abs(_numbers(table, target) - _numbers(table, prediction))
    y_true, y_pred = _keys(table, target), _keys(table, prediction)
    # elementwise over the object arrays: ``a == b`` where both are present, else nan
    present = (y_true != None) & (y_pred != None)  # noqa: E711
    equal = np.asarray(y_true == y_pred, dtype=bool)
    return "accuracy", np.where(present, equal.astype(np.float64), np.nan)


def _estimate(values: NDArray[np.float64], *, binary: bool) -> Estimate | None:
    x = values[np.isfinite(values)]
    if x.size == 0:
        return None
    with warnings.catch_warnings():
        # one row has no spread: the interval is nan, which the table shows
        warnings.simplefilter("ignore", HeldoutStatsWarning)
        return mean_interval(x, binary=binary)


def _trend(metric: str, windows: Sequence[WindowDrift], confidence: float) -> Trend | None:
    points = [(w.index + 0.5, w.metric.value, w.metric.n) for w in windows if w.metric]
    if len(points) < 2:
        return None
    from statsmodels.regression.linear_model import WLS

    x, y, n = (np.array(v, dtype=np.float64) for v in zip(*points, strict=True))
    design = np.column_stack([np.ones_like(x), x])
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        # two windows fit exactly: the slope has no interval, which stays nan
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = WLS(y, design, weights=n).fit()
        slope = float(fit.params[1])
        if len(points) < 3:
            return Trend(metric, slope, math.nan, math.nan, math.nan, len(points))
        low, high = (float(b) for b in fit.conf_int(alpha=1.0 - confidence)[1])
        p = float(fit.pvalues[1])
    return Trend(metric, slope, low, high, p, len(points), confidence=confidence)


# ------------------------------------------------------------------------------ drift


def _check_columns(
    names: Sequence[str], table: pa.Table, path: Path | None, side: str, option: str
) -> None:
    have = table.column_names
    for name in names:
        if name not in have:
            where = str(path) if path is not None else side
            raise DataError(
                f'{where}: column "{name}" ({option}) not found{did_you_mean(name, have)}; '
                f"columns are: {', '.join(have)}. Pass a column the file has"
            )


def drift(
    current: pa.Table,
    reference: pa.Table,
    *,
    columns: Sequence[str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    small: int = 1000,
    correction: Correction = "holm",
    alpha: float = 0.05,
    target: str | None = None,
    prediction: str | None = None,
    time: str | None = None,
    window: str | float | None = None,
    permutations: int = 999,
    seed: int = 0,
    confidence: float = 0.95,
    current_path: Path | None = None,
    reference_path: Path | None = None,
) -> DriftReport:
    """Compare the current rows with the reference, column by column (see the module notes).

    Args:
        current: the rows to check.
        reference: the rows they should look like (training or an earlier period).
        columns: the columns to compare; default: every column of both tables but ``time``.
        thresholds: the distance threshold per column (``{"age": 0.2}``), or per text
            feature (``{"text.oov": 0.05}``); default :data:`DEFAULT_THRESHOLD`.
        small: below this many values on the smaller side a test decides, else the distance.
        correction: ``holm``, ``bonferroni``, ``fdr_bh`` or ``none`` across the tests.
        alpha: the level corrected p-values are held to.
        target: the label column; compared as a column with role ``target``.
        prediction: the predicted-label column; compared with role ``prediction``.
        time: column of ``current`` holding ISO dates/datetimes or numbers.
        window: the windows' length: a duration (``7d``, ``12h``) or a number.
        permutations: resamples of the permutation test of text characters.
        seed: seed of those permutations.
        confidence: coverage of the per-window and trend intervals.
        current_path: the file ``current`` came from, so errors name its lines.
        reference_path: the file ``reference`` came from.

    Returns:
        The report; ``report.drifted`` names the drifting columns.

    Raises:
        DataError: a named column is missing, or a time does not parse (naming the line).
        HeldoutError: an option is out of range.

    Example:
        >>> cur = pa.table({"x": np.arange(50.0) + 30})
        >>> drift(cur, pa.table({"x": np.arange(50.0)})).drifted
        ('x',)
    """
    if correction not in _CORRECTIONS:
        raise HeldoutError(f"correction {correction!r} is unknown; use {', '.join(_CORRECTIONS)}")
    if not 0 < alpha < 1:
        raise HeldoutError(f"alpha must lie strictly between 0 and 1, got {alpha}")
    if small < 1 or permutations < 1:
        raise HeldoutError("small and permutations must be at least 1")
    if (time is None) != (window is None):
        raise HeldoutError("--time and --window go together: pass both, or neither")
    for name, option in ((target, "--target"), (prediction, "--prediction"), (time, "--time")):
        if name is not None:
            _check_columns([name], current, current_path, "current", option)
    if columns is None:
        names = [c for c in current.column_names if c != time]
    else:
        _check_columns(columns, current, current_path, "current", "--columns")
        _check_columns(columns, reference, reference_path, "reference", "--columns")
        names = list(dict.fromkeys([*columns, *(c for c in (target, prediction) if c)]))
    limits = dict(thresholds or {})
    for key, value in limits.items():
        column = key if key in names else key.rpartition(".")[0]
        if column not in names:
            raise HeldoutError(
                f'threshold for "{key}": no compared column has that name'
                f"{did_you_mean(key, names)}; compared columns: {', '.join(names)}"
            )
        if not (math.isfinite(value) and value > 0):
            raise HeldoutError(f'threshold for "{key}" must be a positive number, got {value}')
    opts = _Options(small, alpha, correction, limits, permutations, seed)

    plans: list[_Plan] = []
    skipped: list[SkippedColumn] = []
    for name in names:
        role: Role = (
            "target" if name == target else "prediction" if name == prediction else "feature"
        )
        if name not in reference.column_names:
            skipped.append(SkippedColumn(name, "not in the reference"))
            continue
        planned = _plan(current, reference, name, role)
        if isinstance(planned, str):
            skipped.append(SkippedColumn(name, planned))
        else:
            plans.append(planned)
    if columns is None:
        skipped += [
            SkippedColumn(c, "not in the current rows")
            for c in reference.column_names
            if c not in current.column_names and c != time
        ]
    # the reference side of every plan, shared by the whole sample and every window
    references = {p.name: _Side.of(p, count=True) for p in plans}
    compared, empty = _compare(plans, None, opts, window=0, references=references)

    windows: list[WindowDrift] = []
    metric: str | None = None
    trend: Trend | None = None
    if time is not None and window is not None:
        times, dates = _times(current, time, current_path)
        width = _window_width(window, dates=dates, name=time)
        start = float(times.min())
        index = np.floor((times - start) / width).astype(np.int64)
        if int(index.max()) + 1 > _MAX_WINDOWS:
            raise HeldoutError(
                f"--window {window} cuts the current rows into {int(index.max()) + 1:,} "
                f"windows (at most {_MAX_WINDOWS:,}). Pass a longer window"
            )
        scores = None
        if target is not None and prediction is not None:
            metric, scores = _metric_rows(current, target, prediction)
        for k in np.unique(index).tolist():
            rows = np.flatnonzero(index == k)
            cols, _ = _compare(plans, rows, opts, window=k + 1, references=references)
            est = None if scores is None else _estimate(scores[rows], binary=metric == "accuracy")
            windows.append(
                WindowDrift(
                    index=k,
                    start=_time_label(start + k * width, dates=dates),
                    end=_time_label(start + (k + 1) * width, dates=dates),
                    n=int(rows.size),
                    columns=tuple(cols),
                    metric=est,
                )
            )
        if metric is not None:
            trend = _trend(metric, windows, confidence)

    settings = {
        "small": small,
        "alpha": alpha,
        "correction": correction,
        "default_threshold": DEFAULT_THRESHOLD,
        "thresholds": limits,
        "psi_bins": _PSI_BINS,
        "psi_floor": PSI_FLOOR,
        "noise_quantile": _NOISE_QUANTILE,
        "permutations": permutations,
        "seed": seed,
        "confidence": confidence,
        "target": target,
        "prediction": prediction,
        "time": time,
        "window": None if window is None else str(window),
        "heldout_version": __version__,
    }
    return DriftReport(
        n_current=current.num_rows,
        n_reference=reference.num_rows,
        columns=tuple(compared),
        skipped=tuple(skipped + empty),
        settings=settings,
        windows=tuple(windows),
        metric=metric,
        trend=trend,
    )


def _scipy_stats() -> Any:
    """scipy.stats, imported when a drift test first needs it (it costs a second at start)."""
    from scipy import stats

    return stats


def _jensenshannon() -> Any:
    from scipy.spatial.distance import jensenshannon

    return jensenshannon
