"""heldout.compare: stored results paired on shared ids, with the run's own tests."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

import heldout
from heldout import HeldoutError
from heldout.history import compare_runs
from heldout.history._compare import UNPAIRED_TEST
from tests.history.history_runs import Runs, right_mask, write_project


@pytest.mark.parametrize("which", ["old", "clustered"])
def test_two_models_of_one_run_reproduce_the_runs_own_numbers(runs: Runs, which: str) -> None:
    run = getattr(runs, which)
    result = heldout.compare(run, model_a="base", model_b="tuned")
    assert result.paired and result.n_shared == 150 and result.only_a == result.only_b == 0
    assert list(result.metrics) == ["accuracy", "macro_f1", "log_loss"]
    for name, m in result.metrics.items():
        stored = run.comparisons[name]
        d = m.difference
        assert (d.delta, d.ci_low, d.ci_high, d.p_value, d.test) == (
            stored.delta,
            stored.ci_low,
            stored.ci_high,
            stored.p_value,
            stored.test,
        )
        assert m.a == run.metrics["base"][name]
        assert m.b == run.metrics["tuned"][name]
    assert result.metrics["log_loss"].difference.verdict == "better"  # lower is better
    assert not result.metrics["log_loss"].higher_is_better
    assert "probabilit" in result.left_out["roc_auc"]


def test_one_run_defaults_to_baseline_against_candidate(runs: Runs) -> None:
    result = heldout.compare(runs.old.id, store=runs.url)
    assert (result.a.model, result.b.model) == ("base", "tuned")
    assert result.a.run_id == result.b.run_id == runs.old.id


def test_runs_are_paired_on_shared_ids_and_mcnemar_matches_statsmodels(runs: Runs) -> None:
    result = heldout.compare(runs.old.id, runs.partial.id, store=runs.url)
    assert (result.n_shared, result.only_a, result.only_b) == (120, 30, 21)
    assert any("120" in w and "30" in w and "21" in w for w in result.warnings)
    a = runs.old.examples().set_index("id")
    b = runs.partial.examples().set_index("id")
    shared = [i for i in a.index if i in b.index]
    right_a = a.loc[shared, "correct:tuned"].to_numpy()
    right_b = b.loc[shared, "correct:tuned"].to_numpy()
    fixed = [i for i, x, y in zip(shared, right_a, right_b, strict=True) if x == 0 and y == 1]
    broken = [i for i, x, y in zip(shared, right_a, right_b, strict=True) if x == 1 and y == 0]
    assert [e.id for e in result.fixed] == fixed and len(fixed) > 0
    assert [e.id for e in result.broken] == broken
    first = result.fixed[0]
    assert first.target == a.loc[first.id, "target"]
    assert first.prediction_a == a.loc[first.id, "pred:tuned"]
    assert first.prediction_b == b.loc[first.id, "pred:tuned"] == first.target
    table = [
        [np.sum((right_a == 1) & (right_b == 1)), len(broken)],
        [len(fixed), np.sum((right_a == 0) & (right_b == 0))],
    ]
    ref = sm_mcnemar(table, exact=len(fixed) + len(broken) < 25, correction=True)
    accuracy = result.metrics["accuracy"]
    assert accuracy.difference.p_value == pytest.approx(float(ref.pvalue), rel=1e-9)
    assert accuracy.difference.delta == pytest.approx(right_b.mean() - right_a.mean())
    assert accuracy.a.n == accuracy.b.n == 120


def test_holm_corrects_across_the_compared_metrics(runs: Runs) -> None:
    from statsmodels.stats.multitest import multipletests

    result = heldout.compare(runs.old, runs.worse)
    raw = [m.difference.p_value for m in result.metrics.values()]
    holm = multipletests(raw, method="holm")[1]
    got = [m.difference.p_adjusted for m in result.metrics.values()]
    assert got == pytest.approx(list(holm), rel=1e-12)
    assert result.metrics["accuracy"].difference.verdict == "worse"
    assert result.metrics["log_loss"].difference.verdict == "worse"
    assert result.metrics["log_loss"].worsening > 0


def test_no_shared_ids_is_an_unpaired_comparison_with_a_warning(runs: Runs) -> None:
    result = heldout.compare(runs.old, runs.elsewhere)
    assert not result.paired and result.n_shared == 0
    assert (result.only_a, result.only_b) == (150, 150)
    assert "unpaired" in result.warnings[0]
    assert result.fixed == () and result.broken == ()
    z = stats.norm.ppf(0.975)
    for name, m in result.metrics.items():
        assert m.a == runs.old.metrics["tuned"][name]
        assert m.b == runs.elsewhere.metrics["tuned"][name]
        se = math.hypot((m.a.ci_high - m.a.ci_low) / (2 * z), (m.b.ci_high - m.b.ci_low) / (2 * z))
        d = m.difference
        assert d.test == UNPAIRED_TEST
        assert d.delta == pytest.approx(m.b.value - m.a.value)
        assert d.ci_high - d.ci_low == pytest.approx(2 * z * se)
        assert d.p_value == pytest.approx(2 * stats.norm.sf(abs(d.delta) / se))
    assert result.metrics["accuracy"].difference.verdict == "worse"


def test_comparison_document_is_json_ready(runs: Runs) -> None:
    import json

    doc = heldout.compare(runs.old, runs.slight).to_dict()
    text = json.dumps(doc, allow_nan=False)
    assert doc["paired"] is True and len(doc["broken"]) == 4 and doc["fixed"] == []
    assert set(doc["broken"][0]) == {"id", "input", "target", "prediction_a", "prediction_b"}
    assert "roc_auc" in json.loads(text)["left_out"]


def test_unknown_model_task_and_metric_are_one_line_errors(runs: Runs) -> None:
    with pytest.raises(HeldoutError, match='no model "tunde"') as err:
        heldout.compare(runs.old, runs.worse, model_b="tunde")
    assert "\n" not in str(err.value)
    with pytest.raises(HeldoutError, match='no task "other"'):
        heldout.compare(runs.old, runs.worse, task="other")
    with pytest.raises(HeldoutError, match='did you mean "macro_f1"'):
        compare_runs(runs.old, runs.worse, metrics=["macro_f2"])
    with pytest.raises(HeldoutError, match="both"):
        heldout.compare(runs.old, model_a="tuned", model_b="tuned")


def test_weighted_runs_say_the_comparison_is_unweighted(tmp_path: Path) -> None:
    spec = write_project(
        tmp_path / "w", base_right=right_mask(0.6, 1), tuned_right=right_mask(0.85, 2)
    )
    data = tmp_path / "w" / "data.jsonl"
    rows = [json.loads(line) for line in data.read_text(encoding="utf-8").splitlines()]
    data.write_text(
        "".join(json.dumps({**r, "w": 1.0 + i % 3}) + "\n" for i, r in enumerate(rows)),
        encoding="utf-8",
    )
    spec.write_text(
        spec.read_text(encoding="utf-8")
        .replace("  target: label\n", "  target: label\n  weight: w\n")
        .replace("roc_auc, ", ""),
        encoding="utf-8",
    )
    run = heldout.evaluate(spec, store=f"sqlite:///{tmp_path / 'store.db'}")
    assert run.comparisons["accuracy"].test.startswith("weighted")
    result = heldout.compare(run)
    assert result.metrics["accuracy"].difference.test == "mcnemar-chi2"
    (warning,) = result.warnings
    assert "sampling weights (dataset.weight: w)" in warning and "unweighted" in warning
