from __future__ import annotations

import pytest

from tests.history.history_runs import Runs, build_runs


@pytest.fixture(scope="session")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    return build_runs(tmp_path_factory.mktemp("history"))
