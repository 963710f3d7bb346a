"""heldout.history.gate: fail a run only on a real regression beyond its tolerance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

import heldout
from heldout import HeldoutError
from heldout.history import gate, parse_max_drop
from tests.history.history_runs import Runs, right_mask, write_project


def test_a_significant_drop_beyond_tolerance_fails(runs: Runs) -> None:
    result = gate(runs.worse, runs.old, max_drop={"macro_f1": 0.01})
    assert not result.passed
    (check,) = result.checks
    assert check.failed and "significant" in check.reason and "fell" in check.reason
    assert check.comparison.worsening == pytest.approx(
        runs.old.metrics["tuned"]["macro_f1"].value - runs.worse.metrics["tuned"]["macro_f1"].value
    )
    assert result.verdict.startswith("failed: macro_f1")


def test_a_drop_within_tolerance_passes(runs: Runs) -> None:
    result = gate(runs.worse, runs.old, max_drop={"macro_f1": 0.5})
    assert result.passed and "within 0.5" in result.checks[0].reason


def test_strict_fails_on_the_point_estimate_where_the_default_does_not(runs: Runs) -> None:
    lenient = gate(runs.slight, runs.old, max_drop={"accuracy": 0.01})
    check = lenient.checks[0]
    assert check.comparison.worsening == pytest.approx(4 / 150)
    assert check.comparison.difference.p_value == pytest.approx(0.125)  # exact McNemar, 4 vs 0
    assert lenient.passed and "not significant" in check.reason
    strict = gate(runs.slight, runs.old, max_drop={"accuracy": 0.01}, strict=True)
    assert not strict.passed and "over 0.01" in strict.checks[0].reason


def test_lower_is_better_metrics_fail_when_they_rise(runs: Runs) -> None:
    worse = gate(runs.worse, runs.old, max_drop={"log_loss": 0.05})
    check = worse.checks[0]
    assert check.comparison.difference.delta > 0.05  # log loss rose
    assert check.failed and "rose" in check.reason
    better = gate(runs.old, runs.worse, max_drop={"log_loss": 0.0}, strict=True)
    assert better.passed and "did not get worse" in better.checks[0].reason


def test_holm_runs_across_the_gated_metrics_only(runs: Runs) -> None:
    result = gate(runs.worse, runs.old, max_drop={"accuracy": 0.01, "log_loss": 0.01})
    assert [c.metric for c in result.checks] == ["accuracy", "log_loss"]
    raw = [c.comparison.difference.p_value for c in result.checks]
    expected = multipletests(raw, method="holm")[1]
    got = [c.comparison.difference.p_adjusted for c in result.checks]
    assert got == pytest.approx(list(expected), rel=1e-12)


def test_alpha_decides_significance(runs: Runs) -> None:
    loose = gate(runs.slight, runs.old, max_drop={"accuracy": 0.01}, alpha=0.2)
    assert not loose.passed  # p = 0.125 < 0.2
    assert loose.comparison.alpha == pytest.approx(0.2)
    with pytest.raises(HeldoutError, match="--alpha"):
        gate(runs.slight, runs.old, max_drop={"accuracy": 0.01}, alpha=0.9)


def test_refs_are_read_from_the_store(runs: Runs) -> None:
    result = gate(runs.worse.id, runs.old.id[:6], max_drop={"accuracy": 0.01}, store=runs.url)
    assert result.comparison.a.run_id == runs.old.id and not result.passed


def test_the_specs_gates_are_used_when_none_are_given(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    gates = "gates: [{metric: accuracy, max_drop: 0.02}, {metric: log_loss, max_drop: 0.1}]\n"
    base, tuned = right_mask(0.6, 1), right_mask(0.85, 2)
    old = heldout.evaluate(
        write_project(tmp_path / "a", base_right=base, tuned_right=tuned, gates=gates), store=url
    )
    new = heldout.evaluate(
        write_project(tmp_path / "b", base_right=base, tuned_right=base, gates=gates), store=url
    )
    assert new.spec["gates"] == [
        {"metric": "accuracy", "max_drop": 0.02},
        {"metric": "log_loss", "max_drop": 0.1},
    ]
    result = gate(new, old)
    assert [c.metric for c in result.checks] == ["accuracy", "log_loss"]
    assert [c.max_drop for c in result.checks] == [0.02, 0.1]
    assert not result.passed


def test_no_tolerance_anywhere_is_a_clear_error(runs: Runs) -> None:
    with pytest.raises(HeldoutError, match="--max-drop METRIC=TOLERANCE") as err:
        gate(runs.worse, runs.old)
    assert "gates:" in str(err.value) and "\n" not in str(err.value)


def test_unknown_and_uncomparable_metrics_are_errors(runs: Runs) -> None:
    with pytest.raises(HeldoutError, match=r'no metric "macro_fl".*did you mean "macro_f1"'):
        gate(runs.worse, runs.old, max_drop={"macro_fl": 0.01})
    with pytest.raises(HeldoutError, match=r"roc_auc.*probabilit"):
        gate(runs.worse, runs.old, max_drop={"roc_auc": 0.01})


@pytest.mark.parametrize("item", ["macro_f1", "macro_f1=", "=0.1", "macro_f1=-0.1", "f1=abc"])
def test_bad_max_drop_items_are_rejected(item: str) -> None:
    with pytest.raises(HeldoutError, match="METRIC=TOLERANCE"):
        parse_max_drop([item])


def test_max_drop_items_keep_colons_in_metric_names() -> None:
    assert parse_max_drop(["recall:billing=0.05", "macro_f1=0"]) == {
        "recall:billing": 0.05,
        "macro_f1": 0.0,
    }


def test_markdown_summary_has_the_table_and_a_verdict(runs: Runs) -> None:
    result = gate(runs.worse, runs.old, max_drop={"macro_f1": 0.01, "log_loss": 5.0})
    text = result.to_markdown()
    lines = text.splitlines()
    assert lines[0] == "### heldout gate: ❌ failed"
    header = next(i for i, line in enumerate(lines) if line.startswith("| metric |"))
    rows = lines[header + 2 : header + 4]
    assert rows[0].startswith("| macro_f1 |") and "**fail**" in rows[0]
    assert rows[1].startswith("| log_loss (lower is better) |") and "| pass:" in rows[1]
    assert "150 paired examples" in text and "Holm" in text
    assert text.rstrip().splitlines()[-1].startswith("**Verdict:** failed: macro_f1")


def test_failure_message_names_metric_drop_interval_and_p(runs: Runs) -> None:
    result = gate(runs.worse, runs.old, max_drop={"accuracy": 0.01})
    message = result.failure_message()
    assert message.splitlines()[0].startswith(f"heldout: run {runs.worse.id} (tuned) regressed")
    line = message.splitlines()[1]
    d = result.checks[0].comparison.difference
    assert "FAIL accuracy" in line and "95% CI" in line and "mcnemar" in line
    assert f"{d.delta:+.4g}".replace("-", "−") in line
    assert np.isfinite(d.p_adjusted)


def test_spec_gates_are_validated_when_the_spec_loads(tmp_path: Path) -> None:
    from heldout import SpecError
    from heldout.spec import load_spec

    base = right_mask(0.6, 1)
    spec = write_project(
        tmp_path,
        base_right=base,
        tuned_right=base,
        gates="gates: [{metric: accuracy, max_drop: -1}]\n",
    )
    with pytest.raises(SpecError, match="max_drop") as err:
        load_spec(spec)
    assert "\n" not in str(err.value)
