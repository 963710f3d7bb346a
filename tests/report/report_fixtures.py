"""Hand-built runs for the report tests: realistic numbers, no pipeline involved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from heldout.run import ConfusionMatrix, DatasetInfo, Run, SliceResult, TaskResult
from heldout.stats import Difference, Estimate, MinimumDetectableEffect, Verdict

HOSTILE_INPUT = "<script>alert(1)</script>"
CREATED = datetime(2026, 3, 1, 14, 2, 7, tzinfo=UTC)
LABELS = ("billing", "bug", "feature", "other")


def _estimate(value: float, low: float, high: float, method: str, n: int = 400) -> Estimate:
    return Estimate(value=value, ci_low=low, ci_high=high, n=n, method=method)


def _difference(
    delta: float,
    low: float,
    high: float,
    p: float,
    p_adjusted: float,
    test: str,
    verdict: Verdict,
    n: int = 400,
) -> Difference:
    return Difference(
        delta=delta,
        ci_low=low,
        ci_high=high,
        p_value=p,
        test=test,
        n=n,
        p_adjusted=p_adjusted,
        verdict=verdict,
    )


def classification_examples(candidate: str, baseline: str, n: int = 400) -> pd.DataFrame:
    """Ticket routing results where the candidate fixes more than it breaks."""
    rng = np.random.default_rng(7)
    target = rng.choice(LABELS, size=n)
    base_right = rng.random(n) < 0.78
    cand_right = np.where(base_right, rng.random(n) < 0.93, rng.random(n) < 0.45)
    wrong = {label: next(other for other in LABELS if other != label) for label in LABELS}

    def predictions(right: np.ndarray) -> list[str]:
        return [t if r else wrong[t] for t, r in zip(target, right, strict=True)]

    frame = pd.DataFrame(
        {
            "id": [f"t{i:04d}" for i in range(n)],
            "input": [f"Ticket {i}: my invoice shows a double charge" for i in range(n)],
            "target": target,
            "tier": rng.choice(["free", "pro", "enterprise"], size=n, p=[0.5, 0.45, 0.05]),
            "language": rng.choice(["en", "de", "fr"], size=n, p=[0.6, 0.37, 0.03]),
            f"pred:{baseline}": predictions(base_right),
            f"pred:{candidate}": predictions(cand_right),
            f"correct:{baseline}": base_right.astype(int),
            f"correct:{candidate}": cand_right.astype(int),
        }
    )
    # The first example is one the candidate fixed, with an input nobody should trust.
    frame.loc[0, "input"] = HOSTILE_INPUT
    frame.loc[0, f"correct:{baseline}"] = 0
    frame.loc[0, f"correct:{candidate}"] = 1
    frame.loc[0, f"pred:{baseline}"] = wrong[str(frame.loc[0, "target"])]
    frame.loc[0, f"pred:{candidate}"] = frame.loc[0, "target"]
    return frame


def classification_task(
    candidate: str = "tuned", baseline: str = "base", label: str = "other"
) -> TaskResult:
    labels = (*LABELS[:3], label)
    cand, base = candidate, baseline
    slices = (
        SliceResult(
            "tier",
            "free",
            "macro_f1",
            201,
            {
                base: _estimate(0.752, 0.701, 0.801, "bootstrap-percentile", 201),
                cand: _estimate(0.801, 0.752, 0.846, "bootstrap-percentile", 201),
            },
            _difference(0.049, 0.011, 0.087, 0.011, 0.044, "paired-bootstrap", "better", 201),
            small=False,
        ),
        SliceResult(
            "tier",
            "pro",
            "macro_f1",
            181,
            {
                base: _estimate(0.771, 0.716, 0.822, "bootstrap-percentile", 181),
                cand: _estimate(0.803, 0.751, 0.851, "bootstrap-percentile", 181),
            },
            _difference(
                0.032,
                -0.008,
                0.072,
                0.12,
                0.36,
                "paired-bootstrap",
                "no significant difference",
                181,
            ),
            small=False,
        ),
        SliceResult(
            "tier",
            "enterprise",
            "macro_f1",
            18,
            {
                base: _estimate(0.688, 0.472, 0.874, "bootstrap-percentile", 18),
                cand: _estimate(0.801, 0.593, 0.951, "bootstrap-percentile", 18),
            },
            _difference(
                0.113,
                -0.061,
                0.287,
                0.21,
                0.42,
                "paired-bootstrap",
                "no significant difference",
                18,
            ),
            small=True,
        ),
        SliceResult(
            "language",
            "en",
            "macro_f1",
            243,
            {
                base: _estimate(0.768, 0.721, 0.812, "bootstrap-percentile", 243),
                cand: _estimate(0.809, 0.765, 0.851, "bootstrap-percentile", 243),
            },
            _difference(0.041, 0.009, 0.073, 0.013, 0.044, "paired-bootstrap", "better", 243),
            small=False,
        ),
        SliceResult(
            "language",
            "de",
            "macro_f1",
            145,
            {
                base: _estimate(0.760, 0.698, 0.818, "bootstrap-percentile", 145),
                cand: _estimate(0.792, 0.733, 0.846, "bootstrap-percentile", 145),
            },
            _difference(
                0.032,
                -0.015,
                0.079,
                0.18,
                0.36,
                "paired-bootstrap",
                "no significant difference",
                145,
            ),
            small=False,
        ),
        SliceResult(
            "language",
            "fr",
            "macro_f1",
            12,
            {
                base: _estimate(0.702, 0.431, 0.917, "bootstrap-percentile", 12),
                cand: _estimate(0.650, 0.382, 0.888, "bootstrap-percentile", 12),
            },
            _difference(
                -0.052,
                -0.281,
                0.177,
                0.66,
                0.66,
                "paired-bootstrap",
                "no significant difference",
                12,
            ),
            small=True,
        ),
    )
    return TaskResult(
        name="route",
        type="classification",
        dataset=DatasetInfo(
            path="data/eval.jsonl",
            hash="9f2c4e1ab37d5c60e8f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7",
            n=400,
            columns={"id": "id", "input": "input", "target": "target", "cluster": None},
            slices=("tier", "language"),
        ),
        models=(base, cand),
        metrics={
            base: {
                "accuracy": _estimate(0.7675, 0.7238, 0.8063, "wilson"),
                "macro_f1": _estimate(0.7612, 0.7189, 0.8024, "bootstrap-percentile"),
                "recall:billing": _estimate(0.8421, 0.7709, 0.8945, "wilson"),
                "precision:billing": _estimate(0.7805, 0.7015, 0.8431, "wilson"),
            },
            cand: {
                "accuracy": _estimate(0.8125, 0.7713, 0.8476, "wilson"),
                "macro_f1": _estimate(0.8118, 0.7721, 0.8497, "bootstrap-percentile"),
                "recall:billing": _estimate(0.7798, 0.7012, 0.8424, "wilson"),
                "precision:billing": _estimate(0.7887, 0.7102, 0.8502, "wilson"),
            },
        },
        comparisons={
            "accuracy": _difference(
                0.045, 0.0203, 0.0697, 0.00031, 0.00093, "mcnemar-chi2", "better"
            ),
            "macro_f1": _difference(
                0.0506, 0.0241, 0.0779, 0.0002, 0.0008, "paired-bootstrap", "better"
            ),
            "recall:billing": _difference(
                -0.0623, -0.1012, -0.0231, 0.0021, 0.0042, "mcnemar-exact", "worse"
            ),
            "precision:billing": _difference(
                0.0082,
                -0.0301,
                0.0465,
                0.6812,
                0.6812,
                "mcnemar-exact",
                "no significant difference",
            ),
        },
        headline="macro_f1",
        candidate=cand,
        baseline=base,
        mde=MinimumDetectableEffect(
            metric="macro_f1",
            effect=0.0431,
            power=0.8,
            alpha=0.05,
            n=400,
            basis="paired bootstrap variance 0.00024",
        ),
        slices=slices,
        confusion={
            base: ConfusionMatrix(
                labels,
                (*labels, "(invalid)"),
                ((80, 6, 4, 3, 2), (7, 77, 8, 6, 0), (5, 9, 74, 8, 1), (4, 5, 7, 94, 0)),
            ),
            cand: ConfusionMatrix(
                labels, labels, ((86, 4, 3, 2), (5, 84, 6, 3), (3, 6, 82, 6), (3, 4, 5, 98))
            ),
        },
        examples=classification_examples(cand, base),
        dropped={base: 0, cand: 0},
    )


def generation_examples(candidate: str, baseline: str, n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    base_f1 = rng.uniform(0.2, 0.9, size=n).round(4)
    cand_f1 = np.clip(base_f1 + rng.normal(0.0, 0.15, size=n), 0.0, 1.0).round(4)
    return pd.DataFrame(
        {
            "id": [f"doc-{i}" for i in range(n)],
            "input": [f"Summarise document {i}." for i in range(n)],
            "target": [f"Reference summary {i}." for i in range(n)],
            f"pred:{baseline}": [f"base summary {i}" for i in range(n)],
            f"pred:{candidate}": [f"tuned summary {i}" for i in range(n)],
            f"token_f1:{baseline}": base_f1,
            f"token_f1:{candidate}": cand_f1,
            f"latency:{baseline}": rng.uniform(0.1, 2.0, size=n),
            f"latency:{candidate}": rng.uniform(0.1, 2.0, size=n),
        }
    )


def generation_task(candidate: str = "tuned", baseline: str = "base") -> TaskResult:
    cand, base = candidate, baseline
    return TaskResult(
        name="summarise",
        type="generation",
        dataset=DatasetInfo(
            path="data/summaries.jsonl",
            hash="4be1d0c9a8f7e6d5c4b3a291807f6e5d4c3b2a19",
            n=60,
            columns={"id": "id", "input": "input", "target": "target"},
        ),
        models=(base, cand),
        metrics={
            base: {
                "token_f1": _estimate(0.5483, 0.5011, 0.5955, "clt", 60),
                "bleu": _estimate(27.314, 24.902, 29.771, "bootstrap-percentile", 60),
                "exact_match": _estimate(0.1167, 0.0577, 0.2218, "wilson", 60),
            },
            cand: {
                "token_f1": _estimate(0.5561, 0.5075, 0.6047, "clt", 60),
                "bleu": _estimate(31.4242, 29.8711, 33.0104, "bootstrap-percentile", 60),
                "exact_match": _estimate(0.0333, 0.0092, 0.1136, "wilson", 60),
            },
        },
        comparisons={
            "token_f1": _difference(
                0.0078, -0.0301, 0.0457, 0.6842, 0.6842, "paired-t", "no significant difference", 60
            ),
            "bleu": _difference(
                4.1102, 1.9821, 6.2453, 0.0004, 0.0012, "paired-bootstrap", "better", 60
            ),
            "exact_match": _difference(
                -0.0834, -0.1502, -0.0166, 0.0156, 0.0312, "mcnemar-exact", "worse", 60
            ),
        },
        headline="token_f1",
        candidate=cand,
        baseline=base,
        mde=MinimumDetectableEffect(
            metric="token_f1",
            effect=0.0712,
            power=0.8,
            alpha=0.05,
            n=60,
            basis="sd of paired differences 0.137",
        ),
        examples=generation_examples(cand, base),
    )


def make_run(
    tasks: tuple[TaskResult, ...],
    *,
    name: str = "ticket-router",
) -> Run:
    return Run(
        id="r-20260301-140207-5f3a",
        name=name,
        spec={
            "name": name,
            "models": {"base": {"backend": "predictions"}, "tuned": {"backend": "predictions"}},
            "compare": {"candidate": "tuned", "baseline": "base"},
        },
        spec_hash="c0ffee1234567890",
        tasks=tasks,
        created_at=CREATED,
        finished_at=CREATED + timedelta(minutes=4, seconds=5),
        heldout_version="0.1.0",
        git_commit="2417dab",
        user="ana",
        host="gpu-box",
        stats={
            "confidence": 0.95,
            "resamples": 1000,
            "seed": 0,
            "ci_method": "percentile",
            "correction": "holm",
            "power": 0.8,
            "min_slice_size": 30,
        },
    )


def single_model_task() -> TaskResult:
    return TaskResult(
        name="route",
        type="classification",
        dataset=DatasetInfo(path="data/eval.csv", hash="abc123", n=250, columns={"id": "id"}),
        models=("base",),
        metrics={
            "base": {
                "accuracy": _estimate(0.764, 0.708, 0.812, "wilson", 250),
                "macro_f1": _estimate(0.7512, 0.7003, 0.7981, "bootstrap-percentile", 250),
            }
        },
        comparisons={},
        headline="accuracy",
        slices=(
            SliceResult(
                "tier",
                "free",
                "accuracy",
                230,
                {"base": _estimate(0.770, 0.712, 0.819, "wilson", 230)},
                None,
                small=False,
            ),
            SliceResult(
                "tier",
                "enterprise",
                "accuracy",
                20,
                {"base": _estimate(0.700, 0.481, 0.855, "wilson", 20)},
                None,
                small=True,
            ),
        ),
        mde=MinimumDetectableEffect(
            metric="accuracy", effect=0.0752, power=0.8, alpha=0.05, n=250, basis="p = 0.764"
        ),
    )
