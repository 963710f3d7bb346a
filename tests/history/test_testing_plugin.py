"""The pytest plugin: assert_no_regression and the heldout_store fixture, run by pytester."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

from heldout.history import gate
from heldout.testing import assert_no_regression
from tests.history.history_runs import Runs

pytest_plugins = ["pytester"]

_SUITE = """
from heldout.testing import assert_no_regression

def test_holds_up(heldout_store):
    result = assert_no_regression("{new}", "{old}", max_drop={{"macro_f1": 0.01}},
                                  store=heldout_store)
    assert result.passed

def test_regressed(heldout_store):
    assert_no_regression("{old}", "{new}", max_drop={{"macro_f1": 0.01, "log_loss": 0.05}},
                         store=heldout_store)
"""


def test_the_plugin_is_registered_under_pytest11() -> None:
    found = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert found.get("heldout") == "heldout.testing"


def test_fixture_opens_the_store_named_on_the_command_line(
    runs: Runs, pytester: pytest.Pytester
) -> None:
    pytester.makepyfile(_SUITE.format(new=runs.old.id, old=runs.worse.id[:8]))
    result = pytester.runpytest("--heldout-store", runs.url, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            f"*AssertionError: heldout: run {runs.worse.id} (tuned) regressed against baseline*",
            "*FAIL macro_f1: * fell by *, over 0.01, significant (max drop 0.01); delta * (95% CI)*",
            "*FAIL log_loss: * rose by *paired-t*",
        ]
    )


def test_fixture_falls_back_to_the_environment(
    runs: Runs, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HELDOUT_STORE", runs.url)
    pytester.makepyfile(_SUITE.format(new=runs.old.id, old=runs.worse.id))
    result = pytester.runpytest("-k", "holds_up", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, deselected=1)


def test_a_missing_store_is_an_error_not_a_new_store(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = pytester.path / "nowhere" / "store.db"
    monkeypatch.setenv("HELDOUT_STORE", f"sqlite:///{missing}")
    pytester.makepyfile("def test_store(heldout_store):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*no store at*"])
    assert not missing.exists()


def test_assert_no_regression_takes_runs_directly(runs: Runs) -> None:
    passed = assert_no_regression(runs.slight, runs.old, max_drop={"accuracy": 0.05})
    assert passed.passed
    with pytest.raises(AssertionError) as err:
        assert_no_regression(runs.slight, runs.old, max_drop={"accuracy": 0.01}, strict=True)
    expected = gate(runs.slight, runs.old, max_drop={"accuracy": 0.01}, strict=True)
    assert str(err.value) == expected.failure_message()
    assert "FAIL accuracy" in str(err.value) and "over 0.01" in str(err.value)


def test_refs_go_through_a_store_url(runs: Runs) -> None:
    with pytest.raises(AssertionError, match="FAIL accuracy"):
        assert_no_regression(runs.worse.id, runs.old.id, max_drop={"accuracy": 0.0}, store=runs.url)
