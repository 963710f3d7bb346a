"""The dashboard in a real headless Chromium (Debian's): the runs list, a run, its
examples, the threshold slider, the notes form, the compare page, and hostile text.

One uvicorn server (with a token) and one browser serve the whole module. Every test
writes full-page screenshots to ``HELDOUT_SCREENSHOTS`` when set, else to a temporary
folder whose path is printed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pytest

import heldout.history
from heldout.analysis import curves
from heldout.store import Store
from tests.server.browser_site import PAYLOADS, Site, serve
from tests.server.dashboard_runs import Runs

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = pytest.mark.slow


# --- fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(runs: Runs, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve(runs, tmp_path_factory.mktemp("browser-site")) as served:
        yield served


@pytest.fixture(scope="module")
def shots(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("HELDOUT_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    plugins = request.config.pluginmanager
    reporter = plugins.get_plugin("terminalreporter")
    capture = plugins.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"\ndashboard screenshots: {folder}")
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        if not CHROMIUM.exists():
            pytest.fail(f"Debian's chromium is missing at {CHROMIUM}: make test installs it")
        launched = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield launched
        launched.close()


@dataclass
class Tab:
    """A page of an authorised browser context, and what it reported."""

    page: Page
    shots: Path
    dialogs: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def screenshot(self, name: str) -> None:
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)


@pytest.fixture
def tab(browser: Browser, site: Site, shots: Path) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    tab = Tab(page=page, shots=shots)

    def on_dialog(dialog: Any) -> None:
        tab.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("console", lambda m: tab.problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: tab.problems.append(str(e)))
    # The first visit trades the token in the address for a cookie.
    page.goto(f"{site.url}/?token={site.token}")
    assert page.url == f"{site.url}/"
    yield tab
    context.close()


# --- helpers --------------------------------------------------------------------------


def _close(shown: str, value: float) -> bool:
    """Whether ``shown`` is ``value`` written with the decimals it shows."""
    if not math.isfinite(value):
        return shown == "n/a"
    text = shown.strip().replace(",", "").replace("−", "-")
    decimals = len(text.partition(".")[2])
    return abs(float(text) - value) <= 0.5 * 10.0**-decimals + 1e-12


def _run_ids(page: Page) -> list[str]:
    ids: list[str] = page.locator("tbody tr[data-run]").evaluate_all(
        "rows => rows.map(r => r.dataset.run)"
    )
    return ids


def _shown_examples(page: Page) -> list[str]:
    return page.locator("article.example > header > code").all_inner_texts()


_TABLE_JS = """table => ({
  heads: [...table.querySelectorAll("thead th")].map(th => th.childNodes[0].textContent.trim()),
  rows: [...table.querySelectorAll("tbody tr")].map(tr => [
    tr.querySelector("th").childNodes[0].textContent.trim(),
    [...tr.querySelectorAll("td")].map(td => {
      const value = td.querySelector(".value");
      return (value ? value.textContent : td.textContent).trim();
    }),
  ]),
})"""


# --- the runs list --------------------------------------------------------------------


def test_runs_list_shows_filters_and_sorts_the_stored_runs(tab: Tab, site: Site) -> None:
    page = tab.page
    with Store.open(site.store_url, create=False) as store:
        stored = store.list_runs(limit=1_000)
    newest_first = [s.id for s in sorted(stored, key=lambda s: s.created_at, reverse=True)]
    assert _run_ids(page) == newest_first
    assert len(newest_first) == 6
    tab.screenshot("runs")

    page.select_option("select[name=name]", "churn")
    page.select_option("select[name=sort]", "created")
    page.select_option("select[name=order]", "asc")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/?name=churn**")
    churn = sorted((s for s in stored if s.name == "churn"), key=lambda s: s.created_at)
    assert _run_ids(page) == [s.id for s in churn]
    assert len(churn) == 3
    assert page.locator("tbody tr[data-run] td:nth-child(2)").all_inner_texts() == ["churn"] * 3
    tab.screenshot("runs-churn")

    page.select_option("select[name=name]", "")
    page.select_option("select[name=sort]", "name")
    page.select_option("select[name=order]", "desc")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**sort=name**")
    names = page.locator("tbody tr[data-run] td:nth-child(2)").all_inner_texts()
    assert names == sorted((s.name for s in stored), key=str.lower, reverse=True)
    assert sorted(_run_ids(page)) == sorted(newest_first)
    assert tab.problems == [] and tab.dialogs == []


# --- a run ----------------------------------------------------------------------------


def test_run_page_metrics_table_shows_the_runs_estimates(tab: Tab, site: Site) -> None:
    page = tab.page
    run = site.runs.binary
    task = run.tasks[0]
    page.goto(f"{site.url}/runs/{run.id}")
    table = page.locator("section.task table.metrics").first
    found = table.evaluate(_TABLE_JS)
    heads: list[str] = found["heads"]
    columns = {model: heads.index(model) - 1 for model in task.metrics}
    delta = heads.index("Δ") - 1
    shown = {metric: cells for metric, cells in found["rows"]}
    assert set(shown) == set(task.comparisons)
    for metric, cells in shown.items():
        for model, column in columns.items():
            value = task.metrics[model][metric].value
            assert _close(cells[column], value), (metric, model, cells[column], value)
        difference = task.comparisons[metric].delta
        assert _close(cells[delta], difference), (metric, cells[delta], difference)
        assert cells[delta + 4] == task.comparisons[metric].verdict
    tab.screenshot("run")
    assert tab.problems == [] and tab.dialogs == []


# --- examples -------------------------------------------------------------------------


def test_examples_filters_and_search_equal_a_pandas_filter(tab: Tab, site: Site) -> None:
    page = tab.page
    run = site.runs.binary
    frame: pd.DataFrame = run.tasks[0].examples
    page.goto(f"{site.url}/runs/{run.id}/examples")
    assert _shown_examples(page) == frame["id"].head(50).tolist()

    page.fill("input[name=per_page]", "200")
    page.select_option("select[name=slice]", "region=north")
    page.select_option("select[name=correct]:has(option[value='tuned=0'])", "tuned=0")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**slice=region%3Dnorth**")
    chosen = (frame["region"] == "north") & (frame["correct:tuned"] == 0)
    expected = frame.loc[chosen, "id"].tolist()
    assert 0 < len(expected) <= 200
    assert _shown_examples(page) == expected
    assert page.locator(".output.wrong h4:has-text('tuned')").count() == len(expected)
    tab.screenshot("examples-north-tuned-wrong")

    page.fill("input[name=q]", "Customer 1")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**q=Customer+1**")
    text = frame[["id", "input", "target", "pred:base", "pred:tuned"]].astype(str)
    hit = np.logical_or.reduce(
        [text[c].str.lower().str.contains("customer 1", regex=False) for c in text]
    )
    searched = frame.loc[chosen & hit, "id"].tolist()
    assert 0 < len(searched) < len(expected)
    assert _shown_examples(page) == searched
    counts = page.locator("main > p.muted").first.inner_text()
    assert counts.startswith(f"{len(searched)} of {len(frame):,} examples match")
    tab.screenshot("examples-search")
    # The form sends empty score bounds (no bound); a bound that is not a number is a 400.
    assert "low=&high=" in page.url
    bad = page.request.get(f"{site.url}/api/runs/{run.id}/examples?score=brier:base&low=abc")
    assert bad.status == 400
    assert bad.json()["error"].startswith('the score bound low= must be a number, got "abc"')
    assert tab.problems == [] and tab.dialogs == []


# --- the threshold slider -------------------------------------------------------------


def _expected_matrix(site: Site, index: int) -> dict[str, int]:
    """Confusion counts of the tuned model at the slider's index, from the run's examples
    and the threshold the page serves at that index."""
    import httpx

    run = site.runs.binary
    frame = run.tasks[0].examples
    y = (frame["target"] == "yes").to_numpy()
    said_yes = (frame["pred:tuned"] == "yes").to_numpy()
    confidence = frame["confidence:tuned"].to_numpy(dtype=np.float64)
    score = np.where(said_yes, confidence, 1 - confidence)
    served_curves = httpx.get(
        f"{site.url}/api/runs/{run.id}/thresholds",
        headers={"Authorization": f"Bearer {site.token}"},
    ).json()
    (tuned,) = [c for c in served_curves[run.tasks[0].name] if c["model"] == "tuned"]
    # The served points are the run's stored curve: the same thresholds as computing them.
    stored = curves(y.astype(int), score, max_points=len(tuned["thresholds"])).roc_thresholds
    assert tuned["thresholds"][1:] == pytest.approx(stored[1:].tolist())
    threshold = tuned["thresholds"][index]
    predicted = score >= threshold
    return {
        "tp": int((predicted & y).sum()),
        "fp": int((predicted & ~y).sum()),
        "fn": int((~predicted & y).sum()),
        "tn": int((~predicted & ~y).sum()),
    }


def test_threshold_slider_updates_the_confusion_matrix_without_console_errors(
    tab: Tab, site: Site
) -> None:
    page = tab.page
    page.goto(f"{site.url}/runs/{site.runs.binary.id}")
    panel = page.locator("[data-thresholds]").first
    panel.locator(".th-model").select_option(label="tuned")
    slider = panel.locator(".th-slider")
    page.wait_for_function("document.querySelector('.th-roc').data !== undefined")

    cells = {key: panel.locator(f'[data-cell="{key}"]') for key in ("tp", "fp", "fn", "tn")}
    seen = []
    for index in (5, 60, 140):
        slider.fill(str(index))  # sets the value and fires "input"
        shown = {key: int(cell.inner_text()) for key, cell in cells.items()}
        assert shown == _expected_matrix(site, index)
        precision = shown["tp"] / (shown["tp"] + shown["fp"])
        recall = shown["tp"] / (shown["tp"] + shown["fn"])
        f1 = 2 * precision * recall / (precision + recall)
        assert panel.locator('[data-metric="precision"]').inner_text() == f"{precision:.3f}"
        assert panel.locator('[data-metric="recall"]').inner_text() == f"{recall:.3f}"
        assert panel.locator('[data-metric="f1"]').inner_text() == f"{f1:.3f}"
        seen.append(shown)
    assert seen[0] != seen[1] != seen[2]
    # plotly drew the stored figures too (metric bars, forest, confusion, reliability)
    assert page.locator(".js-plotly-plot").count() >= 5
    tab.screenshot("run-threshold")
    assert tab.problems == [] and tab.dialogs == []


# --- notes ----------------------------------------------------------------------------


def test_note_needs_the_token_and_lands_in_the_store(
    tab: Tab, site: Site, browser: Browser
) -> None:
    page = tab.page
    run = site.runs.routing
    with Store.open(site.store_url, create=False) as store:
        before = store.notes(run.id)
    page.goto(f"{site.url}/runs/{run.id}")
    text = "kept the router: billing recall is up and no slice got worse"
    page.fill(".note-form textarea[name=text]", text)
    page.fill(".note-form input[name=author]", "ines")
    page.click(".note-form button[type=submit]")
    page.wait_for_url(f"{site.url}/runs/{run.id}#notes")
    last = page.locator("#notes li").last
    assert text in last.inner_text() and "ines" in last.inner_text()
    with Store.open(site.store_url, create=False) as store:
        after = store.notes(run.id)
    assert len(after) == len(before) + 1
    assert (after[-1].text, after[-1].author) == (text, "ines")
    tab.screenshot("run-note")
    form_token = page.locator(".note-form input[name=form_token]").input_value()

    # A browser without the token reads nothing and writes nothing, even with a form token.
    stranger = browser.new_context()
    try:
        other = stranger.new_page()
        response = other.goto(f"{site.url}/runs/{run.id}")
        assert response is not None and response.status == 401
        assert "needs its token" in other.inner_text("body")
        posted = stranger.request.post(
            f"{site.url}/runs/{run.id}/notes",
            form={"text": "sneaked in", "form_token": form_token},
        )
        assert posted.status == 401
    finally:
        stranger.close()
    # With the token but a forged form token, the form is refused too.
    forged = page.request.post(
        f"{site.url}/runs/{run.id}/notes", form={"text": "forged", "form_token": "1.abc"}
    )
    assert forged.status == 403
    with Store.open(site.store_url, create=False) as store:
        assert [n.text for n in store.notes(run.id)] == [n.text for n in after]
    assert tab.problems == [] and tab.dialogs == []


# --- compare --------------------------------------------------------------------------


def test_compare_two_runs_shows_heldout_compare(tab: Tab, site: Site) -> None:
    page = tab.page
    a, b = site.runs.binary, site.churn_other
    page.goto(f"{site.url}/compare")
    page.fill("input[name=a]", a.id)
    page.fill("input[name=b]", b.id)
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/compare?**")
    expected = heldout.history.compare(a.id, b.id, store=site.store_url)
    found = page.locator("table.compare").evaluate(_TABLE_JS)
    shown = {metric: cells for metric, cells in found["rows"]}
    assert list(shown) == list(expected.metrics)
    moved = 0
    for metric, m in expected.metrics.items():
        a_shown, b_shown, delta_shown, _, test, verdict = shown[metric]
        assert _close(a_shown, m.a.value), (metric, a_shown, m.a.value)
        assert _close(b_shown, m.b.value), (metric, b_shown, m.b.value)
        assert _close(delta_shown, m.difference.delta), (metric, delta_shown, m.difference)
        assert (test, verdict) == (m.difference.test, m.difference.verdict)
        moved += float(delta_shown.replace("−", "-")) != 0
    assert moved > 0  # other data: the runs differ
    heading = page.locator("main h3").first.inner_text()
    assert heading == f"Fixed: A wrong, B right ({len(expected.fixed):,})"
    fixed = (
        page.locator("table.examples")
        .first.locator("tbody tr")
        .evaluate_all("rows => rows.map(r => [...r.cells].map(c => c.textContent))")
    )
    assert fixed == [
        [c.id, c.input, c.target, c.prediction_a, c.prediction_b] for c in expected.fixed[:25]
    ]
    tab.screenshot("compare")
    assert tab.problems == [] and tab.dialogs == []


_HANDLERS_JS = """() => [...document.querySelectorAll("*")]
  .filter(e => [...e.attributes].some(a => a.name.startsWith("on")))
  .map(e => e.outerHTML.slice(0, 80))"""


# --- hostile text ---------------------------------------------------------------------


def test_hostile_outputs_inputs_and_notes_render_as_text(tab: Tab, site: Site) -> None:
    page = tab.page
    run = site.hostile
    pages = {
        "hostile-run": f"/runs/{run.id}",
        "hostile-examples": f"/runs/{run.id}/examples",
        "hostile-compare": f"/compare?run={run.id}&a=base&b=tuned",
    }
    for name, address in pages.items():
        page.goto(site.url + address)
        page.wait_for_load_state("load")
        assert page.evaluate("typeof window.__xss") == "undefined", name
        body = page.inner_text("body")
        missing = [p for p in PAYLOADS if p not in body]
        assert missing == [], (name, missing)
        # nothing the payloads hold became an element or an attribute
        injected = page.locator(
            "main img, main iframe, main object, main math, main style, a[href^=javascript], "
            "main svg:not(.js-plotly-plot *), main script:not([type='application/json'])"
        )
        assert injected.count() == 0, name
        handlers = page.evaluate(_HANDLERS_JS)
        assert handlers == [], (name, handlers)
        tab.screenshot(name)
    assert tab.dialogs == []
    assert tab.problems == []
