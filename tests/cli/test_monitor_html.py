"""``heldout monitor --html``: the page is written beside --json, and every number in its
tables is the JSON report's number."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from heldout.cli import app
from tests.cli.test_monitor_cli import _rows, _write
from tests.report.report_html_checks import Document

runner = CliRunner()


def _run(tmp_path: Path, *extra: str) -> tuple[dict[str, object], Document, str]:
    ref = _write(tmp_path / "reference.jsonl", _rows(300, seed=1))
    rows = _rows(300, seed=2, shift=8, decline=0.5)
    rows[3]["lang"] = "<script>alert(1)</script>"
    cur = _write(tmp_path / "current.jsonl", rows)
    out_json, out_html = tmp_path / "drift.json", tmp_path / "drift.html"
    args = ["monitor", str(cur), "--reference", str(ref), "--json", str(out_json)]
    result = runner.invoke(app, [*args, "--html", str(out_html), *extra])
    assert result.exit_code == 0, result.output
    # the console may wrap the path anywhere, even inside a word
    assert f"html:{out_html}" in "".join(result.output.split())
    html = out_html.read_text(encoding="utf-8")
    return json.loads(out_json.read_text(encoding="utf-8")), Document(html), html


def _cells(doc: Document) -> list[tuple[str, str, str, str]]:
    """(column, feature, field, exact value) of every number of the drift table."""
    out = []
    row: dict[str, str | None] = {}
    for tag, attrs in doc.elements:
        if tag == "tr" and "data-column" in attrs:
            row = attrs
        if tag == "td" and "data-field" in attrs:
            out.append(
                (
                    str(row["data-column"]),
                    str(row["data-feature"]),
                    str(attrs["data-field"]),
                    str(attrs["data-value"]),
                )
            )
    return out


def test_html_numbers_equal_the_json_report(tmp_path: Path) -> None:
    document, doc, html = _run(tmp_path, "--target", "label", "--prediction", "pred")
    assert doc.errors == []
    cells = _cells(doc)
    expected = [
        (c["name"], t["feature"], name, t[name])
        for c in document["columns"]  # type: ignore[attr-defined]
        for t in c["tests"]
        for name in ("statistic", "p_value", "p_adjusted", "distance", "threshold", "psi")
    ]
    assert len(cells) == len(expected) > 0
    for (col, feature, name, exact), (e_col, e_feature, e_name, value) in zip(
        cells, expected, strict=True
    ):
        assert (col, feature, name) == (e_col, e_feature, e_name)
        if value is None:
            assert exact == ""
        else:
            assert float(exact) == value, (col, feature, name)
    shown = {c["name"] for c in document["columns"]}  # type: ignore[attr-defined]
    assert shown == {"age", "lang", "text", "label", "pred"}
    assert "<script>alert(1)" not in html


def test_window_metric_cells_equal_the_json_windows(tmp_path: Path) -> None:
    document, doc, _ = _run(
        tmp_path, "--time", "when", "--window", "7d", "--target", "label", "--prediction", "pred"
    )
    values = [
        str(attrs["data-value"])
        for tag, attrs in doc.elements
        if tag == "td" and attrs.get("data-field") == "metric"
    ]
    windows = document["windows"]  # type: ignore[index]
    assert len(values) == len(windows) == 4
    for exact, window in zip(values, windows, strict=True):
        assert float(exact) == window["metric"]["value"]
    (table,) = doc.tables_with("windows")
    assert [r[4].split()[0] for r in table.rows[1:]] == [
        f"{w['metric']['value']:.3f}" for w in windows
    ]
    trend = document["trend"]  # type: ignore[index]
    assert f"{trend['slope']:+.4f} per window" in doc.text


def test_unwritable_html_path_exits_2_with_one_line(tmp_path: Path) -> None:
    ref = _write(tmp_path / "reference.jsonl", _rows(50, seed=1))
    cur = _write(tmp_path / "current.jsonl", _rows(50, seed=2))
    (tmp_path / "file").write_text("x")
    bad = tmp_path / "file" / "drift.html"
    result = runner.invoke(app, ["monitor", str(cur), "--reference", str(ref), "--html", str(bad)])
    assert result.exit_code == 2, result.output
    assert "--html: cannot write the drift report" in result.output
    assert "Traceback" not in result.output
