"""Scoring benchmark: heldout's whole `heldout run` against a naive loop and the I/O floor.

Part 1 — 1,000,000 binary-classification predictions for two models (Parquet, with
probabilities): all classification metrics with 1,000-resample intervals and the paired
comparison, through `heldout run`, timed as a whole process with its peak RSS; beside it, in
the same run, the naive loop (sklearn f1_score + roc_auc_score on resampled indices,
measured on a few resamples and scaled to 1,000) and the floor (reading the same files with
pyarrow plus sklearn's point metrics once), timed both inside this process (imports of
numpy and pyarrow already paid) and as a whole process like `heldout run`.

Part 2 — 20,000 hypothesis/reference pairs for two models: BLEU, chrF and ROUGE-L with
intervals and paired tests through `heldout run`, against the point estimates alone
(sacrebleu corpus BLEU and chrF, rouge-score ROUGE-L, both models, one process).

Usage: python benchmarks/bench_scoring.py [--rows 1000000] [--texts 20000] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
HELDOUT = [sys.executable, "-m", "heldout.cli"]


def make_classification(root: Path, n: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(np.int64)
    latent = rng.normal(size=n)
    ids = pa.array([f"ex{i:07d}" for i in range(n)])
    labels = np.array(["neg", "pos"])
    pq.write_table(pa.table({"id": ids, "label": labels[y]}), root / "data.parquet")
    for name, skill in (("base", 1.6), ("tuned", 1.9)):
        score = skill * (2 * y - 1) + latent * 0.6 + rng.normal(size=n)
        p_pos = np.round(1 / (1 + np.exp(-score)), 4)
        pred = labels[(p_pos >= 0.5).astype(int)]
        pq.write_table(
            pa.table({"id": ids, "prediction": pred, "p_neg": 1 - p_pos, "p_pos": p_pos}),
            root / f"{name}.parquet",
        )
    spec = root / "eval.yaml"
    spec.write_text(
        "name: bench-classification\n"
        "models:\n"
        "  base:  {backend: predictions, path: base.parquet, probabilities: {neg: p_neg, pos: p_pos}}\n"
        "  tuned: {backend: predictions, path: tuned.parquet, probabilities: {neg: p_neg, pos: p_pos}}\n"
        "compare: {candidate: tuned, baseline: base}\n"
        "stats: {resamples: 1000, seed: 0}\n"
        "dataset: {path: data.parquet, id: id, target: label}\n"
        "task: {type: classification, labels: [neg, pos], positive_label: pos}\n"
        "metrics: [accuracy, balanced_accuracy, precision, recall, f1, macro_f1, mcc, roc_auc, pr_auc, log_loss, brier]\n",
        encoding="utf-8",
    )
    return spec


_WORDS = [
    "the",
    "order",
    "arrived",
    "late",
    "and",
    "the",
    "box",
    "was",
    "damaged",
    "please",
    "send",
    "a",
    "refund",
    "or",
    "a",
    "replacement",
    "we",
    "are",
    "sorry",
    "for",
    "the",
    "trouble",
    "your",
    "account",
    "has",
    "been",
    "updated",
    "thanks",
    "for",
    "waiting",
    "our",
    "team",
    "will",
    "check",
    "the",
    "invoice",
    "today",
    "you",
    "can",
    "reset",
    "the",
    "password",
    "from",
    "the",
    "settings",
    "page",
]


def make_generation(root: Path, n: int, seed: int = 0) -> Path:
    rng = random.Random(seed)
    refs, outs = [], {"base": [], "tuned": []}
    for _ in range(n):
        ref = [rng.choice(_WORDS) for _ in range(rng.randint(8, 30))]
        refs.append(" ".join(ref))
        for name, keep in (("base", 0.6), ("tuned", 0.7)):
            hyp = [w if rng.random() < keep else rng.choice(_WORDS) for w in ref]
            outs[name].append(" ".join(hyp))
    with (root / "texts.jsonl").open("w") as fh:
        for i, ref in enumerate(refs):
            fh.write(json.dumps({"id": i, "ref": ref}) + "\n")
    for name, hyps in outs.items():
        with (root / f"{name}.texts.jsonl").open("w") as fh:
            for i, hyp in enumerate(hyps):
                fh.write(json.dumps({"id": i, "prediction": hyp}) + "\n")
    spec = root / "texts.yaml"
    spec.write_text(
        "name: bench-generation\n"
        "models:\n"
        "  base:  {backend: predictions, path: base.texts.jsonl}\n"
        "  tuned: {backend: predictions, path: tuned.texts.jsonl}\n"
        "compare: {candidate: tuned, baseline: base}\n"
        "stats: {resamples: 1000, seed: 0}\n"
        "dataset: {path: texts.jsonl, id: id, target: ref}\n"
        "task: {type: generation}\n"
        "metrics: [bleu, chrf, rougeL]\n",
        encoding="utf-8",
    )
    return spec


def run_heldout(spec: Path, out: Path) -> tuple[float, float, dict[str, object]]:
    """Wall seconds and peak RSS (MiB) of `heldout run` as its own process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    subprocess.run(
        [
            *HELDOUT,
            "run",
            str(spec),
            "--no-report",
            "--json",
            str(out),
            "--store",
            f"sqlite:///{spec.parent / 'store.db'}",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "200"},
    )
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before) / 1024, json.loads(out.read_text())


