"""End to end: eval.yaml with models behind a real OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import heldout
from heldout.store import Store
from tests.models.openai_server import Fault, OpenAIServer, score

TOPICS = {
    "billing": ["refund", "invoice", "charge", "payment"],
    "bug": ["crash", "error", "broken", "freeze"],
    "other": ["hello", "thanks", "question", "idea"],
}


def _tickets(n: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(7)
    labels = list(TOPICS)
    rows = []
    for i in range(n):
        label = labels[i % 3]
        word = TOPICS[label][int(rng.integers(4))]
        rows.append({"id": f"t{i}", "text": f"ticket {i}: my {word} today", "label": label})
    return rows


def good_answer(prompt: str) -> str:
    """Names the right topic, in a sentence, as a chat model would."""
    for label, words in TOPICS.items():
        if any(w in prompt.rsplit("ticket", 1)[-1] for w in words):
            return f"The category is {label}."
    return "I am not sure."


def lazy_answer(prompt: str) -> str:
    """Says billing unless the ticket is about a crash."""
    return "bug" if "crash" in prompt.rsplit("ticket", 1)[-1] else "billing"


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _spec_file(folder: Path, spec: dict[str, Any]) -> Path:
    path = folder / "eval.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def _project(tmp_path: Path, tuned: str, base: str, *, n: int = 30, **task: Any) -> Path:
    _write(tmp_path / "tickets.jsonl", _tickets(n))
    spec = {
        "name": "live",
        "models": {
            "base": {"backend": "openai", "model": "base-1", "base_url": base, "max_retries": 0},
            "tuned": {"backend": "openai", "model": "tuned-1", "base_url": tuned},
        },
        "dataset": {"path": "tickets.jsonl", "id": "id", "input": "text", "target": "label"},
        "task": {
            "type": "classification",
            "prompt": {"template": "Classify this ticket: {{ input }}", "system": "Be brief."},
            **task,
        },
        "store": "runs.db",
    }
    path = tmp_path / "eval.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.fixture
def servers() -> Iterator[tuple[OpenAIServer, OpenAIServer]]:
    with (
        OpenAIServer(answer=good_answer) as tuned,
        OpenAIServer(answer=lazy_answer) as base,
    ):
        yield tuned, base


def _expected_accuracy(answer: Any, rows: list[dict[str, Any]]) -> float:
    hits = 0
    for r in rows:
        said = answer(f"ticket {r['text']}")
        hits += r["label"] in said.lower()
    return hits / len(rows)


def test_models_are_called_once_and_scored(
    tmp_path: Path, servers: tuple[OpenAIServer, OpenAIServer]
) -> None:
    tuned, base = servers
    spec = _project(tmp_path, tuned.base_url, base.base_url)
    run = heldout.evaluate(spec)
    rows = _tickets(30)
    assert tuned.count == 30 and base.count == 30
    accuracy = run.metrics["tuned"]["accuracy"].value
    assert accuracy == pytest.approx(_expected_accuracy(good_answer, rows))
    assert accuracy == 1.0
    assert run.metrics["base"]["accuracy"].value == pytest.approx(
        _expected_accuracy(lazy_answer, rows)
    )
    # the prompt went out as chat messages: system, then the rendered template
    body = tuned.received[0].body
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["messages"][1]["content"].startswith("Classify this ticket: ticket ")
    assert body["temperature"] == 0.0
    live = run.tasks[0].live["tuned"]
    assert live.mode == "generate" and live.calls == 30 and live.failed_calls == 0
    assert {"latency_p50_s", "latency_p95_s", "input_tokens", "output_tokens"} <= set(
        live.efficiency
    )
    # "The category is billing." is five tokens to the server: four words and the period
    assert live.efficiency["output_tokens"].value == pytest.approx(5.0)

    # a rerun sends nothing and reproduces every number
    again = heldout.evaluate(spec)
    assert tuned.count == 30 and base.count == 30
    assert again.metrics["tuned"]["accuracy"] == run.metrics["tuned"]["accuracy"]
    assert again.comparisons["macro_f1"].delta == run.comparisons["macro_f1"].delta

    # --fresh asks again
    heldout.evaluate(spec, fresh=True)
    assert tuned.count == 60 and base.count == 60

    # the stored run keeps how the models answered
    with Store.open(f"sqlite:///{tmp_path / 'runs.db'}", create=False) as store:
        stored = store.load_run(run.id)
    assert stored.tasks[0].live["tuned"] == run.tasks[0].live["tuned"]


def test_failed_calls_are_counted_left_out_and_retried_on_rerun(
    tmp_path: Path, servers: tuple[OpenAIServer, OpenAIServer]
) -> None:
    tuned, base = servers
    spec = _project(tmp_path, tuned.base_url, base.base_url)
    base.fault(Fault.server_error(500), Fault.server_error(502), Fault.server_error(500))
    run = heldout.evaluate(spec)
    task = run.tasks[0]
    assert task.live["base"].failed_examples == 3
    assert task.live["base"].failed_calls == 3
    assert task.dropped["base"] == 3
    # left out of every model's scores, so the comparison stays paired
    assert run.metrics["tuned"]["accuracy"].n == 27
    assert run.metrics["base"]["accuracy"].n == 27
    # the rerun retries exactly the three that failed
    before = base.count
    again = heldout.evaluate(spec)
    assert base.count - before == 3
    assert tuned.count == 30
    assert again.tasks[0].dropped == {}
    assert again.metrics["base"]["accuracy"].n == 30


def test_on_error_wrong_scores_failures_as_wrong(
    tmp_path: Path, servers: tuple[OpenAIServer, OpenAIServer]
) -> None:
    tuned, base = servers
    spec = _project(tmp_path, tuned.base_url, base.base_url)
    data = yaml.safe_load(spec.read_text())
    data["models"]["tuned"].update(on_error="wrong", max_retries=0)
    spec.write_text(yaml.safe_dump(data))
    tuned.fault(Fault.server_error(500), Fault.server_error(500))
    run = heldout.evaluate(spec)
    assert run.metrics["tuned"]["accuracy"].n == 30
    assert run.metrics["tuned"]["accuracy"].value == pytest.approx(28 / 30)
    examples = run.examples()
    assert examples["error:tuned"].notna().sum() == 2


def test_on_error_error_stops_after_keeping_the_finished_calls(
    tmp_path: Path, servers: tuple[OpenAIServer, OpenAIServer]
) -> None:
    tuned, base = servers
    spec = _project(tmp_path, tuned.base_url, base.base_url)
    data = yaml.safe_load(spec.read_text())
    data["models"]["base"]["on_error"] = "error"
    spec.write_text(yaml.safe_dump(data))
    base.fault(Fault.http(404, "model not found"))
    with pytest.raises(heldout.ModelError, match=r"models\.base: 1 of 30 examples failed"):
        heldout.evaluate(spec)
    with Store.open(f"sqlite:///{tmp_path / 'runs.db'}", create=False) as store:
        assert store.list_runs() == []
        assert store.journal().count() == 60  # 59 answers and the error, all kept
    heldout.evaluate(spec)
    assert base.count == 31


def test_classification_by_loglikelihood_gives_probabilities(
    tmp_path: Path, servers: tuple[OpenAIServer, OpenAIServer]
) -> None:
    tuned, base = servers
    spec = _project(tmp_path, tuned.base_url, base.base_url, method="loglikelihood")
    data = yaml.safe_load(spec.read_text())
    for model in data["models"].values():
        model["endpoint"] = "completions"
    spec.write_text(yaml.safe_dump(data))
    run = heldout.evaluate(spec)
    assert tuned.count == 90  # three labels per example
    examples = run.examples()
    rows = _tickets(30)
    labels = ["billing", "bug", "other"]
    for r in rows[:5]:
        context = f"Be brief.\n\nClassify this ticket: {r['text']}"
        lls = []
        for label in labels:
            tokens = score(context + " " + label)
            lls.append(
                sum(t.logprob for t in tokens if t.offset >= len(context) and t.logprob is not None)
            )
        row = examples.loc[examples["id"] == r["id"]].iloc[0]
        assert row["pred:tuned"] == labels[int(np.argmax(lls))]
        top = math.exp(max(lls)) / sum(math.exp(x) for x in lls)
        assert row["confidence:tuned"] == pytest.approx(top)
    assert "roc_auc" in run.metrics["tuned"]
    assert "log_loss" in run.metrics["tuned"]


def test_a_chat_endpoint_cannot_score_loglikelihoods(
    tmp_path: Path, servers: tuple[OpenAIServer, OpenAIServer]
) -> None:
    tuned, base = servers
    spec = _project(tmp_path, tuned.base_url, base.base_url, method="loglikelihood")
    with pytest.raises(heldout.ModelError, match="Use method: generate"):
        heldout.evaluate(spec)
    assert tuned.count == 0 and base.count == 0


def test_bad_template_fails_before_any_call(
    tmp_path: Path, servers: tuple[OpenAIServer, OpenAIServer]
) -> None:
    tuned, base = servers
    spec = _project(tmp_path, tuned.base_url, base.base_url)
    text = spec.read_text().replace("{{ input }}", "{{ inptu }}")
    spec.write_text(text)
    result = subprocess.run(
        [sys.executable, "-m", "heldout.cli", "run", str(spec)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "inptu" in result.stderr and 'did you mean "input"' in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert tuned.count == 0 and base.count == 0
    assert not (tmp_path / "runs.db").exists()


def test_multiple_choice_by_loglikelihood_and_by_letter(tmp_path: Path) -> None:
    items = [
        {"id": f"q{i}", "question": f"Question {i}: pick one", "options": opts, "answer": i % 3}
        for i, opts in enumerate(
            [["red", "green", "a very long blue"], ["cat", "dog", "mouse"]] * 6
        )
    ]
    _write(tmp_path / "mc.jsonl", items)
    with OpenAIServer(answer=lambda p: "Answer: B") as server:
        spec = {
            "name": "mc",
            "models": {
                "ll": {
                    "backend": "openai",
                    "model": "m",
                    "base_url": server.base_url,
                    "endpoint": "completions",
                },
                "letter": {"backend": "openai", "model": "m", "base_url": server.base_url},
            },
            "tasks": [
                {
                    "name": "by_ll",
                    "type": "multiple_choice",
                    "method": "loglikelihood",
                    "dataset": {
                        "path": "mc.jsonl",
                        "id": "id",
                        "input": "question",
                        "target": "answer",
                        "choices": "options",
                    },
                    "prompt": {"template": "{{ question }}\nAnswer:", "chat": False},
                }
            ],
            "store": "runs.db",
        }
        # one model per task kind: log-likelihood needs the completions endpoint
        ll_spec = {**spec, "models": {"ll": spec["models"]["ll"]}}
        run = heldout.evaluate(_spec_file(tmp_path, ll_spec))
        expected, expected_norm = [], []
        for item in items:
            context = f"{item['question']}\nAnswer:"
            lls = []
            for option in item["options"]:
                tokens = score(context + " " + option)
                lls.append(
                    sum(
                        t.logprob
                        for t in tokens
                        if t.offset >= len(context) and t.logprob is not None
                    )
                )
            lengths = [len(o.encode()) for o in item["options"]]
            expected.append(int(np.argmax(lls)) == item["answer"])
            expected_norm.append(
                int(np.argmax(np.array(lls) / np.array(lengths))) == item["answer"]
            )
        assert run.metrics["ll"]["accuracy"].value == pytest.approx(np.mean(expected))
        assert run.metrics["ll"]["accuracy_norm"].value == pytest.approx(np.mean(expected_norm))

        letter_spec = {
            **spec,
            "models": {"letter": spec["models"]["letter"]},
            "tasks": [{**spec["tasks"][0], "method": "generate", "prompt": {}}],
        }
        run = heldout.evaluate(_spec_file(tmp_path, letter_spec))
        prompt = server.received[-1].body["messages"][-1]["content"]
        assert "A. " in prompt and "Answer with the letter" in prompt
        assert run.metrics["letter"]["accuracy"].value == pytest.approx(
            np.mean([it["answer"] == 1 for it in items])
        )
        assert "accuracy_norm" not in run.metrics["letter"]


def test_regression_reads_numbers_and_leaves_out_answers_without_one(tmp_path: Path) -> None:
    rows = [{"id": str(i), "q": f"How many items in box {i}?", "y": float(i)} for i in range(12)]
    _write(tmp_path / "boxes.jsonl", rows)

    def answer(prompt: str) -> str:
        i = int(prompt.rsplit("box ", 1)[1].split("?")[0])
        return "no idea" if i == 5 else f"There are {i + 1} items."

    with OpenAIServer(answer=answer) as server:
        spec = {
            "name": "boxes",
            "models": {"m": {"backend": "openai", "model": "m", "base_url": server.base_url}},
            "dataset": {"path": "boxes.jsonl", "id": "id", "input": "q", "target": "y"},
            "task": {"type": "regression", "sampling": {"samples": 3, "temperature": 0.7}},
            "store": "runs.db",
        }
        run = heldout.evaluate(_spec_file(tmp_path, spec))
    assert server.count == 36
    assert all("seed" not in r.body for r in server.received)
    task = run.tasks[0]
    assert task.dropped == {"m": 1}
    assert run.metrics["m"]["mae"].value == pytest.approx(1.0)
    assert run.metrics["m"]["mae"].n == 11
    assert task.live["m"].samples == 3
    # every draw of an example agrees: no variance within examples, and none at all here
    assert task.live["m"].within_share is None


def test_a_run_killed_mid_way_resumes_with_the_same_results(tmp_path: Path) -> None:
    _write(tmp_path / "tickets.jsonl", _tickets(60))
    with OpenAIServer(answer=good_answer, latency=0.02) as server:
        spec = {
            "name": "resume",
            "models": {
                "m": {
                    "backend": "openai",
                    "model": "m",
                    "base_url": server.base_url,
                    "concurrency": 2,
                }
            },
            "dataset": {"path": "tickets.jsonl", "id": "id", "input": "text", "target": "label"},
            "task": {"type": "classification"},
            "store": "runs.db",
        }
        path = tmp_path / "eval.yaml"
        path.write_text(yaml.safe_dump(spec))
        child = subprocess.Popen(
            [sys.executable, "-m", "heldout.cli", "run", str(path), "--no-report"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while server.count < 25 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        sent_before = server.count
        assert 0 < sent_before < 60
        with Store.open(f"sqlite:///{tmp_path / 'runs.db'}", create=False) as store:
            kept = store.journal().count()
            assert store.list_runs() == []
        assert 0 < kept <= sent_before
        resumed = heldout.evaluate(path)
        # only the calls not yet journaled are made again
        assert server.count - sent_before == 60 - kept
        uninterrupted = heldout.evaluate(path, store=f"sqlite:///{tmp_path / 'other.db'}")
    assert resumed.metrics["m"] == uninterrupted.metrics["m"]
    assert list(resumed.examples()["pred:m"]) == list(uninterrupted.examples()["pred:m"])


def test_the_key_is_read_from_the_environment_and_never_stored(
    tmp_path: Path, servers: tuple[OpenAIServer, OpenAIServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    tuned, base = servers
    spec = _project(tmp_path, tuned.base_url, base.base_url)
    data = yaml.safe_load(spec.read_text())
    data["models"]["tuned"]["api_key_env"] = "TUNED_KEY"
    spec.write_text(yaml.safe_dump(data))
    monkeypatch.setenv("TUNED_KEY", "sk-secret-123")
    run = heldout.evaluate(spec)
    assert tuned.received[0].headers["authorization"] == "Bearer sk-secret-123"
    assert b"sk-secret-123" not in (tmp_path / "runs.db").read_bytes()
    assert "sk-secret-123" not in json.dumps(run.to_dict())


def test_cli_run_reports_progress_on_stderr_and_calls_in_the_table(
    tmp_path: Path, servers: tuple[OpenAIServer, OpenAIServer]
) -> None:
    tuned, base = servers
    spec = _project(tmp_path, tuned.base_url, base.base_url)
    command = [sys.executable, "-m", "heldout.cli", "run", str(spec), "--no-report"]
    env = {**os.environ, "COLUMNS": "200"}
    first = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    assert first.returncode == 0, first.stderr
    assert "tuned: 30 calls" in first.stderr
    assert "tuned: 30/30 calls" in first.stderr
    assert "main: calls" in first.stdout and "latency p95 s" in first.stdout
    again = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    assert again.returncode == 0, again.stderr
    assert "tuned: 30 calls (30 from the journal)" in again.stderr
    assert tuned.count == 30
    fresh = subprocess.run(
        [*command, "--fresh"], capture_output=True, text=True, check=False, env=env
    )
    assert fresh.returncode == 0, fresh.stderr
    assert tuned.count == 60


def test_report_shows_the_calls_of_live_models(
    tmp_path: Path, servers: tuple[OpenAIServer, OpenAIServer]
) -> None:
    from heldout.report import write_report

    tuned, base = servers
    spec = _project(tmp_path, tuned.base_url, base.base_url)
    base.fault(Fault.server_error(500))
    run = heldout.evaluate(spec)
    html = write_report(run, tmp_path / "report.html").read_text()
    assert "<h3>Calls</h3>" in html
    assert "latency p95 (s)" in html
    assert "base: 1 examples failed after every retry (1 of 30 calls)" in html
