"""The report's analysis section: reliability diagram, PR/ROC with the chosen threshold,
coverage–accuracy, per-class metrics, confident errors and input-length buckets, all
drawn from the stored analyses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import heldout
from heldout.report import render_report
from heldout.run import Run
from tests.report.report_html_checks import Document


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> Run:
    folder = tmp_path_factory.mktemp("analysis")
    rng = np.random.default_rng(17)
    n = 800
    q = rng.uniform(0.05, 0.95, n)
    y = (rng.uniform(size=n) < q).astype(int)
    rows, preds = [], {"base": [], "tuned": []}
    for i in range(n):
        rows.append(
            {"id": f"r{i}", "text": "<b>word</b> " * int(rng.integers(1, 30)), "label": "ny"[y[i]]}
        )
        logit = np.log(q[i] / (1 - q[i]))
        for model, p in (("base", q[i]), ("tuned", 1 / (1 + np.exp(-3 * logit)))):
            preds[model].append(
                {
                    "id": f"r{i}",
                    "prediction": "y" if p > 0.5 else "n",
                    "probabilities": {"n": 1 - float(p), "y": float(p)},
                }
            )
    _write(folder / "eval.jsonl", rows)
    for model, data in preds.items():
        _write(folder / f"{model}.jsonl", data)
    spec = {
        "name": "analysis-report",
        "models": {
            "base": {"backend": "predictions", "path": "base.jsonl"},
            "tuned": {"backend": "predictions", "path": "tuned.jsonl"},
        },
        "dataset": {"path": "eval.jsonl", "id": "id", "input": "text", "target": "label"},
        "task": {"type": "classification", "thresholds": {"f_beta": 2}},
        "stats": {"resamples": 200},
    }
    (folder / "eval.yaml").write_text(yaml.safe_dump(spec))
    return heldout.evaluate(folder / "eval.yaml", save=False)


@pytest.fixture(scope="module")
def page(analysed: Run) -> Document:
    return Document(render_report(analysed))


def _figure(page: Document, figure_id: str) -> dict[str, Any]:
    script = next(s for s in page.scripts if s.attrs.get("id") == figure_id)
    spec: dict[str, Any] = json.loads(script.text)
    return spec


def test_reliability_diagram_draws_each_models_bins_with_wilson_whiskers(
    analysed: Run, page: Document
) -> None:
    assert not page.errors
    figure = _figure(page, "task-1-reliability")
    task = analysed.tasks[0]
    traces = {t["name"].split(" · ")[0]: t for t in figure["data"][1:]}
    assert set(traces) == {"tuned", "base"}
    for model, trace in traces.items():
        report = task.calibration[model]
        assert trace["y"] == pytest.approx([r.observed for r in report.rows])
        assert trace["x"] == pytest.approx([r.mean_confidence for r in report.rows])
        assert trace["error_y"]["array"] == pytest.approx(
            [r.observed_high - r.observed for r in report.rows]
        )
        assert f"ECE {report.ece.value:.3f}" in trace["name"]
        assert f"Brier {report.brier.value:.3f}" in trace["name"]
    calibration = next(t for t in page.tables if t.rows and t.rows[0][:2] == ["model", "ECE"])
    assert calibration.row("tuned")[1].startswith(f"{task.calibration['tuned'].ece.value:.3f}")


def test_threshold_figure_marks_the_chosen_threshold_on_both_curves(
    analysed: Run, page: Document
) -> None:
    figure = _figure(page, "task-1-thresholds")
    points = analysed.tasks[0].thresholds["tuned"]
    assert points.choice is not None and points.curves is not None
    markers = [t for t in figure["data"] if t.get("mode") == "markers" and "tuned" in t["name"]]
    pr, roc = markers
    assert (pr["x"][0], pr["y"][0]) == pytest.approx(
        (points.choice.recall.value, points.choice.precision.value)
    )
    # the ROC marker sits on the ROC curve at the chosen threshold
    index = int(np.argmin(np.abs(points.curves.roc_thresholds - points.choice.threshold)))
    assert roc["y"][0] == pytest.approx(points.choice.recall.value)
    assert roc["x"][0] == pytest.approx(points.curves.fpr[index], abs=0.02)
    curve = next(t for t in figure["data"] if t["name"].startswith("tuned · AUC"))
    assert curve["x"] == pytest.approx(points.curves.fpr.tolist())
    chosen = next(t for t in page.tables if t.rows and t.rows[0][:2] == ["model", "threshold"])
    assert chosen.row("tuned")[1] == f"{points.choice.threshold:.3f}"


def test_coverage_figure_and_error_tables(analysed: Run, page: Document) -> None:
    task = analysed.tasks[0]
    figure = _figure(page, "task-1-coverage")
    trace = next(t for t in figure["data"] if t["name"] == "tuned")
    coverage = task.thresholds["tuned"].coverage
    assert coverage is not None
    assert trace["y"] == pytest.approx([p.accuracy for p in coverage.points])
    assert task.errors is not None
    text = page.text
    for title in ("Per class: tuned", "Most confident errors: tuned", "By input length"):
        assert title in text
    confident = next(t for t in page.tables if t.rows and t.rows[0][-1] == "probability")
    first = task.errors.models["tuned"].confident[0]
    assert confident.rows[1][0] == first.id
    # inputs are user text: escaped, shown literally
    assert "<b>word</b>" in confident.rows[1][1]
    length = next(t for t in page.tables if t.rows and t.rows[0][0] == "input length")
    assert [r[0] for r in length.rows[1:]] == [s.value for s in task.errors.length]


def test_a_task_without_analyses_has_no_analysis_section(tmp_path: Path) -> None:
    _write(tmp_path / "eval.jsonl", [{"id": str(i), "target": float(i)} for i in range(40)])
    _write(tmp_path / "m.jsonl", [{"id": str(i), "prediction": i + 1.0} for i in range(40)])
    spec = {
        "name": "plain",
        "models": {"m": {"backend": "predictions", "path": "m.jsonl"}},
        "dataset": {"path": "eval.jsonl", "id": "id"},
        "task": {"type": "regression"},
    }
    (tmp_path / "eval.yaml").write_text(yaml.safe_dump(spec))
    run = heldout.evaluate(tmp_path / "eval.yaml", save=False)
    document = Document(render_report(run))
    assert "Calibration, thresholds and errors" not in document.text
