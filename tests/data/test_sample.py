"""Stratified sampling: allocation, floors, weights, and unbiased weighted metrics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from heldout._errors import DataError
from heldout.data import read_table, stratified_sample

SIZES = {"common": 500, "middle": 80, "rare": 20}
ACCURACY = {"common": 0.9, "middle": 0.6, "rare": 0.2}


def _population() -> pa.Table:
    """A set where the rare classes are also the hard ones: 0/1 correctness per row."""
    labels: list[str] = []
    correct: list[float] = []
    for label, size in SIZES.items():
        right = round(ACCURACY[label] * size)
        labels += [label] * size
        correct += [1.0] * right + [0.0] * (size - right)
    return pa.table({"label": labels, "correct": correct})


def test_proportional_allocation_keeps_the_floor_for_rare_classes() -> None:
    drawn = stratified_sample(_population(), n=60, stratify="label", min_per_class=15, seed=0)
    counts = {s.value: (s.population, s.sample) for s in drawn.strata}
    # 15 + 15 for the small classes, the rest to the large one
    assert counts == {"common": (500, 30), "middle": (80, 15), "rare": (20, 15)}
    assert drawn.n == 60 and drawn.population == 600


def test_weights_are_inverse_inclusion_probabilities_and_sum_to_the_population() -> None:
    table = _population()
    drawn = stratified_sample(table, n=60, stratify="label", min_per_class=15, seed=3)
    labels = np.asarray(table.column("label").to_pylist(), dtype=object)[drawn.rows]
    for s in drawn.strata:
        assert s.weight == pytest.approx(s.population / s.sample)
        assert np.all(drawn.weights[labels == s.value] == s.weight)
    assert drawn.weights.sum() == pytest.approx(600)
    assert np.all(np.diff(drawn.rows) > 0)  # distinct rows, in file order


def test_a_class_smaller_than_the_floor_is_taken_whole() -> None:
    drawn = stratified_sample(_population(), n=100, stratify="label", min_per_class=30, seed=0)
    rare = next(s for s in drawn.strata if s.value == "rare")
    assert (rare.sample, rare.weight) == (20, 1.0)
    assert sum(s.sample for s in drawn.strata) == 100


def test_neyman_allocation_follows_size_times_spread() -> None:
    table = _population()
    drawn = stratified_sample(
        table,
        n=120,
        stratify="label",
        min_per_class=1,
        seed=0,
        allocation="neyman",
        sd_column="correct",
    )
    share = {k: SIZES[k] * np.sqrt(ACCURACY[k] * (1 - ACCURACY[k])) for k in SIZES}
    total = sum(share.values())
    for s in drawn.strata:
        assert abs(s.sample - 120 * share[s.value] / total) < 1.0


def test_simple_random_sample_without_a_class_column() -> None:
    drawn = stratified_sample(_population(), n=50, stratify=None, seed=1)
    assert [(s.value, s.sample, s.weight) for s in drawn.strata] == [("all", 50, 12.0)]


def test_the_seed_fixes_the_sample() -> None:
    table = _population()
    first = stratified_sample(table, n=60, stratify="label", min_per_class=15, seed=5)
    again = stratified_sample(table, n=60, stratify="label", min_per_class=15, seed=5)
    other = stratified_sample(table, n=60, stratify="label", min_per_class=15, seed=6)
    assert np.array_equal(first.rows, again.rows)
    assert not np.array_equal(first.rows, other.rows)


def test_weighted_accuracy_over_samples_is_unbiased_and_unweighted_is_not() -> None:
    table = _population()
    correct = np.asarray(table.column("correct").to_pylist())
    truth = float(correct.mean())
    weighted, unweighted = [], []
    for seed in range(400):
        drawn = stratified_sample(table, n=60, stratify="label", min_per_class=15, seed=seed)
        y = correct[drawn.rows]
        weighted.append(float(np.sum(drawn.weights * y) / drawn.weights.sum()))
        unweighted.append(float(y.mean()))
    w = np.asarray(weighted)
    mc_error = w.std(ddof=1) / np.sqrt(w.shape[0])
    assert abs(w.mean() - truth) < 4 * mc_error
    # the floors over-sample the hard rare classes: the plain mean is far too low
    assert truth - float(np.mean(unweighted)) > 20 * mc_error


def test_bad_requests_are_data_errors_that_say_what_to_change() -> None:
    table = _population()
    with pytest.raises(DataError, match=r"need n >= 45, got n=40.*--min-per-class"):
        stratified_sample(table, n=40, stratify="label", min_per_class=15, seed=0)
    with pytest.raises(DataError, match="cannot draw n=601 rows from 600"):
        stratified_sample(table, n=601, stratify="label", seed=0)
    with pytest.raises(DataError, match="at least 1"):
        stratified_sample(table, n=60, stratify="label", min_per_class=0, seed=0)
    with pytest.raises(DataError, match=r'column "lbl" \(stratify\) not found'):
        stratified_sample(table, n=60, stratify="lbl", seed=0)
    with pytest.raises(DataError, match="--neyman-column"):
        stratified_sample(table, n=60, stratify="label", seed=0, allocation="neyman")


def test_an_empty_class_or_a_non_numeric_score_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "eval.jsonl"
    rows = [{"label": "a", "score": 1}, {"label": "b", "score": 0}, {"label": "", "score": 1}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    table = read_table(path)
    with pytest.raises(DataError, match=r'eval\.jsonl:3: column "label" is empty'):
        stratified_sample(table, n=2, stratify="label", seed=0, path=path, fmt="jsonl")
    rows[2] = {"label": "a", "score": "high"}
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with pytest.raises(DataError, match=r"eval\.jsonl:3: column \"score\" holds 'high'"):
        stratified_sample(
            read_table(path),
            n=2,
            stratify="label",
            seed=0,
            allocation="neyman",
            sd_column="score",
            path=path,
            fmt="jsonl",
        )


def test_the_sampled_table_carries_the_weight_column() -> None:
    table = _population()
    drawn = stratified_sample(table, n=60, stratify="label", min_per_class=15, seed=0)
    sampled = drawn.table(table, weight_column="w")
    assert sampled.column_names == ["label", "correct", "w"]
    assert sampled.num_rows == 60
    assert sampled.column("w").to_pylist() == drawn.weights.tolist()
