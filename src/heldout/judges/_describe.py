"""What a judge did, in words: read by the terminal lines and the HTML report alike."""

from __future__ import annotations

from dataclasses import dataclass

from heldout.judges._types import JudgeInfo
from heldout.stats import Estimate

__all__ = ["JudgeNotes", "fmt_judge_estimate", "judge_notes", "judge_scale"]


def fmt_judge_estimate(est: Estimate, decimals: int = 2) -> str:
    """``value [low, high]`` with ``decimals`` decimals."""
    d = decimals
    return f"{est.value:.{d}f} [{est.ci_low:.{d}f}, {est.ci_high:.{d}f}]"


@dataclass(frozen=True)
class JudgeNotes:
    """The sentences about one judge's agreement, pairwise rates and validation.

    Attributes:
        notes: one sentence each, without indent or line end.
        low_agreement: the judge agrees too little with the human labels to be trusted.
    """

    notes: tuple[str, ...]
    low_agreement: bool


def judge_scale(info: JudgeInfo) -> str:
    """The scale a judge answers on: ``0/1`` when strict, else ``low–high``."""
    low, high = info.scale
    return "0/1" if info.strict else f"{low}–{high}"


def judge_notes(info: JudgeInfo) -> JudgeNotes:
    """Vote agreement, pairwise win/tie/loss with position bias, and human validation."""
    est = fmt_judge_estimate
    notes: list[str] = []
    for model, agreement in info.agreement.items():
        notes.append(f"vote agreement ({model}, mean pairwise): {est(agreement)}")
    p = info.pairwise
    if p is not None:
        notes.append(
            f"{p.candidate} vs {p.baseline} (both orders, n={p.n:,}): win {est(p.win)}, "
            f"tie {est(p.tie)}, loss {est(p.loss)}"
        )
        if p.first_position is not None:
            notes.append(
                f"position bias: the first response wins {est(p.first_position)} of "
                "decisive verdicts (0.50 is none)"
            )
    v = info.validation
    if v is not None:
        spearman = "" if v.spearman is None else f", Spearman {est(v.spearman)}"
        weights = "quadratic-weighted " if v.weights == "quadratic" else ""
        notes.append(
            f"vs human labels ({v.column}, outputs of {v.model}, n={v.n:,}): accuracy "
            f"{est(v.accuracy)}, {weights}kappa {est(v.kappa)}{spearman}"
        )
    return JudgeNotes(notes=tuple(notes), low_agreement=v is not None and v.low)
