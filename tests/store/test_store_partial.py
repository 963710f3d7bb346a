"""A run's aggregates without its examples, and examples read by column and by row."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from heldout._errors import StoreError
from heldout.run import Run
from heldout.store import Store, _frames
from tests.store.store_runs import classification_examples, classification_task, make_run


def _many_parts_run(monkeypatch: pytest.MonkeyPatch, n: int = 3_000) -> Run:
    monkeypatch.setattr(_frames, "PART_BYTES", 64 * 1024)
    monkeypatch.setattr(_frames, "ROW_GROUP_ROWS", 128)  # several row groups per part
    return make_run(tasks=(classification_task(n=n, examples=classification_examples(n)),))


def test_run_without_examples_equals_the_full_run_minus_its_examples(
    store: Store, run: Run
) -> None:
    store.save_run(run)

    full = store.load_run(run.id)
    summary = store.load_run(run.id, examples=False)

    assert json.dumps(summary.to_dict()) == json.dumps(full.to_dict())
    for whole, light in zip(full.tasks, summary.tasks, strict=True):
        assert len(light.examples) == 0 and len(whole.examples) > 0
        pd.testing.assert_series_equal(light.examples.dtypes, whole.examples.dtypes)
        assert light.thresholds.keys() == whole.thresholds.keys()
        assert light.slices == whole.slices


def test_column_reads_equal_the_columns_of_the_full_frame(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = _many_parts_run(monkeypatch)
    store.save_run(run)
    frame = store.load_run(run.id).examples()
    parts = store.example_parts(run.id, run.tasks[0].name)

    assert len(parts.rows) > 1 and len(parts) == len(frame)
    assert pq.ParquetFile(pa.BufferReader(parts.data[0])).metadata.num_row_groups > 1
    assert parts.columns == list(frame.columns)
    for columns in (["correct:tuned"], ["note", "prob:base", "id"], list(frame.columns)):
        pd.testing.assert_frame_equal(parts.frame(columns), frame[columns])
    as_arrow = parts.frame(["input", "note"], arrow_text=True)
    assert isinstance(as_arrow["input"].dtype, pd.ArrowDtype)
    assert as_arrow["input"].tolist() == frame["input"].tolist()
    assert [None if pd.isna(v) else v for v in as_arrow["note"]] == frame["note"].tolist()
    assert parts.arrow("input").to_pylist() == frame["input"].tolist()
    coded = parts.arrow("target")  # few distinct values: the writer dictionary-encoded it
    assert pa.types.is_dictionary(coded.type)
    assert coded.to_pylist() == frame["target"].tolist()


@pytest.mark.parametrize(
    "positions",
    [[0, 1, 2], [2_999, 0, 1_500, 1_499, 7], list(range(1_000, 2_200)), []],
    ids=["head", "any-order", "across-parts", "none"],
)
def test_row_reads_equal_slicing_the_full_frame(
    store: Store, monkeypatch: pytest.MonkeyPatch, positions: list[int]
) -> None:
    run = _many_parts_run(monkeypatch)
    store.save_run(run)
    frame = store.load_run(run.id).examples()
    parts = store.example_parts(run.id, run.tasks[0].name)

    expected = frame.iloc[positions].reset_index(drop=True)
    pd.testing.assert_frame_equal(parts.take(positions), expected)
    narrow = parts.take(np.array(positions, dtype=np.int64), ["target", "prob:base"])
    pd.testing.assert_frame_equal(narrow, expected[["target", "prob:base"]])


@pytest.mark.parametrize(
    "column",
    [
        pd.Series([{"role": "user", "text": "hi"}, {"score": 1.5}, None], dtype=object),
        pd.Series(["a", 1, 2.5], dtype=object),
        pd.Series([[1.0, math.nan], [], None], dtype=object),
        pd.array([1, None, 3], dtype="Int64"),
        pd.Categorical(["de", "en", "de"], categories=["en", "de", "fr"]),
        pd.to_datetime(["2026-01-01", "NaT", "2026-01-03"]).tz_localize("UTC"),
    ],
    ids=["dicts", "mixed-kinds", "lists-with-nan", "nullable-int", "categorical", "datetime"],
)
def test_every_kind_of_column_reads_back_alone(store: Store, column: object) -> None:
    frame = pd.DataFrame({"id": ["a", "b", "c"], "value": column})
    saved = make_run(tasks=(classification_task(examples=frame),))
    store.save_run(saved)
    parts = store.example_parts(saved.id, saved.tasks[0].name)

    pd.testing.assert_frame_equal(parts.frame(["value"]), frame[["value"]])
    pd.testing.assert_frame_equal(parts.take([2, 0]), frame.iloc[[2, 0]].reset_index(drop=True))


def test_rows_of_a_frame_with_a_stored_index_come_with_positions(store: Store) -> None:
    frame = classification_task().examples.set_index("id")
    saved = make_run(tasks=(classification_task(examples=frame),))
    store.save_run(saved)
    parts = store.example_parts(saved.id, saved.tasks[0].name)

    assert parts.columns == list(frame.columns)
    pd.testing.assert_frame_equal(parts.take([3, 1]), frame.iloc[[3, 1]].reset_index(drop=True))


def test_partial_reads_name_what_is_wrong(store: Store, run: Run) -> None:
    store.save_run(run)
    parts = store.example_parts(run.id, run.tasks[0].name)

    with pytest.raises(StoreError, match="stores no column 'nope'"):
        parts.frame(["nope"])
    with pytest.raises(StoreError, match="positions must lie in"):
        parts.take([len(parts)])
    with pytest.raises(StoreError, match="no task 'missing'"):
        store.example_parts(run.id, "missing")
