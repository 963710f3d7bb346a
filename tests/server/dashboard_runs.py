"""Real runs for the dashboard tests: evaluated from files by heldout, saved in a store."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

import heldout
from heldout.run import Run
from heldout.store import Store
from tests.conftest import build_project

HOSTILE = "<script>alert('owned')</script>"
HOSTILE_NOTE = "<img src=x onerror=alert(1)> ship it"


@dataclass(frozen=True)
class Runs:
    """The store and the runs in it."""

    url: str
    binary: Run
    binary_again: Run
    routing: Run
    drafts: Run


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def binary_spec(root: Path, *, n: int = 600, seed: int = 5) -> Path:
    """A churn classifier with probabilities: the base calibrated, the tuned sharper."""
    rng = np.random.default_rng(seed)
    region = rng.choice(["north", "south", "east"], size=n)
    q = rng.uniform(0.05, 0.95, size=n)
    y = (rng.uniform(size=n) < q).astype(int)
    logit = np.log(q / (1 - q))
    rows: list[dict[str, Any]] = []
    base: list[dict[str, Any]] = []
    tuned: list[dict[str, Any]] = []
    for i in range(n):
        p_base = float(np.round(q[i], 4))
        p_tuned = float(np.round(1 / (1 + np.exp(-(2.5 * logit[i] + 0.2))), 4))
        text = HOSTILE if i == 3 else f"customer {i} wrote about their {region[i]} plan"
        rows.append(
            {
                "id": f"c{i:04d}",
                "text": text,
                "region": str(region[i]),
                "label": ["no", "yes"][y[i]],
            }
        )
        for out, p in ((base, p_base), (tuned, p_tuned)):
            out.append(
                {
                    "id": f"c{i:04d}",
                    "prediction": "yes" if p >= 0.5 else "no",
                    "probabilities": {"no": round(1 - p, 4), "yes": p},
                }
            )
    _write(root / "eval.jsonl", rows)
    _write(root / "base.jsonl", base)
    _write(root / "tuned.jsonl", tuned)
    spec = {
        "name": "churn",
        "models": {
            "base": {"backend": "predictions", "path": "base.jsonl"},
            "tuned": {"backend": "predictions", "path": "tuned.jsonl"},
        },
        "compare": {"candidate": "tuned", "baseline": "base"},
        "dataset": {
            "path": "eval.jsonl",
            "id": "id",
            "input": "text",
            "target": "label",
            "slices": ["region"],
        },
        "task": {"type": "classification", "positive_label": "yes"},
        "stats": {"resamples": 200, "seed": 0},
    }
    path = root / "eval.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def drafts_spec(root: Path) -> Path:
    """A small generation task whose outputs hold markup that must be shown, not run."""
    n = 40
    rows: list[dict[str, Any]] = []
    base: list[dict[str, Any]] = []
    tuned: list[dict[str, Any]] = []
    for i in range(n):
        answer = f"reset the router then wait {i % 5} minutes"
        rows.append({"id": f"d{i:03d}", "prompt": f"how do I fix issue {i}?", "answer": answer})
        base.append(
            {"id": f"d{i:03d}", "prediction": f"restart the router and wait {i % 3} minutes"}
        )
        said = (
            HOSTILE
            if i == 0
            else (answer if i % 2 else f"reset the modem then wait {i % 5} minutes")
        )
        tuned.append({"id": f"d{i:03d}", "prediction": said})
    _write(root / "drafts.jsonl", rows)
    _write(root / "drafts.base.jsonl", base)
    _write(root / "drafts.tuned.jsonl", tuned)
    spec = {
        "name": "drafts",
        "models": {
            "base": {"backend": "predictions", "path": "drafts.base.jsonl"},
            "tuned": {"backend": "predictions", "path": "drafts.tuned.jsonl"},
        },
        "compare": {"candidate": "tuned", "baseline": "base"},
        "dataset": {"path": "drafts.jsonl", "id": "id", "input": "prompt", "target": "answer"},
        "task": {"type": "generation"},
        "stats": {"resamples": 200, "seed": 0},
    }
    path = root / "drafts.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def build_runs(root: Path) -> Runs:
    """Evaluate the churn spec twice, a three-class router and the drafts; notes on two."""
    root.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{root / 'store.db'}"
    with Store.open(url) as store:
        binary = heldout.evaluate(binary_spec(root), store=store)
        binary_again = heldout.evaluate(root / "eval.yaml", store=store)
        routing = heldout.evaluate(build_project(root / "routing").spec, store=store)
        drafts = heldout.evaluate(drafts_spec(root), store=store)
        store.add_note(binary.id, HOSTILE_NOTE, author="mara")
        store.add_note(binary_again.id, "kept the threshold at 0.5")
    return Runs(url=url, binary=binary, binary_again=binary_again, routing=routing, drafts=drafts)
