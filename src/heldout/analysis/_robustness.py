"""Robustness: how each model's score moves from an original example to its stress variants.

A run over a stress set (``heldout stress``) scores originals and variants alike. Each
variant is paired with its original, and per operation and model this reports the mean
score on both sides, the paired change (variant − original) with a paired t interval, and,
for 0/1 scores, the flip rate (pairs whose score differs) with a Wilson interval and the
counts of pairs broken (right → wrong) and fixed (wrong → right).

The change of 0/1 scores also gets the paired t interval on the per-pair differences
(−1, 0 or 1): by the central limit theorem it holds for a few dozen pairs and more, and it
is the same interval for every kind of score. When an original has more than one variant of
an operation, those pairs are not independent: the change, the flip rate and the comparison
of two models then use the CR1 standard error clustered by original (methods
``paired-t-clustered`` and ``clt-clustered``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from heldout._errors import MetricError
from heldout.stats import (
    Difference,
    Estimate,
    HeldoutStatsWarning,
    mean_interval,
    paired_ttest,
    wilson_interval,
)

__all__ = ["ORIGINAL", "RobustnessRow", "robustness"]

#: The ``operation`` of an original row.
ORIGINAL = "original"


@dataclass(frozen=True)
class RobustnessRow:
    """One model under one stress operation.

    Attributes:
        operation: the stress operation (``typo``, ``case``, ...).
        model: the model.
        n: pairs (variant, original) with a finite score on both sides.
        original: mean score of the originals over the pairs (an original with two
            variants counts twice).
        variant: mean score of the variants over the pairs.
        change: ``variant - original`` with its paired interval (``paired-t``, or
            ``paired-t-clustered`` when an original has several variants).
        flip_rate: share of pairs whose score differs, with its Wilson interval
            (``clt-clustered`` when an original has several variants); ``None`` unless
            the model's scores are all 0 or 1.
        broke: pairs right on the original and wrong on the variant (0/1 scores only).
        fixed: pairs wrong on the original and right on the variant (0/1 scores only).
        unpaired: variants of this operation whose original is not in the data; they are
            left out.
        baseline: on the candidate's row, the model it is compared with.
        versus_baseline: on the candidate's row, the candidate's change minus the
            baseline's over the pairs both scored, with a paired t-test (``p_adjusted`` and
            ``verdict`` are left for the caller to set after correcting across operations).
    """

    operation: str
    model: str
    n: int
    original: float
    variant: float
    change: Estimate
    flip_rate: Estimate | None
    broke: int | None
    fixed: int | None
    unpaired: int = 0
    baseline: str | None = None
    versus_baseline: Difference | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``nan`` becomes ``None``."""
        document: dict[str, Any] = _finite(
            {
                "operation": self.operation,
                "model": self.model,
                "n": self.n,
                "original": self.original,
                "variant": self.variant,
                "change": self.change.to_dict(),
                "flip_rate": None if self.flip_rate is None else self.flip_rate.to_dict(),
                "broke": self.broke,
                "fixed": self.fixed,
                "unpaired": self.unpaired,
                "baseline": self.baseline,
                "versus_baseline": (
                    None if self.versus_baseline is None else self.versus_baseline.to_dict()
                ),
            }
        )
        return document

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RobustnessRow:
        """The row :meth:`to_dict` wrote (``None`` read back as ``nan`` where a number was)."""
        flip = data.get("flip_rate")
        versus = data.get("versus_baseline")
        return cls(
            operation=str(data["operation"]),
            model=str(data["model"]),
            n=int(data["n"]),
            original=_float(data["original"]),
            variant=_float(data["variant"]),
            change=_estimate(data["change"]),
            flip_rate=None if flip is None else _estimate(flip),
            broke=data.get("broke"),
            fixed=data.get("fixed"),
            unpaired=int(data.get("unpaired", 0)),
            baseline=data.get("baseline"),
            versus_baseline=None if versus is None else _difference(versus),
        )


