"""Files the run tests write: JSON Lines eval sets and predictions, and their words."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

#: Words eval texts are drawn from, so that texts differ but share a vocabulary.
WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write ``rows`` to ``path``, one JSON object a line."""
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def write_pair_spec(folder: Path, *, name: str, task: dict[str, Any], **extra: Any) -> Path:
    """``eval.yaml`` comparing ``tuned.jsonl`` with ``base.jsonl`` predictions on
    ``eval.jsonl`` (columns ``id``, ``text``, ``label``), 300 resamples, store ``runs.db``."""
    spec = {
        **extra,
        "name": name,
        "models": {
            "base": {"backend": "predictions", "path": "base.jsonl"},
            "tuned": {"backend": "predictions", "path": "tuned.jsonl"},
        },
        "dataset": {"path": "eval.jsonl", "id": "id", "input": "text", "target": "label"},
        "task": task,
        "stats": {"resamples": 300},
        "store": "runs.db",
    }
    (folder / "eval.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return folder / "eval.yaml"
