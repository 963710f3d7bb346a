"""``heldout stress``: originals + variants written in the input's format; bad input exits 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from heldout.cli import app
from heldout.data import read_table

runner = CliRunner()

ROWS = [
    {"id": "t1", "input": "I don't think the refund will arrive before Friday", "label": "billing"},
    {"id": "t2", "input": "The app crashes every time I open the settings", "label": "bug"},
    {"id": "t3", "input": "Please cancel my subscription today", "label": "billing"},
]


def _write(path: Path, rows: list[dict[str, object]] = ROWS) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_writes_originals_and_variants_with_provenance(tmp_path: Path) -> None:
    data = _write(tmp_path / "eval.jsonl")
    out = tmp_path / "stress" / "eval.stress.jsonl"
    result = runner.invoke(
        app, ["stress", str(data), "--ops", "typo,case,truncate", "--seed", "1", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["operation"] for r in rows[:3]] == ["original"] * 3
    assert [r["original_id"] for r in rows[:3]] == ["t1", "t2", "t3"]
    variants = rows[3:]
    assert len(variants) == 9
    assert {r["operation"] for r in variants} == {"typo", "case", "truncate"}
    assert all(r["seed"] == 1 and r["id"].startswith(r["original_id"] + "~") for r in variants)
    assert all(
        r["label"] == next(o["label"] for o in ROWS if o["id"] == r["original_id"])
        for r in variants
    )
    assert "wrote" in result.output and "3 originals + 9 variants" in result.output
    assert "variant_of: original_id" in result.output and "operation: operation" in result.output
    again = tmp_path / "again.jsonl"
    runner.invoke(
        app, ["stress", str(data), "--ops", "typo,case,truncate", "--seed", "1", "-o", str(again)]
    )
    assert again.read_bytes() == out.read_bytes()
    assert [p.name for p in out.parent.iterdir()] == ["eval.stress.jsonl"]  # no partial file


def test_variants_only_and_another_format_by_suffix(tmp_path: Path) -> None:
    data = _write(tmp_path / "eval.jsonl")
    out = tmp_path / "variants.csv"
    result = runner.invoke(
        app,
        [
            "stress",
            str(data),
            "--ops",
            "whitespace,punctuation",
            "--per-op",
            "2",
            "--variants-only",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    table = read_table(out)
    assert table.num_rows == 12
    assert "original" not in table.column("operation").to_pylist()
    assert "originals are not in this file" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ops", "typo,tpyo"], "--ops: unknown stress operation 'tpyo' (did you mean \"typo\"?)"),
        (["--input", "text"], 'column "text" (input) not found'),
        (["--input", "label", "--id", "nope"], 'column "nope" (id) not found'),
    ],
)
def test_bad_options_are_one_line_exit_2_and_write_nothing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    data = _write(tmp_path / "eval.jsonl")
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["stress", str(data), "-o", str(out), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eval.jsonl"]


def test_bad_rows_name_the_line_and_write_nothing(tmp_path: Path) -> None:
    data = _write(tmp_path / "eval.jsonl", [*ROWS, {"id": "t2", "input": "again", "label": "bug"}])
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["stress", str(data), "-o", str(out)])
    assert result.exit_code == 2
    assert 'eval.jsonl:4: duplicate id "t2" (first on' in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not out.exists()
    with data.open("a", encoding="utf-8") as fh:
        fh.write('{"id": "z", "input": oops}\n')
    result = runner.invoke(app, ["stress", str(data), "-o", str(out)])
    assert result.exit_code == 2
    assert "eval.jsonl:5:" in result.output and "invalid JSON" in result.output
    assert not out.exists()


def test_a_stress_set_is_not_stressed_again_or_written_over_its_input(tmp_path: Path) -> None:
    data = _write(tmp_path / "eval.jsonl")
    out = tmp_path / "out.jsonl"
    assert runner.invoke(app, ["stress", str(data), "--ops", "case", "-o", str(out)]).exit_code == 0
    result = runner.invoke(app, ["stress", str(out), "-o", str(tmp_path / "twice.jsonl")])
    assert result.exit_code == 2
    assert 'already has a column "original_id"' in result.output
    result = runner.invoke(app, ["stress", str(data), "-o", str(data)])
    assert result.exit_code == 2
    assert "is the input file" in result.output
