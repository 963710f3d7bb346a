"""The run page in a real headless Chromium: the threshold slider and the page's policy."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from heldout.analysis import curves
from tests.server.dashboard_runs import Runs

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"
    ),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def served(runs: Runs) -> Iterator[str]:
    import uvicorn

    from heldout.server import create_app

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(runs.url), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the dashboard did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _expected(runs: Runs, served: str, index: int) -> dict[str, int]:
    """Confusion counts of the tuned model at the slider's index, from the run's examples
    and the threshold the page serves at that index."""
    import httpx

    frame = runs.binary.tasks[0].examples
    y = (frame["target"] == "yes").to_numpy()
    said_yes = (frame["pred:tuned"] == "yes").to_numpy()
    confidence = frame["confidence:tuned"].to_numpy(dtype=np.float64)
    score = np.where(said_yes, confidence, 1 - confidence)
    served_curves = httpx.get(f"{served}/api/runs/{runs.binary.id}/thresholds").json()
    (tuned,) = [c for c in served_curves[runs.binary.tasks[0].name] if c["model"] == "tuned"]
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
    runs: Runs, served: str
) -> None:
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        page = browser.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(f"{served}/runs/{runs.binary.id}")
        panel = page.locator("[data-thresholds]").first
        panel.locator(".th-model").select_option(label="tuned")
        slider = panel.locator(".th-slider")
        page.wait_for_function("document.querySelector('.th-roc').data !== undefined")

        cells = {key: panel.locator(f'[data-cell="{key}"]') for key in ("tp", "fp", "fn", "tn")}
        seen = []
        for index in (5, 60, 140):
            slider.fill(str(index))  # sets the value and fires "input"
            shown = {key: int(cell.inner_text()) for key, cell in cells.items()}
            assert shown == _expected(runs, served, index)
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
        browser.close()
    assert problems == []
