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
    "scipy.special",  # 0.2-0.4 s: imported when a statistic first needs it
    "scipy.sparse",
    "scipy.stats",
    "scipy.optimize",
    "phonenumbers",  # PII checks only
    "heldout.analysis._drift",  # `heldout monitor` only
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


LAZY_PACKAGES = ("analysis", "data", "history", "judges", "stats")


def test_lazy_packages_export_every_name_they_list() -> None:
    import importlib

    for name in LAZY_PACKAGES:
        package = importlib.import_module(f"heldout.{name}")
        listed = set(package.__all__)
        public = {n for n in dir(package) if not n.startswith("_")}
        assert public == listed, f"heldout.{name}: dir() and __all__ differ"
        for attribute in sorted(listed):
            assert getattr(package, attribute) is not None, f"heldout.{name}.{attribute}"


def test_a_lazy_package_imports_only_the_module_a_name_lives_in() -> None:
    code = (
        "import sys, json; from heldout.data import read_table; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('heldout.data._'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    assert "heldout.data._read" in loaded
    assert "heldout.data._pii" not in loaded and "heldout.data._split" not in loaded


def test_an_unknown_name_is_an_attribute_error() -> None:
    import pytest

    import heldout.stats

    with pytest.raises(AttributeError, match="no_such_thing"):
        heldout.stats.no_such_thing  # noqa: B018
