"""``heldout check``: the report, the exit codes (0 clean, 1 finding, 2 bad input), --json."""

from __future__ import annotations

import json
import random
from pathlib import Path

from typer.testing import CliRunner

from heldout.cli import app
from heldout.demo import write_demo_project

runner = CliRunner()


def _rows(n: int, seed: int) -> list[dict[str, object]]:
    rng = random.Random(seed)
    return [
        {
            "id": f"{seed}-{i}",
            "input": " ".join(f"w{rng.randrange(100_000)}" for _ in range(30)),
            "target": "a" if i % 2 else "b",
        }
        for i in range(n)
    ]


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_clean_data_exits_0(tmp_path: Path) -> None:
    data = _write(tmp_path / "eval.jsonl", _rows(30, 1))
    result = runner.invoke(app, ["check", str(data)])
    assert result.exit_code == 0, result.output
    assert "30 rows" in result.output
    assert "ok: no finding" in result.output


def test_a_label_conflict_exits_1_unless_fail_on_leaves_it_out(tmp_path: Path) -> None:
    rows = _rows(30, 1)
    rows.append({"id": "x", "input": str(rows[0]["input"]).upper(), "target": "c"})
    data = _write(tmp_path / "eval.jsonl", rows)
    result = runner.invoke(app, ["check", str(data)])
    assert result.exit_code == 1, result.output
    assert "failed: conflicts (1)" in result.output
    assert runner.invoke(app, ["check", str(data), "--fail-on", "none"]).exit_code == 0
    assert runner.invoke(app, ["check", str(data), "--fail-on", "leakage"]).exit_code == 0


def test_duplicates_fail_only_when_asked(tmp_path: Path) -> None:
    rows = _rows(30, 1)
    rows.append({**rows[0], "id": "copy"})
    data = _write(tmp_path / "eval.jsonl", rows)
    assert runner.invoke(app, ["check", str(data)]).exit_code == 0
    result = runner.invoke(app, ["check", str(data), "--fail-on", "duplicates"])
    assert result.exit_code == 1
    assert "failed: duplicates (1)" in result.output


def test_leakage_from_train_exits_1_and_json_names_the_ids(tmp_path: Path) -> None:
    ev = _rows(30, 1)
    train = _rows(50, 2)
    train[10]["input"] = ev[4]["input"]
    data = _write(tmp_path / "eval.jsonl", ev)
    train_path = _write(tmp_path / "train.jsonl", train)
    out = tmp_path / "out" / "report.json"
    result = runner.invoke(
        app, ["check", str(data), "--train", str(train_path), "--json", str(out)]
    )
    assert result.exit_code == 1, result.output
    assert "failed: leakage (1)" in result.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["findings"]["leakage"] == 1
    assert doc["leakage"]["contaminated_ids"] == ["1-4"]
    assert doc["leakage"]["exact"] == [{"id": "1-4", "train_ids": ["2-10"], "overlap": 1.0}]
    assert doc["leakage"]["ngram"] == 13
    assert doc["rows"] == 30
    assert set(doc["findings"]) == {
        "duplicates",
        "near-duplicates",
        "conflicts",
        "unknown-labels",
        "rare-classes",
        "length-outliers",
        "leakage",
    }


def test_missing_file_is_one_red_line_and_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 2
    assert "dataset file not found" in result.output
    assert "Traceback" not in result.output


def test_bad_json_line_is_exit_2_naming_the_line(tmp_path: Path) -> None:
    data = _write(tmp_path / "eval.jsonl", _rows(5, 1))
    with data.open("a", encoding="utf-8") as fh:
        fh.write('{"id": "z", "input": oops}\n')
    result = runner.invoke(app, ["check", str(data)])
    assert result.exit_code == 2
    assert "eval.jsonl:6:" in result.output and "invalid JSON" in result.output


def test_unknown_fail_on_and_missing_column_are_exit_2(tmp_path: Path) -> None:
    data = _write(tmp_path / "eval.jsonl", _rows(5, 1))
    result = runner.invoke(app, ["check", str(data), "--fail-on", "dupes"])
    assert result.exit_code == 2
    assert "unknown finding 'dupes'" in result.output
    result = runner.invoke(app, ["check", str(data), "--input", "text"])
    assert result.exit_code == 2
    assert 'column "text" (input) not found' in result.output


def test_demo_data_checks_cleanly_with_its_spec(tmp_path: Path) -> None:
    spec = write_demo_project(tmp_path / "demo")
    data = tmp_path / "demo" / "data" / "tickets.jsonl"
    out = tmp_path / "demo.json"
    result = runner.invoke(app, ["check", str(data), "--spec", str(spec), "--json", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["settings"]["input"] == "text" and doc["settings"]["target"] == "intent"
    assert doc["rows"] == 2000
    assert doc["findings"]["conflicts"] == doc["findings"]["unknown-labels"] == 0
    assert sum(doc["balance"]["counts"].values()) == 2000


def test_spec_without_a_task_for_the_data_is_exit_2(tmp_path: Path) -> None:
    spec = write_demo_project(tmp_path / "demo")
    data = _write(tmp_path / "eval.jsonl", _rows(5, 1))
    result = runner.invoke(app, ["check", str(data), "--spec", str(spec)])
    assert result.exit_code == 2
    assert "no task reads" in result.output


def test_unknown_label_in_spec_fails_by_default(tmp_path: Path) -> None:
    spec = write_demo_project(tmp_path / "demo")
    data = tmp_path / "demo" / "data" / "tickets.jsonl"
    lines = data.read_text(encoding="utf-8").splitlines()
    row = json.loads(lines[2])
    row["intent"] = "Billing"
    lines[2] = json.dumps(row)
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["check", str(data), "--spec", str(spec)])
    assert result.exit_code == 1, result.output
    assert "failed: unknown-labels (1)" in result.output
