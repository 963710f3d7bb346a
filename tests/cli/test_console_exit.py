"""The console script ends its process at once when a command finishes (``os._exit``):
what the command wrote must be complete, and its exit code kept."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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


def test_loading_code_pauses_the_collector_and_freezes_only_the_commands_own_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import gc

    from heldout.cli import _app

    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    with _app._loading_code():
        assert not gc.isenabled()
    assert gc.isenabled() and gc.get_freeze_count() == frozen  # a library caller: no freeze
    monkeypatch.setattr(_app, "_OWN_PROCESS", True)
    try:
        with _app._loading_code():
            kept = [object() for _ in range(10)]
        assert gc.isenabled() and gc.get_freeze_count() > frozen
    finally:
        gc.unfreeze()
    assert kept


def test_importing_the_cli_leaves_the_collector_on(tmp_path: Path) -> None:
    code = "import gc, heldout.cli; print(gc.isenabled())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_main_in_process_raises_system_exit_and_leaves_the_process_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import heldout.cli
    from heldout.cli import _app

    monkeypatch.setattr(sys, "argv", ["heldout", "--help"])
    with pytest.raises(SystemExit) as ended:
        heldout.cli.main()
    assert ended.value.code == 0
    assert _app._OWN_PROCESS is False  # only the console script freezes its heap
