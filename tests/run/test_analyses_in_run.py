"""A run carries calibration and fairness analyses, checked against reference libraries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference
from sklearn.metrics import brier_score_loss

import heldout
from heldout.store import Store
from tests.run.helpers import write_jsonl


@pytest.fixture
def project(tmp_path: Path) -> Path:
    rng = np.random.default_rng(5)
    n = 1500
    region = rng.choice(["north", "south", "east"], size=n)
    q = rng.uniform(0.05, 0.95, size=n)  # the true chance of "yes"
    y = (rng.uniform(size=n) < q).astype(int)
    logit = np.log(q / (1 - q))
    rows, base, tuned = [], [], []
    for i in range(n):
        p_base = float(q[i])  # calibrated
        # the tuned model is overconfident, and says "yes" more often in the south
        shift = 1.5 if region[i] == "south" else 0.0
        p_tuned = float(1 / (1 + np.exp(-(3 * logit[i] + shift))))
        rows.append({"id": str(i), "region": str(region[i]), "label": ["no", "yes"][y[i]]})
        base.append(
            {
                "id": str(i),
                "prediction": "yes" if p_base > 0.5 else "no",
                "probabilities": {"no": 1 - p_base, "yes": p_base},
            }
        )
        tuned.append(
            {
                "id": str(i),
                "prediction": "yes" if p_tuned > 0.5 else "no",
                "probabilities": {"no": 1 - p_tuned, "yes": p_tuned},
            }
        )
    write_jsonl(tmp_path / "eval.jsonl", rows)
    write_jsonl(tmp_path / "base.jsonl", base)
    write_jsonl(tmp_path / "tuned.jsonl", tuned)
    spec = {
        "name": "analyses",
        "models": {
            "base": {"backend": "predictions", "path": "base.jsonl"},
            "tuned": {"backend": "predictions", "path": "tuned.jsonl"},
        },
        "dataset": {"path": "eval.jsonl", "id": "id", "target": "label", "slices": ["region"]},
        "task": {"type": "classification", "positive_label": "yes"},
        "store": "runs.db",
    }
    (tmp_path / "eval.yaml").write_text(yaml.safe_dump(spec))
    return tmp_path / "eval.yaml"


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_calibration_and_fairness_match_reference_libraries(project: Path) -> None:
    run = heldout.evaluate(project)
    task = run.tasks[0]
    folder = project.parent
    data = _read(folder / "eval.jsonl")
    y = np.array([r["label"] == "yes" for r in data], dtype=int)
    groups = np.array([r["region"] for r in data])
    for model in ("base", "tuned"):
        preds = _read(folder / f"{model}.jsonl")
        p_yes = np.array([r["probabilities"]["yes"] for r in preds])
        yhat = np.array([r["prediction"] == "yes" for r in preds], dtype=int)
        report = task.calibration[model]
        assert report.brier.value == pytest.approx(brier_score_loss(y, p_yes), abs=1e-12)
        assert report.brier.value == pytest.approx(run.metrics[model]["brier"].value, abs=1e-12)
        fair = task.fairness["region"][model]
        assert fair.gap("demographic_parity_difference").estimate.value == pytest.approx(
            demographic_parity_difference(y, yhat, sensitive_features=groups), abs=1e-9
        )
        assert fair.gap("equalized_odds_difference").estimate.value == pytest.approx(
            equalized_odds_difference(y, yhat, sensitive_features=groups), abs=1e-9
        )
    # the overconfident tuned model is found to be worse calibrated
    assert task.calibration_comparison is not None
    assert task.calibration_comparison.verdict == "worse calibrated"
    # its "yes" bias in the south widens the demographic parity gap
    change = task.fairness_comparison["region"].change("demographic_parity_difference")
    assert change.change.delta > 0 and change.change.verdict == "worse"
    with Store.open(f"sqlite:///{folder / 'runs.db'}", create=False) as store:
        again = store.load_run(run.id).tasks[0]
    assert again.calibration == task.calibration
    assert again.fairness_comparison == task.fairness_comparison
    document = run.to_dict()["tasks"]["main"]
    assert document["calibration_comparison"]["verdict"] == "worse calibrated"
    assert set(document["fairness"]["region"]) == {"base", "tuned"}
