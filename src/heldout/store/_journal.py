"""The call journal: every call to a live model, kept so that a rerun makes none twice.

A call is keyed by ``call_key(identity, request)``, a hash of the model's identity and
the request. Before calling a model, a run asks :meth:`Journal.finished` which of its
keys already have an answer; it records the answers with :meth:`Journal.record` batch by
batch as they come, so a run killed halfway loses at most the batch in flight. A failed
call is kept as well, for :meth:`Journal.errors`, but is not finished: a rerun retries it.

>>> with Store.open() as store:                                  # doctest: +SKIP
...     journal = store.journal()
...     done = journal.finished(keys)
...     journal.record([JournalEntry(key, "tuned", identity, request, response)])
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, cast

from sqlalchemy import Connection, Insert, Table, Text, delete, func, or_, select
from sqlalchemy import cast as cast_
from sqlalchemy.orm import Session

from heldout._errors import StoreError
from heldout.models._protocol import Request, Response
from heldout.store._codec import from_json
from heldout.store._schema import CallRow

__all__ = ["LOOKUP_CHUNK", "FailedCall", "Journal", "JournalEntry", "identity_hash"]

#: Keys per ``IN (...)`` lookup: below the 999 bound parameters older SQLite builds allow.
LOOKUP_CHUNK = 900

_CALLS = cast(Table, CallRow.__table__)
_TAGS = ('"$float"', '"$dict"')


def identity_hash(identity: Mapping[str, Any]) -> str:
    """The sha256 of ``identity`` as canonical JSON (sorted keys, no spaces), in hex.

    Backends with the same identity give the same answers, so the journal groups their
    calls under this hash (``model_hash``) whatever name the spec gives the model.
    """
    text = json.dumps(identity, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class JournalEntry:
    """One finished call, to record.

    Attributes:
        key: ``call_key(identity, request)``.
        model: the model's name in the spec; only for listing.
        identity: the backend's identity (``Backend.identity``).
        request: what was asked.
        response: the answer, or ``Response(error=...)`` when every attempt failed.
    """

    key: str
    model: str
    identity: Mapping[str, Any]
    request: Request
    response: Response


@dataclass(frozen=True)
class FailedCall:
    """A call that failed after every retry, as ``heldout journal`` shows it.

    Attributes:
        key: the call's journal key.
        model: the model's name in the spec of the run that made it.
        error: why the last attempt failed.
        attempts: how many attempts were made.
        created_at: when it was recorded (UTC).
    """

    key: str
    model: str
    error: str
    attempts: int
    created_at: datetime


class _Sessions(Protocol):
    def __call__(self, action: str, *, write: bool = False) -> AbstractContextManager[Session]: ...


class Journal:
    """The calls to live models kept in a store; get it with ``Store.journal()``.

    It shares the store's connections and closes with it. Every method is one database
    transaction; :meth:`record` has committed when it returns.
    """

    def __init__(self, sessions: _Sessions) -> None:
        """Journal over ``sessions``, the store's transaction factory."""
        self._session = sessions

    def finished(self, keys: Sequence[str]) -> dict[str, Response]:
        """The successful calls among ``keys``, by key; failed and unknown keys are left out.

        Keys are looked up :data:`LOOKUP_CHUNK` at a time, in one read transaction.
        """
        # Sorted, the keys of a chunk lie on neighbouring pages of the key index.
        unique = sorted(set(keys))
        found: dict[str, Response] = {}
        if not unique:
            return found
        # The documents as text, parsed by _parse_many.
        response = cast_(_CALLS.c.response, Text)
        with self._session("cannot look up calls in the journal of") as session:
            connection = session.connection()
            for start in range(0, len(unique), LOOKUP_CHUNK):
                chunk = unique[start : start + LOOKUP_CHUNK]
                rows = connection.execute(
                    select(_CALLS.c.key, response).where(
                        _CALLS.c.key.in_(chunk), _CALLS.c.error.is_(None)
                    )
                ).all()
                if rows:
                    chunk_keys, texts = zip(*rows, strict=True)
                    responses = _parse_many(texts)
                    found.update(zip(chunk_keys, map(Response.from_dict, responses), strict=True))
        return found

    def record(self, entries: Sequence[JournalEntry]) -> None:
        """Write ``entries`` in one transaction, committed when this returns.

        A call already in the journal is replaced, except that an error never replaces
        an answer: a success replaces an earlier error (or an earlier success, the newer
        one winning), an error replaces only an earlier error. Within ``entries`` the same
        rule picks one entry per key.

        Raises:
            StoreError: the database refused the write.
        """
        if not entries:
            return
        now = datetime.now(UTC)
        hashes: dict[int, str] = {}  # a batch's calls share one or two identities
        rows = [_row(entry, now, hashes) for entry in _winners(entries)]
        with self._session(
            f"cannot record {len(rows)} calls in the journal of", write=True
        ) as session:
            connection = session.connection()
            if connection.dialect.name == "sqlite":
                _insert_sqlite(connection, rows)
            else:
                connection.execute(_upsert(connection.dialect.name), rows)

    def errors(self, model: str | None = None) -> list[FailedCall]:
        """The calls that failed after every retry, oldest first.

        Args:
            model: only calls to the model of this name in the spec.
        """
        query = select(
            _CALLS.c.key,
            _CALLS.c.model,
            _CALLS.c.error,
            _CALLS.c.attempts,
            _CALLS.c.created_at,
        ).where(_CALLS.c.error.is_not(None))
        if model is not None:
            query = query.where(_CALLS.c.model == model)
        with self._session("cannot list the failed calls in the journal of") as session:
            rows = session.execute(query.order_by(_CALLS.c.created_at, _CALLS.c.key))
            return [FailedCall(*row) for row in rows]

    def count(self, model_hash: str | None = None) -> int:
        """How many calls the journal holds, failed ones included.

        Args:
            model_hash: only calls to the model with this :func:`identity_hash`.
        """
        query = select(func.count()).select_from(_CALLS)
        if model_hash is not None:
            query = query.where(_CALLS.c.model_hash == model_hash)
        with self._session("cannot count the calls in the journal of") as session:
            return session.execute(query).scalar_one()

    def forget(self, model_hash: str | None = None) -> int:
        """Delete calls from the journal, so the next run makes them again.

        Args:
            model_hash: only calls to the model with this :func:`identity_hash`; ``None``
                deletes every call.

        Returns:
            How many calls were deleted.
        """
        statement = delete(_CALLS)
        if model_hash is not None:
            statement = statement.where(_CALLS.c.model_hash == model_hash)
        with self._session("cannot delete calls from the journal of", write=True) as session:
            return session.connection().execute(statement).rowcount


