"""``heldout pii scan`` and ``heldout pii mask``: exit codes, output files, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner, Result

from heldout.cli import app

runner = CliRunner()

SECRET = "sk-proj-4fJ9kLm2Qx8Rt7Vw1Yz3Ab5Cd6Ef0Gh"
ROWS = [
    {"id": "T1", "input": f"my key {SECRET} leaked", "label": "bug", "n": 1},
    {"id": "T2", "input": "refund please", "label": "billing", "n": 2},
    {"id": "T3", "input": "mail ana@example.com or ana@example.com", "label": "other", "n": 3},
]


def _jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _one_error_line(result: Result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert "Traceback" not in result.output
    return lines[0]


def test_scan_exits_0_when_nothing_is_found(tmp_path: Path) -> None:
    data = _jsonl(tmp_path / "d.jsonl", [{"id": "a", "input": "the export is empty"}])
    result = runner.invoke(app, ["pii", "scan", str(data)])
    assert result.exit_code == 0, result.output
    assert "no PII found" in result.output


def test_scan_exits_1_and_lists_rows_without_the_secrets(tmp_path: Path) -> None:
    data = _jsonl(tmp_path / "d.jsonl", ROWS)
    out = tmp_path / "found.json"
    result = runner.invoke(
        app,
        ["pii", "scan", str(data), "--column", "input", "--json", str(out)],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 1, result.output
    assert SECRET not in result.output and "ana@example.com" not in result.output
    assert f"{data}:1 T1 [input]: secret sk-p…f0Gh" in result.output
    assert f"{data}:3 T3 [input]: email" in result.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["counts"] == {"secret": 1, "email": 2}
    assert [f["id"] for f in doc["findings"]] == ["T1", "T3"]
    assert SECRET not in out.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.jsonl"], "data file not found"),
        (["d.jsonl", "--column", "body"], "column 'body' missing (columns: id, input, label, n)"),
        (["d.jsonl", "--column", "n"], "column 'n' is not text"),
        (["d.jsonl", "--region", "XX"], "'XX' is not a known phone region"),
        (["bad.jsonl"], "invalid JSON"),
    ],
)
def test_scan_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, args: list[str], message: str
) -> None:
    _jsonl(tmp_path / "d.jsonl", ROWS)
    (tmp_path / "bad.jsonl").write_text('{"input": "x"\n', encoding="utf-8")
    args = [str(tmp_path / args[0]), *args[1:]]
    line = _one_error_line(runner.invoke(app, ["pii", "scan", *args]))
    assert message in line


def test_mask_writes_jsonl_with_only_the_chosen_column_masked(tmp_path: Path) -> None:
    data = _jsonl(tmp_path / "d.jsonl", ROWS)
    out = tmp_path / "out" / "masked.jsonl"
    result = runner.invoke(app, ["pii", "mask", str(data), "-o", str(out), "--column", "input"])
    assert result.exit_code == 0, result.output
    assert "masked 3 values (secret 1, email 2)" in result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["input"] for r in rows] == [
        "my key <SECRET_1> leaked",
        "refund please",
        "mail <EMAIL_1> or <EMAIL_1>",
    ]
    assert [{k: v for k, v in r.items() if k != "input"} for r in rows] == [
        {k: v for k, v in r.items() if k != "input"} for r in ROWS
    ]
    # The masked copy scans clean.
    assert runner.invoke(app, ["pii", "scan", str(out)]).exit_code == 0


def test_mask_keeps_csv_and_parquet_formats(tmp_path: Path) -> None:
    table = pa.table(
        {"id": ["a", "b"], "text": ["ip 8.8.8.8", "ssn 123-45-6789"], "note": ["8.8.8.8", "x"]}
    )
    pq.write_table(table, tmp_path / "d.parquet")
    result = runner.invoke(
        app,
        [
            "pii",
            "mask",
            str(tmp_path / "d.parquet"),
            "-o",
            str(tmp_path / "m.parquet"),
            "-c",
            "text",
        ],
    )
    assert result.exit_code == 0, result.output
    masked = pq.read_table(tmp_path / "m.parquet")
    assert masked.column("text").to_pylist() == ["ip <IP_1>", "ssn <SSN_1>"]
    assert masked.column("note").to_pylist() == ["8.8.8.8", "x"]

    (tmp_path / "d.csv").write_text(
        'id,text\n1,"call (415) 555-0132, thanks"\n2,none\n', encoding="utf-8"
    )
    result = runner.invoke(
        app, ["pii", "mask", str(tmp_path / "d.csv"), "-o", str(tmp_path / "m.csv")]
    )
    assert result.exit_code == 0, result.output
    assert "masked 1 values (phone 1)" in result.output
    assert "<PHONE_1>" in (tmp_path / "m.csv").read_text(encoding="utf-8")


def test_mask_refuses_an_output_of_another_format(tmp_path: Path) -> None:
    data = _jsonl(tmp_path / "d.jsonl", ROWS)
    line = _one_error_line(
        runner.invoke(app, ["pii", "mask", str(data), "-o", str(tmp_path / "m.csv")])
    )
    assert "the masked copy is written as jsonl" in line
    assert not (tmp_path / "m.csv").exists()
