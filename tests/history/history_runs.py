"""Real runs for the history tests: eval projects of prediction files, evaluated into one
SQLite store, differing in exactly the ways the tests need."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

import heldout
from heldout.run import Run

LABELS = ("billing", "bug", "other")
N = 150


def _write_jsonl(path: Path, rows: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def right_mask(p: float, seed: int, n: int = N) -> NDArray[np.bool_]:
    return np.random.default_rng(seed).random(n) < p


def _predictions(
    ids: list[str], targets: list[str], right: NDArray[np.bool_], seed: int
) -> list[dict[str, object]]:
    rng = np.random.default_rng(seed)
    out: list[dict[str, object]] = []
    for i, (example_id, target) in enumerate(zip(ids, targets, strict=True)):
        pred = target if right[i] else LABELS[(LABELS.index(target) + 1) % 3]
        top = float(np.round(rng.uniform(0.5, 0.9), 4))
        rest = [x for x in LABELS if x != pred]
        probs = {pred: top, rest[0]: round((1 - top) / 2, 4), rest[1]: round((1 - top) / 2, 4)}
        out.append({"id": example_id, "prediction": pred, "probabilities": probs})
    return out


def write_project(
    root: Path,
    *,
    base_right: NDArray[np.bool_],
    tuned_right: NDArray[np.bool_],
    ids: list[str] | None = None,
    name: str = "router",
    gates: str = "",
    cluster: bool = False,
) -> Path:
    """An eval.yaml with models base and tuned (candidate) over ``len(ids)`` tickets."""
    n = len(base_right)
    ids = ids if ids is not None else [f"T{i:04d}" for i in range(n)]
    targets = [LABELS[int(x[1:]) % 3] for x in ids]
    root.mkdir(parents=True, exist_ok=True)
    _write_jsonl(
        root / "data.jsonl",
        [
            {"ticket_id": x, "text": f"ticket {x} about {t}", "label": t, "customer": f"C{k // 3}"}
            for k, (x, t) in enumerate(zip(ids, targets, strict=True))
        ],
    )
    _write_jsonl(root / "base.jsonl", _predictions(ids, targets, base_right, 11))
    _write_jsonl(root / "tuned.jsonl", _predictions(ids, targets, tuned_right, 12))
    spec = root / "eval.yaml"
    spec.write_text(
        f"name: {name}\n"
        "models:\n"
        "  base: {backend: predictions, path: base.jsonl}\n"
        "  tuned: {backend: predictions, path: tuned.jsonl}\n"
        "compare: {candidate: tuned, baseline: base}\n"
        "stats: {resamples: 200, seed: 1}\n"
        "dataset:\n"
        "  path: data.jsonl\n"
        "  id: ticket_id\n"
        "  input: text\n"
        "  target: label\n" + ("  cluster: customer\n" if cluster else "") + "task:\n"
        "  type: classification\n"
        f"  labels: [{', '.join(LABELS)}]\n"
        "metrics: [accuracy, macro_f1, roc_auc, log_loss]\n" + gates,
        encoding="utf-8",
    )
    return spec


@dataclass
class Runs:
    """The store and its runs.

    ``old``: tuned right 85% of the time, base 60%. ``worse``: the same tickets, tuned
    no better than base (a clear regression). ``slight``: old's tuned with four more
    mistakes (a drop too small to be significant). ``partial``: 120 of old's tickets (tuned fixed ten
    and broke three) plus 21 new ones. ``elsewhere``: tickets with other ids. ``clustered``: old with clusters.
    """

    url: str
    root: Path
    old: Run
    worse: Run
    slight: Run
    partial: Run
    elsewhere: Run
    clustered: Run


def _changed(right: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Ten mistakes fixed and three right answers broken."""
    out = right.copy()
    out[np.flatnonzero(~right)[:10]] = True
    out[np.flatnonzero(right)[:3]] = False
    return out


def build_runs(root: Path) -> Runs:
    url = f"sqlite:///{root / 'store.db'}"
    base = right_mask(0.6, 1)
    tuned = right_mask(0.85, 2)

    def run(folder: str, **kwargs: object) -> Run:
        spec = write_project(root / folder, **kwargs)  # type: ignore[arg-type]
        return heldout.evaluate(spec, store=url)

    old = run("old", base_right=base, tuned_right=tuned)
    worse = run("worse", base_right=base, tuned_right=right_mask(0.6, 3))
    slight_right = tuned.copy()
    slight_right[np.flatnonzero(tuned)[:4]] = False
    slight = run("slight", base_right=base, tuned_right=slight_right)
    partial_ids = [f"T{i:04d}" for i in range(30, N)] + [f"T{i:04d}" for i in range(N, N + 21)]
    partial = run(
        "partial",
        base_right=np.ones(len(partial_ids), dtype=bool),
        tuned_right=np.concatenate([_changed(tuned[30:]), np.ones(21, dtype=bool)]),
        ids=partial_ids,
    )
    elsewhere_ids = [f"X{i:04d}" for i in range(N)]
    elsewhere = run("elsewhere", base_right=base, tuned_right=right_mask(0.7, 4), ids=elsewhere_ids)
    clustered = run("clustered", base_right=base, tuned_right=tuned, cluster=True)
    return Runs(url, root, old, worse, slight, partial, elsewhere, clustered)
