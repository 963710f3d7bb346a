"""The call journal keeps every call to a live model, so that a rerun makes none twice."""

from __future__ import annotations

import hashlib
import math
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from alembic import command
from sqlalchemy import event, select
from sqlalchemy.dialects import postgresql

from heldout import StoreError
from heldout.models._protocol import Message, Request, Response, SamplingParams, call_key
from heldout.run import Run
from heldout.store import FailedCall, JournalEntry, Store, identity_hash
from heldout.store._engine import create_store_engine, parse_url
from heldout.store._journal import LOOKUP_CHUNK, _upsert
from heldout.store._migrate import HEAD, alembic_config
from heldout.store._schema import CallRow

TUNED = {"backend": "openai", "model": "tuned-7b", "base_url": "http://127.0.0.1:8000/v1"}
BASE = {"backend": "hf", "path": "/models/base", "weights_sha256": "9f2c"}


def generate(i: int) -> Request:
    return Request(
        kind="generate",
        prompt=f"Route ticket {i}: my invoice is wrong",
        params=SamplingParams(temperature=0.7, max_tokens=32, seed=11, stop=("\n",)),
        sample=i % 3,
        logprobs=True,
    )


def entry(
    i: int,
    response: Response | None = None,
    *,
    model: str = "tuned",
    identity: Mapping[str, Any] = TUNED,
    request: Request | None = None,
) -> JournalEntry:
    request = generate(i) if request is None else request
    response = Response(text=f"billing {i}", latency_s=0.25) if response is None else response
    return JournalEntry(call_key(identity, request), model, identity, request, response)


def failed(i: int, error: str = "HTTP 503: overloaded", attempts: int = 4) -> JournalEntry:
    return entry(i, Response(error=error, attempts=attempts, latency_s=None))


def rows(store: Store) -> dict[str, CallRow]:
    with store._engine.connect() as connection:
        return {row.key: row for row in connection.execute(select(CallRow.__table__))}


