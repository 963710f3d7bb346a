"""A run over a stress set: metrics on the originals, robustness per operation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

import heldout
from heldout.store import Store

RULES = """
def brittle(inputs):
    return ["billing" if "refund" in t else "other" for t in inputs]


def sturdy(inputs):
    return ["billing" if "refund" in t.lower() else "other" for t in inputs]
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    rows = []
    for i in range(80):
        billing = i % 2 == 0
        words = ["please", "send", "my", "refund" if billing else "parcel", "today", "thanks"]
        rng.shuffle(words)
        rows.append(
            {"id": f"t{i}", "text": " ".join(words), "label": "billing" if billing else "other"}
        )
    (tmp_path / "tickets.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "rules.py").write_text(RULES)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "heldout.cli",
            "stress",
            str(tmp_path / "tickets.jsonl"),
            "--input",
            "text",
            "--ops",
            "case,whitespace",
            "-o",
            str(tmp_path / "stress.jsonl"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    spec = {
        "name": "stress",
        "models": {
            "base": {"backend": "python", "function": "rules:brittle"},
            "tuned": {"backend": "python", "function": "rules:sturdy"},
        },
        "dataset": {
            "path": "stress.jsonl",
            "id": "id",
            "input": "text",
            "target": "label",
            "variant_of": "original_id",
            "operation": "operation",
        },
        "task": {"type": "classification"},
        "metrics": ["accuracy"],
        "store": "runs.db",
    }
    (tmp_path / "eval.yaml").write_text(yaml.safe_dump(spec))
    return tmp_path / "eval.yaml"


def test_metrics_on_originals_and_robustness_per_operation(project: Path) -> None:
    run = heldout.evaluate(project)
    task = run.tasks[0]
    # every metric is on the 80 originals only
    assert run.metrics["base"]["accuracy"].n == 80
    assert run.metrics["base"]["accuracy"].value == 1.0
    rows = {(r.operation, r.model): r for r in task.robustness}
    case = rows[("case", "base")]
    # upper/title case hides "refund" from the brittle rules: its billing answers flip
    assert case.change.value < 0 and case.change.ci_high < 0
    assert case.broke is not None and case.broke > 0 and case.fixed == 0
    assert rows[("case", "tuned")].change.value == 0.0
    assert rows[("whitespace", "base")].change.value == 0.0
    versus = rows[("case", "tuned")].versus_baseline
    assert versus is not None and versus.delta > 0
    assert versus.p_adjusted is not None and versus.verdict == "better"
    with Store.open(f"sqlite:///{project.parent / 'runs.db'}", create=False) as store:
        again = store.load_run(run.id)
    assert again.tasks[0].robustness == task.robustness
    document = run.to_dict()["tasks"]["main"]["robustness"]
    assert {(r["operation"], r["model"]) for r in document} == set(rows)


def test_terminal_and_report_show_robustness(project: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "heldout.cli", "run", str(project)],
        capture_output=True,
        text=True,
        check=False,
        env={"COLUMNS": "160", "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr
    assert "main: robustness" in out.stdout
    html = (project.parent / "report.html").read_text()
    assert "<h3>Robustness</h3>" in html
