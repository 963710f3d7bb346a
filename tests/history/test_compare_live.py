"""Stored runs of live models: several draws per example, multiple choice."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import yaml

import heldout
from tests.models.openai_server import OpenAIServer

LABELS = ["billing", "bug", "other"]


def test_sampled_models_compare_on_their_averaged_scores(tmp_path: Path) -> None:
    rows = [{"id": f"t{i}", "input": f"ticket {i}", "target": LABELS[i % 3]} for i in range(60)]
    (tmp_path / "t.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    rng = random.Random(4)

    def answer(prompt: str) -> str:
        i = int(re.search(r"ticket (\d+)", prompt).group(1))  # type: ignore[union-attr]
        right = rng.random() < (0.8 if i % 2 else 0.5)
        return LABELS[i % 3] if right else LABELS[(i + 1) % 3]

    with OpenAIServer(answer=answer) as server:
        model = {"backend": "openai", "model": "m", "base_url": server.base_url, "concurrency": 1}
        spec = {
            "name": "sampled",
            "models": {"base": {**model, "model": "b"}, "tuned": {**model, "model": "t"}},
            "compare": {"candidate": "tuned", "baseline": "base"},
            "stats": {"resamples": 200, "seed": 2},
            "dataset": {"path": "t.jsonl", "id": "id"},
            "task": {
                "type": "classification",
                "labels": LABELS,
                "sampling": {"samples": 3, "temperature": 1.0},
            },
            "metrics": ["accuracy", "macro_f1"],
            "store": "runs.db",
        }
        (tmp_path / "eval.yaml").write_text(yaml.safe_dump(spec))
        run = heldout.evaluate(tmp_path / "eval.yaml")
    correct = run.examples()["correct:tuned"]
    assert set(correct.round(6)) - {0.0, 1.0}  # averaged over three draws
    result = heldout.compare(run)
    stored = run.comparisons["accuracy"]
    got = result.metrics["accuracy"].difference
    assert (got.delta, got.ci_low, got.ci_high, got.p_value, got.test) == (
        stored.delta,
        stored.ci_low,
        stored.ci_high,
        stored.p_value,
        stored.test,
    )
    assert "3 samples" in result.left_out["macro_f1"]
    assert list(result.metrics) == ["accuracy"]


def test_multiple_choice_compares_from_the_stored_scores(tmp_path: Path) -> None:
    items = [
        {"id": f"q{i}", "input": f"Which colour {i}?", "choices": ["red", "green"], "target": i % 2}
        for i in range(40)
    ]
    (tmp_path / "mc.jsonl").write_text("".join(json.dumps(r) + "\n" for r in items))

    def choose(prompt: str) -> str:
        i = int(re.search(r"colour (\d+)", prompt).group(1))  # type: ignore[union-attr]
        return "A" if i % 3 else "B"

    with OpenAIServer(answer=choose) as server:
        model = {"backend": "openai", "model": "m", "base_url": server.base_url}
        spec = {
            "name": "mc",
            "models": {"base": {**model, "model": "b"}, "tuned": {**model, "model": "t"}},
            "dataset": {"path": "mc.jsonl", "id": "id", "choices": "choices"},
            "task": {"type": "multiple_choice"},
            "store": "runs.db",
        }
        (tmp_path / "eval.yaml").write_text(yaml.safe_dump(spec))
        run = heldout.evaluate(tmp_path / "eval.yaml")
    result = heldout.compare(run, model_a="base", model_b="tuned")
    assert result.metrics["accuracy"].b == run.metrics["tuned"]["accuracy"]
    assert result.change_score == "correct"
