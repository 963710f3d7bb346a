"""save_run is one transaction: a failure half-way leaves the database as it was."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, exc

from heldout import StoreError
from heldout.run import Run
from heldout.store import Store, _frames
from tests.store.store_runs import benchmark_frame, classification_task, make_run

TABLES = (
    "runs",
    "run_tasks",
    "estimates",
    "comparisons",
    "slice_results",
    "example_parts",
    "notes",
)


def rows_of(db_path: Path, run_id: str) -> dict[str, int]:
    with closing(sqlite3.connect(db_path)) as db:
        return {
            table: db.execute(
                f"SELECT count(*) FROM {table} WHERE {'id' if table == 'runs' else 'run_id'} = ?",
                (run_id,),
            ).fetchone()[0]
            for table in TABLES
        }


@contextmanager
def failing_on_part(store: Store, part: int, error: Exception) -> Iterator[list[str]]:
    """Make the INSERT of example part ``part`` raise, after everything before it ran."""
    seen: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement.split("(")[0].strip())
        inserts = sum(s.startswith("INSERT INTO example_parts") for s in seen)
        if statement.startswith("INSERT INTO example_parts") and inserts == part + 1:
            raise error

    engine = store._engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


@pytest.fixture(autouse=True)
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    # Several parts from a small frame, so a failure can come after some parts were written.
    monkeypatch.setattr(_frames, "PART_ROWS", 1_000)


def big_run(run_id: str = "aa11bb22cc33dd44") -> Run:
    return make_run(run_id, tasks=(classification_task(examples=benchmark_frame(3_500)),))


def test_failure_after_some_rows_leaves_no_rows_and_the_same_file(
    store_url: str, db_path: Path
) -> None:
    with Store.open(store_url) as store:
        store.save_run(make_run("0000aaaa"))
    before = db_path.read_bytes()
    run = big_run()

    with (
        Store.open(store_url) as store,
        failing_on_part(store, 1, RuntimeError("power cut")) as seen,
        pytest.raises(RuntimeError, match="power cut"),
    ):
        store.save_run(run)

    # It failed late: the run, its tasks, estimates and the first part had been written.
    assert "INSERT INTO runs" in seen and "INSERT INTO estimates" in seen
    assert seen.count("INSERT INTO example_parts") == 2
    assert not db_path.with_name("heldout.db-wal").exists()
    assert db_path.read_bytes() == before
    assert rows_of(db_path, run.id) == dict.fromkeys(TABLES, 0)
    with Store.open(store_url) as store:
        assert [s.id for s in store.list_runs()] == ["0000aaaa"]


def test_database_error_mid_write_is_a_store_error_and_writes_nothing(
    store_url: str, db_path: Path
) -> None:
    Store.open(store_url).close()
    with closing(sqlite3.connect(db_path)) as db:
        db.execute(
            "CREATE TRIGGER refuse_second_part BEFORE INSERT ON example_parts "
            "WHEN NEW.part = 1 BEGIN SELECT RAISE(ABORT, 'quota exceeded'); END"
        )
    run = big_run()

    with Store.open(store_url) as store, pytest.raises(StoreError) as caught:
        store.save_run(run)

    message = str(caught.value)
    assert message.startswith(f"cannot save run {run.id} to {store_url}")
    assert "quota exceeded" in message and "\n" not in message
    assert isinstance(caught.value.__cause__, exc.DBAPIError)
    assert rows_of(db_path, run.id) == dict.fromkeys(TABLES, 0)


def test_failed_replacement_keeps_the_run_that_was_stored(store: Store) -> None:
    original = make_run("bb22cc33dd44ee55")
    store.save_run(original)
    store.add_note(original.id, "baseline for the quarter")
    replacement = big_run(original.id)

    with failing_on_part(store, 0, RuntimeError("killed")), pytest.raises(RuntimeError):
        store.save_run(replacement)

    loaded = store.load_run(original.id)
    assert loaded.to_dict()["tasks"].keys() == {"router", "summaries"}
    assert len(loaded.examples("router")) == len(original.examples("router"))
    assert [n.text for n in store.notes(original.id)] == ["baseline for the quarter"]


def test_unstorable_value_fails_before_any_write(store: Store, db_path: Path) -> None:
    run = make_run("cc33dd44ee55ff66")
    bad = replace(run, stats={"started": object()})

    with pytest.raises(StoreError, match=r"run\.stats\['started'\] holds a object value"):
        store.save_run(bad)

    assert rows_of(db_path, run.id) == dict.fromkeys(TABLES, 0)