@contextmanager
def statements(store: Store) -> Iterator[list[tuple[str, int]]]:
    """The SQL the store sends, with the number of parameter sets of each statement."""
    seen: list[tuple[str, int]] = []

    def listen(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        seen.append((sql, len(params) if many else 1))

    event.listen(store._engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(store._engine, "before_cursor_execute", listen)


@pytest.mark.parametrize(
    ("request_", "response"),
    [
        pytest.param(
            generate(1),
            Response(
                text="billing",
                token_logprobs=(-0.01, -1.5, -0.25),
                input_tokens=42,
                output_tokens=3,
                latency_s=0.731,
                attempts=2,
                finish_reason="stop",
            ),
            id="generate",
        ),
        pytest.param(
            Request(
                kind="generate",
                prompt=(Message("system", "Answer with one word."), Message("user", "Capital?")),
            ),
            Response(text="Paris ü", output_tokens=1, latency_s=0.2, finish_reason="length"),
            id="chat",
        ),
        pytest.param(
            Request(kind="loglikelihood", prompt="The capital of France is", continuation=" Paris"),
            Response(logprob=-0.0421, greedy=True, input_tokens=7, latency_s=0.05),
            id="loglikelihood",
        ),
        pytest.param(
            Request(kind="loglikelihood", prompt="Two plus two is", continuation=" five"),
            Response(logprob=-math.inf, greedy=False, token_logprobs=(-math.inf, -2.0)),
            id="infinite-logprob",
        ),
        pytest.param(
            Request(kind="classify", prompt="my invoice is wrong"),
            Response(probabilities={"billing": 0.9, "bug": 0.075, "other": 0.025}),
            id="classify",
        ),
        pytest.param(
            Request(kind="classify", prompt="a label that looks like a codec tag"),
            Response(probabilities={"$float": 1.0}),
            id="tag-like-label",
        ),
    ],
)
def test_response_survives_the_journal(store: Store, request_: Request, response: Response) -> None:
    journal = store.journal()
    key = call_key(TUNED, request_)

    journal.record([JournalEntry(key, "tuned", TUNED, request_, response)])

    assert journal.finished([key]) == {key: response}


def test_nan_logprob_survives_the_journal(store: Store) -> None:
    journal = store.journal()
    recorded = entry(1, Response(logprob=math.nan, token_logprobs=(math.nan, -1.0)))

    journal.record([recorded])

    response = journal.finished([recorded.key])[recorded.key]
    assert response.logprob is not None and math.isnan(response.logprob)
    assert response.token_logprobs is not None and math.isnan(response.token_logprobs[0])
    assert response.token_logprobs[1] == -1.0


def test_record_keeps_the_call_and_its_model(store: Store) -> None:
    before = datetime.now(UTC)
    recorded = entry(
        5, Response(text="bug", input_tokens=40, output_tokens=2, latency_s=0.5, attempts=3)
    )

    store.journal().record([recorded])

    row = rows(store)[recorded.key]
    assert row.model == "tuned"
    assert row.model_hash == identity_hash(TUNED)
    assert row.identity == TUNED
    assert row.kind == "generate"
    assert row.request == generate(5).to_dict()
    assert row.response == recorded.response.to_dict()
    assert row.error is None
    assert (row.latency_s, row.input_tokens, row.output_tokens, row.attempts) == (0.5, 40, 2, 3)
    assert before - timedelta(seconds=1) <= row.created_at <= datetime.now(UTC)
    assert row.created_at.tzinfo is not None


def test_identity_hash_is_the_sha256_of_canonical_json() -> None:
    canonical = '{"a":1,"b":"ü"}'

    assert identity_hash({"b": "ü", "a": 1}) == hashlib.sha256(canonical.encode()).hexdigest()
    assert identity_hash({"a": 1, "b": "ü"}) == identity_hash({"b": "ü", "a": 1})
    assert identity_hash(TUNED) != identity_hash(BASE)


def test_finished_leaves_out_failed_and_unknown_calls(store: Store) -> None:
    journal = store.journal()
    answered, broken, unknown = entry(1), failed(2), entry(3)

    journal.record([answered, broken])

    assert journal.finished([answered.key, broken.key, unknown.key]) == {
        answered.key: answered.response
    }
    assert journal.finished([]) == {}


def test_a_success_replaces_an_earlier_error(store: Store) -> None:
    journal = store.journal()
    journal.record([failed(1)])

    journal.record([entry(1, Response(text="billing", attempts=2))])

    assert journal.finished([entry(1).key]) == {entry(1).key: Response(text="billing", attempts=2)}
    assert journal.errors() == []


def test_an_error_never_replaces_a_success(store: Store) -> None:
    journal = store.journal()
    journal.record([entry(1)])

    journal.record([failed(1)])

    assert journal.finished([entry(1).key]) == {entry(1).key: entry(1).response}
    assert journal.errors() == []
    assert rows(store)[entry(1).key].error is None


def test_a_newer_error_replaces_an_older_one(store: Store) -> None:
    journal = store.journal()
    journal.record([failed(1, "HTTP 503: overloaded", attempts=4)])

    journal.record([failed(1, "timed out after 60 s", attempts=6)])

    (call,) = journal.errors()
    assert (call.error, call.attempts) == ("timed out after 60 s", 6)


def test_a_newer_success_replaces_an_older_one(store: Store) -> None:
    journal = store.journal()
    journal.record([entry(1, Response(text="billing"))])

    journal.record([entry(1, Response(text="bug"))])

    assert journal.finished([entry(1).key]) == {entry(1).key: Response(text="bug")}


@pytest.mark.parametrize("order", ["error-first", "success-first"])
def test_within_one_batch_the_success_wins(store: Store, order: str) -> None:
    journal = store.journal()
    batch = [failed(1), entry(1)] if order == "error-first" else [entry(1), failed(1)]

    journal.record(batch)

    assert journal.finished([entry(1).key]) == {entry(1).key: entry(1).response}
    assert journal.count() == 1


def test_finished_looks_keys_up_in_chunks(store: Store) -> None:
    journal = store.journal()
    recorded = [entry(i) for i in range(2_500)]
    journal.record(recorded)
    keys = [e.key for e in recorded] + [entry(i).key for i in range(10_000, 10_500)]

    with statements(store) as seen:
        found = journal.finished(keys + keys[:100])

    assert found == {e.key: e.response for e in recorded}
    lookups = [sql for sql, _ in seen if sql.lstrip().upper().startswith("SELECT")]
    assert len(lookups) == math.ceil(3_000 / LOOKUP_CHUNK) > 1
    # 999 bound parameters: the most a statement may have in SQLite builds before 3.32.
    assert max(sql.count("?") for sql in lookups) <= min(LOOKUP_CHUNK, 999)


def test_record_writes_a_batch_in_one_statement_and_one_transaction(store: Store) -> None:
    journal = store.journal()
    batch = [entry(i) for i in range(1_000)]

    with statements(store) as seen:
        journal.record(batch)

    inserts = [(sql, n) for sql, n in seen if sql.lstrip().upper().startswith("INSERT")]
    assert [n for _, n in inserts] == [1_000]
    assert [sql for sql, _ in seen if sql.startswith("BEGIN")] == ["BEGIN IMMEDIATE"]
    assert journal.count() == 1_000


def test_errors_lists_failed_calls_oldest_first(store: Store) -> None:
    journal = store.journal()
    journal.record([failed(1, "HTTP 503: overloaded"), entry(2)])
    journal.record([entry(3, Response(error="CUDA out of memory"), model="base", identity=BASE)])

    listed = journal.errors()

    assert [(c.key, c.model, c.error, c.attempts) for c in listed] == [
        (failed(1).key, "tuned", "HTTP 503: overloaded", 4),
        (entry(3, identity=BASE).key, "base", "CUDA out of memory", 1),
    ]
    assert all(isinstance(c, FailedCall) and c.created_at.tzinfo is not None for c in listed)
    assert listed[0].created_at <= listed[1].created_at
    assert [c.model for c in journal.errors("base")] == ["base"]
    assert journal.errors("nobody") == []


def test_count_and_forget_by_model(store: Store) -> None:
    journal = store.journal()
    journal.record([entry(i) for i in range(5)] + [failed(9)])
    journal.record([entry(i, model="base", identity=BASE) for i in range(3)])

    assert journal.count() == 9
    assert journal.count(identity_hash(TUNED)) == 6
    assert journal.count(identity_hash(BASE)) == 3

    assert journal.forget(identity_hash(BASE)) == 3
    assert journal.count(identity_hash(BASE)) == 0
    assert journal.count() == 6
    assert journal.forget() == 6
    assert journal.count() == 0
    assert journal.forget() == 0


def test_record_of_nothing_is_a_no_op(store: Store) -> None:
    journal = store.journal()

    with statements(store) as seen:
        journal.record([])

    assert seen == []


def test_journal_of_a_closed_store_is_refused(store_url: str) -> None:
    store = Store.open(store_url)
    journal = store.journal()
    store.close()

    with pytest.raises(StoreError, match="is closed"):
        store.journal()
    with pytest.raises(StoreError, match="is closed"):
        journal.finished([entry(1).key])


def test_upsert_for_postgresql_keeps_answers_over_errors() -> None:
    sql = str(_upsert("postgresql").compile(dialect=postgresql.dialect()))

    assert "INSERT INTO calls" in sql
    assert "ON CONFLICT (key) DO UPDATE SET" in sql
    assert "response = excluded.response" in sql
    assert "key = excluded.key" not in sql
    assert sql.endswith("WHERE excluded.error IS NULL OR calls.error IS NOT NULL")


# One process that writes journal entries. argv: store URL, worker name, count, batch
# size, a file to wait for before starting (or "-"; the worker first touches that path
# plus ".name" to say it is ready), and "kill" to SIGKILL itself right after the last
# record() returns.
WRITER = textwrap.dedent(
    """
    import os, signal, sys, time
    from pathlib import Path

    from heldout.models._protocol import Request, Response, call_key
    from heldout.store import JournalEntry, Store

    url, worker, count, batch, go, then = sys.argv[1:]
    identity = {"backend": "openai", "model": worker}
    entries = []
    for i in range(int(count)):
        request = Request(kind="generate", prompt=f"{worker} prompt {i}")
        response = Response(text=f"{worker} answer {i}", latency_s=0.1)
        entries.append(JournalEntry(call_key(identity, request), worker, identity, request, response))
    store = Store.open(url)
    journal = store.journal()
    if go != "-":
        Path(f"{go}.{worker}").touch()
        while not Path(go).exists():
            time.sleep(0.01)
    for start in range(0, len(entries), int(batch)):
        journal.record(entries[start : start + int(batch)])
    if then == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    store.close()
    """
)


def writer(
    url: str, worker: str, count: int, batch: int, go: str, then: str
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, url, worker, str(count), str(batch), go, then],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def written_by(worker: str, count: int) -> dict[str, Response]:
    identity = {"backend": "openai", "model": worker}
    return {
        call_key(identity, Request(kind="generate", prompt=f"{worker} prompt {i}")): Response(
            text=f"{worker} answer {i}", latency_s=0.1
        )
        for i in range(count)
    }


@pytest.mark.slow
def test_recorded_calls_survive_the_process_being_killed(store_url: str) -> None:
    Store.open(store_url).close()

    process = writer(store_url, "killed", 300, 300, "-", "kill")
    _, stderr = process.communicate(timeout=120)

    assert process.returncode == -signal.SIGKILL, stderr
    expected = written_by("killed", 300)
    with Store.open(store_url) as store:
        assert store.journal().finished(list(expected)) == expected


@pytest.mark.slow
def test_two_processes_record_at_once(store_url: str, tmp_path: Path) -> None:
    Store.open(store_url).close()
    go = tmp_path / "go"

    processes = [writer(store_url, name, 2_000, 100, str(go), "close") for name in ("a", "b")]
    deadline = time.monotonic() + 120
    while not all(Path(f"{go}.{name}").exists() for name in ("a", "b")):
        assert time.monotonic() < deadline and all(p.poll() is None for p in processes)
        time.sleep(0.01)
    go.touch()
    results = [process.communicate(timeout=300) for process in processes]

    for process, (_, stderr) in zip(processes, results, strict=True):
        assert process.returncode == 0, stderr
    expected = written_by("a", 2_000) | written_by("b", 2_000)
    with Store.open(store_url) as store:
        journal = store.journal()
        assert journal.count() == 4_000
        assert journal.finished(list(expected)) == expected
        created: dict[str, list[datetime]] = {"a": [], "b": []}
        for row in rows(store).values():
            created[row.model].append(row.created_at)
    # The two wrote in turns, not one after the other.
    assert min(created["a"]) < max(created["b"]) and min(created["b"]) < max(created["a"])


def test_a_store_at_revision_0001_is_upgraded_in_place(
    store_url: str, db_path: Path, run: Run
) -> None:
    command.upgrade(alembic_config(url=store_url), "0001")
    url = parse_url(store_url)
    old = Store(create_store_engine(url), url)
    old.save_run(run)
    old.close()
    with closing(sqlite3.connect(db_path)) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [("0001",)]
        assert db.execute("SELECT name FROM sqlite_master WHERE name = 'calls'").fetchall() == []

    with Store.open(store_url) as store:
        assert [summary.id for summary in store.list_runs()] == [run.id]
        assert store.load_run(run.id).id == run.id
        journal = store.journal()
        journal.record([entry(1), failed(2)])
        assert journal.finished([entry(1).key, failed(2).key]) == {entry(1).key: entry(1).response}

    with closing(sqlite3.connect(db_path)) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]


def test_sqlite_rows_are_bound_as_sqlalchemy_binds_them(tmp_path: Path) -> None:
    """The SQLite journal binds its values itself (faster while calls are in flight): every
    stored column equals what SQLAlchemy's own binding of the same upsert writes."""
    from heldout.store._journal import _insert_sqlite, _row, _upsert

    batch = [
        entry(1),
        entry(2, Response(text="héllo ✓", token_logprobs=(-0.5, math.nan), latency_s=0.1)),
        entry(3, Response(text="x", probabilities={"$float": 0.5}, input_tokens=3)),
        entry(4, Response(text="y", probabilities={"a": math.inf}, output_tokens=np.int64(2))),
        entry(6, Response(text="plain, but not ASCII: café ✓", latency_s=0.2)),
        failed(5),
    ]
    now = datetime(2026, 11, 28, 8, 30, 15, 123456, tzinfo=UTC)
    tables = []
    for name, write in (
        ("ours", lambda c, rows: _insert_sqlite(c, rows)),
        ("sqlalchemy", lambda c, rows: c.execute(_upsert("sqlite"), rows)),
    ):
        url = f"sqlite:///{tmp_path / name}.db"
        with Store.open(url) as store, store._session("test", write=True) as session:
            write(session.connection(), [_row(e, now, {}) for e in batch])
        with sqlite3.connect(tmp_path / f"{name}.db") as raw:
            tables.append(raw.execute("SELECT * FROM calls ORDER BY key").fetchall())
    assert len(tables[0]) == len(batch)
    assert tables[0] == tables[1]