def robustness(
    scores: Mapping[str, NDArray[np.float64]],
    *,
    example_ids: NDArray[Any],
    original_of: NDArray[Any],
    operation: NDArray[Any],
    confidence: float = 0.95,
    candidate: str | None = None,
    baseline: str | None = None,
) -> list[RobustnessRow]:
    """The paired change from original to variant, per stress operation and model.

    Args:
        scores: per-example score of each model over all rows, originals and variants
            (``nan`` where a model has no score: that pair is left out for that model).
        example_ids: id of each row.
        original_of: id of each row's original; ``""``, ``None`` or the row's own id for an
            original.
        operation: the stress operation of each row; ``"original"`` for an original.
        confidence: nominal coverage of the intervals.
        candidate: with ``baseline``, also compare the two models' changes.
        baseline: the model the candidate's change is compared with.

    Returns:
        One row per operation (in order of first appearance) and model (in ``scores``
        order). An operation none of whose variants has its original in the data gets rows
        with ``n == 0`` and ``nan`` values, and a :class:`HeldoutStatsWarning`.

    Raises:
        MetricError: arrays of different lengths, repeated ids, or a candidate without a
            baseline (or a name not in ``scores``).

    Example:
        >>> rows = robustness(
        ...     {"m": np.array([1.0, 1.0, 0.0, 1.0])},
        ...     example_ids=np.array(["a", "b", "a~typo~0", "b~typo~0"]),
        ...     original_of=np.array(["a", "b", "a", "b"]),
        ...     operation=np.array(["original", "original", "typo", "typo"]),
        ... )
        >>> rows[0].change.value, rows[0].flip_rate.value, rows[0].broke
        (-0.5, 0.5, 1)
    """
    ids = np.asarray(example_ids, dtype=object)
    of = np.asarray(original_of, dtype=object)
    ops = np.asarray(operation, dtype=object)
    n = ids.shape[0]
    arrays = {m: np.asarray(s, dtype=np.float64) for m, s in scores.items()}
    named = {"original_of": of, "operation": ops}
    named |= {f"the scores of model {m!r}": a for m, a in arrays.items()}
    for name, arr in named.items():
        if arr.shape != (n,):
            raise MetricError(
                f"robustness: {name} has shape {arr.shape}, expected one value per example ({n})"
            )
    if (candidate is None) != (baseline is None):
        raise MetricError("robustness: give both candidate and baseline, or neither")
    for model in (candidate, baseline):
        if model is not None and model not in arrays:
            raise MetricError(
                f"robustness: no scores for model {model!r} (models: {', '.join(arrays)})"
            )
    text_ids = [_text(v) for v in ids]
    row_of: dict[str, int] = {}
    for i, key in enumerate(text_ids):
        if key in row_of:
            raise MetricError(f"robustness: example id {key!r} appears more than once")
        row_of[key] = i
    is_original = np.zeros(n, dtype=bool)
    for i in range(n):
        parent = _text(of[i])
        is_original[i] = _text(ops[i]) == ORIGINAL or parent in ("", text_ids[i])
    rows: list[RobustnessRow] = []
    for op in dict.fromkeys(_text(ops[i]) for i in range(n) if not is_original[i]):
        variants, originals, unpaired = [], [], 0
        for i in range(n):
            if is_original[i] or _text(ops[i]) != op:
                continue
            j = row_of.get(_text(of[i]))
            if j is None or not is_original[j]:
                unpaired += 1
                continue
            variants.append(i)
            originals.append(j)
        v_idx = np.asarray(variants, dtype=np.intp)
        o_idx = np.asarray(originals, dtype=np.intp)
        if not variants:
            warnings.warn(
                f"robustness: none of the {unpaired} {op!r} variants has its original in the "
                "data; their change is undefined (nan)",
                HeldoutStatsWarning,
                stacklevel=2,
            )
        for model, arr in arrays.items():
            row = _row(op, model, arr[o_idx], arr[v_idx], o_idx, confidence, unpaired)
            if model == candidate and baseline is not None:
                row = _versus(row, baseline, arrays, o_idx, v_idx, candidate, confidence)
            rows.append(row)
    return rows


