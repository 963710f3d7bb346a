"""The dashboard's front door, and that the CLI still starts without the web stack."""

from __future__ import annotations

import json
import subprocess
import sys

import heldout.server


def test_the_package_exports_only_create_app() -> None:
    assert heldout.server.__all__ == ["create_app"]
    assert callable(heldout.server.create_app)


def test_importing_the_cli_does_not_import_the_server() -> None:
    code = (
        "import json, sys, heldout.cli; "
        "print(json.dumps([m for m in ('fastapi', 'uvicorn', 'starlette', 'heldout.server') "
        "if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
