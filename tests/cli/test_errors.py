"""More user mistakes: each one line, exit code 2, nothing created or half-written."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from heldout.cli import app
from tests.conftest import build_project

runner = CliRunner()


def _one_error_line(result) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return str(lines[0])


def test_reading_a_store_that_does_not_exist_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "typo" / "heldout.db"
    for args in (
        ["runs"],
        ["show", "latest"],
        ["report", "latest", "-o", str(tmp_path / "r.html")],
    ):
        line = _one_error_line(runner.invoke(app, [*args, "--store", f"sqlite:///{missing}"]))
        assert f"no store at {missing}" in line
    assert not missing.parent.exists()


def test_json_path_that_is_a_folder(tmp_path: Path) -> None:
    project = build_project(tmp_path / "p")
    line = _one_error_line(
        runner.invoke(
            app, ["run", str(project.spec), "--no-save", "--no-report", "--json", str(tmp_path)]
        )
    )
    assert "cannot write the JSON results" in line


def test_runs_limit_must_be_positive(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["runs", "--limit", "0", "--store", f"sqlite:///{tmp_path / 'x.db'}"]
    )
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_dataset_path_that_is_a_folder(tmp_path: Path) -> None:
    project = build_project(tmp_path / "p")
    project.spec.write_text(
        project.spec.read_text(encoding="utf-8").replace("data/tickets.jsonl", "data"),
        encoding="utf-8",
    )
    line = _one_error_line(
        runner.invoke(app, ["run", str(project.spec), "--no-save", "--no-report"])
    )
    assert "is a folder" in line


def test_probabilities_that_are_not_numbers_name_the_file(tmp_path: Path) -> None:
    project = build_project(tmp_path / "p")
    rows = [json.loads(line) for line in project.base.read_text(encoding="utf-8").splitlines()]
    for row in rows:
        row["probabilities"] = {k: "high" for k in row["probabilities"]}
    project.base.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    line = _one_error_line(
        runner.invoke(app, ["run", str(project.spec), "--no-save", "--no-report"])
    )
    assert str(project.base) in line and "probabilities must be numbers" in line


def _regression_project(root: Path, target: object, *, missing: str = "error") -> Path:
    root.mkdir(parents=True)
    (root / "d.jsonl").write_text(
        "".join(json.dumps({"id": i, "y": target if i == 2 else 1.5}) + "\n" for i in range(5))
    )
    (root / "p.jsonl").write_text(
        "".join(json.dumps({"id": i, "prediction": 1.0}) + "\n" for i in range(4))
    )
    spec = root / "eval.yaml"
    spec.write_text(
        "name: r\nmodels:\n  m: {backend: predictions, path: p.jsonl, missing: " + missing + "}\n"
        "dataset: {path: d.jsonl, id: id, target: y}\ntask: {type: regression}\n"
    )
    return spec


def test_regression_targets_must_be_numbers_not_booleans(tmp_path: Path) -> None:
    spec = _regression_project(tmp_path / "a", True, missing="drop")
    line = _one_error_line(runner.invoke(app, ["run", str(spec), "--no-save", "--no-report"]))
    assert "d.jsonl:3:" in line and "not a number" in line


def test_missing_wrong_is_refused_for_regression(tmp_path: Path) -> None:
    spec = _regression_project(tmp_path / "b", 2.0, missing="wrong")
    line = _one_error_line(runner.invoke(app, ["run", str(spec), "--no-save", "--no-report"]))
    assert "cannot score a regression prediction" in line


def test_names_with_brackets_are_printed_as_written(tmp_path: Path) -> None:
    project = build_project(tmp_path / "p")
    spec = (
        project.spec.read_text(encoding="utf-8")
        .replace("  tuned: {", '  "tuned[v2]": {')
        .replace("candidate: tuned,", 'candidate: "tuned[v2]",')
    )
    project.spec.write_text(spec, encoding="utf-8")
    result = CliRunner(env={"COLUMNS": "200"}).invoke(
        app, ["run", str(project.spec), "--no-save", "--no-report"]
    )
    assert result.exit_code == 0, result.output
    assert "tuned[v2] [CI]" in result.output and "tuned[v2] vs base" in result.output