def _winners(entries: Sequence[JournalEntry]) -> list[JournalEntry]:
    """One entry per key, by the upsert's rule: a multi-row upsert must not meet a key
    twice (PostgreSQL refuses to update one row twice in a statement)."""
    chosen: dict[str, JournalEntry] = {}
    for entry in entries:
        earlier = chosen.get(entry.key)
        if earlier is None or entry.response.ok or not earlier.response.ok:
            chosen[entry.key] = entry
    return list(chosen.values())


def _parse_many(texts: Sequence[str]) -> list[Any]:
    """JSON documents of the store's codec, read from their texts.

    One ``json.loads`` for all of them, and the codec's walk over every value only when
    a tagged NaN or infinity is there: both cost more than the database lookup otherwise.
    """
    text = "[" + ",".join(texts) + "]"
    values: list[Any] = json.loads(text)
    return from_json(values) if any(tag in text for tag in _TAGS) else values


def _row(entry: JournalEntry, now: datetime, hashes: dict[int, str]) -> dict[str, Any]:
    response = entry.response
    model_hash = hashes.get(id(entry.identity))
    if model_hash is None:
        model_hash = hashes[id(entry.identity)] = identity_hash(entry.identity)
    return {
        "key": entry.key,
        "model": entry.model,
        "model_hash": model_hash,
        "identity": entry.identity,
        "kind": entry.request.kind,
        "request": entry.request.to_dict(),
        "response": response.to_dict(),
        "error": response.error,
        "latency_s": response.latency_s,
        "input_tokens": response.input_tokens,
        "output_tokens": response.output_tokens,
        "attempts": response.attempts,
        "created_at": now,
    }


def _insert_sqlite(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """The upsert of :func:`_upsert` on SQLite, its values bound here rather than by
    SQLAlchemy: the same SQL and the same stored text, at a third of the cost per call.

    The journal is written while calls are in flight, on a thread that shares the
    interpreter with the event loop sending them; SQLAlchemy's per-row binding (each JSON
    document checked, encoded twice) held it long enough to slow the calls measurably.
    Values that are the same in every row (the identity, the time) are bound once, and a
    document is encoded once when it is plain JSON; anything else goes through the
    column's own binding.
    """
    dialect = connection.dialect
    compiled = _upsert("sqlite").compile(dialect=dialect)
    names = list(compiled.positiontup or ())
    bind = {c.name: c.type.dialect_impl(dialect).bind_processor(dialect) for c in _CALLS.c}
    shared: dict[tuple[str, int], Any] = {}

    def value(name: str, raw: Any) -> Any:
        if name in ("identity", "created_at"):
            found = shared.get((name, id(raw)))
            if found is None:
                process = bind[name]
                found = shared[(name, id(raw))] = raw if process is None else process(raw)
            return found
        if name in ("request", "response"):
            text = _plain_text(raw)
            if text is not None:
                return text
        process = bind[name]
        return raw if process is None else process(raw)

    params = [tuple(value(name, row[name]) for name in names) for row in rows]
    connection.exec_driver_sql(str(compiled), params)


def _plain_text(document: Any) -> str | None:
    """``document`` as the JSON column stores it, when it is plain JSON; else ``None``."""
    try:
        text = _ASCII.encode(document)
    except (TypeError, ValueError):  # NumPy values, NaN, infinities: the column's binding
        return None
    # tags of the store's codec in a user's own values need its escaping
    return None if any(tag in text for tag in _TAGS) else text


#: What SQLAlchemy's JSON column writes (``json.dumps``' defaults), refusing NaN.
_ASCII = json.JSONEncoder(allow_nan=False)


def _upsert(dialect: str) -> Insert:
    """``INSERT ... ON CONFLICT (key) DO UPDATE`` unless an error would replace an answer."""
    # each dialect's module is imported only when its store is used (PostgreSQL's costs
    # about 0.2 s of start-up)
    if dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        statement: Any = sqlite.insert(_CALLS)
    elif dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        statement = postgresql.insert(_CALLS)
    else:
        raise StoreError(f"the call journal supports SQLite and PostgreSQL, not {dialect!r}")
    excluded = statement.excluded
    upsert: Insert = statement.on_conflict_do_update(
        index_elements=[_CALLS.c.key],
        set_={column.name: excluded[column.name] for column in _CALLS.c if column.name != "key"},
        where=or_(excluded.error.is_(None), _CALLS.c.error.is_not(None)),
    )
    return upsert
