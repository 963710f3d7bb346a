"""Opening a store: default location, SQLite settings, and errors that say what to do."""

from __future__ import annotations

import sqlite3
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import text

from heldout import StoreError
from heldout.store import DEFAULT_URL, Store
from heldout.store._engine import mask_url
from tests.store.store_runs import make_run


def test_default_store_is_created_under_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    with Store.open() as store:
        store.save_run(make_run())
        monkeypatch.chdir(tmp_path.parent)  # later connections still use the same file
        assert store.resolve("latest") == make_run().id

    assert DEFAULT_URL == "sqlite:///.heldout/heldout.db"
    assert (tmp_path / ".heldout" / "heldout.db").is_file()
    assert store.url == f"sqlite:///{tmp_path / '.heldout' / 'heldout.db'}"


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(
    store: Store, db_path: Path
) -> None:
    with store._engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 30_000
    with closing(sqlite3.connect(db_path)) as db:  # WAL is a property of the file
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_foreign_keys_are_enforced(store: Store) -> None:
    with (
        pytest.raises(StoreError, match="FOREIGN KEY constraint failed"),
        store._session("cannot write to", write=True) as session,
    ):
        session.execute(
            text("INSERT INTO notes (run_id, created_at, text) VALUES (:r, :c, :t)"),
            {"r": "missing", "c": "2026-01-01 00:00:00", "t": "orphan"},
        )


def test_a_writer_waits_for_the_lock_another_process_holds(store: Store, db_path: Path) -> None:
    other = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process in the middle of its own save
    release = threading.Timer(0.5, other.rollback)
    release.start()
    try:
        started = time.perf_counter()
        store.save_run(make_run())
        waited = time.perf_counter() - started
    finally:
        release.join()
        other.close()

    assert waited >= 0.4
    assert store.resolve("latest") == make_run().id


@pytest.mark.parametrize(
    ("url", "pattern"),
    [
        (
            "mysql://mara:s3cret@db.example/evals",
            r"unsupported store URL scheme 'mysql' in mysql://mara:\*\*\*@db\.example/evals; "
            r"use sqlite:///",
        ),
        ("not a url", r"store URL 'not a url' is not a database URL; use sqlite:///"),
        (
            "postgresql://mara:s3cret@db.example:port/evals",
            r"store URL 'postgresql://mara:\*\*\*@db\.example:port/evals' is not a database URL",
        ),
    ],
)
def test_unsupported_urls_are_refused_with_the_password_masked(url: str, pattern: str) -> None:
    with pytest.raises(StoreError, match=pattern) as caught:
        Store.open(url)
    assert "s3cret" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://mara:s3cret@db/evals", "postgresql://mara:***@db/evals"),
        ("postgresql://mara:s3@cr@et@db/evals", "postgresql://mara:***@db/evals"),
        ("postgresql://mara@db/evals", "postgresql://mara@db/evals"),
        ("sqlite:////tmp/a:b@c/heldout.db", "sqlite:////tmp/a:b@c/heldout.db"),
    ],
)
def test_mask_url_hides_every_part_of_a_password(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_postgres_without_its_driver_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if heldout[postgres] were missing

    with pytest.raises(StoreError) as caught:
        Store.open("postgres://mara:s3cret@db.example:5432/evals")

    message = str(caught.value)
    assert 'pip install "heldout[postgres]"' in message
    assert "postgresql+psycopg://mara:***@db.example:5432/evals" in message
    assert "s3cret" not in message
    assert isinstance(caught.value.__cause__, ImportError)


def test_folder_that_cannot_be_created_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")

    with pytest.raises(StoreError, match=r"cannot create the folder .*a-file/sub.*writable folder"):
        Store.open(f"sqlite:///{blocker}/sub/heldout.db")


def test_unopenable_database_path_is_a_store_error(tmp_path: Path) -> None:
    folder = tmp_path / "folder.db"
    folder.mkdir()

    with pytest.raises(StoreError) as caught:
        Store.open(f"sqlite:///{folder}")

    message = str(caught.value)
    assert message.startswith(f"cannot open the store sqlite:///{folder}: ")
    assert "unable to open database file (check that the folder exists and is writable)" in message
    assert caught.value.__cause__ is not None


def test_file_that_is_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("meeting notes, not a database\n" * 100)

    with pytest.raises(StoreError, match=r"file is not a database .*pass another path"):
        Store.open(f"sqlite:///{notes}")


def test_closed_store_refuses_work(store_url: str) -> None:
    store = Store.open(store_url)
    store.close()
    store.close()

    with pytest.raises(StoreError, match="is closed; open it again"):
        store.list_runs()
    assert repr(store) == f"Store('{store_url}')"
