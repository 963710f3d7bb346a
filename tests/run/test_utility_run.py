"""utility: in a run: one number with an interval, a paired delta, the store and the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from sklearn.metrics import f1_score, recall_score
from typer.testing import CliRunner

import heldout
from heldout.cli import app
from heldout.store import Store
from tests.run.helpers import write_jsonl

runner = CliRunner()
LABELS = ["billing", "bug", "other"]


def _project(tmp_path: Path, **extra: Any) -> Path:
    rng = np.random.default_rng(7)
    n = 240
    rows, base, tuned = [], [], []
    for i in range(n):
        label = LABELS[int(rng.integers(0, 3))]
        other = LABELS[(LABELS.index(label) + 1) % 3]
        rows.append({"id": f"t{i}", "text": f"ticket {i}", "label": label})
        tuned.append({"id": f"t{i}", "prediction": label if rng.random() < 0.85 else other})
        base.append({"id": f"t{i}", "prediction": label if rng.random() < 0.6 else other})
    write_jsonl(tmp_path / "eval.jsonl", rows)
    write_jsonl(tmp_path / "base.jsonl", base)
    write_jsonl(tmp_path / "tuned.jsonl", tuned)
    spec: dict[str, Any] = {
        "name": "utility",
        "models": {
            "base": {"backend": "predictions", "path": "base.jsonl"},
            "tuned": {"backend": "predictions", "path": "tuned.jsonl"},
        },
        "compare": {"candidate": "tuned", "baseline": "base"},
        "dataset": {"path": "eval.jsonl", "id": "id", "input": "text", "target": "label"},
        "task": {
            "type": "classification",
            "labels": LABELS,
            "assertions": [{"name": "short", "max_chars": 5}],
        },
        "metrics": ["accuracy", "macro_f1", "recall:billing"],
        "utility": {"macro_f1": 3, "recall:billing": 1, "short": {"weight": 1}},
        "store": "runs.db",
    }
    spec.update(extra)
    (tmp_path / "eval.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return tmp_path / "eval.yaml"


def _labels(path: Path, key: str) -> list[str]:
    return [json.loads(line)[key] for line in path.read_text().splitlines()]


def test_utility_combines_metrics_into_one_number_with_a_paired_delta(tmp_path: Path) -> None:
    run = heldout.evaluate(_project(tmp_path))
    y = _labels(tmp_path / "eval.jsonl", "label")
    values = {}
    for m in ("base", "tuned"):
        p = _labels(tmp_path / f"{m}.jsonl", "prediction")
        short = np.mean([len(x) <= 5 for x in p])
        f1 = f1_score(y, p, average="macro")
        rec = recall_score(y, p, labels=["billing"], average=None)[0]
        values[m] = (3 * f1 + rec + short) / 5
        est = run.metrics[m]["utility"]
        assert est.value == pytest.approx(values[m])
        assert est.ci_low < est.value < est.ci_high
        assert est.method == "bootstrap-joint-percentile"
    d = run.comparisons["utility"]
    assert d.delta == pytest.approx(values["tuned"] - values["base"])
    assert d.test == "paired-bootstrap-joint"
    assert d.verdict == "better"
    # corrected together with the other comparisons
    assert d.p_adjusted is not None and d.p_adjusted >= d.p_value
    assert all(c.p_adjusted is not None for c in run.comparisons.values())
    task = run.tasks[0]
    assert task.utility is not None
    assert [t.weight for t in task.utility.terms] == pytest.approx([0.6, 0.2, 0.2])
    with Store.open(f"sqlite:///{tmp_path / 'runs.db'}") as store:
        back = store.load_run(run.id)
    assert back.tasks[0].utility == task.utility
    assert back.comparisons["utility"] == d


def test_the_cli_and_the_report_show_the_utility(tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    result = runner.invoke(app, ["run", str(_project(tmp_path)), "-o", str(report)])
    assert result.exit_code == 0, result.output
    assert "0.60 × macro_f1 (range [0, 1])" in " ".join(result.output.split())
    html = report.read_text()
    assert "<h3>Utility</h3>" in html
    assert "bootstrap-joint-percentile" in html


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"utility": {"macro_f2": 1}}, 'metric "macro_f2" is not computed'),
        ({"utility": {"macro_f1": -1}}, "greater than 0"),
        ({"utility": {"log_loss": 1}}, 'metric "log_loss" is not computed'),
    ],
)
def test_a_bad_utility_is_one_line_and_exit_2(
    tmp_path: Path, change: dict[str, Any], words: str
) -> None:
    spec = _project(tmp_path, **change)
    result = runner.invoke(app, ["run", str(spec), "--no-report"])
    assert result.exit_code == 2, result.output
    assert words in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_an_unbounded_metric_without_scale_is_exit_2(tmp_path: Path) -> None:
    rows = [{"id": f"r{i}", "x": f"{i}", "y": float(i)} for i in range(40)]
    write_jsonl(tmp_path / "eval.jsonl", rows)
    write_jsonl(tmp_path / "a.jsonl", [{"id": f"r{i}", "prediction": i + 1.0} for i in range(40)])
    spec = {
        "name": "reg",
        "models": {"a": {"backend": "predictions", "path": "a.jsonl"}},
        "dataset": {"path": "eval.jsonl", "id": "id", "input": "x", "target": "y"},
        "task": {"type": "regression"},
        "metrics": ["mae", "r2"],
        "utility": {"mae": 1},
        "store": "runs.db",
    }
    (tmp_path / "eval.yaml").write_text(yaml.safe_dump(spec))
    result = runner.invoke(app, ["run", str(tmp_path / "eval.yaml"), "--no-report"])
    assert result.exit_code == 2, result.output
    assert "give its scale" in result.output
    spec["utility"] = {"mae": {"weight": 1, "scale": 4}}
    (tmp_path / "eval.yaml").write_text(yaml.safe_dump(spec))
    run = heldout.evaluate(tmp_path / "eval.yaml", save=False)
    assert run.metrics["a"]["utility"].value == pytest.approx(1 - 1.0 / 4)


def test_top_level_utility_belongs_to_the_single_task_form(tmp_path: Path) -> None:
    spec = yaml.safe_load(_project(tmp_path).read_text())
    task = {
        "name": "main",
        "type": "classification",
        "labels": LABELS,
        "dataset": spec.pop("dataset"),
        "metrics": spec.pop("metrics"),
    }
    spec.pop("task")
    spec["tasks"] = [task]
    (tmp_path / "eval.yaml").write_text(yaml.safe_dump(spec))
    with pytest.raises(heldout.SpecError, match="put utility: inside the task"):
        heldout.evaluate(tmp_path / "eval.yaml", save=False)
    spec["tasks"][0]["utility"] = spec.pop("utility")
    spec["tasks"][0]["utility"].pop("short")
    (tmp_path / "eval.yaml").write_text(yaml.safe_dump(spec))
    run = heldout.evaluate(tmp_path / "eval.yaml", save=False)
    assert "utility" in run.comparisons
