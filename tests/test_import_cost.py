"""The CLI starts without the heavy libraries only some commands need."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = (
    "torch",
    "transformers",
    "peft",
    "aiohttp",
    "scipy.stats",
    "scipy.optimize",
    "alembic",
    "fastapi",
    "uvicorn",
    "mlflow",
    "playwright",
)


def test_importing_the_cli_leaves_heavy_libraries_unloaded() -> None:
    code = (
        "import sys, json, heldout.cli; "
        f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_the_pytest_plugin_loads_none_of_the_pipeline() -> None:
    # every pytest session of a project with heldout installed imports the plugin
    code = (
        "import sys, json, heldout.testing; "
        "print(json.dumps([m for m in ('pandas', 'scipy', 'sqlalchemy', 'heldout.run') "
        "if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