def _row(
    op: str,
    model: str,
    before: NDArray[np.float64],
    after: NDArray[np.float64],
    parents: NDArray[np.intp],
    confidence: float,
    unpaired: int,
) -> RobustnessRow:
    ok = np.isfinite(before) & np.isfinite(after)
    before, after, parents = before[ok], after[ok], parents[ok]
    n = int(before.shape[0])
    nan = math.nan
    if n == 0:
        change = Estimate(nan, nan, nan, 0, "paired-t", confidence)
        return RobustnessRow(op, model, 0, nan, nan, change, None, None, None, unpaired)
    cluster = parents if _repeated(parents) else None
    diff = paired_ttest(after, before, cluster=cluster, confidence=confidence)
    change = Estimate(diff.delta, diff.ci_low, diff.ci_high, n, diff.test, confidence)
    flip_rate = broke = fixed = None
    if _binary(before) and _binary(after):
        flips = before != after
        broke = int(np.count_nonzero((before == 1.0) & (after == 0.0)))
        fixed = int(np.count_nonzero((before == 0.0) & (after == 1.0)))
        if cluster is None:
            ci = wilson_interval(broke + fixed, n, confidence=confidence)
            flip_rate = Estimate((broke + fixed) / n, ci.low, ci.high, n, "wilson", confidence)
        else:
            flip_rate = mean_interval(
                flips.astype(np.float64), cluster=cluster, confidence=confidence, binary=True
            )
    return RobustnessRow(
        operation=op,
        model=model,
        n=n,
        original=float(before.mean()),
        variant=float(after.mean()),
        change=change,
        flip_rate=flip_rate,
        broke=broke,
        fixed=fixed,
        unpaired=unpaired,
    )


def _versus(
    row: RobustnessRow,
    baseline: str,
    arrays: Mapping[str, NDArray[np.float64]],
    o_idx: NDArray[np.intp],
    v_idx: NDArray[np.intp],
    candidate: str,
    confidence: float,
) -> RobustnessRow:
    cand = arrays[candidate][v_idx] - arrays[candidate][o_idx]
    base = arrays[baseline][v_idx] - arrays[baseline][o_idx]
    ok = np.isfinite(cand) & np.isfinite(base)
    if not ok.any():
        nan = math.nan
        versus = Difference(nan, nan, nan, nan, "paired-t", 0, confidence=confidence)
    else:
        parents = o_idx[ok]
        cluster = parents if _repeated(parents) else None
        versus = paired_ttest(cand[ok], base[ok], cluster=cluster, confidence=confidence)
    return replace(row, baseline=baseline, versus_baseline=versus)


def _repeated(parents: NDArray[np.intp]) -> bool:
    return bool(np.unique(parents).shape[0] < parents.shape[0])


def _binary(x: NDArray[np.float64]) -> bool:
    return bool(np.all((x == 0.0) | (x == 1.0)))


def _text(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return str(v)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


def _float(v: Any) -> float:
    return math.nan if v is None else float(v)


def _estimate(d: Mapping[str, Any]) -> Estimate:
    return Estimate(
        value=_float(d["value"]),
        ci_low=_float(d["ci_low"]),
        ci_high=_float(d["ci_high"]),
        n=int(d["n"]),
        method=str(d["method"]),
        confidence=float(d.get("confidence", 0.95)),
    )


def _difference(d: Mapping[str, Any]) -> Difference:
    p_adj = d.get("p_adjusted")
    return Difference(
        delta=_float(d["delta"]),
        ci_low=_float(d["ci_low"]),
        ci_high=_float(d["ci_high"]),
        p_value=_float(d["p_value"]),
        test=str(d["test"]),
        n=int(d["n"]),
        p_adjusted=None if p_adj is None else float(p_adj),
        verdict=d.get("verdict", "no significant difference"),
        confidence=float(d.get("confidence", 0.95)),
    )
