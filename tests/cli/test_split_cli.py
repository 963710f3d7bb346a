"""``heldout split``: the files and manifest it writes, the exit codes (0 written, 1 shared
inputs with --fail-on-duplicates, 2 bad input and nothing written)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from heldout.cli import app

runner = CliRunner()


def _rows(n: int) -> list[dict[str, object]]:
    rng = random.Random(1)
    return [
        {
            "id": f"x{i}",
            "input": " ".join(f"w{rng.randrange(100_000)}" for _ in range(10)),
            "label": "yes" if i % 3 else "no",
            "user": f"u{i // 3}",
            "day": f"2024-03-{1 + i // 4:02d}",
        }
        for i in range(n)
    ]


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_holdout_writes_the_splits_and_a_manifest(tmp_path: Path) -> None:
    data = _write(tmp_path / "data.jsonl", _rows(90))
    out = tmp_path / "splits"
    args = ["split", str(data), "--out", str(out), "--validation", "0.1", "--stratify", "label"]
    result = runner.invoke(app, [*args, "--json", str(tmp_path / "m.json")])
    assert result.exit_code == 0, result.output
    assert "90 rows → random holdout (seed 0)" in result.output
    assert "ok: no duplicate" in result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "manifest.json",
        "test.jsonl",
        "train.jsonl",
        "validation.jsonl",
    ]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest == json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))
    assert {s["name"]: s["rows"] for s in manifest["splits"]} == {
        "train": 63,
        "validation": 9,
        "test": 18,
    }
    assert manifest["splits"][2]["classes"] == {"yes": 12, "no": 6}
    assert manifest["options"]["stratify"] == "label"
    assert manifest["duplicates"]["findings"] == []


def test_k_fold_and_time_series_write_one_folder_per_fold(tmp_path: Path) -> None:
    data = _write(tmp_path / "data.jsonl", _rows(60))
    result = runner.invoke(app, ["split", str(data), "-o", str(tmp_path / "kf"), "--folds", "3"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "kf").iterdir()) == [
        "fold-1",
        "fold-2",
        "fold-3",
        "manifest.json",
    ]
    assert sorted(p.name for p in (tmp_path / "kf/fold-2").iterdir()) == [
        "test.jsonl",
        "train.jsonl",
    ]
    args = ["split", str(data), "-o", str(tmp_path / "ts"), "--time", "day", "--group", "user"]
    result = runner.invoke(app, [*args, "--time-series", "3", "--gap", "1d"])
    assert result.exit_code == 0, result.output
    assert "time-series cross-validation" in result.output
    manifest = json.loads((tmp_path / "ts/manifest.json").read_text(encoding="utf-8"))
    assert manifest["splits"][1]["time_range"][0] > manifest["splits"][0]["time_range"][1]


def test_shared_inputs_are_warned_and_fail_only_when_asked(tmp_path: Path) -> None:
    rows = _rows(50)
    for i in range(1, 50):
        rows[i]["input"] = rows[0]["input"] if i % 10 == 0 else rows[i]["input"]
    data = _write(tmp_path / "data.jsonl", rows)
    result = runner.invoke(app, ["split", str(data), "-o", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    assert "inputs shared across splits: 1 exact" in result.output
    args = ["split", str(data), "-o", str(tmp_path / "b"), "--fail-on-duplicates"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "failed: duplicates across splits (1)" in result.output
    manifest = json.loads((tmp_path / "b/manifest.json").read_text(encoding="utf-8"))
    (finding,) = manifest["duplicates"]["findings"]
    shared = set(finding["first"]["ids"]) | set(finding["second"]["ids"])
    assert shared == {"x0", "x10", "x20", "x30", "x40"}


def test_an_existing_folder_is_left_alone_without_overwrite(tmp_path: Path) -> None:
    data = _write(tmp_path / "data.jsonl", _rows(30))
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine", encoding="utf-8")
    result = runner.invoke(app, ["split", str(data), "-o", str(out)])
    assert result.exit_code == 2
    assert "--overwrite" in result.output
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    result = runner.invoke(app, ["split", str(data), "-o", str(out), "--overwrite"])
    assert result.exit_code == 0, result.output
    assert not (out / "keep.txt").exists() and (out / "manifest.json").exists()


def _broken_time(rows: list[dict[str, object]]) -> None:
    rows[8]["day"] = "2024-13-45"


def _null_group(rows: list[dict[str, object]]) -> None:
    rows[4]["user"] = None


@pytest.mark.parametrize(
    ("edit", "args", "message"),
    [
        (
            None,
            ["--stratify", "lable"],
            'column "lable" (--stratify) not found (did you mean "label"?)',
        ),
        (_broken_time, ["--time", "day"], 'data.jsonl:9: column "day" (--time) value'),
        (_null_group, ["--group", "user"], 'data.jsonl:5: column "user" (--group) is empty'),
        (None, ["--test", "1.2"], "--test: expected a fraction"),
        (None, ["--test", "0.5", "--validation", "0.5"], "add up to 1"),
        (None, ["--format", "xlsx"], "--format: expected one of"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(
    tmp_path: Path, edit: object, args: list[str], message: str
) -> None:
    rows = _rows(30)
    if callable(edit):
        edit(rows)
    data = _write(tmp_path / "data.jsonl", rows)
    out = tmp_path / "nested" / "out"
    result = runner.invoke(app, ["split", str(data), "--out", str(out), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "nested").exists()


def test_an_unreadable_file_is_exit_2_naming_the_line(tmp_path: Path) -> None:
    data = _write(tmp_path / "data.jsonl", _rows(5))
    with data.open("a", encoding="utf-8") as fh:
        fh.write("{not json\n")
    result = runner.invoke(app, ["split", str(data), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "data.jsonl:6:" in result.output and "invalid JSON" in result.output
    assert not (tmp_path / "out").exists()
    missing = runner.invoke(app, ["split", str(tmp_path / "nope.csv"), "-o", str(tmp_path / "o")])
    assert missing.exit_code == 2 and "file not found" in missing.output


def test_a_failure_while_writing_leaves_no_folder_behind(tmp_path: Path) -> None:
    rows = [{"id": i, "input": f"text {i}", "meta": {"n": i}} for i in range(20)]
    data = _write(tmp_path / "data.jsonl", rows)
    out = tmp_path / "out"
    result = runner.invoke(app, ["split", str(data), "-o", str(out), "--format", "csv"])
    assert result.exit_code == 2
    assert "cannot write these columns as CSV" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.jsonl"]
