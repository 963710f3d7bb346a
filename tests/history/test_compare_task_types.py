"""Stored regression and generation runs compare to the run's own numbers: the scorers
rebuild the same sufficient statistics from the stored predictions and targets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import heldout

WORDS = ["refund", "invoice", "login", "password", "charge", "account", "reset", "billing"]


def _write(
    root: Path, task: str, rows: list[dict[str, object]], base: list[object], tuned: list[object]
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    for name, preds in (("base", base), ("tuned", tuned)):
        (root / f"{name}.jsonl").write_text(
            "".join(
                json.dumps({"id": r["id"], "prediction": p}) + "\n"
                for r, p in zip(rows, preds, strict=True)
            ),
            encoding="utf-8",
        )
    spec = root / "eval.yaml"
    spec.write_text(
        f"name: {task}-eval\n"
        "models:\n"
        "  base: {backend: predictions, path: base.jsonl}\n"
        "  tuned: {backend: predictions, path: tuned.jsonl}\n"
        "compare: {candidate: tuned, baseline: base}\n"
        "stats: {resamples: 200, seed: 3}\n"
        "dataset: {path: data.jsonl, id: id, input: text, target: target}\n"
        f"task: {{type: {task}}}\n"
        + (
            "metrics: [mae, rmse, r2]\n"
            if task == "regression"
            else "metrics: [exact_match, token_f1, chrf, bleu, ter]\n"
        ),
        encoding="utf-8",
    )
    return spec


def _regression(root: Path) -> Path:
    rng = np.random.default_rng(5)
    y = rng.normal(50, 10, 120)
    rows = [{"id": f"r{i}", "text": f"house {i}", "target": float(v)} for i, v in enumerate(y)]
    base = [float(v) for v in y + rng.normal(0, 6, 120)]
    tuned = [float(v) for v in y + rng.normal(0, 4, 120)]
    return _write(root, "regression", rows, base, tuned)


def _generation(root: Path) -> Path:
    rng = np.random.default_rng(6)
    rows, base, tuned = [], [], []
    for i in range(80):
        words = list(rng.choice(WORDS, 6))
        ref = " ".join(words)
        rows.append({"id": f"g{i}", "text": f"ticket {i}", "target": ref})
        noisy = [w if rng.random() < 0.6 else str(rng.choice(WORDS)) for w in words]
        better = [w if rng.random() < 0.85 else str(rng.choice(WORDS)) for w in words]
        base.append(" ".join(noisy))
        tuned.append(" ".join(better))
    return _write(root, "generation", rows, base, tuned)


@pytest.mark.parametrize("build", [_regression, _generation], ids=["regression", "generation"])
def test_two_models_of_a_stored_run_reproduce_its_comparisons(build, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'store.db'}"
    run = heldout.evaluate(build(tmp_path / "p"), store=url)
    result = heldout.compare(run.id, store=url)
    assert set(result.metrics) == set(run.comparisons) and not result.left_out
    for name, m in result.metrics.items():
        stored = run.comparisons[name]
        d = m.difference
        assert (d.delta, d.ci_low, d.ci_high, d.p_value, d.p_adjusted, d.test, d.verdict) == (
            stored.delta,
            stored.ci_low,
            stored.ci_high,
            stored.p_value,
            stored.p_adjusted,
            stored.test,
            stored.verdict,
        ), name
        assert m.b == run.metrics["tuned"][name]
    lower = {name for name, m in result.metrics.items() if not m.higher_is_better}
    assert lower == ({"mae", "rmse"} if run.tasks[0].type == "regression" else {"ter"})


def test_fixed_and_broken_never_read_an_error_column_upside_down(tmp_path: Path) -> None:
    # counts predicted exactly or off by one: abs_error is a 0/1 column where 1 is worse
    rows = [{"id": f"c{i}", "text": f"box {i}", "target": float(i % 7)} for i in range(60)]
    base = [float(i % 7) + (1.0 if i < 30 else 0.0) for i in range(60)]
    tuned = [float(i % 7) + (1.0 if 20 <= i < 40 else 0.0) for i in range(60)]
    spec = _write(tmp_path / "p", "regression", rows, base, tuned)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    run = heldout.evaluate(spec, store=url)
    result = heldout.compare(run.id, store=url)
    assert result.change_score != "abs_error" and result.change_score != "sq_error"
    gained = {f"c{i}" for i in range(20)}  # off by one in base, exact in tuned
    lost = {f"c{i}" for i in range(30, 40)}  # exact in base, off by one in tuned
    assert {e.id for e in result.fixed} <= gained
    assert {e.id for e in result.broken} <= lost
