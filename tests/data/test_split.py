"""Splitting: counts, strata, groups, time order and gaps, folds, determinism, the manifest,
and the duplicate check across splits; cross-checked against scikit-learn's splitters."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from sklearn.model_selection import (
    KFold,
    StratifiedKFold,
    TimeSeriesSplit,
    train_test_split,
)

from heldout import DataError, HeldoutError
from heldout.data import (
    Gap,
    SplitPlan,
    cross_split_duplicates,
    parse_gap,
    plan_split,
    read_table,
    split_dataset,
)

START = datetime(2024, 1, 1)


def _rows(n: int, *, seed: int = 0) -> list[dict[str, object]]:
    rng = random.Random(seed)
    order = list(range(n))
    rng.shuffle(order)  # file order is not time order
    return [
        {
            "id": f"r{i}",
            "input": " ".join(f"w{rng.randrange(100_000)}" for _ in range(12)),
            "label": "a" if i % 10 < 6 else "b" if i % 10 < 9 else "c",
            "user": f"u{i // 4}",
            "ts": (START + timedelta(hours=7 * t)).isoformat(),
        }
        for i, t in enumerate(order)
    ]


def _table(rows: list[dict[str, object]]) -> pa.Table:
    return pa.Table.from_pylist(rows)


def _plan(rows: list[dict[str, object]], **options: object) -> SplitPlan:
    return plan_split(_table(rows), path=Path("data.jsonl"), fmt="jsonl", **options)  # type: ignore[arg-type]


def _parts(plan: SplitPlan, fold: int | None = None) -> dict[str, np.ndarray]:
    return {p.name: p.rows for p in plan.parts if p.fold == fold}


def _times(rows: list[dict[str, object]], idx: np.ndarray) -> list[datetime]:
    return [datetime.fromisoformat(str(rows[i]["ts"])) for i in idx]


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_holdout_counts_and_rows_are_scikit_learns() -> None:
    rows = _rows(200)
    plan = _plan(rows, test=0.2, validation=0.1, seed=3)
    parts = _parts(plan)
    assert [parts[k].size for k in ("train", "validation", "test")] == [140, 20, 40]
    rest, test = train_test_split(np.arange(200), test_size=40, random_state=3)
    train, val = train_test_split(rest, test_size=20, random_state=3)
    assert parts["test"].tolist() == sorted(test.tolist())
    assert parts["validation"].tolist() == sorted(val.tolist())
    assert parts["train"].tolist() == sorted(train.tolist())


def test_fractions_round_up_like_scikit_learn() -> None:
    plan = _plan(_rows(101), test=0.15)
    assert {k: v.size for k, v in _parts(plan).items()} == {"train": 85, "test": 16}


def test_stratified_holdout_keeps_scikit_learns_per_class_counts() -> None:
    rows = _rows(200)
    y = np.array([r["label"] for r in rows])
    plan = _plan(rows, test=0.25, stratify="label", seed=1)
    _, test = train_test_split(np.arange(200), test_size=50, random_state=1, stratify=y)
    parts = _parts(plan)
    assert parts["test"].tolist() == sorted(test.tolist())
    test_part = next(p for p in plan.parts if p.name == "test")
    assert test_part.classes == {"a": 30, "b": 15, "c": 5}


def test_a_class_too_small_for_every_split_is_an_error_naming_it() -> None:
    rows = _rows(60)
    rows[0]["label"] = "lonely"
    rows[1]["label"] = "lonely"
    with pytest.raises(DataError, match='class "lonely" has 2 rows, too few to appear in all 3'):
        _plan(rows, test=0.2, validation=0.1, stratify="label")
    assert _plan(rows, test=0.2, stratify="label").parts  # two parts: it fits


@pytest.mark.parametrize("stratify", [None, "label"])
def test_no_group_straddles_two_splits(stratify: str | None) -> None:
    rows = _rows(400)
    plan = _plan(rows, test=0.2, validation=0.1, group="user", stratify=stratify, seed=5)
    users = {name: {rows[i]["user"] for i in idx.tolist()} for name, idx in _parts(plan).items()}
    assert not users["train"] & users["test"]
    assert not users["train"] & users["validation"]
    assert not users["validation"] & users["test"]
    sizes = {name: idx.size for name, idx in _parts(plan).items()}
    assert sum(sizes.values()) == 400
    assert abs(sizes["test"] - 80) <= 8 and abs(sizes["validation"] - 40) <= 8
    if stratify:
        for part in plan.parts:
            assert part.classes is not None
            assert abs(part.classes["a"] / part.rows.size - 0.6) < 0.1


def test_chronological_split_is_in_time_order_with_a_row_gap() -> None:
    rows = _rows(200)
    plan = _plan(rows, test=0.2, validation=0.1, time="ts", gap="5")
    parts = _parts(plan)
    train, val, test = (_times(rows, parts[k]) for k in ("train", "validation", "test"))
    assert max(train) < min(val) and max(val) < min(test)
    assert len(test) == 40 and len(val) == 20
    assert len(train) == 200 - 40 - 20 - 2 * 5
    # exactly five time steps (of 7 h) are missing before validation and before test
    assert min(test) - max(val) == timedelta(hours=7 * 6)
    assert min(val) - max(train) == timedelta(hours=7 * 6)
    assert [p.gap_rows for p in plan.parts] == [0, 5, 5]


def test_a_duration_gap_separates_the_splits_by_at_least_that_long() -> None:
    rows = _rows(200)
    plan = _plan(rows, test=0.2, time="ts", gap="2d")
    parts = _parts(plan)
    train, test = _times(rows, parts["train"]), _times(rows, parts["test"])
    assert min(test) - max(train) >= timedelta(days=2)
    assert min(test) - max(train) < timedelta(days=2, hours=7)
    assert len(train) + len(test) + plan.parts[1].gap_rows == 200


def test_rows_sharing_a_time_stay_on_one_side() -> None:
    rows = _rows(100)
    for i, r in enumerate(rows):
        r["ts"] = f"2024-02-{1 + i % 10:02d}"  # ten days, ten rows each
    plan = _plan(rows, test=0.25, time="ts")
    parts = _parts(plan)
    train_days = {rows[i]["ts"] for i in parts["train"].tolist()}
    test_days = {rows[i]["ts"] for i in parts["test"].tolist()}
    assert not train_days & test_days
    assert parts["test"].size == 30  # 25 rows asked: the whole last three days
    assert plan.parts[1].time_range == ("2024-02-08", "2024-02-10")


def test_chronological_groups_stay_whole_and_earlier() -> None:
    rows = _rows(200)
    for i, r in enumerate(rows):
        t = datetime.fromisoformat(str(r["ts"]))
        r["user"] = f"u{(t - START) // timedelta(hours=7 * 6)}"  # six consecutive steps each
        if i % 9 == 0:
            r["user"] = "u3"  # one user active over the whole period
    plan = _plan(rows, test=0.2, time="ts", group="user")
    parts = _parts(plan)
    users = {k: {rows[i]["user"] for i in v.tolist()} for k, v in parts.items()}
    assert not users["train"] & users["test"]
    assert "u3" not in users["train"] | users["test"]  # spans the cut: left out
    assert any("left out before test (groups running past the cut)" in w for w in plan.warnings)
    assert max(_times(rows, parts["train"])) < min(_times(rows, parts["test"]))


@pytest.mark.parametrize("stratify", [None, "label"])
def test_k_fold_puts_every_row_in_test_once_as_scikit_learn_does(stratify: str | None) -> None:
    rows = _rows(103)
    plan = _plan(rows, folds=4, stratify=stratify, seed=7)
    assert plan.folds == 4
    tests = [p.rows for p in plan.parts if p.name == "test"]
    assert sorted(np.concatenate(tests).tolist()) == list(range(103))
    y = np.array([r["label"] for r in rows])
    splitter = StratifiedKFold if stratify else KFold
    expected = splitter(4, shuffle=True, random_state=7).split(np.zeros((103, 1)), y)
    for fold, (train, test) in enumerate(expected, start=1):
        parts = _parts(plan, fold)
        assert parts["test"].tolist() == sorted(test.tolist())
        assert parts["train"].tolist() == sorted(train.tolist())


@pytest.mark.parametrize("stratify", [None, "label"])
def test_grouped_k_fold_keeps_groups_on_one_side(stratify: str | None) -> None:
    rows = _rows(120)
    plan = _plan(rows, folds=5, group="user", stratify=stratify)
    tests = np.concatenate([p.rows for p in plan.parts if p.name == "test"])
    assert sorted(tests.tolist()) == list(range(120))
    for fold in range(1, 6):
        parts = _parts(plan, fold)
        train = {rows[i]["user"] for i in parts["train"].tolist()}
        test = {rows[i]["user"] for i in parts["test"].tolist()}
        assert not train & test


def test_time_series_folds_are_scikit_learns_expanding_windows_in_time_order() -> None:
    rows = _rows(150)
    plan = _plan(rows, time_series=4, time="ts", gap="3")
    order = np.argsort([str(r["ts"]) for r in rows], kind="stable")
    expected = TimeSeriesSplit(n_splits=4, gap=3).split(np.zeros(150))
    sizes = []
    for fold, (train, test) in enumerate(expected, start=1):
        parts = _parts(plan, fold)
        assert parts["train"].tolist() == sorted(order[train].tolist())
        assert parts["test"].tolist() == sorted(order[test].tolist())
        gap = min(_times(rows, parts["test"])) - max(_times(rows, parts["train"]))
        assert gap == timedelta(hours=7 * 4)
        sizes.append(parts["train"].size)
    assert sizes == sorted(sizes) and len(set(sizes)) == 4


def test_group_aware_time_series_keeps_whole_groups_on_one_side() -> None:
    rows = _rows(160)
    for r in rows:
        t = datetime.fromisoformat(str(r["ts"]))
        r["user"] = f"u{(t - START) // timedelta(hours=7 * 4)}"
    plan = _plan(rows, time_series=3, time="ts", group="user", gap="1")
    for fold in (1, 2, 3):
        parts = _parts(plan, fold)
        train = {rows[i]["user"] for i in parts["train"].tolist()}
        test = {rows[i]["user"] for i in parts["test"].tolist()}
        assert train and not train & test
        assert max(_times(rows, parts["train"])) < min(_times(rows, parts["test"]))
        assert parts["train"].size % 4 == 0 and parts["test"].size % 4 == 0


def test_cross_split_duplicates_name_the_ids_on_both_sides() -> None:
    rows = _rows(100)
    plan = _plan(rows, test=0.3, seed=0)
    parts = _parts(plan)
    a, b = int(parts["train"][0]), int(parts["test"][0])
    c, d = int(parts["train"][1]), int(parts["test"][1])
    rows[b]["input"] = "  " + str(rows[a]["input"]).upper()  # same after normalisation
    rows[d]["input"] = str(rows[c]["input"]) + " one more"  # Jaccard 10/12
    t2, t3 = int(parts["train"][2]), int(parts["train"][3])
    rows[t3]["input"] = rows[t2]["input"]  # both in train: not a finding
    ids = np.array([r["id"] for r in rows], dtype=object)
    inputs = np.array([r["input"] for r in rows], dtype=object)
    found = cross_split_duplicates(plan, ids, inputs, near=0.8)
    assert [(f.kind, f.first_ids, f.second_ids) for f in found] == [
        ("exact", (f"r{a}",), (f"r{b}",)),
        ("near", (f"r{c}",), (f"r{d}",)),
    ]
    assert found[1].jaccard == pytest.approx(10 / 12)
    assert (found[0].first_split, found[0].second_split) == ("train", "test")


def test_split_dataset_is_reproducible_and_the_manifest_hashes_its_files(
    tmp_path: Path,
) -> None:
    data = _write(tmp_path / "data.jsonl", _rows(120))

    def run(name: str, seed: int) -> dict[str, bytes]:
        result = split_dataset(data, tmp_path / name, test=0.2, validation=0.1, seed=seed)
        for entry in result.manifest["splits"]:
            content = (tmp_path / name / entry["file"]).read_bytes()
            assert hashlib.sha256(content).hexdigest() == entry["sha256"]
        return {p.name: p.read_bytes() for p in sorted((tmp_path / name).iterdir())}

    first, again, other = run("a", 0), run("b", 0), run("c", 1)
    assert first == again
    assert first["test.jsonl"] != other["test.jsonl"]
    manifest = json.loads(first["manifest.json"])
    assert manifest["source"]["sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert [s["rows"] for s in manifest["splits"]] == [84, 12, 24]
    # rows are copied as written, in file order
    lines = data.read_text(encoding="utf-8").splitlines(keepends=True)
    assert set(first["train.jsonl"].decode().splitlines(keepends=True)) <= set(lines)
    assert not list(tmp_path.glob(".*"))  # no temporary folder left behind


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_csv_and_parquet_round_trip(tmp_path: Path, fmt: str) -> None:
    rows = _rows(40)
    rows[3]["input"] = 'a "quoted", multi\nline input'
    source = _write(tmp_path / "data.jsonl", rows)
    converted = tmp_path / "converted"
    split_dataset(source, converted, output_format=fmt, folds=2)  # type: ignore[arg-type]
    data = converted / f"fold-1/test.{fmt}"
    again = split_dataset(data, tmp_path / "again", test=0.5)
    back = [read_table(tmp_path / "again" / f"{n}.{fmt}") for n in ("train", "test")]
    assert sum(t.num_rows for t in back) == again.plan.rows == 20
    got = {r["id"]: r for t in back for r in t.to_pylist()}
    for r in read_table(data).to_pylist():
        assert got[r["id"]]["input"] == r["input"]
    if fmt == "csv":  # the same format: records are copied byte for byte
        text = data.read_text(encoding="utf-8")
        assert all(line in text for line in (tmp_path / "again/test.csv").read_text().splitlines())


def test_unparseable_time_names_the_line(tmp_path: Path) -> None:
    rows = _rows(20)
    rows[6]["ts"] = "next tuesday"
    data = _write(tmp_path / "data.jsonl", rows)
    with pytest.raises(DataError, match=r'data\.jsonl:7: column "ts" \(--time\) value'):
        split_dataset(data, tmp_path / "out", time="ts")
    assert not (tmp_path / "out").exists()


def test_a_null_group_names_the_line(tmp_path: Path) -> None:
    rows = _rows(20)
    rows[11]["user"] = None
    data = _write(tmp_path / "data.jsonl", rows)
    with pytest.raises(DataError, match=r'data\.jsonl:12: column "user" \(--group\) is empty'):
        split_dataset(data, tmp_path / "out", group="user")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"test": 1.0}, "--test: expected a fraction"),
        ({"test": 0.6, "validation": 0.4}, "add up to 1"),
        ({"folds": 3, "time_series": 3}, "pick one"),
        ({"folds": 3, "test": 0.2}, "--test and --validation are for a holdout"),
        ({"folds": 3, "time": "ts"}, "--time-series"),
        ({"gap": "3"}, "--gap needs --time"),
        ({"time": "ts", "stratify": "label"}, "--stratify does not go"),
        ({"time": "ts", "gap": "soon"}, "--gap: expected a number of rows"),
        ({"folds": 1}, "at least 2 folds"),
    ],
)
def test_options_that_do_not_fit_are_errors(options: dict[str, object], message: str) -> None:
    with pytest.raises(HeldoutError, match=message):
        _plan(_rows(30), **options)


def test_a_duration_gap_needs_dates() -> None:
    rows = [{**r, "ts": i} for i, r in enumerate(_rows(30))]
    with pytest.raises(HeldoutError, match='column "ts" holds numbers'):
        _plan(rows, time="ts", gap="3d")
    assert _plan(rows, time="ts", gap="3").parts[0].time_range == (0, 20)


def test_parse_gap() -> None:
    assert parse_gap("12") == Gap(units=12)
    assert parse_gap("36h") == Gap(seconds=36 * 3600.0)
    assert parse_gap("1.5d") == Gap(seconds=1.5 * 86400)
    assert parse_gap("2w") == Gap(seconds=14 * 86400.0)
