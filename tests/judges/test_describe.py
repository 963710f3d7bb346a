"""The sentences about a judge, shared by the terminal and the report."""

from __future__ import annotations

from typing import Any

from heldout.judges import JudgeInfo, PairwiseInfo, ValidationInfo
from heldout.judges._describe import fmt_judge_estimate, judge_notes, judge_scale
from heldout.stats import Estimate


def _est(value: float) -> Estimate:
    return Estimate(value=value, ci_low=value - 0.1, ci_high=value + 0.1, n=30, method="wilson")


def _info(**change: Any) -> JudgeInfo:
    return JudgeInfo(name="helpful", model="judge", kind="score", criteria="Helpful", **change)


def test_estimates_are_written_with_their_interval() -> None:
    assert fmt_judge_estimate(_est(0.5)) == "0.50 [0.40, 0.60]"
    assert fmt_judge_estimate(_est(0.25), 3) == "0.250 [0.150, 0.350]"


def test_scale_is_binary_when_strict() -> None:
    assert judge_scale(_info(scale=(1, 10))) == "1–10"
    assert judge_scale(_info(scale=(1, 10), strict=True)) == "0/1"


def test_a_plain_judge_has_nothing_to_note() -> None:
    described = judge_notes(_info())
    assert described.notes == () and not described.low_agreement


def test_notes_name_agreement_pairwise_bias_and_validation_in_order() -> None:
    pairwise = PairwiseInfo(
        candidate="tuned",
        baseline="base",
        win=_est(0.6),
        tie=_est(0.2),
        loss=_est(0.2),
        first_position=_est(0.7),
        n=1200,
    )
    validation = ValidationInfo(
        column="human",
        model="tuned",
        n=40,
        accuracy=_est(0.5),
        kappa=_est(0.2),
        spearman=None,
        weights="quadratic",
        low=True,
    )
    described = judge_notes(
        _info(agreement={"tuned": _est(0.9)}, pairwise=pairwise, validation=validation)
    )
    assert described.notes == (
        "vote agreement (tuned, mean pairwise): 0.90 [0.80, 1.00]",
        "tuned vs base (both orders, n=1,200): win 0.60 [0.50, 0.70], tie 0.20 [0.10, 0.30], "
        "loss 0.20 [0.10, 0.30]",
        "position bias: the first response wins 0.70 [0.60, 0.80] of decisive verdicts "
        "(0.50 is none)",
        "vs human labels (human, outputs of tuned, n=40): accuracy 0.50 [0.40, 0.60], "
        "quadratic-weighted kappa 0.20 [0.10, 0.30]",
    )
    assert described.low_agreement
