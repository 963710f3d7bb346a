"""The drift page: self-contained, every column shown, user text escaped, charts drawn
from the report's own numbers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from heldout._errors import HeldoutError
from heldout.analysis import DriftReport, drift
from heldout.report._drift_report import render_drift_report, write_drift_report
from tests.report.report_html_checks import Document

HOSTILE = "<script>alert('x')</script>"
WORDS = np.array(["refund", "order", "broken", "help", "card", "late", "thanks", "app"])


def _tables(n: int = 600, *, seed: int = 0) -> tuple[pa.Table, pa.Table]:
    rng = np.random.default_rng(seed)

    def side(shift: float, decline: float, m: int) -> dict[str, object]:
        label = rng.choice(["a", "b", "c"], size=m)
        day = np.arange(m) * 28 // m
        right = rng.random(m) < 0.9 - decline * day / 28
        return {
            "age": rng.normal(40 + shift, 10, m),
            "lang": rng.choice(["en", "de", "fr"], size=m, p=[0.6, 0.3, 0.1]).astype(object),
            HOSTILE: rng.integers(0, 5, m),
            "text": [" ".join(rng.choice(WORDS, size=rng.integers(3, 10))) for _ in range(m)],
            "label": label,
            "pred": np.where(right, label, "a"),
            "when": [f"2024-05-{d + 1:02d}" for d in day],
        }

    ref = side(0.0, 0.0, n)
    cur = side(8.0, 0.5, n)
    cur["lang"][0] = HOSTILE
    return pa.table(cur), pa.table(ref).drop_columns(["when"])


@pytest.fixture(scope="module")
def windowed() -> tuple[DriftReport, Document, str]:
    cur, ref = _tables()
    report = drift(cur, ref, target="label", prediction="pred", time="when", window="7d", seed=1)
    html = render_drift_report(report, cur, ref, current_name="cur.jsonl")
    return report, Document(html), html


def _figure(doc: Document, figure_id: str) -> dict[str, object]:
    for script in doc.scripts:
        if script.attrs.get("id") == figure_id:
            return dict(json.loads(script.text))
    raise AssertionError(f"no figure {figure_id}")


def test_page_is_well_formed_and_self_contained(
    windowed: tuple[DriftReport, Document, str],
) -> None:
    _, doc, html = windowed
    assert doc.errors == []
    assert not [a for a in doc.attributes if a[1] in ("src", "href") and "//" in (a[2] or "")]
    assert not re.search(r"<(link|iframe|img)\b", html)
    policy = doc.meta("Content-Security-Policy")
    assert len(policy) == 1 and "default-src 'none'" in policy[0]
    executable = [s for s in doc.scripts if s.attrs.get("type") != "application/json"]
    assert len(executable) == 2  # plotly's bundle and the page script, both inline
    assert all("src" not in s.attrs for s in doc.scripts)
    assert "Plotly" in executable[0].text


def test_every_compared_column_has_a_row_and_a_section(
    windowed: tuple[DriftReport, Document, str],
) -> None:
    report, doc, _ = windowed
    (table,) = doc.tables_with("drift")
    first_cells = {row[0] for row in table.rows[1:]}
    for c in report.columns:
        assert any(cell.startswith(c.name) for cell in first_cells), c.name
        assert sum(1 for row in table.rows[1:] if row[0].startswith(c.name)) == len(c.tests)
    ids = {attrs.get("id") for _, attrs in doc.elements}
    assert {f"column-{i}" for i in range(len(report.columns))} <= ids
    assert "age" in report.drifted
    assert table.row("age")[-1].startswith("drift")
    assert "Drift in" in doc.text and "age" in doc.text


def test_user_text_is_escaped_in_the_table_and_in_figures(
    windowed: tuple[DriftReport, Document, str],
) -> None:
    _, doc, html = windowed
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html  # the column's name
    assert HOSTILE in doc.text  # shown as the literal characters
    lang = _figure(doc, "fig-column-1")
    labels = [x for trace in lang["data"] for x in trace["x"]]  # type: ignore[index]
    # plotly reads tags in labels; the value is entity-escaped for it
    assert "&lt;script&gt;alert('x')&lt;/script&gt;" in labels


def test_psi_chart_holds_the_report_values_and_the_bands(
    windowed: tuple[DriftReport, Document, str],
) -> None:
    report, doc, _ = windowed
    psi = _figure(doc, "fig-psi")
    (bars,) = psi["data"]  # type: ignore[misc]
    assert bars["x"] == [t.psi for c in report.columns for t in c.tests]
    lines = sorted(s["x0"] for s in psi["layout"]["shapes"])  # type: ignore[index]
    assert lines == [0.1, 0.25]


def test_window_charts_show_metric_band_and_the_fitted_trend(
    windowed: tuple[DriftReport, Document, str],
) -> None:
    report, doc, _ = windowed
    assert report.trend is not None and report.trend.slope < 0
    fig = _figure(doc, "fig-window-metric")
    band, points, trend = fig["data"]  # type: ignore[misc]
    assert points["y"] == [w.metric.value for w in report.windows if w.metric]
    assert band["fill"] == "toself"
    assert max(band["y"]) == max(w.metric.ci_high for w in report.windows if w.metric)
    (x0, x1), (y0, y1) = trend["x"], trend["y"]
    assert (y1 - y0) / (x1 - x0) == pytest.approx(report.trend.slope, rel=1e-9)
    # the dashed line is the WLS fit: refit it with statsmodels and compare the ends
    from statsmodels.regression.linear_model import WLS

    x = np.array([w.index + 0.5 for w in report.windows if w.metric])
    y = np.array(points["y"])
    n = np.array([w.metric.n for w in report.windows if w.metric], dtype=float)
    fit = WLS(y, np.column_stack([np.ones_like(x), x]), weights=n).fit()
    assert y0 == pytest.approx(fit.params[0] + fit.params[1] * x0, abs=1e-12)
    heat = _figure(doc, "fig-window-drift")
    (cells,) = heat["data"]  # type: ignore[misc]
    assert len(cells["z"]) == len(report.columns)
    assert len(cells["z"][0]) == len(report.windows)
    age = [c.name for c in report.columns].index("age")
    marks = cells["text"][age]
    assert marks == ["drift" if "age" in w.drifted else "" for w in report.windows]


def test_histogram_shares_sum_to_one_per_side(
    windowed: tuple[DriftReport, Document, str],
) -> None:
    _, doc, _ = windowed
    age = _figure(doc, "fig-column-0")
    for trace in age["data"]:  # type: ignore[attr-defined]
        assert sum(trace["y"]) == pytest.approx(1.0)
    chars = _figure(doc, "fig-column-3-characters")
    assert [t["name"] for t in chars["data"]] == ["reference", "current"]  # type: ignore[attr-defined]


def test_without_windows_the_page_has_no_window_section() -> None:
    cur, ref = _tables(200, seed=3)
    report = drift(cur.drop_columns(["when"]), ref)
    doc = Document(render_drift_report(report, cur, ref))
    assert doc.errors == []
    ids = {attrs.get("id") for _, attrs in doc.elements}
    assert "windows" not in ids and "fig-window-metric" not in ids


def test_unwritable_path_is_a_one_line_user_error(tmp_path: Path) -> None:
    cur, ref = _tables(100, seed=4)
    report = drift(cur.drop_columns(["when"]), ref)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(HeldoutError, match="--html: cannot write") as info:
        write_drift_report(report, cur, ref, blocker / "drift.html")
    assert "\n" not in str(info.value)
    written = write_drift_report(report, cur, ref, tmp_path / "out" / "drift.html")
    assert written.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert not list((tmp_path / "out").glob(".*partial"))
