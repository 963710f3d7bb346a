"""``thresholds:`` in a run: the chosen threshold, curves and abstaining, in JSON, the store
and the terminal; spec mistakes are one-line errors."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve
from typer.testing import CliRunner

import heldout
from heldout._errors import SpecError
from heldout.analysis import CURVE_POINTS, choose_threshold
from heldout.cli import app
from heldout.stats import StatsConfig
from heldout.store import Store
from tests.run.helpers import write_jsonl, write_pair_spec

LABELS = ["billing", "bug", "other"]


def _project(tmp_path: Path, thresholds: Any, *, n: int = 900, binary: bool = True) -> Path:
    rng = np.random.default_rng(11)
    labels = LABELS[:2] if binary else LABELS
    y = rng.integers(0, len(labels), n)
    rows, preds = [], {"base": [], "tuned": []}
    for i in range(n):
        rows.append(
            {"id": f"e{i}", "text": "word " * int(rng.integers(1, 40)), "label": labels[y[i]]}
        )
        for model, sharp in (("base", 1.0), ("tuned", 1.6)):
            logits = rng.normal(0, 1, len(labels))
            logits[y[i]] += sharp
            p = np.exp(logits) / np.exp(logits).sum()
            preds[model].append(
                {
                    "id": f"e{i}",
                    "prediction": labels[int(p.argmax())],
                    "probabilities": dict(zip(labels, p.tolist(), strict=True)),
                }
            )
    write_jsonl(tmp_path / "eval.jsonl", rows)
    for model, data in preds.items():
        write_jsonl(tmp_path / f"{model}.jsonl", data)
    task: dict[str, Any] = {"type": "classification"}
    if thresholds is not None:
        task["thresholds"] = thresholds
    return write_pair_spec(tmp_path, name="thresholds", task=task)


def _truth(folder: Path, model: str, positive: str) -> tuple[np.ndarray, np.ndarray]:
    rows = [json.loads(x) for x in (folder / "eval.jsonl").read_text().splitlines()]
    preds = [json.loads(x) for x in (folder / f"{model}.jsonl").read_text().splitlines()]
    y = np.array([r["label"] == positive for r in rows], dtype=int)
    score = np.array([p["probabilities"][positive] for p in preds])
    return y, score


def test_recall_target_is_met_and_matches_the_analysis_function(tmp_path: Path) -> None:
    spec = _project(tmp_path, {"recall": 0.9})
    run = heldout.evaluate(spec)
    task = run.tasks[0]
    assert set(task.thresholds) == {"base", "tuned"}
    for model in ("base", "tuned"):
        points = task.thresholds[model]
        y, score = _truth(tmp_path, model, "bug")
        direct = choose_threshold(
            y, score, target="recall", value=0.9, config=StatsConfig(n_resamples=300)
        )
        assert points.choice is not None
        assert points.choice.threshold == direct.threshold
        assert points.choice.recall == direct.recall
        assert points.choice.recall.value >= 0.9
        assert points.choice.positive_label == "bug"
        curves = points.curves
        assert curves is not None
        assert curves.roc_auc == pytest.approx(roc_auc_score(y, score), abs=1e-12)
        assert curves.average_precision == pytest.approx(
            average_precision_score(y, score), abs=1e-12
        )
        # downsampled for the run, every kept point exact
        assert curves.subsampled and len(curves.fpr) <= CURVE_POINTS
        fpr, tpr, thr = roc_curve(y, score, drop_intermediate=False)
        for t, f, r in zip(curves.roc_thresholds[1:], curves.fpr[1:], curves.tpr[1:], strict=True):
            nearest = int(np.argmin(np.abs(thr[1:] - t))) + 1
            assert thr[nearest] == pytest.approx(t, abs=1e-9)
            assert (fpr[nearest], tpr[nearest]) == pytest.approx((f, r), abs=1e-12)
        coverage = points.coverage
        assert coverage is not None and coverage.points[0].coverage == 1.0
        accuracy = run.metrics[model]["accuracy"].value
        assert coverage.points[0].accuracy == pytest.approx(accuracy, abs=1e-12)
    document = run.to_dict()["tasks"]["main"]["thresholds"]
    assert document["tuned"]["choice"]["target"] == "recall"
    assert len(document["tuned"]["curves"]["fpr"]) <= CURVE_POINTS
    with Store.open(f"sqlite:///{tmp_path / 'runs.db'}", create=False) as store:
        again = store.load_run(run.id).tasks[0]
    assert again.thresholds["tuned"].to_dict() == task.thresholds["tuned"].to_dict()


def test_cost_target_on_a_multiclass_task_with_a_named_positive(tmp_path: Path) -> None:
    spec = _project(tmp_path, {"positive": "billing", "costs": {"fn": 10, "fp": 1}}, binary=False)
    task = heldout.evaluate(spec).tasks[0]
    choice = task.thresholds["tuned"].choice
    assert choice is not None and choice.target == "cost"
    assert choice.positive_label == "billing"
    y, score = _truth(tmp_path, "tuned", "billing")
    direct = choose_threshold(
        y, score, target="cost", costs={"fn": 10, "fp": 1}, config=StatsConfig(n_resamples=300)
    )
    assert choice.threshold == direct.threshold
    assert choice.cost.value == pytest.approx(direct.cost.value)


def test_without_thresholds_a_binary_task_still_gets_curves_but_no_choice(tmp_path: Path) -> None:
    task = heldout.evaluate(_project(tmp_path, None)).tasks[0]
    assert task.thresholds["base"].curves is not None
    assert task.thresholds["base"].choice is None


def test_terminal_prints_one_threshold_line_per_model(tmp_path: Path) -> None:
    spec = _project(tmp_path, {"precision": 0.8})
    result = CliRunner().invoke(app, ["run", str(spec), "--no-report"], env={"COLUMNS": "220"})
    assert result.exit_code == 0, result.output
    lines = [x for x in result.output.splitlines() if x.startswith("threshold for precision")]
    assert len(lines) == 2
    assert re.search(
        r"tuned p\(bug\) ≥ 0\.\d{3} → recall 0\.\d{3} \[0\.\d{3}, 0\.\d{3}\]", lines[1]
    )


@pytest.mark.parametrize(
    ("thresholds", "pattern"),
    [
        (
            {"positive": "bugg", "recall": 0.9},
            r'thresholds\.positive "bugg" is not a label.*did you mean "bug"',
        ),
        ({"recall": 1.5}, r"thresholds\.recall must lie strictly between 0 and 1, got 1\.5"),
        ({"precision": 0}, r"thresholds\.precision must lie strictly between 0 and 1"),
        ({"costs": {"fn": -1, "fp": 1}}, r"thresholds\.costs must be non-negative"),
        ({"costs": {"fn": 3}}, r"thresholds\.costs needs fn and fp"),
        ({"recall": 0.9, "f_beta": 2}, r"give exactly one target"),
    ],
)
def test_bad_threshold_specs_are_one_line_errors(
    tmp_path: Path, thresholds: dict[str, Any], pattern: str
) -> None:
    spec = _project(tmp_path, thresholds, n=60)
    with pytest.raises(SpecError, match=pattern) as caught:
        heldout.evaluate(spec, save=False)
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith(str(spec))
    result = CliRunner().invoke(app, ["run", str(spec), "--no-report"])
    assert result.exit_code == 2
    assert len([x for x in result.stderr.splitlines() if x.strip()]) == 1


def test_a_multiclass_task_must_name_its_positive_class(tmp_path: Path) -> None:
    spec = _project(tmp_path, {"f_beta": 2}, n=60, binary=False)
    with pytest.raises(SpecError, match=r"has 3 labels: name the class .*thresholds\.positive"):
        heldout.evaluate(spec, save=False)
