"""heldout.history export: JSON with examples, Parquet tables, an MLflow run read back."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from heldout import HeldoutError
from heldout.history import export_json, export_mlflow, export_parquet, metrics_frame, mlflow_key
from tests.history.history_runs import Runs


def test_json_is_the_run_document_plus_every_example(runs: Runs, tmp_path: Path) -> None:
    path = export_json(runs.old, tmp_path / "out" / "run.json")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["run"]["id"] == runs.old.id
    assert doc["tasks"]["main"]["metrics"]["tuned"]["accuracy"]["value"] == pytest.approx(
        runs.old.metrics["tuned"]["accuracy"].value
    )
    rows = doc["examples"]["main"]
    frame = runs.old.examples()
    assert len(rows) == len(frame) == 150
    assert [r["id"] for r in rows] == frame["id"].tolist()
    assert rows[3]["pred:tuned"] == frame.loc[3, "pred:tuned"]
    assert rows[3]["log_loss:base"] == pytest.approx(frame.loc[3, "log_loss:base"])


def test_parquet_holds_the_examples_and_the_metrics(runs: Runs, tmp_path: Path) -> None:
    examples, metrics = export_parquet(runs.old, tmp_path / "run.parquet")
    assert metrics == tmp_path / "run.metrics.parquet"
    table = pq.read_table(examples)
    assert table.schema.metadata[b"heldout.run_id"] == runs.old.id.encode()
    got = table.to_pandas()
    expected = runs.old.examples()
    assert got.columns[0] == "task" and set(got["task"]) == {"main"}
    pd.testing.assert_frame_equal(
        got.drop(columns="task"), expected, check_dtype=False, check_like=False
    )
    m = pq.read_table(metrics).to_pandas()
    row = m[(m.kind == "estimate") & (m.model == "tuned") & (m.metric == "macro_f1")].iloc[0]
    est = runs.old.metrics["tuned"]["macro_f1"]
    assert (row.value, row.ci_low, row.ci_high, row.method) == (
        est.value,
        est.ci_low,
        est.ci_high,
        est.method,
    )
    diff = m[(m.kind == "difference") & (m.metric == "accuracy")].iloc[0]
    assert diff.model == "tuned-base"
    assert diff.p_adjusted == runs.old.comparisons["accuracy"].p_adjusted
    assert len(m) == len(metrics_frame(runs.old)) == 2 * 4 + 4


def test_an_unwritable_path_is_one_line_error(runs: Runs, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(HeldoutError, match="cannot write the JSON export"):
        export_json(runs.old, blocker / "run.json")


def test_mlflow_keys_keep_colons_and_replace_odd_characters() -> None:
    assert mlflow_key("main", "tuned[v2]", "recall:billing") == "main.tuned_v2_.recall:billing"


@pytest.mark.slow
def test_mlflow_run_reads_back_with_params_metrics_and_report(runs: Runs, tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    run_id = export_mlflow(runs.old, tracking_uri=uri, notes=[(runs.old.created_at, "ship it")])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # MLflow's SQLAlchemy models
        client = MlflowClient(tracking_uri=uri)
        got = client.get_run(run_id)
        artifacts = [a.path for a in client.list_artifacts(run_id)]
        experiment = client.get_experiment(got.info.experiment_id)
        report = Path(client.download_artifacts(run_id, "report.html", str(tmp_path)))
    assert experiment.name == "router"
    assert got.data.tags["heldout.run_id"] == runs.old.id
    assert got.info.status == "FINISHED"
    est = runs.old.metrics["tuned"]["macro_f1"]
    assert got.data.metrics["main.tuned.macro_f1"] == pytest.approx(est.value)
    assert got.data.metrics["main.tuned.macro_f1_ci_low"] == pytest.approx(est.ci_low)
    assert got.data.metrics["main.tuned.macro_f1_ci_high"] == pytest.approx(est.ci_high)
    assert got.data.metrics["main.delta.accuracy"] == pytest.approx(
        runs.old.comparisons["accuracy"].delta
    )
    params = got.data.params
    assert params["stats.resamples"] == "200" and params["stats.seed"] == "1"
    assert params["compare.candidate"] == "tuned"
    assert params["models.base.backend"] == "predictions"
    assert params["tasks.main.dataset_hash"] == runs.old.tasks[0].dataset.hash
    assert json.loads(params["tasks.main.metrics"]) == [
        "accuracy",
        "macro_f1",
        "roc_auc",
        "log_loss",
    ]
    assert artifacts == ["report.html"]
    html = report.read_text(encoding="utf-8")
    assert runs.old.id in html and "ship it" in html


def test_missing_mlflow_names_the_extra(runs: Runs, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "mlflow" or m.startswith("mlflow.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "mlflow", None)
    with pytest.raises(HeldoutError, match=r"pip install 'heldout\[mlflow\]'"):
        export_mlflow(runs.old, tracking_uri="sqlite:///unused.db")
