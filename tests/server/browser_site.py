"""The dashboard the browser tests drive: a copy of the dashboard runs' store with a run
of hostile model outputs and a second churn run added, served by uvicorn with a token."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

import heldout
from heldout.run import Run
from heldout.store import Store
from tests.server.dashboard_runs import Runs, binary_spec

TOKEN = "browser-test-token-4f1c"

#: Markup that must reach the reader as text. Each one that could run sets
#: ``window.__xss`` or opens a dialog.
PAYLOADS = (
    "<script>window.__xss = 1</script>",
    "<img src=x onerror=alert(1)>",
    '<img src="x" onerror="window.__xss = 3">',
    "<svg onload=alert(1)>",
    "<svg><script>window.__xss = 5</script></svg>",
    '"><script>window.__xss = 6</script>',
    "'><img src=x onerror=window.__xss=7>",
    "javascript:window.__xss=8",
    '<a href="javascript:alert(9)">click me</a>',
    '<iframe src="javascript:alert(10)"></iframe>',
    "{{constructor.constructor('window.__xss = 11')()}}",
    "${window.__xss = 12}` + alert(12) + `",
    '<div style="width: expression(alert(13))">css</div>',
    '<style>body { background: url("javascript:alert(14)") }</style>',
    "\\u003cscript\\u003ewindow.__xss = 15\\u003c/script\\u003e",
    "\uff1cscript\uff1ealert(16)\uff1c/script\uff1e",
    "&lt;script&gt;alert(17)&lt;/script&gt;",
    "</textarea><script>alert(18)</script>",
    "</script><script>window.__xss = 19</script>",
    "<details open ontoggle=alert(20)>",
    "<body onload=alert(21)>",
    "<math><mtext></form><form><mglyph><style></math><img src onerror=alert(22)>",
    '<object data="data:text/html,<script>alert(23)</script>"></object>',
    "%3Cscript%3Ealert(24)%3C/script%3E",
)


@dataclass(frozen=True)
class Site:
    """The served dashboard and what it serves."""

    url: str
    store_url: str
    token: str
    runs: Runs
    hostile: Run
    churn_other: Run


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def hostile_spec(root: Path) -> Path:
    """A generation task whose inputs, targets and outputs are the payloads: the tuned
    model repeats each (right), the base does not (wrong); ten plain rows both get right."""
    root.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    base: list[dict[str, Any]] = []
    tuned: list[dict[str, Any]] = []
    for i, payload in enumerate(PAYLOADS):
        rows.append({"id": f"x{i:02d}", "prompt": payload, "answer": payload})
        base.append({"id": f"x{i:02d}", "prediction": "I cannot repeat that"})
        tuned.append({"id": f"x{i:02d}", "prediction": payload})
    for i in range(10):
        answer = f"plain answer {i}"
        rows.append({"id": f"p{i:02d}", "prompt": f"plain question {i}", "answer": answer})
        base.append({"id": f"p{i:02d}", "prediction": answer})
        tuned.append({"id": f"p{i:02d}", "prediction": answer})
    _write(root / "hostile.jsonl", rows)
    _write(root / "hostile.base.jsonl", base)
    _write(root / "hostile.tuned.jsonl", tuned)
    spec = {
        "name": "hostile",
        "models": {
            "base": {"backend": "predictions", "path": "hostile.base.jsonl"},
            "tuned": {"backend": "predictions", "path": "hostile.tuned.jsonl"},
        },
        "compare": {"candidate": "tuned", "baseline": "base"},
        "dataset": {"path": "hostile.jsonl", "id": "id", "input": "prompt", "target": "answer"},
        "task": {"type": "generation"},
        "stats": {"resamples": 200, "seed": 0},
    }
    path = root / "hostile.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve(runs: Runs, root: Path) -> Iterator[Site]:
    """Copy the runs' store to ``root``, add the hostile run (with a note of every
    payload) and a churn run on other data, and serve it with :data:`TOKEN` until exit."""
    import uvicorn

    from heldout.server import create_app

    root.mkdir(parents=True, exist_ok=True)
    target = root / "store.db"
    target.write_bytes(Path(runs.url.removeprefix("sqlite:///")).read_bytes())
    store_url = f"sqlite:///{target}"
    with Store.open(store_url) as store:
        hostile = heldout.evaluate(hostile_spec(root / "hostile"), store=store)
        store.add_note(hostile.id, "\n".join(PAYLOADS), author="<b onmouseover=alert(1)>eve</b>")
        (root / "churn").mkdir()
        churn_other = heldout.evaluate(binary_spec(root / "churn", seed=6), store=store)

    port = _free_port()
    config = uvicorn.Config(
        create_app(store_url, token=TOKEN), host="127.0.0.1", port=port, log_level="error"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the dashboard did not start")
        time.sleep(0.05)
    try:
        yield Site(
            url=f"http://127.0.0.1:{port}",
            store_url=store_url,
            token=TOKEN,
            runs=runs,
            hostile=hostile,
            churn_other=churn_other,
        )
    finally:
        server.should_exit = True
        thread.join(timeout=10)
