"""dataset.weight: a run on a weighted sample estimates the full population's metrics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from sklearn.metrics import accuracy_score, f1_score
from typer.testing import CliRunner

import heldout
from heldout.cli import app
from heldout.store import Store
from tests.run.helpers import write_jsonl

runner = CliRunner()
LABELS = ["billing", "bug", "other"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A population of 3,000 tickets, the rare class also the hard one, sampled to 300."""
    rng = np.random.default_rng(0)
    n = 3000
    y = rng.choice(3, size=n, p=[0.7, 0.22, 0.08])
    rows, base, tuned = [], [], []
    for i in range(n):
        label = LABELS[y[i]]
        rows.append({"id": f"t{i}", "text": f"ticket {i}", "label": label, "tier": f"t{i % 2}"})
        good = rng.random() < [0.95, 0.75, 0.35][y[i]]
        okay = rng.random() < [0.9, 0.7, 0.3][y[i]]
        other = LABELS[(y[i] + 1) % 3]
        tuned.append({"id": f"t{i}", "prediction": label if good else other})
        base.append({"id": f"t{i}", "prediction": label if okay else other})
    write_jsonl(tmp_path / "population.jsonl", rows)
    write_jsonl(tmp_path / "base.jsonl", base)
    write_jsonl(tmp_path / "tuned.jsonl", tuned)
    result = runner.invoke(
        app,
        [
            "sample",
            str(tmp_path / "population.jsonl"),
            "--n",
            "300",
            "--stratify",
            "label",
            "--min-per-class",
            "60",
            "-o",
            str(tmp_path / "sample.jsonl"),
        ],
    )
    assert result.exit_code == 0, result.output
    spec = {
        "name": "weighted",
        "models": {
            "base": {"backend": "predictions", "path": "base.jsonl", "extra": "ignore"},
            "tuned": {"backend": "predictions", "path": "tuned.jsonl", "extra": "ignore"},
        },
        "dataset": {
            "path": "sample.jsonl",
            "id": "id",
            "input": "text",
            "target": "label",
            "weight": "weight",
            "slices": ["tier"],
        },
        "task": {"type": "classification", "labels": LABELS},
        "metrics": ["accuracy", "macro_f1"],
        "store": "runs.db",
    }
    (tmp_path / "eval.yaml").write_text(yaml.safe_dump(spec))
    return tmp_path / "eval.yaml"


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _codes(rows: list[dict[str, Any]], key: str) -> np.ndarray:
    return np.array([LABELS.index(r[key]) for r in rows])


def test_weighted_run_matches_sklearn_sample_weight_and_the_population(project: Path) -> None:
    root = project.parent
    sample = _read(root / "sample.jsonl")
    preds = {
        m: {r["id"]: r["prediction"] for r in _read(root / f"{m}.jsonl")} for m in ("base", "tuned")
    }
    y = _codes(sample, "label")
    w = np.array([r["weight"] for r in sample])
    run = heldout.evaluate(project)
    task = run.tasks[0]
    for model in ("base", "tuned"):
        p = np.array([LABELS.index(preds[model][r["id"]]) for r in sample])
        acc = task.metrics[model]["accuracy"]
        f1 = task.metrics[model]["macro_f1"]
        assert acc.value == pytest.approx(accuracy_score(y, p, sample_weight=w))
        assert f1.value == pytest.approx(f1_score(y, p, average="macro", sample_weight=w))
        assert acc.method == "weighted-linearized"
        assert f1.method == "bootstrap-percentile-weighted"
    # the population value lies inside the weighted interval; the unweighted sample mean,
    # pulled down by the oversampled hard class, does not estimate it
    population = _read(root / "population.jsonl")
    y_all = _codes(population, "label")
    p_all = np.array([LABELS.index(preds["tuned"][r["id"]]) for r in population])
    truth = accuracy_score(y_all, p_all)
    acc = task.metrics["tuned"]["accuracy"]
    assert acc.ci_low <= truth <= acc.ci_high
    p_sample = np.array([LABELS.index(preds["tuned"][r["id"]]) for r in sample])
    assert abs(accuracy_score(y, p_sample) - truth) > abs(acc.value - truth)
    assert task.comparisons["accuracy"].test == "weighted-paired-linearized"
    assert task.comparisons["macro_f1"].test == "paired-bootstrap-weighted"
    assert task.dataset.columns["weight"] == "weight"
    for s in task.slices:
        for est in s.estimates.values():
            assert est.method.startswith("weighted") or est.method.endswith("-weighted")
    # the weighted estimates go through the store unchanged
    with Store.open(f"sqlite:///{root / 'runs.db'}") as store:
        back = store.load_run(run.id)
    assert back.tasks[0].metrics["tuned"]["accuracy"] == acc


@pytest.mark.parametrize(
    ("value", "shown"),
    [(None, "is missing"), (-2.0, "-2.0"), ("lots", "'lots'"), (0, "0")],
    ids=["missing", "negative", "non-numeric", "zero"],
)
def test_bad_weight_is_one_line_naming_file_line_and_column(
    project: Path, value: Any, shown: str
) -> None:
    root = project.parent
    rows = _read(root / "sample.jsonl")
    rows[6]["weight"] = value
    write_jsonl(root / "sample.jsonl", rows)
    result = runner.invoke(app, ["run", str(project), "--no-report"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "sample.jsonl:7" in lines[0]
    assert 'column "weight"' in lines[0] and shown in lines[0]
    assert not (root / "runs.db").exists()


def test_missing_weight_column_is_named(project: Path) -> None:
    spec = yaml.safe_load(project.read_text())
    spec["dataset"]["weight"] = "wieght"
    project.write_text(yaml.safe_dump(spec))
    result = runner.invoke(app, ["run", str(project), "--no-report"])
    assert result.exit_code == 2
    assert 'column "wieght" (dataset.weight) not found' in result.stderr
    assert "weight" in result.stderr


def _with_probabilities(project: Path, metrics: list[str] | None) -> None:
    root = project.parent
    for model in ("base", "tuned"):
        rows = _read(root / f"{model}.jsonl")
        for r in rows:
            r["probs"] = {label: (0.8 if label == r["prediction"] else 0.1) for label in LABELS}
        write_jsonl(root / f"{model}.jsonl", rows)
    spec = yaml.safe_load(project.read_text())
    for model in ("base", "tuned"):
        spec["models"][model]["probabilities"] = "probs"
    if metrics is None:
        spec.pop("metrics")
    else:
        spec["metrics"] = metrics
    project.write_text(yaml.safe_dump(spec))


def test_auc_listed_with_weights_is_refused_before_anything_runs(project: Path) -> None:
    _with_probabilities(project, ["accuracy", "roc_auc"])
    result = runner.invoke(app, ["run", str(project), "--no-report"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "eval.yaml" in lines[0] and "roc_auc" in lines[0]
    assert "dataset.weight" in lines[0]


def test_default_metrics_with_weights_leave_out_the_aucs(project: Path) -> None:
    _with_probabilities(project, None)
    run = heldout.evaluate(project, save=False)
    names = set(run.tasks[0].metrics["tuned"])
    assert "roc_auc" not in names and "pr_auc" not in names
    assert {"accuracy", "macro_f1", "log_loss"} <= names
    assert run.tasks[0].metrics["tuned"]["log_loss"].method == "weighted-linearized"
