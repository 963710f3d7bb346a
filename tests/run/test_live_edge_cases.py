"""Live models at the edges: defaults, failures of the journal, unreachable servers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import heldout
from heldout import ModelError, StoreError
from heldout.store import Journal
from tests.models.openai_server import OpenAIServer


def _write_project(folder: Path, base_url: str, **task: Any) -> Path:
    rows = [
        {"id": f"r{i}", "input": f"ticket {i} about a refund", "target": "billing"}
        for i in range(40)
    ]
    rows += [
        {"id": f"o{i}", "input": f"ticket {i} about a parcel", "target": "other"} for i in range(40)
    ]
    (folder / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    spec = {
        "name": "edges",
        "models": {"m": {"backend": "openai", "model": "m", "base_url": base_url}},
        "dataset": {"path": "data.jsonl", "id": "id"},  # input: left at its default
        "task": {"type": "classification", **task},
        "store": "runs.db",
    }
    path = folder / "eval.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _answer(prompt: str) -> str:
    return "billing" if "refund" in prompt else "other"


def test_the_default_input_column_reaches_the_prompt(tmp_path: Path) -> None:
    with OpenAIServer(answer=_answer) as server:
        run = heldout.evaluate(_write_project(tmp_path, server.base_url))
        contents = {r.body["messages"][-1]["content"] for r in server.received}
    assert "ticket 3 about a refund" in contents
    assert run.metrics["m"]["accuracy"].value == 1.0


def test_a_journal_that_cannot_be_written_stops_the_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Journal, entries: Any) -> None:
        raise StoreError("disk full")

    monkeypatch.setattr(Journal, "record", broken)
    monkeypatch.setattr("heldout.run._calls._FLUSH_SECONDS", 0.01)
    with OpenAIServer(answer=_answer, latency=0.01) as server:
        spec = _write_project(tmp_path, server.base_url)
        data = yaml.safe_load(spec.read_text())
        data["models"]["m"]["concurrency"] = 2
        spec.write_text(yaml.safe_dump(data))
        with pytest.raises(StoreError, match="disk full"):
            heldout.evaluate(spec)
        assert server.count < 80  # it stopped instead of paying for answers it would lose


def test_progress_that_fails_costs_no_answer(tmp_path: Path) -> None:
    class Broken:
        def start(self, label: str, *, total: int, done: int) -> None:
            pass

        def update(self, label: str, *, done: int, errors: int) -> None:
            raise RuntimeError("terminal gone")

        def finish(self, label: str) -> None:
            pass

    with OpenAIServer(answer=_answer) as server:
        spec = _write_project(tmp_path, server.base_url)
        heldout.evaluate(spec, progress=Broken())
        heldout.evaluate(spec)
        assert server.count == 80  # every answer was journaled the first time


def test_an_in_memory_store_journals_live_calls(tmp_path: Path) -> None:
    with OpenAIServer(answer=_answer) as server:
        run = heldout.evaluate(_write_project(tmp_path, server.base_url), store="sqlite://")
    assert run.metrics["m"]["accuracy"].n == 80


def test_an_unreachable_server_is_named(tmp_path: Path) -> None:
    spec = _write_project(tmp_path, "http://127.0.0.1:9/v1")
    data = yaml.safe_load(spec.read_text())
    data["models"]["m"]["max_retries"] = 0
    spec.write_text(yaml.safe_dump(data))
    with pytest.raises(ModelError, match=r"models\.m: every call failed .*connection"):
        heldout.evaluate(spec)


def test_validate_checks_a_live_spec_without_calling_it(tmp_path: Path) -> None:
    spec = _write_project(tmp_path, "http://127.0.0.1:9/v1")
    ok = subprocess.run(
        [sys.executable, "-m", "heldout.cli", "validate", str(spec)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    spec.write_text(
        spec.read_text().replace(
            "type: classification", "type: classification\n  prompt: {template: '{{ inptu }}'}"
        )
    )
    bad = subprocess.run(
        [sys.executable, "-m", "heldout.cli", "validate", str(spec)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2 and "inptu" in bad.stderr


def test_regression_draws_without_a_number_leave_the_example_out(tmp_path: Path) -> None:
    rows = [{"id": str(i), "input": f"box {i}", "target": float(i)} for i in range(10)]
    (tmp_path / "boxes.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    calls: dict[str, int] = {}

    def answer(prompt: str) -> str:
        calls[prompt] = calls.get(prompt, 0) + 1
        # the second draw for box 3 gives no number
        return "no idea" if prompt.endswith("box 3") and calls[prompt] == 2 else prompt.split()[-1]

    with OpenAIServer(answer=answer) as server:
        spec = {
            "name": "boxes",
            "models": {
                "m": {
                    "backend": "openai",
                    "model": "m",
                    "base_url": server.base_url,
                    "concurrency": 1,
                }
            },
            "dataset": {"path": "boxes.jsonl", "id": "id"},
            "task": {"type": "regression", "sampling": {"samples": 2, "temperature": 1.0}},
            "store": "runs.db",
        }
        (tmp_path / "eval.yaml").write_text(yaml.safe_dump(spec))
        run = heldout.evaluate(tmp_path / "eval.yaml")
    assert run.metrics["m"]["mae"].n == 9
    assert run.tasks[0].dropped == {"m": 1}


def test_multiple_choice_prompts_survive_a_spec_round_trip(tmp_path: Path) -> None:
    items = [
        {"id": f"q{i}", "input": f"Which colour {i}?", "choices": ["red", "green"], "target": i % 2}
        for i in range(6)
    ]
    (tmp_path / "mc.jsonl").write_text("".join(json.dumps(r) + "\n" for r in items))
    with OpenAIServer(answer=lambda p: "A") as server:
        spec = {
            "name": "mc",
            "models": {"m": {"backend": "openai", "model": "m", "base_url": server.base_url}},
            "dataset": {"path": str(tmp_path / "mc.jsonl"), "id": "id", "choices": "choices"},
            "task": {"type": "multiple_choice"},
            "store": str(tmp_path / "runs.db"),
        }
        run = heldout.evaluate(spec)
        first = server.received[-1].body["messages"][-1]["content"]
        heldout.evaluate(run.spec, fresh=True)
        again = server.received[-1].body["messages"][-1]["content"]
    assert "A. red" in first and again == first


def test_a_verbalizer_for_an_unknown_label_is_named(tmp_path: Path) -> None:
    spec = _write_project(tmp_path, "http://127.0.0.1:9/v1", verbalizers={"biling": "money"})
    with pytest.raises(heldout.SpecError, match=r'verbalizers name biling.*did you mean "billing"'):
        heldout.evaluate(spec)
