"""``heldout monitor``: the drift table, the windows, exit codes (0, 1 with --fail-on-drift,
2 for bad input) and --json."""

from __future__ import annotations

import json
import random
from pathlib import Path

from typer.testing import CliRunner

from heldout.cli import app

runner = CliRunner()
WORDS = ("please", "refund", "my", "order", "broken", "help", "the", "app", "card")


def _rows(
    n: int, *, seed: int, shift: float = 0.0, decline: float = 0.0
) -> list[dict[str, object]]:
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    for i in range(n):
        day = i * 28 // n
        label = rng.choice("abc")
        right = rng.random() < 0.9 - decline * day / 28
        rows.append(
            {
                "id": f"{seed}-{i}",
                "when": f"2024-05-{day + 1:02d}",
                "age": rng.gauss(40 + shift, 10),
                "lang": rng.choices(["en", "de", "fr"], weights=[6, 3, 1])[0],
                "text": " ".join(rng.choices(WORDS, k=rng.randrange(3, 12))),
                "label": label,
                "pred": label if right else ("b" if label == "a" else "a"),
            }
        )
    return rows


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _files(tmp_path: Path, **current: float) -> tuple[Path, Path]:
    ref = _write(tmp_path / "reference.jsonl", _rows(300, seed=1))
    cur = _write(tmp_path / "current.jsonl", _rows(300, seed=2, **current))
    return cur, ref


def test_no_drift_exits_0_and_prints_each_column(tmp_path: Path) -> None:
    cur, ref = _files(tmp_path)
    args = ["monitor", str(cur), "--reference", str(ref), "--fail-on-drift"]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for text in ("drift by column", "age", "lang", "text: length", "text: oov", "chi-square"):
        assert text in result.output
    assert "skipped: id: id-like" in result.output
    assert "ok: no column drifts" in result.output


def test_drift_is_reported_and_exits_1_only_with_fail_on_drift(tmp_path: Path) -> None:
    cur, ref = _files(tmp_path, shift=6.0)
    result = runner.invoke(app, ["monitor", str(cur), "--reference", str(ref)])
    assert result.exit_code == 0, result.output
    assert "drift: age" in result.output
    failing = runner.invoke(app, ["monitor", str(cur), "--reference", str(ref), "--fail-on-drift"])
    assert failing.exit_code == 1
    assert "drift: age" in failing.output


def test_thresholds_and_columns_choose_what_drifts(tmp_path: Path) -> None:
    cur, ref = _files(tmp_path, shift=6.0)
    args = ["monitor", str(cur), "--reference", str(ref), "--fail-on-drift", "--small", "10"]
    # with --small 10 the distance decides: a 0.6 SD shift is ~0.4 of the IQR
    assert runner.invoke(app, args).exit_code == 1
    assert runner.invoke(app, [*args, "--threshold", "age=0.9"]).exit_code == 0
    assert runner.invoke(app, [*args, "--columns", "lang,text"]).exit_code == 0


def test_windows_show_the_metric_and_its_trend_and_json_has_them(tmp_path: Path) -> None:
    cur, ref = _files(tmp_path, decline=0.5)
    out = tmp_path / "out" / "drift.json"
    result = runner.invoke(
        app,
        [
            "monitor",
            str(cur),
            "--reference",
            str(ref),
            "--time",
            "when",
            "--window",
            "7d",
            "--target",
            "label",
            "--prediction",
            "pred",
            "--json",
            str(out),
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "windows of 7d by when" in result.output
    assert "accuracy [95% CI]" in result.output and "trend: accuracy -" in result.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["current"] == str(cur) and doc["metric"] == "accuracy"
    assert [w["start"] for w in doc["windows"]] == [
        "2024-05-01",
        "2024-05-08",
        "2024-05-15",
        "2024-05-22",
    ]
    assert doc["trend"]["slope"] < 0 and doc["trend"]["ci_high"] < 0
    roles = {c["name"]: c["role"] for c in doc["columns"]}
    assert roles["label"] == "target" and roles["pred"] == "prediction"


def _one_error_line(result_stderr: str) -> str:
    lines = [line for line in result_stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


def test_an_unparseable_time_exits_2_with_one_line_naming_the_line(tmp_path: Path) -> None:
    rows = _rows(50, seed=3)
    rows[6]["when"] = "last tuesday"
    cur = _write(tmp_path / "current.jsonl", rows)
    ref = _write(tmp_path / "reference.jsonl", _rows(50, seed=4))
    out = tmp_path / "drift.json"
    result = runner.invoke(
        app,
        [
            "monitor",
            str(cur),
            "--reference",
            str(ref),
            "--time",
            "when",
            "--window",
            "7d",
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 2
    line = _one_error_line(result.stderr)
    assert f"{cur}:7:" in line and "'last tuesday'" in line and "2024-05-01" in line
    assert "Traceback" not in result.output
    assert not out.exists()


def test_bad_options_exit_2_with_one_line(tmp_path: Path) -> None:
    cur, ref = _files(tmp_path)
    base = ["monitor", str(cur), "--reference", str(ref)]
    cases = {
        "--columns ag": ([*base, "--columns", "ag"], f'{cur}: column "ag" (--columns) not found'),
        "--threshold": ([*base, "--threshold", "age"], "--threshold: expected COLUMN=VALUE"),
        "unknown threshold": ([*base, "--threshold", "agee=0.2"], 'did you mean "age"'),
        "--window alone": ([*base, "--window", "7d"], "--time and --window go together"),
        "--window number": ([*base, "--time", "when", "--window", "7"], "give a duration"),
        "--correction": ([*base, "--correction", "sidak"], "--correction: expected one of"),
        "missing file": (
            ["monitor", str(tmp_path / "nope.jsonl"), "--reference", str(ref)],
            "nope.jsonl: current file not found",
        ),
    }
    for name, (args, message) in cases.items():
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (name, result.output)
        assert message in _one_error_line(result.stderr), name
