"""Reference computations of the demo's story: sklearn, statsmodels, scipy and sacrebleu.

Deliberately independent of heldout's own scoring and statistics, so the demo's numbers are
checked against the libraries the field trusts.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from statsmodels.stats.contingency_tables import mcnemar

from .conftest import Demo


@dataclass(frozen=True)
class Routing:
    """Gold labels, slices and both models' predictions, aligned by ticket id."""

    y: NDArray[np.str_]
    slices: dict[str, NDArray[np.str_]]
    pred: dict[str, NDArray[np.str_]]
    proba: dict[str, NDArray[np.float64]]  # columns in sorted label order, as sklearn wants
    labels: list[str]


def routing(demo: Demo) -> Routing:
    labels = sorted({t["intent"] for t in demo.tickets})
    order = [t["ticket_id"] for t in demo.tickets]
    pred: dict[str, NDArray[np.str_]] = {}
    proba: dict[str, NDArray[np.float64]] = {}
    for model, rows in demo.routing.items():
        by_id = {r["id"]: r for r in rows}
        pred[model] = np.array([by_id[i]["prediction"] for i in order])
        proba[model] = np.array([[by_id[i]["probabilities"][k] for k in labels] for i in order])
    return Routing(
        y=np.array([t["intent"] for t in demo.tickets]),
        slices={s: np.array([t[s] for t in demo.tickets]) for s in ("language", "tier", "channel")},
        pred=pred,
        proba=proba,
        labels=labels,
    )


def mcnemar_p(r: Routing, mask: NDArray[np.bool_] | None = None) -> float:
    """Exact McNemar test of base vs tuned correctness on the tickets in ``mask``."""
    keep = np.ones(len(r.y), dtype=bool) if mask is None else mask
    base = r.pred["base"][keep] == r.y[keep]
    tuned = r.pred["tuned"][keep] == r.y[keep]
    table = [
        [np.sum(base & tuned), np.sum(base & ~tuned)],
        [np.sum(~base & tuned), np.sum(~base & ~tuned)],
    ]
    return float(mcnemar(table, exact=True).pvalue)


def expected_calibration_error(proba: NDArray[np.float64], correct: NDArray[np.bool_]) -> float:
    confidence = proba.max(axis=1)
    bins = np.minimum((confidence * 10).astype(int), 9)
    return float(
        sum(
            np.mean(bins == b) * abs(confidence[bins == b].mean() - correct[bins == b].mean())
            for b in range(10)
            if np.any(bins == b)
        )
    )


@dataclass(frozen=True)
class Bootstrap:
    delta: float  # tuned minus base on the full corpus
    ci_low: float
    ci_high: float
    p_value: float


def references(demo: Demo) -> list[list[str | None]]:
    """sacrebleu's reference streams; ``None`` where an example has fewer references."""
    width = max(len(r["references"]) for r in demo.replies)
    return [
        [r["references"][j] if j < len(r["references"]) else None for r in demo.replies]
        for j in range(width)
    ]


def drafts(demo: Demo, model: str) -> list[str]:
    by_id = {r["id"]: r["prediction"] for r in demo.drafts[model]}
    return [by_id[r["reply_id"]] for r in demo.replies]


