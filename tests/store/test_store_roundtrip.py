"""A saved run loads back as the same run: document, order, NaN, times and examples."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from heldout.run import Run
from heldout.store import Store
from tests.store.store_runs import classification_task, make_run


def document(run: Run) -> str:
    # JSON text, not dict equality: it also compares key order, int-vs-float and NaN.
    return json.dumps(run.to_dict())


def assert_same_run(loaded: Run, saved: Run) -> None:
    assert document(loaded) == document(saved)
    for task in saved.tasks:
        pd.testing.assert_frame_equal(loaded.examples(task.name), saved.examples(task.name))


def test_saved_run_loads_back_identical(store: Store, run: Run) -> None:
    store.save_run(run)

    loaded = store.load_run(run.id)

    assert_same_run(loaded, run)


def test_loaded_examples_keep_dtypes_lists_and_missing_values(store: Store, run: Run) -> None:
    store.save_run(run)

    loaded = store.load_run(run.id)

    router = loaded.examples("router")
    assert router.dtypes.to_dict() == run.examples("router").dtypes.to_dict()
    assert router["note"].dtype == object
    assert router["note"].iloc[1] is None and router["note"].iloc[0] == "checked 0"
    assert math.isnan(router["prob:base"].iloc[0])
    assert router["correct:tuned"].dtype == bool
    refs = loaded.examples("summaries")["references"]
    assert refs.iloc[0] == [] and refs.iloc[1] == ["summary 1", "short 1"]
    assert all(type(value) is list for value in refs)


def test_nan_and_infinity_survive_in_columns_and_json(store: Store, run: Run) -> None:
    store.save_run(run)

    loaded = store.load_run(run.id)

    router = loaded.task("router")
    undefined = router.metrics["base"]["recall:billing"]
    assert math.isnan(undefined.value) and math.isnan(undefined.ci_high)
    assert router.metrics["tuned"]["recall:billing"].ci_high == math.inf
    nan_diff = router.comparisons["recall:billing"]
    assert nan_diff.p_adjusted is not None and math.isnan(nan_diff.p_adjusted)
    assert loaded.task("summaries").comparisons["chrf"].p_adjusted is None
    free = router.slices[1]
    assert free.comparison is not None and free.comparison.ci_low == -math.inf
    assert math.isnan(loaded.stats["undefined"])
    assert loaded.stats["nested"] == {"$float": "NaN"}
    assert loaded.spec["$float"] == run.spec["$float"]


def test_times_keep_their_instant_and_offset(store: Store) -> None:
    saved = make_run()
    store.save_run(saved)

    loaded = store.load_run(saved.id)

    assert loaded.created_at == saved.created_at
    assert loaded.created_at.isoformat() == "2026-05-09T14:30:15.123456+02:00"
    assert loaded.finished_at.isoformat() == saved.finished_at.isoformat()
    assert loaded.finished_at.utcoffset() is not None


def test_naive_times_are_taken_as_utc_and_stay_naive(store: Store) -> None:
    saved = make_run(created_at=datetime(2026, 1, 2, 3, 4, 5))
    saved = replace(saved, finished_at=datetime(2026, 1, 2, 3, 9, 5))
    store.save_run(saved)

    loaded = store.load_run(saved.id)

    assert loaded.created_at == datetime(2026, 1, 2, 3, 4, 5)
    assert loaded.created_at.tzinfo is None
    assert document(loaded) == document(saved)


def test_saving_again_replaces_the_run_and_keeps_its_notes(store: Store) -> None:
    first = make_run(status="running", tasks=(classification_task(),))
    store.save_run(first)
    note = store.add_note(first.id, "started on the new data")
    finished = make_run()

    store.save_run(finished)

    loaded = store.load_run(first.id)
    assert loaded.status == "finished"
    assert_same_run(loaded, finished)
    assert store.notes(first.id) == [note]
    assert len(store.list_runs()) == 1


def test_run_without_examples_or_comparisons_round_trips(store: Store) -> None:
    task = replace(
        classification_task(),
        examples=pd.DataFrame(),
        comparisons={},
        slices=(),
        confusion={},
        mde=None,
        candidate=None,
        baseline=None,
        dropped={},
    )
    saved = make_run(tasks=(task,))
    store.save_run(saved)

    loaded = store.load_run(saved.id)

    assert document(loaded) == document(saved)
    assert loaded.examples().empty


def test_empty_frame_keeps_its_columns_and_dtypes(store: Store) -> None:
    empty = classification_task().examples.iloc[0:0]
    saved = make_run(tasks=(classification_task(examples=empty),))
    store.save_run(saved)

    pd.testing.assert_frame_equal(store.load_run(saved.id).examples(), empty)


@pytest.mark.parametrize(
    "column",
    [
        pd.Series([{"role": "user", "text": "hi"}, {"score": 1.5}, None], dtype=object),
        pd.Series(["a", 1, 2.5], dtype=object),
        pd.Series([[1.0, math.nan], [], None], dtype=object),
        pd.Series([None, None, None], dtype=object),
        pd.array([1, None, 3], dtype="Int64"),
        pd.array([True, None, False], dtype="boolean"),
        pd.Categorical(["de", "en", "de"], categories=["en", "de", "fr"]),
        pd.to_datetime(["2026-01-01", "NaT", "2026-01-03"]).tz_localize("UTC"),
        np.array([1, 2, 3], dtype=np.int32),
    ],
    ids=[
        "dicts",
        "mixed-kinds",
        "lists-with-nan",
        "all-none",
        "nullable-int",
        "nullable-bool",
        "categorical",
        "datetime",
        "int32",
    ],
)
def test_every_kind_of_examples_column_round_trips(store: Store, column: object) -> None:
    frame = pd.DataFrame({"id": ["a", "b", "c"], "value": column})
    saved = make_run(tasks=(classification_task(examples=frame),))
    store.save_run(saved)

    loaded = store.load_run(saved.id).examples()

    pd.testing.assert_frame_equal(loaded, frame)
    assert [type(v) for v in loaded["value"]] == [type(v) for v in frame["value"]]


def test_json_stored_cells_keep_nan_and_tag_like_keys(store: Store) -> None:
    cells = [{"score": math.nan, "tags": ["a"]}, {"$float": "NaN"}, "plain", math.inf]
    frame = pd.DataFrame({"value": pd.Series(cells, dtype=object)})
    saved = make_run(tasks=(classification_task(examples=frame),))
    store.save_run(saved)

    loaded = store.load_run(saved.id).examples()["value"].tolist()

    assert math.isnan(loaded[0]["score"]) and loaded[0]["tags"] == ["a"]
    assert loaded[1:] == [{"$float": "NaN"}, "plain", math.inf]


def test_examples_index_is_kept(store: Store) -> None:
    frame = classification_task().examples.set_index("id")
    saved = make_run(tasks=(classification_task(examples=frame),))
    store.save_run(saved)

    pd.testing.assert_frame_equal(store.load_run(saved.id).examples(), frame)


def test_run_saved_by_another_store_object_is_read_by_a_new_one(store_url: str) -> None:
    saved = make_run(created_at=datetime(2026, 5, 1, tzinfo=UTC))
    with Store.open(store_url) as writer:
        writer.save_run(saved)

    with Store.open(store_url) as reader:
        assert_same_run(reader.load_run("latest"), saved)
