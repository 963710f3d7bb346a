"""``heldout plan``, ``heldout sample`` and the power line of ``heldout check``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from heldout.cli import app
from heldout.stats import mde_for_n, paired_mean_n, paired_proportion_n
from tests.conftest import Project

runner = CliRunner()


def _rows(n: int = 300) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for i in range(n):
        label = "spam" if i % 10 == 0 else "ham"
        rows.append(
            {
                "id": f"r{i}",
                "input": f"message {i}",
                "target": label,
                "region": "eu" if i % 3 else "us",
                "base": label if i % 4 else "other",
                "tuned": label if i % 7 else "other",
                "created_at": f"2025-01-{i % 28 + 1:02d}T10:00:00Z",
            }
        )
    return rows


def _jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_plan_delta_with_disagreement_prints_the_mcnemar_size(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    result = runner.invoke(
        app, ["plan", "--delta", "0.03", "--disagreement", "0.15", "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    n = paired_proportion_n(0.03, disagreement=0.15)
    assert f"examples needed: {n:,}" in result.output
    assert "Connor (1987)" in result.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["n"] == n and doc["kind"] == "paired-proportion"
    assert doc["n_without_continuity_correction"] == paired_proportion_n(
        0.03, disagreement=0.15, continuity=False
    )


def test_plan_delta_with_sd_and_family_prints_the_paired_t_size() -> None:
    result = runner.invoke(app, ["plan", "--delta", "2", "--sd", "10", "--family", "3"])
    assert result.exit_code == 0, result.output
    n = paired_mean_n(2.0, sd_diff=10.0, family=3)
    assert f"examples needed: {n:,}" in result.output
    assert "alpha 0.05 / 3 tests" in result.output


def test_plan_n_prints_what_that_many_examples_detect() -> None:
    result = runner.invoke(app, ["plan", "--n", "2000"])
    assert result.exit_code == 0, result.output
    effect = mde_for_n(2000, disagreement=0.2).effect
    assert f"difference of accuracy of {effect:.4g}" in result.output
    assert "assumed disagreement rate 0.2" in result.output


def test_plan_data_from_two_prediction_columns_per_slice(tmp_path: Path) -> None:
    data = _jsonl(tmp_path / "eval.jsonl", _rows())
    out = tmp_path / "power.json"
    result = runner.invoke(
        app,
        [
            "plan",
            "--data",
            str(data),
            "--predictions",
            "tuned",
            "base",
            "--slices",
            "region",
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "exactly one of tuned and base is right" in result.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    # base is wrong on every 4th row, tuned on every 7th: they differ where exactly one is
    differ = sum((i % 4 == 0) != (i % 7 == 0) for i in range(300))
    assert doc["disagreement"] == pytest.approx(differ / 300)
    assert doc["disagreement_source"] == "observed"
    assert doc["effect"] == pytest.approx(mde_for_n(300, disagreement=differ / 300).effect)
    assert [(s["value"], s["n"], s["alpha"]) for s in doc["slices"]] == [
        ("eu", 200, 0.025),
        ("us", 100, 0.025),
    ]


def test_plan_data_with_a_spec_takes_its_columns_and_slices(project: Project) -> None:
    result = runner.invoke(app, ["plan", "--data", str(project.data), "--spec", str(project.spec)])
    assert result.exit_code == 0, result.output
    assert "assuming 20% disagreement" in result.output
    assert "per slice" in result.output and "lang" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "say what to plan"),
        (["--delta", "0.03"], "--delta needs --disagreement"),
        (["--delta", "0.3", "--disagreement", "0.2"], "larger than the disagreement"),
        (["--delta", "0.03", "--n", "100"], "pass only one of --delta, --n"),
        (["--n", "100", "--slices", "x"], "--slices describes an eval set"),
        (["--delta", "1", "--disagreement", "0.2", "--sd", "3"], "not both"),
        (["--n", "100", "--power", "0.2"], "power must be at least 0.5"),
    ],
)
def test_plan_mistakes_are_one_line_and_exit_2(
    tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "never.json"
    result = runner.invoke(app, ["plan", *args, "--json", str(out)])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_plan_data_with_a_missing_column_names_it(tmp_path: Path) -> None:
    data = _jsonl(tmp_path / "eval.jsonl", _rows(20))
    result = runner.invoke(app, ["plan", "--data", str(data), "--slices", "country"])
    assert result.exit_code == 2
    assert 'column "country" (slices) not found' in result.output


def test_sample_writes_jsonl_rows_as_written_with_weights(tmp_path: Path) -> None:
    data = _jsonl(tmp_path / "eval.jsonl", _rows())
    output = tmp_path / "out" / "sample.jsonl"
    report = tmp_path / "out" / "sample.json"
    result = runner.invoke(
        app,
        [
            "sample",
            str(data),
            "--n",
            "40",
            "--stratify",
            "target",
            "--min-per-class",
            "15",
            "--seed",
            "2",
            "-o",
            str(output),
            "--json",
            str(report),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "they sum to 300" in result.output
    sampled = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert len(sampled) == 40
    originals = {r["id"]: r for r in _rows()}
    for row in sampled:
        weight = row.pop("weight")
        assert row == originals[row["id"]]  # timestamps keep their spelling
        assert weight == pytest.approx(30 / 15 if row["target"] == "spam" else 270 / 25)
    assert sum(1 for r in sampled if r["target"] == "spam") == 15
    doc = json.loads(report.read_text(encoding="utf-8"))
    assert [(s["value"], s["population"], s["sample"]) for s in doc["strata"]] == [
        ("ham", 270, 25),
        ("spam", 30, 15),
    ]
    assert sorted(p.name for p in output.parent.iterdir()) == ["sample.json", "sample.jsonl"]


def test_sample_keeps_csv_and_parquet_and_names_the_weight_column(tmp_path: Path) -> None:
    rows = _rows(100)
    data = tmp_path / "eval.csv"
    with data.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    output = tmp_path / "sample.csv"
    args = ["sample", str(data), "--n", "20", "--stratify", "region", "--weight-column", "w"]
    result = runner.invoke(app, [*args, "-o", str(output)])
    assert result.exit_code == 0, result.output
    with output.open(encoding="utf-8", newline="") as fh:
        written = list(csv.DictReader(fh))
    assert len(written) == 20
    assert sum(float(r["w"]) for r in written) == pytest.approx(100)
    assert written[0]["created_at"].endswith("T10:00:00Z")

    parquet = tmp_path / "eval.parquet"
    pq.write_table(pa.Table.from_pylist(rows), parquet)
    result = runner.invoke(
        app, ["sample", str(parquet), "--n", "10", "-o", str(tmp_path / "s.parquet")]
    )
    assert result.exit_code == 0, result.output
    table = pq.read_table(tmp_path / "s.parquet")
    assert table.num_rows == 10 and table.column_names[-1] == "weight"
    assert table.column("weight").to_pylist() == [10.0] * 10


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--n", "20", "--min-per-class", "15"], "need n >= 30, got n=20"),
        (["--n", "500"], "cannot draw n=500 rows from 300"),
        (["--n", "20", "--allocation", "best"], "--allocation: expected proportional or neyman"),
        (["--n", "20", "--weight-column", "base"], 'already has a column "base"'),
    ],
)
def test_sample_mistakes_write_nothing(tmp_path: Path, extra: list[str], message: str) -> None:
    data = _jsonl(tmp_path / "eval.jsonl", _rows())
    out_dir = tmp_path / "out"
    result = runner.invoke(
        app,
        ["sample", str(data), "--stratify", "target", *extra, "-o", str(out_dir / "s.jsonl")],
    )
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not out_dir.exists()


def test_sample_refuses_to_overwrite_its_input_or_change_its_format(tmp_path: Path) -> None:
    data = _jsonl(tmp_path / "eval.jsonl", _rows(50))
    before = data.read_bytes()
    result = runner.invoke(app, ["sample", str(data), "--n", "10", "-o", str(data)])
    assert result.exit_code == 2 and "is DATA itself" in result.output
    result = runner.invoke(app, ["sample", str(data), "--n", "10", "-o", str(tmp_path / "s.csv")])
    assert result.exit_code == 2 and "Give the output a .jsonl suffix" in result.output
    assert data.read_bytes() == before


def test_check_prints_what_the_set_can_detect_and_writes_it_to_json(project: Project) -> None:
    out = project.root / "check.json"
    result = runner.invoke(
        app, ["check", str(project.data), "--spec", str(project.spec), "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    effect = mde_for_n(120, disagreement=0.2).effect
    assert (
        f"this eval set can detect a difference of accuracy of {effect:.3f} at 80% power "
        "(assuming 20% disagreement)"
    ) in result.output
    power = json.loads(out.read_text(encoding="utf-8"))["power"]
    assert power["n"] == 120 and power["effect"] == pytest.approx(effect)
    assert {s["value"]: s["n"] for s in power["slices"]} == {"de": 30, "en": 90}
