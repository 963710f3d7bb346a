"""heldout note / show / compare / gate / export on a real store."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from heldout.cli import app
from tests.history.history_runs import Runs, build_runs

runner = CliRunner()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    return build_runs(tmp_path_factory.mktemp("history-cli"))


def _one_error_line(result) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return str(lines[0])


def test_note_is_listed_by_show(runs: Runs) -> None:
    ref = runs.clustered.id[:6]
    first = runner.invoke(
        app, ["note", ref, "raised the LR to 3e-4", "--author", "ana", "--store", runs.url]
    )
    assert first.exit_code == 0, first.output
    assert f"noted on run {runs.clustered.id}" in first.stdout
    runner.invoke(app, ["note", ref, "shipped to 5% of traffic", "--store", runs.url])
    shown = runner.invoke(app, ["show", ref, "--store", runs.url], env={"COLUMNS": "160"})
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    at = lines.index("notes")
    assert lines[at + 1].endswith(" ana: raised the LR to 3e-4")
    assert lines[at + 2].endswith(": shipped to 5% of traffic")


def test_blank_note_and_unknown_run_are_one_line_errors(runs: Runs) -> None:
    line = _one_error_line(runner.invoke(app, ["note", runs.old.id, "  ", "--store", runs.url]))
    assert "needs some text" in line
    line = _one_error_line(runner.invoke(app, ["note", "zzzzzz", "why", "--store", runs.url]))
    assert 'no run "zzzzzz"' in line


def test_compare_prints_metrics_and_fixed_broken_and_writes_json(
    runs: Runs, tmp_path: Path
) -> None:
    out = tmp_path / "cmp.json"
    result = runner.invoke(
        app,
        ["compare", runs.old.id, runs.partial.id, "--json", str(out), "--store", runs.url],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "paired on 120 shared examples; 30 only in A, 21 only in B" in text
    assert "roc_auc not compared" in text
    doc = json.loads(out.read_text(encoding="utf-8"))
    fixed = doc["fixed"]
    assert f"fixed by B (correct 0 → 1): {len(fixed)}" in text
    assert f"… and {len(fixed) - 5} more" in text
    assert fixed[0]["id"] in text and fixed[5]["id"] not in text
    row = next(line for line in text.splitlines() if line.lstrip("│ ").startswith("accuracy"))
    assert doc["metrics"]["accuracy"]["difference"]["verdict"] in (
        "better",
        "no significant difference",
    )
    assert "B better" in row or "no significant difference" in row


def test_compare_two_models_of_one_run(runs: Runs) -> None:
    result = runner.invoke(
        app,
        ["compare", runs.old.id, "--model-a", "base", "--model-b", "tuned", "--store", runs.url],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert f"A run {runs.old.id} (router) model base" in result.stdout
    assert "log_loss (lower is better)" in result.stdout
    assert "B better" in result.stdout


def test_compare_without_shared_ids_warns(runs: Runs) -> None:
    result = runner.invoke(
        app,
        ["compare", runs.old.id, runs.elsewhere.id, "--store", runs.url],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "warning: A and B share no example id" in result.stdout
    assert "two-sample-normal" in result.stdout


def test_compare_unknown_model_exits_2(runs: Runs) -> None:
    line = _one_error_line(
        runner.invoke(app, ["compare", runs.old.id, "--model-b", "nope", "--store", runs.url])
    )
    assert 'no model "nope"' in line


def test_gate_exit_codes_and_markdown(runs: Runs, tmp_path: Path) -> None:
    md = tmp_path / "gate.md"
    failed = runner.invoke(
        app,
        [
            "gate", runs.worse.id, "--baseline", runs.old.id, "--max-drop", "macro_f1=0.01",
            "--max-drop", "log_loss=0.05", "--markdown", str(md), "--store", runs.url,
        ],
        env={"COLUMNS": "200"},
    )  # fmt: skip
    assert failed.exit_code == 1, failed.output
    assert "failed: macro_f1" in failed.stdout
    text = md.read_text(encoding="utf-8")
    assert text.startswith("### heldout gate: ❌ failed")
    assert "| macro_f1 |" in text and "| log_loss (lower is better) |" in text
    passed = runner.invoke(
        app,
        ["gate", runs.old.id, "--baseline", runs.worse.id, "--max-drop", "macro_f1=0.01",
         "--store", runs.url],
    )  # fmt: skip
    assert passed.exit_code == 0, passed.output
    assert "passed: no gated metric got significantly worse" in passed.stdout
    lenient = runner.invoke(
        app,
        ["gate", runs.slight.id, "--baseline", runs.old.id, "--max-drop", "accuracy=0.01",
         "--store", runs.url],
    )  # fmt: skip
    strict = runner.invoke(
        app,
        ["gate", runs.slight.id, "--baseline", runs.old.id, "--max-drop", "accuracy=0.01",
         "--strict", "--store", runs.url],
    )  # fmt: skip
    assert (lenient.exit_code, strict.exit_code) == (0, 1)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--max-drop", "macro_fl=0.01"], 'did you mean "macro_f1"'),
        (["--max-drop", "macro_f1"], "METRIC=TOLERANCE"),
        ([], "nothing to gate"),
        (["--max-drop", "accuracy=0.01", "--alpha", "2"], "--alpha"),
    ],
)
def test_gate_bad_input_exits_2(runs: Runs, extra: list[str], expected: str) -> None:
    args = ["gate", runs.worse.id, "--baseline", runs.old.id, *extra, "--store", runs.url]
    assert expected in _one_error_line(runner.invoke(app, args))


def test_export_json_and_parquet(runs: Runs, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    result = runner.invoke(app, ["export", runs.old.id, "-o", str(out), "--store", runs.url])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["run"]["id"] == runs.old.id and len(doc["examples"]["main"]) == 150
    pq_out = tmp_path / "r.parquet"
    result = runner.invoke(
        app, ["export", runs.old.id, "--format", "parquet", "-o", str(pq_out), "--store", runs.url]
    )
    assert result.exit_code == 0, result.output
    assert len(pd.read_parquet(pq_out)) == 150
    assert set(pd.read_parquet(tmp_path / "r.metrics.parquet")["kind"]) == {
        "estimate",
        "difference",
    }


def test_export_unknown_format_exits_2(runs: Runs) -> None:
    line = _one_error_line(
        runner.invoke(app, ["export", runs.old.id, "--format", "jsn", "--store", runs.url])
    )
    assert 'did you mean "json"' in line


@pytest.mark.slow
def test_export_mlflow_uses_the_tracking_uri_from_the_environment(
    runs: Runs, tmp_path: Path
) -> None:
    import warnings

    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'ml.db'}"
    result = runner.invoke(
        app,
        ["export", runs.old.id, "--format", "mlflow", "--store", runs.url],
        env={"MLFLOW_TRACKING_URI": uri, "COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    run_id = result.stdout.split("mlflow run: ")[1].split()[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        got = MlflowClient(tracking_uri=uri).get_run(run_id)
    assert got.data.tags["heldout.run_id"] == runs.old.id
