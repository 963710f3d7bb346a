"""The console script ends its process at once when a command finishes (``os._exit``):
what the command wrote must be complete, and its exit code kept."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from heldout.store import Store
from tests.conftest import build_project


def _heldout(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "heldout.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )


def test_a_finished_run_leaves_its_store_report_and_output_complete(tmp_path: Path) -> None:
    project = build_project(tmp_path / "p")
    report = tmp_path / "report.html"
    summary = tmp_path / "summary.json"
    proc = _heldout(
        "run",
        str(project.spec),
        "--store",
        project.store_url(),
        "--report",
        str(report),
        "--json",
        str(summary),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "macro_f1" in proc.stdout  # the whole table reached the pipe
    assert report.read_text(encoding="utf-8").rstrip().endswith("</html>")
    assert summary.read_text(encoding="utf-8").rstrip().endswith("}")
    with Store.open(project.store_url(), create=False) as store:
        run = store.load_run("latest")
    assert len(run.tasks[0].examples) == 120


def test_exit_codes_survive_the_fast_exit(tmp_path: Path) -> None:
    missing = _heldout("run", str(tmp_path / "nope.yaml"), cwd=tmp_path)
    assert missing.returncode == 2
    assert "nope.yaml" in missing.stderr and missing.stderr.strip().count("\n") == 0
    helped = _heldout("--help", cwd=tmp_path)
    assert helped.returncode == 0 and "run" in helped.stdout
    unknown = _heldout("no-such-command", cwd=tmp_path)
    assert unknown.returncode == 2
