"""The demo project, written once per test session and read back as plain rows."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from heldout.demo import write_demo_project

Row = dict[str, Any]


def read_jsonl(path: Path) -> list[Row]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


@dataclass(frozen=True)
class Demo:
    """A written demo project: its eval.yaml and every file it points to, parsed."""

    root: Path
    spec: Path
    tickets: list[Row]
    replies: list[Row]
    routing: dict[str, list[Row]]
    drafts: dict[str, list[Row]]


def load_demo(spec: Path) -> Demo:
    root = spec.parent
    return Demo(
        root=root,
        spec=spec,
        tickets=read_jsonl(root / "data" / "tickets.jsonl"),
        replies=read_jsonl(root / "data" / "replies.jsonl"),
        routing={
            m: read_jsonl(root / "predictions" / f"{m}.routing.jsonl") for m in ("base", "tuned")
        },
        drafts={
            m: read_jsonl(root / "predictions" / f"{m}.replies.jsonl") for m in ("base", "tuned")
        },
    )


@pytest.fixture(scope="session")
def demo_at(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int], Demo]:
    """The demo project written with a given seed; each seed is written once per session."""
    written: dict[int, Demo] = {}

    def load(seed: int) -> Demo:
        if seed not in written:
            folder = tmp_path_factory.mktemp(f"demo-seed-{seed}") / "project"
            written[seed] = load_demo(write_demo_project(folder, seed=seed))
        return written[seed]

    return load


@pytest.fixture(scope="session")
def demo(demo_at: Callable[[int], Demo]) -> Demo:
    """The demo project as ``heldout quickstart`` writes it (the default seed)."""
    return demo_at(7)
