"""Leakage benchmark: heldout's streamed leakage check against exact 13-gram Python sets.

Data (seeded, reproducible): a vocabulary of 50,000 made-up words drawn with Zipf
frequencies (s = 1); documents of 80-120 words. The training side is generated chunk by
chunk (``--chunk`` documents) and never held whole; 2% of the eval documents are planted
near-duplicates of training documents: a copy with 1 to 3% of its words (1-3 words)
replaced by other words.

Three parts, each in its own process so that its peak RSS (``ru_maxrss``) is its own:

``heldout``
    :class:`heldout.data._leakage_stream.LeakageIndex` on ``--train`` × ``--eval``
    documents: exact matches, 13-gram overlap and MinHash LSH near-duplicates (3-word
    shingles, candidates verified by exact Jaccard ≥ ``--near``). Recall is over the
    planted (eval, train) pairs, precision over every (eval, train) pair reported.
``heldout-small``
    the same at the size of the sets part, for times side by side.
``sets``
    exact 13-gram matching the GPT-3 way with a Python ``set`` of the training side's
    13-gram strings (``--sets-train`` × ``--sets-eval``): an eval document is flagged
    when one of its 13-grams is in the set. Recall and precision are per eval document.

Usage: python benchmarks/bench_leakage.py [--train 1000000] [--eval 50000]
       [--sets-train 100000] [--sets-eval 5000] [--near 0.8] [--json PATH]
Exits 1 when recall < 0.95, precision < 0.99 or peak memory ≥ 4 GB.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

VOCAB = 50_000
MIN_WORDS, MAX_WORDS = 80, 120
PLANTED = 0.02
NGRAM = 13
GB = 1 << 30


def vocabulary(seed: int) -> tuple[NDArray[np.object_], NDArray[np.float64]]:
    """Made-up words (3-10 letters) and the cumulative Zipf frequencies to draw them by."""
    rng = np.random.default_rng([seed, 0])
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    words: set[str] = set()
    while len(words) < VOCAB:
        n = int(rng.integers(3, 11))
        words.add("".join(rng.choice(letters, size=n)))
    vocab = np.array(sorted(words), dtype=object)
    rng.shuffle(vocab)
    freq = 1.0 / np.arange(1, VOCAB + 1)
    return vocab, np.cumsum(freq / freq.sum())


@dataclass(frozen=True)
class Corpus:
    """The benchmark's documents, as token ids, generated on demand."""

    seed: int
    train: int
    eval: int
    chunk: int
    cdf: NDArray[np.float64]

    def _tokens(
        self, rng: np.random.Generator, n: int
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        draws = np.searchsorted(self.cdf, rng.random((n, MAX_WORDS)))
        lengths = rng.integers(MIN_WORDS, MAX_WORDS + 1, size=n)
        return np.minimum(draws, VOCAB - 1).astype(np.int64), lengths

    def train_chunk(self, c: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Token ids and lengths of training documents ``[c * chunk, (c + 1) * chunk)``."""
        n = min(self.chunk, self.train - c * self.chunk)
        return self._tokens(np.random.default_rng([self.seed, 1, c]), n)

    def planted(self) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Planted pairs: eval positions and the training documents they copy."""
        rng = np.random.default_rng([self.seed, 2])
        k = max(1, round(PLANTED * self.eval))
        evals = np.sort(rng.choice(self.eval, size=k, replace=False))
        trains = rng.choice(self.train, size=k, replace=False)
        return evals, trains

    def eval_docs(self) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        tokens, lengths = self._tokens(np.random.default_rng([self.seed, 3]), self.eval)
        evals, trains = self.planted()
        rng = np.random.default_rng([self.seed, 4])
        by_chunk: dict[int, list[tuple[int, int]]] = {}
        for e, t in zip(evals.tolist(), trains.tolist(), strict=True):
            by_chunk.setdefault(t // self.chunk, []).append((e, t % self.chunk))
        for c, pairs in sorted(by_chunk.items()):
            train_tokens, train_lengths = self.train_chunk(c)
            for e, row in pairs:
                doc = train_tokens[row].copy()
                n = int(train_lengths[row])
                edits = int(rng.integers(1, max(1, int(0.03 * n)) + 1))
                where = rng.choice(n, size=edits, replace=False)
                doc[where] = (doc[where] + rng.integers(1, VOCAB, size=edits)) % VOCAB
                tokens[e], lengths[e] = doc, n
        return tokens, lengths


def texts(
    vocab: NDArray[np.object_], tokens: NDArray[np.int64], lengths: NDArray[np.int64]
) -> list[str]:
    words = vocab[tokens]
    return [" ".join(row[:n]) for row, n in zip(words.tolist(), lengths.tolist(), strict=True)]


def ids(prefix: str, start: int, n: int) -> NDArray[np.object_]:
    return np.array([f"{prefix}{i}" for i in range(start, start + n)], dtype=object)


def peak_rss() -> int:
    """Peak resident memory of this process, bytes."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def part_heldout(corpus: Corpus, vocab: NDArray[np.object_], near: float) -> dict[str, Any]:
    from heldout.data._leakage_stream import LeakageIndex

    tokens, lengths = corpus.eval_docs()
    eval_texts = texts(vocab, tokens, lengths)
    eval_ids = ids("e", 0, corpus.eval)
    start = time.perf_counter()
    index = LeakageIndex(eval_ids, eval_texts, ngram=NGRAM, near=near, seed=0)
    built = time.perf_counter() - start
    del eval_texts
    scanning = 0.0
    generating = 0.0
    chunks = -(-corpus.train // corpus.chunk)
    for c in range(chunks):
        t0 = time.perf_counter()
        train_tokens, train_lengths = corpus.train_chunk(c)
        chunk_texts = texts(vocab, train_tokens, train_lengths)
        chunk_ids = ids("t", c * corpus.chunk, len(chunk_texts))
        t1 = time.perf_counter()
        index.add(chunk_ids, chunk_texts)
        t2 = time.perf_counter()
        generating += t1 - t0
        scanning += t2 - t1
    t0 = time.perf_counter()
    report = index.report()
    reporting = time.perf_counter() - t0
    evals, trains = corpus.planted()
    truth = {(f"e{e}", f"t{t}") for e, t in zip(evals.tolist(), trains.tolist(), strict=True)}

    def pairs(part: Any) -> set[tuple[str, str]]:
        return {(e.id, t) for e in part for t in e.train_ids}

    found = pairs(report.exact) | pairs(report.ngram_overlap) | pairs(report.near)
    near_pairs = pairs(report.near)
    near_jaccard = [e.overlap for e in report.near]
    return {
        "part": "heldout",
        "train": corpus.train,
        "eval": corpus.eval,
        "planted": len(truth),
        "index_s": round(built, 2),
        "scan_s": round(scanning, 2),
        "report_s": round(reporting, 2),
        "total_s": round(built + scanning + reporting, 2),
        "generate_s": round(generating, 2),
        "train_docs_per_s": round(corpus.train / scanning),
        "recall": len(found & truth) / len(truth),
        "precision": len(found & truth) / max(1, len(found)),
        "reported_pairs": len(found),
        "recall_ngram": len(pairs(report.ngram_overlap) & truth) / len(truth),
        "recall_near": len(near_pairs & truth) / len(truth),
        "precision_near": len(near_pairs & truth) / max(1, len(near_pairs)),
        "near_threshold": near,
        "near_jaccard_min": round(min(near_jaccard), 3) if near_jaccard else None,
        "peak_rss_gb": round(peak_rss() / GB, 2),
    }


def part_sets(corpus: Corpus, vocab: NDArray[np.object_]) -> dict[str, Any]:
    tokens, lengths = corpus.eval_docs()
    eval_words = [row[:n] for row, n in zip(vocab[tokens].tolist(), lengths.tolist(), strict=True)]
    build = 0.0
    grams: set[str] = set()
    for c in range(-(-corpus.train // corpus.chunk)):
        train_tokens, train_lengths = corpus.train_chunk(c)
        words = vocab[train_tokens].tolist()
        t0 = time.perf_counter()
        for row, n in zip(words, train_lengths.tolist(), strict=True):
            for i in range(n - NGRAM + 1):
                grams.add(" ".join(row[i : i + NGRAM]))
        build += time.perf_counter() - t0
    t0 = time.perf_counter()
    flagged = {
        e
        for e, row in enumerate(eval_words)
        if any(" ".join(row[i : i + NGRAM]) in grams for i in range(len(row) - NGRAM + 1))
    }
    lookup = time.perf_counter() - t0
    planted = set(corpus.planted()[0].tolist())
    return {
        "part": "sets",
        "train": corpus.train,
        "eval": corpus.eval,
        "planted": len(planted),
        "index_s": round(build, 2),
        "scan_s": round(lookup, 2),
        "total_s": round(build + lookup, 2),
        "train_grams": len(grams),
        "recall": len(flagged & planted) / len(planted),
        "precision": len(flagged & planted) / max(1, len(flagged)),
        "peak_rss_gb": round(peak_rss() / GB, 2),
    }


def _child(args: argparse.Namespace) -> None:
    vocab, cdf = vocabulary(args.seed)
    if args.part == "sets":
        corpus = Corpus(args.seed, args.sets_train, args.sets_eval, args.chunk, cdf)
        result = part_sets(corpus, vocab)
    else:
        small = args.part == "heldout-small"
        train = args.sets_train if small else args.train
        n_eval = args.sets_eval if small else args.eval
        result = part_heldout(Corpus(args.seed, train, n_eval, args.chunk, cdf), vocab, args.near)
        result["part"] = args.part
    print(json.dumps(result))


def _run_parts(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    for part in args.parts.split(","):
        cmd = [sys.executable, __file__, "--child", part, *sys.argv[1:]]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            sys.stderr.write(out.stderr)
            raise SystemExit(f"part {part} failed (exit {out.returncode})")
        yield json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", type=int, default=1_000_000)
    parser.add_argument("--eval", type=int, default=50_000)
    parser.add_argument("--sets-train", type=int, default=100_000)
    parser.add_argument("--sets-eval", type=int, default=5_000)
    parser.add_argument("--chunk", type=int, default=20_000)
    parser.add_argument("--near", type=float, default=0.8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--parts", default="heldout,heldout-small,sets")
    parser.add_argument("--json", default=None)
    parser.add_argument("--child", dest="part", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part is not None:
        _child(args)
        return
    print(f"# {platform.processor() or platform.machine()}, python {platform.python_version()}")
    results = []
    failed = []
    for r in _run_parts(args):
        results.append(r)
        print(
            f"{r['part']:>13}: {r['train']:>9,} train × {r['eval']:>6,} eval  "
            f"index {r['index_s']:>7.1f} s  scan {r['scan_s']:>7.1f} s  total {r['total_s']:>7.1f} s  "
            f"peak {r['peak_rss_gb']:.2f} GB  recall {r['recall']:.4f}  precision {r['precision']:.4f}"
        )
        if r["part"].startswith("heldout"):
            print(
                f"{'':>15}n-gram recall {r['recall_ngram']:.4f}; MinHash (Jaccard ≥ "
                f"{r['near_threshold']}) recall {r['recall_near']:.4f}, precision "
                f"{r['precision_near']:.4f}; {r['train_docs_per_s']:,} training docs/s"
            )
            if r["recall"] < 0.95 or r["precision"] < 0.99 or r["peak_rss_gb"] >= 4.0:
                failed.append(r["part"])
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"args": vars(args), "results": results}, fh, indent=2)
    if failed:
        raise SystemExit(f"below the bar: {', '.join(failed)}")


if __name__ == "__main__":
    main()
