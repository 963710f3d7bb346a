"""exclude: every metric again on the clean subset, without leaked examples."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

import heldout
from heldout import SpecError
from heldout.store import Store
from tests.run.helpers import WORDS, write_jsonl


@pytest.fixture
def project(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    rows, base, tuned = [], [], []
    for i in range(60):
        text = " ".join(rng.choice(WORDS, size=15)) + f" number {i}"
        label = ["yes", "no"][i % 2]
        rows.append({"id": f"e{i}", "text": text, "label": label})
        # the tuned model is right on the leaked examples only by memory: wrong elsewhere
        # one time in four; the base model is wrong one time in three everywhere
        tuned.append({"id": f"e{i}", "prediction": label if (i < 8 or i % 4) else "no"})
        base.append({"id": f"e{i}", "prediction": label if i % 3 else "yes"})
    write_jsonl(tmp_path / "eval.jsonl", rows)
    write_jsonl(tmp_path / "base.jsonl", base)
    write_jsonl(tmp_path / "tuned.jsonl", tuned)
    train = [{"text": rows[i]["text"].upper() + "!"} for i in range(8)]  # leaked, lightly edited
    train += [{"text": "something else entirely " + str(i)} for i in range(50)]
    write_jsonl(tmp_path / "train.jsonl", train)
    spec = {
        "name": "leaky",
        "models": {
            "base": {"backend": "predictions", "path": "base.jsonl"},
            "tuned": {"backend": "predictions", "path": "tuned.jsonl"},
        },
        "dataset": {"path": "eval.jsonl", "id": "id", "input": "text", "target": "label"},
        "task": {"type": "classification", "train": "train.jsonl", "exclude": "leaked"},
        "metrics": ["accuracy", "f1"],
        "store": "runs.db",
    }
    (tmp_path / "eval.yaml").write_text(yaml.safe_dump(spec))
    return tmp_path / "eval.yaml"


def test_leaked_examples_are_scored_apart(project: Path) -> None:
    run = heldout.evaluate(project)
    task = run.tasks[0]
    clean = task.clean
    assert clean is not None
    assert sorted(clean.excluded) == sorted(f"e{i}" for i in range(8))
    assert clean.n == 52
    assert "train.jsonl" in clean.source
    examples = run.examples()
    kept = ~examples["id"].isin(clean.excluded)
    for model in ("base", "tuned"):
        expected = float(examples.loc[kept, f"correct:{model}"].mean())
        assert clean.metrics[model]["accuracy"].value == pytest.approx(expected)
        assert clean.metrics[model]["accuracy"].n == 52
    # the full set still has every example
    assert run.metrics["tuned"]["accuracy"].n == 60
    full = run.comparisons["accuracy"].delta
    assert clean.comparisons["accuracy"].delta < full  # the leaked wins are gone
    with Store.open(f"sqlite:///{project.parent / 'runs.db'}", create=False) as store:
        again = store.load_run(run.id)
    assert again.tasks[0].clean == clean
    assert run.to_dict()["tasks"]["main"]["clean"]["n"] == 52


def test_a_saved_id_list_excludes_those_ids(project: Path) -> None:
    spec = yaml.safe_load(project.read_text())
    (project.parent / "leaked.txt").write_text("# from last week\ne3\ne5\n\nnot-an-id\n")
    spec["task"] = {"type": "classification", "exclude": "leaked.txt"}
    project.write_text(yaml.safe_dump(spec))
    clean = heldout.evaluate(project).tasks[0].clean
    assert clean is not None
    assert sorted(clean.excluded) == ["e3", "e5"]
    assert clean.unknown == 1
    # the JSON document of heldout check --json works too
    (project.parent / "check.json").write_text(
        json.dumps({"leakage": {"contaminated_ids": ["e1", "e2", "e4"]}})
    )
    spec["task"]["exclude"] = "check.json"
    project.write_text(yaml.safe_dump(spec))
    clean = heldout.evaluate(project).tasks[0].clean
    assert clean is not None and sorted(clean.excluded) == ["e1", "e2", "e4"]


def test_exclude_leaked_needs_training_data(project: Path) -> None:
    spec = yaml.safe_load(project.read_text())
    del spec["task"]["train"]
    project.write_text(yaml.safe_dump(spec))
    with pytest.raises(SpecError, match="exclude: leaked needs train:"):
        heldout.evaluate(project)


def test_report_and_terminal_show_the_clean_subset(project: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "heldout.cli", "run", str(project)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "160"},
    )
    assert out.returncode == 0, out.stderr
    assert "main · clean subset · classification · n=52" in out.stdout
    assert "8 examples excluded (leaked from train.jsonl" in out.stdout
    html = (project.parent / "report.html").read_text()
    assert "<h3>Clean subset</h3>" in html
    assert "Every metric again on the 52 examples left after excluding 8" in html