def paired_bootstrap(
    metric: Any,
    base: list[str],
    tuned: list[str],
    refs: list[list[str | None]],
    *,
    resamples: int = 500,
    seed: int = 0,
) -> Bootstrap:
    """Paired bootstrap of a corpus metric over examples (Koehn 2004), seeded.

    Resamples rows of sacrebleu's per-segment sufficient statistics — the hooks sacrebleu's
    own ``significance`` module uses — so each resample costs a sum, not a re-scoring. The
    p-value is two-sided, from the resampled deltas shifted to a zero mean.
    """
    stats = {
        name: np.asarray(metric._extract_corpus_statistics(hyps, refs), dtype=np.int64)
        for name, hyps in (("base", base), ("tuned", tuned))
    }

    def score(rows: NDArray[np.int64]) -> float:
        return float(metric._compute_score_from_stats(rows.sum(axis=0).tolist()).score)

    delta = score(stats["tuned"]) - score(stats["base"])
    rng = np.random.default_rng(seed)
    n = len(base)
    deltas = np.empty(resamples)
    for b in range(resamples):
        idx = rng.integers(0, n, size=n)
        deltas[b] = score(stats["tuned"][idx]) - score(stats["base"][idx])
    low, high = np.percentile(deltas, [2.5, 97.5])
    p = (1 + np.sum(np.abs(deltas - deltas.mean()) >= abs(delta))) / (resamples + 1)
    return Bootstrap(delta=delta, ci_low=float(low), ci_high=float(high), p_value=float(p))


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def token_f1(prediction: str, refs: list[str]) -> float:
    """SQuAD-style bag-of-words F1 against the best-matching reference."""
    best = 0.0
    pred = Counter(_words(prediction))
    for ref in refs:
        gold = Counter(_words(ref))
        common = sum((pred & gold).values())
        if common:
            precision, recall = common / sum(pred.values()), common / sum(gold.values())
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def main() -> None:
    """Prints the story's numbers: ``cd tests && ../.venv/bin/python -m demo._story [DIR]``."""
    import sys
    import tempfile
    from pathlib import Path

    import sacrebleu
    from rouge_score import rouge_scorer
    from sacrebleu.metrics import BLEU, CHRF
    from scipy.stats import ttest_rel
    from sklearn.metrics import accuracy_score, f1_score, log_loss

    from heldout.demo import write_demo_project

    from .conftest import load_demo

    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()) / "demo"
    demo = load_demo(write_demo_project(folder))
    r = routing(demo)
    print(f"routing: {len(r.y)} tickets")
    for model in ("base", "tuned"):
        correct = r.pred[model] == r.y
        print(
            f"  {model:5}  accuracy {accuracy_score(r.y, r.pred[model]):.3f}"
            f"  macro-F1 {f1_score(r.y, r.pred[model], average='macro', labels=r.labels):.3f}"
            f"  log loss {log_loss(r.y, r.proba[model], labels=r.labels):.3f}"
            f"  mean confidence {r.proba[model].max(axis=1).mean():.3f}"
            f"  ECE {expected_calibration_error(r.proba[model], correct):.3f}"
        )
    print(f"  McNemar overall p = {mcnemar_p(r):.2g}")
    for column, values in r.slices.items():
        for value in sorted(set(values)):
            mask = values == value
            base = accuracy_score(r.y[mask], r.pred["base"][mask])
            tuned = accuracy_score(r.y[mask], r.pred["tuned"][mask])
            print(
                f"  {column}={value:<10} n={mask.sum():4d}  base {base:.3f}  tuned {tuned:.3f}"
                f"  McNemar p = {mcnemar_p(r, mask):.2g}"
            )
    refs = references(demo)
    base_drafts, tuned_drafts = drafts(demo, "base"), drafts(demo, "tuned")
    print(f"replies: {len(base_drafts)} examples")
    for name, metric in (("BLEU", BLEU()), ("chrF", CHRF())):
        scores = [metric.corpus_score(d, refs).score for d in (base_drafts, tuned_drafts)]
        boot = paired_bootstrap(metric, base_drafts, tuned_drafts, refs)
        print(
            f"  {name}: base {scores[0]:.2f}  tuned {scores[1]:.2f}  delta {boot.delta:+.2f}"
            f"  95% CI [{boot.ci_low:+.2f}, {boot.ci_high:+.2f}]  p = {boot.p_value:.3f}"
        )
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    pairs = {
        m: list(zip(d, (row["references"] for row in demo.replies), strict=True))
        for m, d in (("base", base_drafts), ("tuned", tuned_drafts))
    }
    for name, fn in (
        ("token F1", lambda d, refs: token_f1(d, refs)),
        ("ROUGE-L", lambda d, refs: scorer.score_multi(refs, d)["rougeL"].fmeasure),
    ):
        s = {m: np.array([fn(d, refs) for d, refs in p]) for m, p in pairs.items()}
        print(
            f"  {name}: base {s['base'].mean():.3f}  tuned {s['tuned'].mean():.3f}"
            f"  paired t p = {ttest_rel(s['tuned'], s['base']).pvalue:.2g}"
        )
    print(f"  sacrebleu {sacrebleu.__version__}; written to {folder}")


if __name__ == "__main__":
    main()
