"""The demo project's files: layout, schema, the eval.yaml contract, determinism and speed."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
import yaml

import heldout.demo
from heldout.demo import write_demo_project

from .conftest import Demo

LABELS = [
    "billing",
    "bug_report",
    "feature_request",
    "account_access",
    "cancellation",
    "shipping",
    "how_to",
]
TICKET_FIELDS = [
    "ticket_id",
    "text",
    "intent",
    "language",
    "tier",
    "channel",
    "customer_id",
    "created_at",
]


def test_public_surface_is_one_function() -> None:
    assert heldout.demo.__all__ == ["write_demo_project"]


def test_returns_the_eval_yaml_and_writes_every_file(demo: Demo) -> None:
    assert demo.spec.name == "eval.yaml" and demo.spec.is_file()
    written = sorted(str(p.relative_to(demo.root)) for p in demo.root.rglob("*") if p.is_file())
    assert written == [
        "data/replies.jsonl",
        "data/tickets.jsonl",
        "eval.yaml",
        "predictions/base.replies.jsonl",
        "predictions/base.routing.jsonl",
        "predictions/tuned.replies.jsonl",
        "predictions/tuned.routing.jsonl",
    ]


def test_eval_yaml_parses_with_the_agreed_keys(demo: Demo) -> None:
    spec = yaml.safe_load(demo.spec.read_text(encoding="utf-8"))
    assert list(spec) == ["name", "description", "models", "compare", "stats", "tasks"]
    assert spec["name"] == "support-assistant"
    assert spec["models"] == {
        "base": {"backend": "predictions", "path": "predictions/base.{task}.jsonl"},
        "tuned": {"backend": "predictions", "path": "predictions/tuned.{task}.jsonl"},
    }
    assert spec["compare"] == {"candidate": "tuned", "baseline": "base"}
    assert spec["stats"] == {"confidence": 0.95, "resamples": 1000, "seed": 0}
    routing, replies = spec["tasks"]
    assert routing == {
        "name": "routing",
        "type": "classification",
        "dataset": {
            "path": "data/tickets.jsonl",
            "id": "ticket_id",
            "input": "text",
            "target": "intent",
            "slices": ["language", "tier", "channel"],
            "cluster": "customer_id",
        },
        "labels": LABELS,
        "headline": "macro_f1",
    }
    assert replies == {
        "name": "replies",
        "type": "generation",
        "dataset": {
            "path": "data/replies.jsonl",
            "id": "reply_id",
            "input": "ticket",
            "target": "references",
            "slices": ["language"],
        },
        "headline": "chrf",
    }
    for task in spec["tasks"]:
        assert (demo.root / task["dataset"]["path"]).is_file()
        for model in spec["models"].values():
            assert (demo.root / model["path"].format(task=task["name"])).is_file()


def test_tickets_have_the_schema_and_realistic_shape(demo: Demo) -> None:
    tickets = demo.tickets
    assert 1900 <= len(tickets) <= 2100
    assert all(list(t) == TICKET_FIELDS for t in tickets)
    ids = [t["ticket_id"] for t in tickets]
    assert len(set(ids)) == len(ids) and ids[0] == "T-00001"
    intents = Counter(t["intent"] for t in tickets)
    assert set(intents) == set(LABELS)
    assert 2.5 <= max(intents.values()) / min(intents.values()) <= 4.5
    languages = Counter(t["language"] for t in tickets)
    assert set(languages) == {"en", "de", "es", "fr"}
    assert languages["en"] > len(tickets) / 2 and languages["de"] >= 200
    assert min(languages["es"], languages["fr"]) >= 150
    assert {t["tier"] for t in tickets} == {"free", "pro", "enterprise"}
    assert {t["channel"] for t in tickets} == {"email", "chat", "web_form"}
    per_customer = Counter(Counter(t["customer_id"] for t in tickets).values())
    assert set(per_customer) == {1, 2, 3}
    times = [datetime.fromisoformat(t["created_at"].replace("Z", "+00:00")) for t in tickets]
    assert times == sorted(times) and (times[-1] - times[0]).days >= 60
    lengths = [len(t["text"]) for t in tickets]
    assert sum(n < 30 for n in lengths) >= 100 and sum(n > 200 for n in lengths) >= 150
    assert not any("{" in t["text"] or "}" in t["text"] for t in tickets)


def test_reply_examples_have_one_or_two_references(demo: Demo) -> None:
    replies = demo.replies
    assert len(replies) == 300
    assert all(
        list(r) == ["reply_id", "ticket", "references", "language", "intent"] for r in replies
    )
    assert len({r["reply_id"] for r in replies}) == len(replies)
    assert Counter(len(r["references"]) for r in replies).keys() == {1, 2}
    assert all(len(set(r["references"])) == len(r["references"]) for r in replies)
    assert {r["language"] for r in replies} == {"en", "de", "es", "fr"}
    assert {r["intent"] for r in replies} <= set(LABELS)
    texts = [r["ticket"] for r in replies] + [ref for r in replies for ref in r["references"]]
    assert all(text and "{" not in text and "}" not in text for text in texts)


@pytest.mark.parametrize("model", ["base", "tuned"])
def test_routing_predictions_are_well_formed_distributions(demo: Demo, model: str) -> None:
    rows = demo.routing[model]
    ids = [r["id"] for r in rows]
    assert len(set(ids)) == len(ids) == len(demo.tickets)
    assert set(ids) == {t["ticket_id"] for t in demo.tickets}
    for row in rows:
        probabilities = row["probabilities"]
        assert list(probabilities) == LABELS
        assert row["prediction"] in LABELS
        assert all(0.0 < p <= 1.0 and round(p, 4) == p for p in probabilities.values())
        assert abs(sum(probabilities.values()) - 1.0) < 1e-9
        top = max(probabilities.values())
        assert probabilities[row["prediction"]] == top
        assert sum(p == top for p in probabilities.values()) == 1  # the argmax is unambiguous


@pytest.mark.parametrize("model", ["base", "tuned"])
def test_reply_drafts_cover_every_example_once(demo: Demo, model: str) -> None:
    rows = demo.drafts[model]
    assert [r["id"] for r in rows] == [r["reply_id"] for r in demo.replies]
    assert all(list(r) == ["id", "prediction"] and r["prediction"].strip() for r in rows)


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_same_seed_writes_the_same_bytes_in_a_fresh_process(demo: Demo, tmp_path: Path) -> None:
    # Another interpreter with another hash seed: set and dict orders must not leak into files.
    script = "import sys; from pathlib import Path; from heldout.demo import write_demo_project; write_demo_project(Path(sys.argv[1]))"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "again")], check=True, env=env)
    assert _files(tmp_path / "again") == _files(demo.root)


def test_another_seed_writes_another_project(demo: Demo, demo_at: Callable[[int], Demo]) -> None:
    other = demo_at(1)
    assert other.tickets != demo.tickets and other.replies != demo.replies
    assert other.routing != demo.routing and other.drafts != demo.drafts
    assert other.spec.read_bytes() == demo.spec.read_bytes()


def test_writes_into_an_existing_folder_and_overwrites_its_files(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "tickets.jsonl").write_text("stale\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("mine\n", encoding="utf-8")
    write_demo_project(tmp_path)
    assert (
        (tmp_path / "data" / "tickets.jsonl").read_text(encoding="utf-8").startswith('{"ticket_id"')
    )
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine\n"
