"""Database URLs, engines and the translation of database errors into StoreError.

SQLite gets write-ahead logging (readers never wait for the writer), foreign keys and a
busy timeout on every new connection. The ``sqlite3`` driver's own transaction handling
is switched off and SQLAlchemy emits ``BEGIN`` itself, so reads see one snapshot and DDL
is transactional; write transactions take the write lock up front (``BEGIN IMMEDIATE``)
so two writers queue on the busy timeout instead of failing on a stale snapshot.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.engine import URL, make_url

from heldout._errors import StoreError

__all__ = [
    "DEFAULT_URL",
    "WRITE",
    "StoreURL",
    "create_store_engine",
    "mask_url",
    "parse_url",
    "translate_errors",
]

DEFAULT_URL = "sqlite:///.heldout/heldout.db"

#: Execution option marking a connection whose transactions write.
WRITE = "heldout_write"

BUSY_TIMEOUT_MS = 30_000

_EXAMPLES = "use sqlite:///path/to/heldout.db or postgresql://user@host/dbname"
_POSTGRES_HINT = 'pip install "heldout[postgres]"'


class StoreURL:
    """A parsed store URL and the text to show for it (password masked)."""

    def __init__(self, url: URL) -> None:
        self.url = url
        self.shown = mask_url(url.render_as_string(hide_password=True))

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def sqlite_path(self) -> Path | None:
        """The database file of a SQLite URL; ``None`` for memory or other backends."""
        database = self.url.database
        if not self.is_sqlite or not database or database == ":memory:":
            return None
        if database.startswith("file:"):
            return None
        return Path(database)


def mask_url(url: str) -> str:
    """``url`` with any password replaced by ``***``, even when it does not parse.

    Everything up to the last ``@`` of the authority counts as the password, so an
    unescaped ``@`` inside a password does not leak the rest of it.
    """
    return re.sub(r"(//[^/:@]*:)[^/]*@", r"\1***@", url)


def parse_url(url: str | None) -> StoreURL:
    """Parse ``url`` (``None``: the default under the working directory).

    Relative SQLite paths are made absolute now, so that a later change of working
    directory cannot point a new connection at another file. ``postgresql://`` and
    ``postgres://`` mean the psycopg 3 driver that ``heldout[postgres]`` installs.
    """
    text = DEFAULT_URL if url is None else url
    try:
        parsed = make_url(text)
    except (exc.ArgumentError, ValueError) as error:
        raise StoreError(
            f"store URL {mask_url(text)!r} is not a database URL; {_EXAMPLES}"
        ) from error
    backend = parsed.get_backend_name()
    if backend in ("postgres", "postgresql"):
        if parsed.drivername in ("postgres", "postgresql"):
            parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend != "sqlite":
        raise StoreError(
            f"unsupported store URL scheme {parsed.drivername!r} in "
            f"{parsed.render_as_string(hide_password=True)}; {_EXAMPLES}"
        )
    store_url = StoreURL(parsed)
    path = store_url.sqlite_path
    if path is not None and not path.is_absolute():
        store_url = StoreURL(parsed.set(database=str(Path.cwd() / path)))
    return store_url


def create_store_engine(store_url: StoreURL) -> Engine:
    """An engine for ``store_url``; creates the SQLite file's folder.

    Raises:
        StoreError: the folder cannot be created, or the driver is not installed.
    """
    path = store_url.sqlite_path
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(
                f"cannot create the folder {path.parent} for the store {store_url.shown}: "
                f"{error.strerror or error}; pass a URL in a writable folder "
                '(Store.open("sqlite:////abs/path/heldout.db"))'
            ) from error
    try:
        if store_url.is_sqlite and path is None:
            # one in-memory database, shared by the journal's writer thread
            from sqlalchemy.pool import StaticPool

            engine = create_engine(
                store_url.url,
                poolclass=StaticPool,
                connect_args={"check_same_thread": False},
            )
        else:
            engine = create_engine(store_url.url)
    except ImportError as error:
        driver = store_url.url.get_driver_name()
        hint = _POSTGRES_HINT if driver == "psycopg" else f"install the {driver!r} driver"
        raise StoreError(
            f"the store {store_url.shown} needs the {driver} driver, which is not "
            f"installed ({error}); {hint}"
        ) from error
    if store_url.is_sqlite:
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, connection_record: Any) -> None:
    # Leave BEGIN to _sqlite_begin: the driver's own would skip it for SELECT and DDL.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS:d}")
    finally:
        cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    immediate = connection.get_execution_options().get(WRITE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def translate_errors(store_url: StoreURL, action: str) -> Iterator[None]:
    """Turn database errors inside the block into one-line :class:`StoreError`\\ s.

    ``action`` starts the message, which goes on with the URL, the reason and the fix:
    ``cannot save run 3f9a… to sqlite:///…/heldout.db: database is locked (…)``.
    """
    try:
        yield
    except exc.SQLAlchemyError as error:
        reason = _reason(error)
        password = store_url.url.password
        if password:
            reason = reason.replace(str(password), "***")
        raise StoreError(f"{action} {store_url.shown}: {reason}") from error


_HINTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("database is locked",), "another process is writing to the store; retry when it is done"),
    (("unable to open database file",), "check that the folder exists and is writable"),
    (("readonly database",), "the file or its folder is read-only; make it writable"),
    (("file is not a database",), "the file is not a SQLite database; pass another path"),
    (("disk image is malformed",), "the file is damaged; restore it from a backup"),
    (("disk is full",), "free some disk space"),
    (("disk i/o error",), "check the disk and its free space"),
    (("password authentication failed",), "check the user name and password"),
    (("connection refused",), "check that PostgreSQL is running at that host and port"),
    (("could not translate host name",), "check the host name"),
    (("database", "does not exist"), "create the database first, or check its name"),
)


def _reason(error: exc.SQLAlchemyError) -> str:
    cause = error.orig if isinstance(error, exc.DBAPIError) else error
    text = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    lowered = text.lower()
    for needles, hint in _HINTS:
        if all(needle in lowered for needle in needles):
            return f"{text} ({hint})"
    return f"{type(cause).__name__}: {text}"
