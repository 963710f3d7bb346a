"""A run checks each task's eval set like heldout check, stores it, and shows it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

import heldout
from heldout.cli import app
from heldout.report import render_report
from heldout.run._data_report import DataSummary
from heldout.store import Store
from tests.run.helpers import WORDS, write_jsonl

runner = CliRunner()


def _project(root: Path, *, dirty: bool) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rows = []
    for i in range(80):
        text = " ".join(rng.choice(WORDS, size=12)) + f" ticket {i}"
        rows.append({"id": f"e{i}", "text": text, "label": ["yes", "no"][i % 2], "note": "x"})
    train = [{"text": f"unrelated training text number {i}"} for i in range(30)]
    if dirty:
        rows[1]["text"] = rows[0]["text"].upper() + "  "  # exact duplicate after normalising
        rows[3]["text"] = rows[2]["text"]  # duplicate with a different label: a conflict
        rows[5]["text"] = rows[4]["text"] + " extra"  # near-duplicate
        rows[6]["label"] = "maybe"  # outside the label set
        rows[7]["text"] = "word " * 400  # length outlier
        rows[8]["note"] = None  # missing value
        train.append({"text": rows[10]["text"]})  # leaked into training
    write_jsonl(root / "eval.jsonl", rows)
    write_jsonl(root / "train.jsonl", train)
    preds = [{"id": r["id"], "prediction": "yes"} for r in rows]
    write_jsonl(root / "base.jsonl", preds)
    write_jsonl(root / "tuned.jsonl", [{"id": r["id"], "prediction": r["label"]} for r in rows])
    spec = {
        "name": "data-checked",
        "models": {
            "base": {"backend": "predictions", "path": "base.jsonl"},
            "tuned": {"backend": "predictions", "path": "tuned.jsonl", "invalid": "wrong"},
        },
        "dataset": {"path": "eval.jsonl", "id": "id", "input": "text", "target": "label"},
        "task": {
            "type": "classification",
            "labels": ["yes", "no", "maybe"] if dirty else ["yes", "no"],
            "train": "train.jsonl",
        },
        "metrics": ["accuracy"],
        "store": "runs.db",
    }
    (root / "eval.yaml").write_text(yaml.safe_dump(spec))
    return root / "eval.yaml"


@pytest.fixture
def dirty(tmp_path: Path) -> Path:
    return _project(tmp_path, dirty=True)


def test_run_stores_what_the_data_checks_found(dirty: Path) -> None:
    run = heldout.evaluate(dirty)
    data = run.tasks[0].data
    assert data is not None and data.rows == 80
    found = {f.name: f for f in data.findings}
    assert found["duplicates"].count == 2 and set(found["duplicates"].ids) >= {
        "e0",
        "e1",
        "e2",
        "e3",
    }
    # e0/e1 and e2/e3 share an input but not a label
    assert found["conflicts"].count == 2 and set(found["conflicts"].ids) == {"e0", "e1", "e2", "e3"}
    assert found["near-duplicates"].count >= 1 and "e4~e5" in found["near-duplicates"].ids
    assert found["length-outliers"].ids == ("e7",)
    assert found["missing-values"].count == 1 and found["missing-values"].ids == ("note",)
    assert found["leakage"].ids == ("e10",) and data.train_path.endswith("train.jsonl")
    assert found["rare-classes"].count == 1  # "maybe": one example under 5
    # the run's JSON and the store carry it unchanged
    assert run.tasks[0].to_dict()["data"] == data.to_dict()
    assert DataSummary.from_dict(json.loads(json.dumps(data.to_dict()))) == data
    with Store.open(f"sqlite:///{dirty.parent / 'runs.db'}") as store:
        assert store.load_run(run.id).tasks[0].data == data


def test_report_has_a_data_section_with_counts_and_ids(dirty: Path) -> None:
    run = heldout.evaluate(dirty, save=False)
    html = render_report(run)
    section = html[html.index("<h3>Data</h3>") :]
    section = section[: section.index("</table>")]
    assert "exact duplicate groups" in section
    assert re.search(
        r"eval examples leaked from training.*?<td class=\"num\">1</td>\s*<td>e10</td>",
        section,
        re.S,
    )
    assert "e4~e5" in section


def test_terminal_shows_one_data_line_only_when_something_is_found(tmp_path: Path) -> None:
    dirty_spec = _project(tmp_path / "dirty", dirty=True)
    result = runner.invoke(app, ["run", str(dirty_spec), "--no-report"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith("data:")]
    assert len(lines) == 1
    assert "2 duplicates" in lines[0] and "1 leakage" in lines[0]
    clean_spec = _project(tmp_path / "clean", dirty=False)
    result = runner.invoke(app, ["run", str(clean_spec), "--no-report"])
    assert result.exit_code == 0, result.output
    assert not [line for line in result.stdout.splitlines() if line.startswith("data:")]
    run = heldout.evaluate(clean_spec, save=False)
    assert run.tasks[0].data is not None and not run.tasks[0].data.found


def test_data_checks_can_be_turned_off(dirty: Path) -> None:
    spec = yaml.safe_load(dirty.read_text())
    spec["task"]["data_checks"] = False
    dirty.write_text(yaml.safe_dump(spec))
    run = heldout.evaluate(dirty, save=False)
    assert run.tasks[0].data is None
    assert "<h3>Data</h3>" not in render_report(run)
