"""The demo end to end, as a newcomer runs it: quickstart, runs, show, report, --json."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from heldout.cli import app

runner = CliRunner(env={"COLUMNS": "200"})
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("demo") / "heldout-demo"
    result = runner.invoke(app, ["quickstart", str(root)])
    assert result.exit_code == 0, result.output
    return root, result.output


def test_quickstart_prints_tables_verdicts_and_report_path(demo: tuple[Path, str]) -> None:
    root, out = demo
    assert "routing · classification · n=" in out and "replies · generation · n=" in out
    assert "better" in out and "no significant difference" in out
    assert "worse on language=de" in out
    report = root / "report.html"
    assert f"report: {report}" in out.replace("\n", "")
    assert report.stat().st_size > 100_000
    html = report.read_text(encoding="utf-8")
    assert "Worse on language = de (n = 248)" in html  # named in the verdict card
    assert (root / ".heldout" / "heldout.db").exists()


def test_runs_show_report_and_json_read_the_store(demo: tuple[Path, str], tmp_path: Path) -> None:
    root, _ = demo
    store = f"sqlite:///{root / '.heldout' / 'heldout.db'}"
    listed = runner.invoke(app, ["runs", "--store", store])
    assert listed.exit_code == 0 and "support-assistant" in listed.output
    assert "macro_f1 0.857 [0.839, 0.872]" in listed.output and "better" in listed.output
    out_json = tmp_path / "run.json"
    shown = runner.invoke(app, ["show", "latest", "--store", store, "--json", str(out_json)])
    assert shown.exit_code == 0, shown.output
    assert "routing · classification" in shown.output
    doc = json.loads(out_json.read_text())
    routing = doc["tasks"]["routing"]
    est = routing["metrics"]["tuned"]["accuracy"]
    assert set(est) >= {"value", "ci_low", "ci_high", "n", "method"}
    assert est["ci_low"] <= est["value"] <= est["ci_high"]
    comp = routing["comparisons"]["macro_f1"]
    assert set(comp) >= {"delta", "ci_low", "ci_high", "p_value", "p_adjusted", "test", "verdict"}
    assert comp["verdict"] == "better"
    assert doc["tasks"]["replies"]["comparisons"]["bleu"]["verdict"] == "no significant difference"
    html = tmp_path / "again.html"
    made = runner.invoke(app, ["report", "latest", "--store", store, "-o", str(html)])
    assert made.exit_code == 0, made.output
    assert html.read_text(encoding="utf-8").count("<html") == 1


def test_unknown_run_is_a_clear_error(demo: tuple[Path, str]) -> None:
    root, _ = demo
    store = f"sqlite:///{root / '.heldout' / 'heldout.db'}"
    result = runner.invoke(app, ["show", "zzzzzz", "--store", store])
    assert result.exit_code == 2
    assert "heldout runs" in result.stderr


def test_validate_checks_files_without_writing_a_store(
    demo: tuple[Path, str], tmp_path: Path
) -> None:
    root, _ = demo
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = runner.invoke(app, ["validate", str(root / "eval.yaml")])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.output
    assert "is valid" in result.output
    assert not (tmp_path / ".heldout").exists()
