"""Large examples frames are stored in Parquet parts and read back whole, in order."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pandas as pd
import pytest

from heldout.store import Store, _frames
from tests.store.store_runs import benchmark_frame, classification_task, make_run


def part_rows(db_path: Path, run_id: str) -> list[tuple[str, int, int]]:
    with closing(sqlite3.connect(db_path)) as db:
        return db.execute(
            "SELECT task, part, n_rows FROM example_parts WHERE run_id = ? ORDER BY task, part",
            (run_id,),
        ).fetchall()


def test_600k_examples_are_split_into_parts_and_reassembled_in_order(
    store: Store, db_path: Path
) -> None:
    frame = benchmark_frame(600_000)
    run = make_run(tasks=(classification_task(examples=frame),))

    store.save_run(run)
    loaded = store.load_run(run.id).examples()

    assert part_rows(db_path, run.id) == [
        ("router", 0, 250_000),
        ("router", 1, 250_000),
        ("router", 2, 100_000),
    ]
    pd.testing.assert_frame_equal(loaded, frame)
    assert loaded["id"].iloc[[0, 249_999, 250_000, 599_999]].tolist() == [
        "ex-0000000",
        "ex-0249999",
        "ex-0250000",
        "ex-0599999",
    ]


def test_wide_rows_make_smaller_parts(
    store: Store, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_frames, "PART_BYTES", 64 * 1024)
    frame = pd.DataFrame({"id": [f"{i}" for i in range(1000)], "text": ["x" * 500] * 1000})
    run = make_run(tasks=(classification_task(examples=frame),))

    store.save_run(run)

    rows = [n for _, _, n in part_rows(db_path, run.id)]
    assert len(rows) > 1 and sum(rows) == 1000 and max(rows) < 1000
    pd.testing.assert_frame_equal(store.load_run(run.id).examples(), frame)
