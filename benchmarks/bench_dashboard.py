"""Dashboard benchmark: a run of 1,000,000 examples, its run page and examples pages.

Builds a binary classification eval of N examples (text inputs, a slice column, two models
with probabilities) as Parquet, evaluates it with ``heldout.evaluate`` into a fresh SQLite
store, then times the dashboard through FastAPI's TestClient: the run page (first visit,
which decodes the run, and again), the examples browser's first, middle and last pages,
filtered pages (slice and correctness, fixed by the candidate, a score range) and a
full-text search, first and second time each. Prints a table and the process's peak RSS.

Each "first" is the first request of a freshly created app (a cold server process that
has the store open); "again" is the median of three more requests to the same app.
``--store PATH`` keeps the built store at PATH and reuses it when it exists, so later
invocations skip the ~160 s build. ``--full-load`` also times the old first visit's cost,
decoding the whole run with ``Store.load_run``, for comparison.

Usage: python benchmarks/bench_dashboard.py [--rows 1000000] [--store PATH] [--full-load]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

_WORDS = np.array(
    [
        "the",
        "order",
        "arrived",
        "late",
        "and",
        "box",
        "was",
        "damaged",
        "please",
        "send",
        "refund",
        "replacement",
        "we",
        "are",
        "sorry",
        "for",
        "trouble",
        "your",
        "account",
        "has",
        "been",
        "updated",
        "thanks",
        "waiting",
        "our",
        "team",
        "will",
        "check",
        "invoice",
        "today",
        "you",
        "can",
        "reset",
        "password",
        "router",
        "modem",
        "plan",
        "upgrade",
        "cancel",
    ]
)


def make_eval(root: Path, n: int, seed: int = 0) -> Path:
    """A churn-like binary eval: ids, a sentence of text, a region, the label; two models."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(np.int64)
    words = _WORDS[rng.integers(0, _WORDS.size, size=(n, 8))]
    text = [" ".join(row) + f" #{i}" for i, row in enumerate(words)]
    ids = pa.array([f"ex{i:07d}" for i in range(n)])
    labels = np.array(["stay", "churn"])
    region = np.array(["north", "south", "east", "west"])[rng.integers(0, 4, n)]
    pq.write_table(
        pa.table({"id": ids, "text": text, "region": region, "label": labels[y]}),
        root / "data.parquet",
    )
    latent = rng.normal(size=n)
    for name, skill in (("base", 1.6), ("tuned", 1.9)):
        score = skill * (2 * y - 1) + latent * 0.6 + rng.normal(size=n)
        p = np.round(1 / (1 + np.exp(-score)), 4)
        pq.write_table(
            pa.table(
                {
                    "id": ids,
                    "prediction": labels[(p >= 0.5).astype(int)],
                    "p_stay": 1 - p,
                    "p_churn": p,
                }
            ),
            root / f"{name}.parquet",
        )
    spec = root / "eval.yaml"
    spec.write_text(
        "name: bench-dashboard\n"
        "models:\n"
        "  base:  {backend: predictions, path: base.parquet, probabilities: {stay: p_stay, churn: p_churn}}\n"
        "  tuned: {backend: predictions, path: tuned.parquet, probabilities: {stay: p_stay, churn: p_churn}}\n"
        "compare: {candidate: tuned, baseline: base}\n"
        "stats: {resamples: 200, seed: 0}\n"
        "dataset: {path: data.parquet, id: id, input: text, target: label, slices: [region]}\n"
        "task: {type: classification, labels: [stay, churn], positive_label: churn}\n",
        encoding="utf-8",
    )
    return spec


def _timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--store", type=Path, help="SQLite file to keep the run in and reuse")
    parser.add_argument(
        "--full-load", action="store_true", help="also time Store.load_run with its examples"
    )
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    import heldout
    from heldout.server import create_app
    from heldout.store import Store

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        path = args.store.resolve() if args.store else root / "store.db"
        url = f"sqlite:///{path}"
        if path.exists():
            print(f"reusing the store {path}", flush=True)
        else:
            start = time.perf_counter()
            spec = make_eval(root, args.rows)
            with Store.open(url) as store:
                heldout.evaluate(spec, store=store)
            built = time.perf_counter() - start
            print(f"built and stored a run of {args.rows:,} examples in {built:.1f} s", flush=True)
        with Store.open(url, create=False) as store:
            n = store.list_runs(limit=1)[0].tasks[0].n
            if args.full_load:
                full = _timed(lambda: store.load_run("latest"))
                print(f"Store.load_run with its examples (the old first visit): {full:.3f} s")
                summary = _timed(lambda: store.load_run("latest", examples=False))
                print(f"Store.load_run(examples=False): {summary:.3f} s", flush=True)

        pages = n // 50
        base = "/runs/latest"
        rows: list[tuple[str, str, float, float]] = []

        def measure(label: str, path: str, params: dict[str, object] | None = None) -> None:
            # A fresh app per request kind: its first request is a cold server's.
            with TestClient(create_app(url)) as client:

                def get() -> None:
                    answer = client.get(path, params=params)
                    if answer.status_code != 200:
                        sys.exit(f"{label}: HTTP {answer.status_code}: {answer.text[:300]}")

                first = _timed(get)
                again = statistics.median(_timed(get) for _ in range(3))
            rows.append((label, path + (f"?{params}" if params else ""), first, again))
            print(f"{label:<34} first {first:7.3f} s   again {again:7.3f} s", flush=True)

        measure("run page (first in the process)", base)
        measure("examples: first page", f"{base}/examples")
        measure("examples: middle page", f"{base}/examples", {"page": pages // 2})
        measure("examples: last page", f"{base}/examples", {"page": pages})
        measure(
            "examples: slice + wrong",
            f"{base}/examples",
            {"slice": "region=south", "wrong": "base"},
        )
        measure("examples: fixed, page 100", f"{base}/examples", {"change": "fixed", "page": 100})
        measure(
            "examples: score range",
            f"{base}/examples",
            {"score": "confidence:tuned", "low": 0.5, "high": 0.6},
        )
        measure("examples: search", f"{base}/examples", {"q": "refund router"})
        measure(
            "examples: search + slice, last",
            f"{base}/examples",
            {"q": "MODEM", "slice": "region=east", "page": 10_000},
        )
        measure(
            "api: examples page 200 rows",
            f"/api{base}/examples",
            {"page": pages // 4, "per_page": 200},
        )
        measure("api: thresholds", f"/api{base}/thresholds")
        # Plotly's figure classes load on first use; a second fresh app no longer pays it.
        measure("run page, fresh app (imports warm)", base)

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print()
        print(f"| request ({n:,} examples) | first (s) | again, median of 3 (s) |")
        print("|---|---:|---:|")
        for label, _, first, again in rows:
            print(f"| {label} | {first:.3f} | {again:.3f} |")
        print(f"\npeak RSS of the process (building the run included): {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
