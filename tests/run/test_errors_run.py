"""A run's error analysis: fixed and broken examples, per-class metrics, confident errors,
lowest-scoring generations and input-length buckets, in JSON, the store and the terminal."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import precision_recall_fscore_support
from typer.testing import CliRunner

import heldout
from heldout.cli import app
from heldout.store import Store
from tests.run.helpers import write_jsonl, write_pair_spec


def _spec(tmp_path: Path, task: dict[str, Any], **extra: Any) -> Path:
    return write_pair_spec(tmp_path, name="errors", task=task, **extra)


@pytest.fixture
def classification(tmp_path: Path) -> Path:
    """The tuned model is better on short tickets and breaks on long ones."""
    rng = np.random.default_rng(21)
    labels = ["billing", "bug", "other"]
    n = 1200
    rows, base, tuned = [], [], []
    for i in range(n):
        words = int(rng.integers(1, 80))
        y = int(rng.integers(0, 3))
        rows.append({"id": f"t{i}", "text": " ".join(["w"] * words), "label": labels[y]})
        for out, right in ((base, 0.75), (tuned, 0.85 if words < 60 else 0.35)):
            p = np.full(3, 0.1)
            guess = y if rng.uniform() < right else int(rng.integers(0, 3))
            p[guess] = 0.5 + 0.3 * rng.uniform()
            p /= p.sum()
            out.append(
                {
                    "id": f"t{i}",
                    "prediction": labels[guess],
                    "probabilities": dict(zip(labels, p.tolist(), strict=True)),
                }
            )
    write_jsonl(tmp_path / "eval.jsonl", rows)
    write_jsonl(tmp_path / "base.jsonl", base)
    write_jsonl(tmp_path / "tuned.jsonl", tuned)
    return _spec(tmp_path, {"type": "classification"})


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_classification_errors_match_the_files_and_survive_the_store(classification: Path) -> None:
    folder = classification.parent
    run = heldout.evaluate(classification)
    task = run.tasks[0]
    errors = task.errors
    assert errors is not None and errors.score == "correct" and errors.tolerance == 0
    data = _read(folder / "eval.jsonl")
    base = [r["prediction"] for r in _read(folder / "base.jsonl")]
    tuned_rows = _read(folder / "tuned.jsonl")
    tuned = [r["prediction"] for r in tuned_rows]
    truth = [r["label"] for r in data]
    fixed = {d["id"] for d, b, t in zip(data, base, tuned, strict=True) if b != d["label"] == t}
    broken = {d["id"] for d, b, t in zip(data, base, tuned, strict=True) if b == d["label"] != t}
    assert (errors.n_fixed, errors.n_broken) == (len(fixed), len(broken))
    assert {c.id for c in errors.broken} <= broken and len(errors.broken) == 20
    first = errors.broken[0]
    row = next(d for d in data if d["id"] == first.id)
    assert (first.input, first.target) == (row["text"], row["label"])
    assert first.baseline == row["label"] and first.candidate != row["label"]
    # per-class metrics equal scikit-learn's
    p, r, f, _ = precision_recall_fscore_support(
        truth, tuned, labels=["billing", "bug", "other"], zero_division=0
    )
    per_class = errors.models["tuned"].per_class
    assert [c.precision.value for c in per_class] == pytest.approx(p.tolist(), abs=1e-12)
    assert [c.recall.value for c in per_class] == pytest.approx(r.tolist(), abs=1e-12)
    assert [c.f1.value for c in per_class] == pytest.approx(f.tolist(), abs=1e-12)
    # most confident errors: wrong, ranked by the probability of the predicted class
    confident = errors.models["tuned"].confident
    assert all(c.predicted != c.target for c in confident)
    assert [c.confidence for c in confident] == sorted(
        (c.confidence for c in confident), reverse=True
    )
    top = max(
        (
            t["probabilities"][t["prediction"]]
            for t, d in zip(tuned_rows, data, strict=True)
            if t["prediction"] != d["label"]
        ),
    )
    assert confident[0].confidence == pytest.approx(top)
    # rows of the row-normalised confusion sum to one
    assert np.allclose([sum(row) for row in errors.models["tuned"].rates], 1.0)
    # the long inputs are where the candidate got worse
    worst = errors.worst_length
    assert worst is not None and worst.value.startswith("Q4")
    document = run.to_dict()["tasks"]["main"]["errors"]
    assert document["n_broken"] == len(broken)
    assert document["length"][-1]["comparison"]["verdict"] == "worse"
    with Store.open(f"sqlite:///{folder / 'runs.db'}", create=False) as store:
        again = store.load_run(run.id).tasks[0]
    assert again.errors == errors


def test_terminal_says_fixed_broke_and_where_it_is_worst(classification: Path) -> None:
    result = CliRunner().invoke(
        app, ["run", str(classification), "--no-report"], env={"COLUMNS": "220"}
    )
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if "fixed" in x and "broke" in x)
    assert re.search(r"tuned vs base: fixed \d+ / broke \d+ examples \(wrong → right\)", line)
    assert re.search(r"worst on inputs of Q4: \d+-\d+ words \(n=\d+\)", line)


def test_generation_lists_lowest_scores_and_counts_changes_beyond_a_tolerance(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(8)
    vocabulary = ["refund", "invoice", "reset", "password", "login", "crash", "export", "report"]
    rows, base, tuned = [], [], []
    for i in range(200):
        words = list(rng.choice(vocabulary, 6))
        target = " ".join(words)
        rows.append(
            {"id": f"g{i}", "text": f"question {i} " * int(rng.integers(1, 9)), "label": target}
        )
        base.append({"id": f"g{i}", "prediction": " ".join(words[: int(rng.integers(2, 7))])})
        keep = 6 if i % 3 else int(rng.integers(0, 3))
        tuned.append({"id": f"g{i}", "prediction": " ".join(words[:keep]) or "no idea"})
    write_jsonl(tmp_path / "eval.jsonl", rows)
    write_jsonl(tmp_path / "base.jsonl", base)
    write_jsonl(tmp_path / "tuned.jsonl", tuned)
    run = heldout.evaluate(
        _spec(tmp_path, {"type": "generation", "headline": "token_f1"}, metrics=["token_f1"])
    )
    task = run.tasks[0]
    errors = task.errors
    assert errors is not None and errors.score == "token_f1" and errors.tolerance > 0
    scores = task.examples[f"{errors.score}:tuned"].to_numpy()
    lowest = errors.models["tuned"].lowest
    assert len(lowest) == 20
    assert lowest[0].score == pytest.approx(scores.min())
    assert [x.score for x in lowest] == sorted(x.score for x in lowest)
    change = scores - task.examples[f"{errors.score}:base"].to_numpy()
    assert errors.n_broken == int((change < -errors.tolerance).sum()) > 0
    assert errors.n_fixed == int((change > errors.tolerance).sum()) > 0
    assert all(c.candidate_score - c.baseline_score < -errors.tolerance for c in errors.broken)
