"""The dashboard reads a run's aggregates and only the example columns and rows a page
needs; what it shows equals what the fully decoded run gives."""

from __future__ import annotations

import pytest

from heldout.report._examples import build_examples
from heldout.run import Run
from heldout.server._app import _page_task, _thresholds
from heldout.server._data import RunCache
from heldout.server._figures import threshold_data
from heldout.store import Store
from tests.server.dashboard_runs import Runs


def _pick(runs: Runs, name: str) -> Run:
    run: Run = getattr(runs, name)
    return run


@pytest.mark.parametrize("name", ["binary", "routing", "drafts"])
def test_run_page_tables_equal_those_of_the_decoded_run(runs: Runs, name: str) -> None:
    run = _pick(runs, name)
    with Store.open(runs.url, create=False) as store:
        cached = RunCache(store).get(run.id)
        assert all(len(task.examples) == 0 for task in cached.run.tasks)
        for task, full in zip(cached.run.tasks, store.load_run(run.id).tasks, strict=True):
            expected = build_examples(full)
            assert build_examples(_page_task(cached, task)) == expected
            if name == "binary":  # the tables show text of some rows, not all
                assert expected is not None and any(t.rows for t in expected.tables)


def test_threshold_curves_equal_those_computed_from_the_examples(runs: Runs) -> None:
    with Store.open(runs.url, create=False) as store:
        cached = RunCache(store).get(runs.binary.id)
        task = cached.run.tasks[0]
        full = store.load_run(runs.binary.id).tasks[0]
        served = _thresholds(cached, task)
        computed = threshold_data(full, cached.run.spec)
        assert served and [t.model for t in served] == [t.model for t in computed]
        for mine, theirs in zip(served, computed, strict=True):
            assert mine.roc_auc == pytest.approx(theirs.roc_auc)
            assert mine.average_precision == pytest.approx(theirs.average_precision)
            assert (mine.n, mine.n_positive) == (theirs.n, theirs.n_positive)