def floor_classification(root: Path) -> float:
    from sklearn import metrics as skm

    t0 = time.perf_counter()
    y = (
        pq.read_table(root / "data.parquet").column("label").to_numpy(zero_copy_only=False) == "pos"
    ).astype(int)
    for name in ("base", "tuned"):
        t = pq.read_table(root / f"{name}.parquet")
        pred = (t.column("prediction").to_numpy(zero_copy_only=False) == "pos").astype(int)
        p = t.column("p_pos").to_numpy()
        skm.accuracy_score(y, pred)
        skm.balanced_accuracy_score(y, pred)
        skm.f1_score(y, pred)
        skm.matthews_corrcoef(y, pred)
        skm.roc_auc_score(y, p)
        skm.log_loss(y, p)
    return time.perf_counter() - t0


def floor_process(root: Path) -> float:
    """The floor as a whole process (interpreter start and imports included), like `heldout run`."""
    code = (
        f"import sys; sys.path.insert(0, {str(HERE)!r}); from pathlib import Path; "
        f"from bench_scoring import floor_classification; floor_classification(Path({str(root)!r}))"
    )
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - t0


def naive_per_resample(root: Path, resamples: int) -> float:
    """Seconds per resample of the naive loop (f1 + AUC on resampled rows), one model."""
    from sklearn.metrics import f1_score, roc_auc_score

    y = (
        pq.read_table(root / "data.parquet").column("label").to_numpy(zero_copy_only=False) == "pos"
    ).astype(int)
    t = pq.read_table(root / "base.parquet")
    pred = (t.column("prediction").to_numpy(zero_copy_only=False) == "pos").astype(int)
    p = t.column("p_pos").to_numpy()
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    for _ in range(resamples):
        idx = rng.integers(0, y.size, y.size)
        f1_score(y[idx], pred[idx])
        roc_auc_score(y[idx], p[idx])
    return (time.perf_counter() - t0) / resamples


def points_only_text(root: Path) -> float:
    import sacrebleu
    from rouge_score import rouge_scorer

    t0 = time.perf_counter()
    refs = [json.loads(line)["ref"] for line in (root / "texts.jsonl").open()]
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    for name in ("base", "tuned"):
        hyps = [json.loads(line)["prediction"] for line in (root / f"{name}.texts.jsonl").open()]
        sacrebleu.corpus_bleu(hyps, [refs])
        sacrebleu.corpus_chrf(hyps, [refs])
        float(
            np.mean(
                [scorer.score(r, h)["rougeL"].fmeasure for r, h in zip(refs, hyps, strict=True)]
            )
        )
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small-rows", type=int, default=100_000)
    parser.add_argument("--texts", type=int, default=20_000)
    parser.add_argument("--quick", action="store_true", help="a smoke run at small sizes")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.small_rows, args.texts = 20_000, 5_000, 500
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, n, naive_resamples in (("small", args.small_rows, 20), ("large", args.rows, 3)):
            root = Path(tmp) / label
            root.mkdir()
            spec = make_classification(root, n)
            wall, rss, doc = run_heldout(spec, root / "out.json")
            floor = floor_classification(root)
            floor_whole = floor_process(root)
            naive = (
                naive_per_resample(root, naive_resamples) * 1000 * 2
            )  # 1,000 resamples, two models
            results[f"classification_{label}"] = {
                "rows": n,
                "heldout_s": round(wall, 2),
                "heldout_peak_rss_mib": round(rss),
                "floor_in_process_s": round(floor, 2),
                "floor_whole_process_s": round(floor_whole, 2),
                "naive_loop_s_extrapolated": round(naive, 1),
                "naive_resamples_measured": naive_resamples,
                "speedup_vs_naive": round(naive / wall, 1),
                "ratio_to_floor_in_process": round(wall / floor, 2),
                "ratio_to_floor_whole_process": round(wall / floor_whole, 2),
                "macro_f1_tuned": doc["tasks"]["main"]["metrics"]["tuned"]["macro_f1"],  # type: ignore[index]
            }
            print(json.dumps({label: results[f"classification_{label}"]}, indent=2), flush=True)
        root = Path(tmp) / "text"
        root.mkdir()
        spec = make_generation(root, args.texts)
        points = points_only_text(root)
        wall, rss, doc = run_heldout(spec, root / "out.json")
        results["generation"] = {
            "pairs": args.texts,
            "points_only_s": round(points, 2),
            "heldout_s": round(wall, 2),
            "heldout_peak_rss_mib": round(rss),
            "ratio_to_points_only": round(wall / points, 2),
            "bleu_tuned": doc["tasks"]["main"]["metrics"]["tuned"]["bleu"],  # type: ignore[index]
        }
        print(json.dumps({"generation": results["generation"]}, indent=2), flush=True)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "bench_scoring.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {out / 'bench_scoring.json'}")


if __name__ == "__main__":
    main()
