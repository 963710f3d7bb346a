"""Fixtures of the store tests: a real SQLite file in a temporary folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from heldout.run import Run
from heldout.store import Store
from tests.store.store_runs import make_run


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "store" / "heldout.db"


@pytest.fixture
def store_url(db_path: Path) -> str:
    return f"sqlite:///{db_path}"


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store.open(store_url) as opened:
        yield opened


@pytest.fixture
def run() -> Run:
    return make_run()
