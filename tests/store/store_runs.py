"""Realistic runs for the store tests: two tasks, every optional part filled in, NaN and
infinities where real evaluations produce them, and examples of every column kind."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pandas as pd

from heldout.run import ConfusionMatrix, DatasetInfo, Run, SliceResult, TaskResult
from heldout.stats import Difference, Estimate, MinimumDetectableEffect

LABELS = ("billing", "bug", "feature", "other")
BERLIN_SUMMER = timezone(timedelta(hours=2))


def classification_examples(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    labels = np.array(LABELS)
    target = labels[rng.integers(0, 4, n)]
    base = labels[rng.integers(0, 4, n)]
    tuned = np.where(rng.random(n) < 0.8, target, labels[rng.integers(0, 4, n)])
    prob_base = rng.random(n)
    prob_base[::7] = np.nan
    note = pd.Series([None if i % 3 else f"checked {i}" for i in range(n)], dtype=object)
    return pd.DataFrame(
        {
            "id": [f"t-{i:05d}" for i in range(n)],
            "input": [f"ticket {i}: my invoice is wrong ({'ü' * (i % 3)})" for i in range(n)],
            "target": target,
            "tier": np.where(np.arange(n) % 5 == 0, "gold", "free"),
            "language": np.where(np.arange(n) % 2 == 0, "de", "en"),
            "cluster": [f"conv-{i // 3}" for i in range(n)],
            "pred:base": base,
            "pred:tuned": tuned,
            "correct:base": base == target,
            "correct:tuned": tuned == target,
            "prob:base": prob_base,
            "prob:tuned": rng.random(n),
            "tokens": rng.integers(5, 500, n),
            "note": note,
        }
    )


def generation_examples(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    refs: list[object] = [[f"summary {i}", f"short {i}"][: 1 + i % 2] for i in range(n)]
    refs[0] = []
    return pd.DataFrame(
        {
            "id": [f"g-{i:05d}" for i in range(n)],
            "input": [f"long document number {i}" for i in range(n)],
            "references": pd.Series(refs, dtype=object),
            "pred:base": [f"summary {i}" if i % 2 else "" for i in range(n)],
            "pred:tuned": [f"summary {i}" for i in range(n)],
            "chrf:base": rng.random(n) * 100,
            "chrf:tuned": rng.random(n) * 100,
            "exact_match:tuned": rng.random(n) < 0.5,
            "latency_ms": rng.integers(10, 900, n),
        }
    )


def benchmark_frame(n: int) -> pd.DataFrame:
    """The frame of the timing target: ids, two models' predictions, probabilities and
    correctness."""
    rng = np.random.default_rng(7)
    labels = np.array(["billing", "bug", "feature", "other"])
    return pd.DataFrame(
        {
            "id": [f"ex-{i:07d}" for i in range(n)],
            "pred:base": labels[rng.integers(0, 4, n)],
            "pred:tuned": labels[rng.integers(0, 4, n)],
            "prob:base": rng.random(n),
            "prob:tuned": rng.random(n),
            "correct:base": rng.random(n) < 0.7,
            "correct:tuned": rng.random(n) < 0.8,
        }
    )


def _est(value: float, half: float, n: int, method: str = "wilson") -> Estimate:
    return Estimate(value=value, ci_low=value - half, ci_high=value + half, n=n, method=method)


def classification_task(n: int = 40, examples: pd.DataFrame | None = None) -> TaskResult:
    frame = classification_examples(n) if examples is None else examples
    rows = len(frame)
    return TaskResult(
        name="router",
        type="classification",
        dataset=DatasetInfo(
            path="data/eval.jsonl",
            hash="sha256:9b1c0e",
            n=rows,
            columns={"id": "ticket_id", "input": "text", "target": "label", "cluster": None},
            slices=("tier", "language"),
        ),
        models=("base", "tuned"),
        metrics={
            "base": {
                "accuracy": _est(0.61, 0.05, rows),
                "macro_f1": _est(0.58, 0.06, rows, "bootstrap-percentile"),
                "recall:billing": Estimate(math.nan, math.nan, math.nan, 0, "wilson"),
            },
            "tuned": {
                "accuracy": _est(0.83, 0.04, rows, "clt-clustered"),
                "macro_f1": _est(0.8, 0.05, rows, "bootstrap-bca"),
                "recall:billing": Estimate(0.9, 0.7, math.inf, 12, "wilson", confidence=0.9),
            },
        },
        comparisons={
            "accuracy": Difference(0.22, 0.15, 0.29, 1e-9, "mcnemar-chi2", rows, 3e-9, "better"),
            "macro_f1": Difference(0.22, 0.12, 0.31, 0.0004, "paired-bootstrap", rows, 0.0008),
            "recall:billing": Difference(
                math.nan, math.nan, math.nan, math.nan, "mcnemar-exact", 0, math.nan
            ),
        },
        headline="macro_f1",
        candidate="tuned",
        baseline="base",
        mde=MinimumDetectableEffect("macro_f1", 0.071, 0.8, 0.05, rows, "disagreement rate 0.083"),
        slices=(
            SliceResult(
                column="tier",
                value="gold",
                metric="macro_f1",
                n=8,
                estimates={"base": _est(0.5, 0.3, 8), "tuned": _est(0.75, 0.25, 8)},
                comparison=Difference(0.25, -0.1, 0.6, 0.2, "paired-bootstrap", 8, 0.4),
                small=True,
            ),
            SliceResult(
                column="tier",
                value="free",
                metric="macro_f1",
                n=32,
                estimates={
                    "base": _est(0.6, 0.1, 32),
                    "tuned": Estimate(math.nan, math.nan, math.inf, 32, "bootstrap-percentile"),
                },
                comparison=Difference(math.nan, -math.inf, math.inf, math.nan, "paired-t", 32),
                small=False,
            ),
            SliceResult(
                column="language",
                value="de",
                metric="macro_f1",
                n=20,
                estimates={"tuned": _est(0.8, 0.1, 20), "base": _est(0.6, 0.1, 20)},
                comparison=None,
                small=True,
            ),
        ),
        confusion={
            "base": ConfusionMatrix(
                labels=LABELS,
                columns=(*LABELS, "(invalid)"),
                counts=((3, 1, 0, 1, 2), (0, 4, 1, 0, 0), (1, 1, 5, 0, 0), (2, 0, 0, 6, 1)),
            ),
            "tuned": ConfusionMatrix(
                labels=LABELS,
                columns=LABELS,
                counts=((7, 0, 0, 0), (0, 5, 0, 0), (0, 1, 6, 0), (1, 0, 0, 8)),
            ),
        },
        examples=frame,
        dropped={"base": 2},
    )


def generation_task(n: int = 30) -> TaskResult:
    return TaskResult(
        name="summaries",
        type="generation",
        dataset=DatasetInfo(
            path="data/summaries.parquet",
            hash="sha256:77aa01",
            n=n,
            columns={"id": "doc_id", "input": "document", "target": "references"},
        ),
        models=("base", "tuned"),
        metrics={
            "tuned": {"chrf": _est(51.2, 2.0, n, "bootstrap-percentile")},
            "base": {"chrf": _est(47.9, 2.1, n, "bootstrap-percentile")},
        },
        comparisons={"chrf": Difference(3.3, 1.1, 5.4, 0.003, "paired-bootstrap", n)},
        headline="chrf",
        candidate="tuned",
        baseline="base",
        examples=generation_examples(n),
    )


def make_run(
    run_id: str = "3f9a2c1e7b4d4e0f9a1b2c3d4e5f6a7b",
    *,
    name: str = "ticket-router",
    created_at: datetime | None = None,
    tasks: tuple[TaskResult, ...] | None = None,
    status: str = "finished",
) -> Run:
    created = created_at or datetime(2026, 5, 9, 14, 30, 15, 123456, tzinfo=BERLIN_SUMMER)
    return Run(
        id=run_id,
        name=name,
        spec={
            "name": name,
            "dataset": {"path": "data/eval.jsonl", "slices": ["tier", "language"]},
            "models": {"base": {"backend": "predictions", "path": "preds/base.jsonl"}},
            "compare": {"candidate": "tuned", "baseline": "base"},
            "gates": [{"metric": "macro_f1", "max_drop": 0.01}],
            "utility": {"recall:billing": 0.6},
            "$float": "a user key that looks like the store's tag",
        },
        spec_hash="sha256:0c4e55",
        tasks=tasks if tasks is not None else (classification_task(), generation_task()),
        created_at=created,
        finished_at=(created + timedelta(minutes=3, seconds=2)).astimezone(UTC),
        status=status,
        heldout_version="0.1.0",
        git_commit="2417dab",
        user="mara",
        host="eval-box",
        stats={
            "seed": 0,
            "resamples": 1000,
            "confidence": 0.95,
            "correction": "holm",
            "min_slice": 30,
            "undefined": math.nan,
            "nested": {"$float": "NaN"},
        },
    )
