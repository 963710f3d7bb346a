"""Regression checks inside a test suite, and the ``heldout`` pytest plugin.

Installed with heldout, the plugin adds ``--heldout-store URL`` and the fixture
``heldout_store`` (the store that option, or the ``HELDOUT_STORE`` environment variable,
names; the default store otherwise)::

    from heldout.testing import assert_no_regression

    def test_tuned_model_holds_up(heldout_store):
        assert_no_regression("latest:router", "latest:router-prod",
                             max_drop={"macro_f1": 0.01}, store=heldout_store)

This module is imported by every pytest session once heldout is installed, so it imports
nothing heavy until a check or the fixture runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from heldout.history import GateResult
    from heldout.run import Run
    from heldout.store import Store

__all__ = ["assert_no_regression", "heldout_store", "pytest_addoption"]

#: Environment variable naming the store when ``--heldout-store`` is not given.
STORE_ENV = "HELDOUT_STORE"


def assert_no_regression(
    run: Run | str,
    baseline: Run | str,
    *,
    max_drop: Mapping[str, float] | None = None,
    strict: bool = False,
    store: Store | str | None = None,
    alpha: float | None = None,
    task: str | None = None,
) -> GateResult:
    """Fail the calling test when ``run`` regressed against ``baseline``.

    The check is :func:`heldout.history.gate`: a metric fails when it got worse by more
    than its tolerance and the paired test (Holm across the gated metrics) says so; with
    ``strict`` when its point estimate got worse by more than the tolerance at all.

    Args:
        run: the run to check, or its ref (id, prefix, ``latest``, ``latest:NAME``).
        baseline: the run it is checked against, or its ref.
        max_drop: metric to tolerance in its units; default the spec's ``gates:``.
        strict: fail on the point estimate alone.
        store: a :class:`~heldout.store.Store` (the ``heldout_store`` fixture) or a URL
            that refs are read from.
        alpha: significance level (default: one minus the run's confidence).
        task: the task to check (default: the run's first).

    Returns:
        The gate's result, when it passed.

    Raises:
        AssertionError: a metric regressed; the message names it, by how much, its
            interval and p-value.
    """
    from heldout.history import gate

    url: str | None = None
    if store is None or isinstance(store, str):
        url = store
    else:
        run = store.load_run(run) if isinstance(run, str) else run
        baseline = store.load_run(baseline) if isinstance(baseline, str) else baseline
    result = gate(
        run, baseline, max_drop=max_drop, strict=strict, alpha=alpha, task=task, store=url
    )
    if not result.passed:
        raise AssertionError(result.failure_message())
    return result


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--heldout-store URL``: the store the ``heldout_store`` fixture opens."""
    group = parser.getgroup("heldout")
    group.addoption(
        "--heldout-store",
        dest="heldout_store",
        default=None,
        metavar="URL",
        help=f"SQLAlchemy URL of the heldout run store (default: ${STORE_ENV}, else "
        "sqlite:///.heldout/heldout.db)",
    )


@pytest.fixture
def heldout_store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """The heldout run store named by ``--heldout-store`` or ``$HELDOUT_STORE``."""
    from heldout.store import Store

    url = request.config.getoption("heldout_store") or os.environ.get(STORE_ENV) or None
    with Store.open(url, create=False) as store:
        yield store
