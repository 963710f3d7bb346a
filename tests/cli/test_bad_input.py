"""The bad-input corpus: every malformed input gets one clear line, exit code 2, and the
store is left byte-for-byte as it was."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from heldout.cli import app
from tests.conftest import Project, build_project

runner = CliRunner()


def _rewrite_line(path: Path, lineno: int, text: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[lineno - 1] = text + "\n"
    path.write_text("".join(lines), encoding="utf-8")


def _edit_json_line(path: Path, lineno: int, change: Callable[[dict[str, object]], None]) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    row = json.loads(lines[lineno - 1])
    change(row)
    lines[lineno - 1] = json.dumps(row, allow_nan=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _spec_replace(old: str, new: str) -> Callable[[Project], None]:
    def apply(p: Project) -> None:
        text = p.spec.read_text(encoding="utf-8")
        assert old in text, old
        p.spec.write_text(text.replace(old, new), encoding="utf-8")

    return apply


def _to_csv(p: Project, broken_row: str) -> None:
    csv = p.data.with_suffix(".csv")
    rows = [json.loads(line) for line in p.data.read_text(encoding="utf-8").splitlines()]
    out = ["ticket_id,text,label,lang,customer"] + [
        f"{r['ticket_id']},{r['text']},{r['label']},{r['lang']},{r['customer']}" for r in rows
    ]
    out[5] = broken_row
    csv.write_text("\n".join(out) + "\n", encoding="utf-8")
    _spec_replace("data/tickets.jsonl", "data/tickets.csv")(p)


def _set(key: str, value: object) -> Callable[[dict[str, object]], None]:
    def change(row: dict[str, object]) -> None:
        row[key] = value

    return change


# (case id, mutation, regex the one-line message must match)
CASES: list[tuple[str, Callable[[Project], None], str]] = [
    (
        "broken_json_line",
        lambda p: _rewrite_line(p.data, 3, '{"ticket_id": "T0002", "text": "x", '),
        r"tickets.jsonl:3:\d+: invalid JSON",
    ),
    (
        "missing_target_column",
        _spec_replace("target: label", "target: intent"),
        r'tickets.jsonl: column "intent" \(dataset.target\) not found',
    ),
    (
        "wrong_label_type",
        lambda p: _edit_json_line(p.data, 4, _set("label", ["bug"])),
        r"tickets.jsonl:4: target column \"label\" holds a list",
    ),
    (
        "nan_target_csv",
        lambda p: _to_csv(p, "T0004,some text,,en,C2"),
        r"tickets.csv:6: target column \"label\" is empty or NaN",
    ),
    (
        "empty_dataset",
        lambda p: p.data.write_text("", encoding="utf-8"),
        r"tickets.jsonl: dataset file is empty",
    ),
    (
        "duplicate_ids",
        lambda p: _edit_json_line(p.data, 9, _set("ticket_id", "T0002")),
        r'tickets.jsonl:9: duplicate id "T0002" \(first seen on line 3\)',
    ),
    (
        "unknown_label",
        lambda p: _edit_json_line(p.data, 7, _set("label", "refund")),
        r'tickets.jsonl:7: target "refund" is not one of the labels',
    ),
    (
        "utf16_bom",
        lambda p: p.data.write_bytes(p.data.read_text(encoding="utf-8").encode("utf-16")),
        r"tickets.jsonl:1:1: file is UTF-16 encoded",
    ),
    (
        "bad_yaml",
        lambda p: p.spec.write_text(
            p.spec.read_text(encoding="utf-8").replace("  base:", "\tbase:"), encoding="utf-8"
        ),
        r"eval.yaml:3:1: invalid YAML",
    ),
    (
        "dataset_path_missing",
        _spec_replace("data/tickets.jsonl", "data/tickets_v2.jsonl"),
        r"tickets_v2.jsonl: dataset file not found",
    ),
    (
        "unknown_spec_key",
        _spec_replace("  slices: [lang]", "  slice: [lang]"),
        r'eval.yaml:\d+:\d+: dataset: unknown key "slice" \(did you mean "slices"\?\)',
    ),
    (
        "predictions_missing_ids",
        lambda p: p.base.write_text(
            "".join(p.base.read_text(encoding="utf-8").splitlines(keepends=True)[:-5]),
            encoding="utf-8",
        ),
        r"base.jsonl: 5 of 120 dataset examples have no prediction",
    ),
    (
        "predictions_extra_id",
        lambda p: _edit_json_line(p.tuned, 11, _set("id", "T9999")),
        r'tuned.jsonl:11: id "T9999" is not in the dataset',
    ),
    (
        "prediction_unknown_label",
        lambda p: _edit_json_line(p.base, 12, _set("prediction", "Billing")),
        r'base.jsonl:12: prediction "Billing" is not a label \(did you mean "billing"\?\)',
    ),
    (
        "probabilities_do_not_sum",
        lambda p: _edit_json_line(
            p.base, 13, _set("probabilities", {"billing": 0.5, "bug": 0.2, "other": 0.1})
        ),
        r"base.jsonl:13: probabilities sum to 0.8000, not 1",
    ),
    (
        "nan_probability",
        lambda p: _edit_json_line(
            p.tuned, 14, _set("probabilities", {"billing": float("nan"), "bug": 0.5, "other": 0.5})
        ),
        r"tuned.jsonl:14: probabilities .* are not all numbers in \[0, 1\]",
    ),
    (
        "csv_wrong_field_count",
        lambda p: _to_csv(p, "T0004,some,text,bug,en,C2"),
        r"tickets.csv:6: malformed CSV",
    ),
    (
        "unknown_metric",
        _spec_replace("metrics: [accuracy, macro_f1", "metrics: [acuracy, macro_f1"),
        r'eval.yaml:\d+:\d+: task "main": .*"acuracy".*did you mean "accuracy"',
    ),
    (
        "compare_unknown_model",
        _spec_replace("candidate: tuned", "candidate: tunde"),
        r'eval.yaml:\d+:\d+: compare.candidate "tunde" is not a model',
    ),
    (
        "json_line_not_object",
        lambda p: _rewrite_line(p.base, 2, '["T0001", "bug"]'),
        r"base.jsonl:2:1: expected a JSON object per line",
    ),
    (
        "duplicate_prediction_ids",
        lambda p: _edit_json_line(p.base, 20, _set("id", "T0000")),
        r'base.jsonl:20: duplicate id "T0000" \(first seen on line 1\)',
    ),
    (
        "invalid_utf8",
        lambda p: p.data.write_bytes(
            p.data.read_bytes().replace(b"ticket number 7 ", b"ticket \xff\xfe number 7 ")
        ),
        r"tickets.jsonl:8:40: not valid UTF-8",
    ),
    ("spec_not_found", lambda p: p.spec.unlink(), r"eval.yaml: file not found"),
]


@pytest.fixture
def seeded(tmp_path: Path) -> tuple[Project, bytes]:
    """A project whose store already holds one good run, and that store's bytes."""
    project = build_project(tmp_path / "p")
    result = runner.invoke(
        app, ["run", str(project.spec), "--store", project.store_url(), "--no-report"]
    )
    assert result.exit_code == 0, result.output
    db = project.root / "store.db"
    return project, db.read_bytes()


@pytest.mark.parametrize(("case", "mutate", "pattern"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_one_line_exit_2_and_store_untouched(
    seeded: tuple[Project, bytes], case: str, mutate: Callable[[Project], None], pattern: str
) -> None:
    project, before = seeded
    mutate(project)
    result = runner.invoke(
        app, ["run", str(project.spec), "--store", project.store_url(), "--no-report"]
    )
    assert result.exit_code == 2, (case, result.output)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    assert re.search(pattern, lines[0]), lines[0]
    assert "Traceback" not in result.output
    assert (project.root / "store.db").read_bytes() == before


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 15


def test_console_script_exit_code_is_2(tmp_path: Path) -> None:
    project = build_project(tmp_path / "p")
    _spec_replace("target: label", "target: intent")(project)
    proc = subprocess.run(
        [sys.executable, "-m", "heldout.cli", "run", str(project.spec), "--no-report", "--no-save"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and 'column "intent"' in proc.stderr
