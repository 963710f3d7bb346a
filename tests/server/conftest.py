"""Fixtures of the dashboard tests: one store of real runs per session, and clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from heldout.server import create_app
from tests.server.dashboard_runs import Runs, build_runs


@pytest.fixture(scope="session")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    return build_runs(tmp_path_factory.mktemp("dashboard"))


@pytest.fixture
def client(runs: Runs) -> Iterator[TestClient]:
    with TestClient(create_app(runs.url)) as test_client:
        yield test_client


@pytest.fixture
def fresh_store(tmp_path: Path, runs: Runs) -> str:
    """A copy of the store, for tests that write notes."""
    source = Path(runs.url.removeprefix("sqlite:///"))
    target = tmp_path / "store.db"
    target.write_bytes(source.read_bytes())
    return f"sqlite:///{target}"
