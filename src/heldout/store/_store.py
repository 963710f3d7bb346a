"""The run store: save a :class:`~heldout.run.Run`, find it again, keep notes on it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import TracebackType

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.orm import Session

from heldout._errors import StoreError
from heldout.run import Run
from heldout.store._engine import WRITE, StoreURL, create_store_engine, parse_url, translate_errors
from heldout.store._frames import decode_examples
from heldout.store._journal import Journal
from heldout.store._listing import run_summaries
from heldout.store._migrate import upgrade
from heldout.store._partial import ExampleParts
from heldout.store._records import build_run, run_records
from heldout.store._refs import resolve_ref
from heldout.store._schema import (
    ComparisonRow,
    EstimateRow,
    ExamplePartRow,
    NoteRow,
    RunRow,
    SliceRow,
    TaskRow,
)
from heldout.store._summary import Note, RunSummary

__all__ = ["Store"]


class Store:
    """Runs and their notes in a SQL database: SQLite by default, PostgreSQL by URL.

    Open one with :meth:`Store.open`; close it, or use it as a context manager::

        with Store.open() as store:
            store.save_run(run)
            again = store.load_run("latest")

    Every method is one database transaction.
    """

    def __init__(self, engine: Engine, url: StoreURL) -> None:
        """Wrap an engine already migrated; :meth:`open` is the way to get a store."""
        self._engine = engine
        self._url = url
        self._closed = False

    @classmethod
    def open(cls, url: str | None = None, *, create: bool = True) -> Store:
        """Open the store at ``url``, creating it or upgrading its schema as needed.

        Args:
            url: an SQLAlchemy URL (``sqlite:///path/heldout.db``,
                ``postgresql://user@host/db``); ``None`` is :data:`DEFAULT_URL`,
                ``.heldout/heldout.db`` under the working directory.

            create: make a new SQLite store when the file does not exist; readers pass
                ``False`` so that a mistyped path is an error, not a new empty store.

        Raises:
            StoreError: the URL is not supported, its driver is not installed, or the
                database cannot be created, reached or migrated.
        """
        store_url = parse_url(url)
        path = store_url.sqlite_path
        if not create and path is not None and not path.exists():
            raise StoreError(
                f"no store at {path}: no run has been recorded there. Record one with "
                "`heldout run eval.yaml`, or pass --store with the right URL"
            )
        engine = create_store_engine(store_url)
        try:
            upgrade(engine, store_url)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, store_url)

    @property
    def url(self) -> str:
        """The store's URL, password masked."""
        return self._url.shown

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the database connections; the store cannot be used afterwards."""
        if not self._closed:
            self._closed = True
            self._engine.dispose()

    @contextmanager
    def _session(self, action: str, *, write: bool = False) -> Iterator[Session]:
        """One transaction; database errors become ``StoreError("{action} {url}: …")``."""
        if self._closed:
            raise StoreError(f"the store {self.url} is closed; open it again with Store.open")
        options = {WRITE: True} if write else {}
        with (
            translate_errors(self._url, action),
            Session(self._engine, execution_options=options) as session,
            session.begin(),
        ):
            yield session

    def journal(self) -> Journal:
        """The store's call journal: every call to a live model and its answer.

        It shares this store's connections; closing the store closes it too.

        Raises:
            StoreError: the store is closed.
        """
        if self._closed:
            raise StoreError(f"the store {self.url} is closed; open it again with Store.open")
        return Journal(self._session)

    def save_run(self, run: Run) -> None:
        """Write ``run`` in one transaction: all of it, or nothing when anything fails.

        A run already stored under the same id is replaced; its notes are kept.
        Examples are encoded as Parquet before the transaction starts, so the write lock
        is held only for the inserts.

        Raises:
            StoreError: the run cannot be stored, or the database refused the write.
        """
        records = run_records(run)
        with self._session(f"cannot save run {run.id} to", write=True) as session:
            if session.scalar(select(RunRow.id).where(RunRow.id == run.id)) is None:
                session.execute(insert(RunRow), [records.run])
            else:
                for table in (ExamplePartRow, SliceRow, ComparisonRow, EstimateRow, TaskRow):
                    session.execute(
                        delete(table).where(table.run_id == run.id),
                        execution_options={"synchronize_session": False},
                    )
                session.execute(
                    update(RunRow).where(RunRow.id == run.id).values(**records.run),
                    execution_options={"synchronize_session": False},
                )
            for entity, rows in (
                (TaskRow, records.tasks),
                (EstimateRow, records.estimates),
                (ComparisonRow, records.comparisons),
                (SliceRow, records.slices),
            ):
                if rows:
                    session.execute(insert(entity), rows)
            # One statement per part: never more than one part's bytes in a statement.
            for part in records.parts:
                session.execute(insert(ExamplePartRow), [part])

    def load_run(self, ref: str, *, examples: bool = True) -> Run:
        """The run ``ref`` names, with its examples (see :meth:`resolve` for ``ref``).

        With ``examples=False`` only the stored aggregates are read (metrics,
        comparisons, slices, analyses): each task's ``examples`` is an empty frame with
        the stored columns and dtypes, and no per-example data is decoded. Read the
        examples piecewise with :meth:`example_parts`.
        """
        with self._session(f"cannot read run {ref!r} from") as session:
            run_id = resolve_ref(session, ref, self.url)
            run = session.get_one(RunRow, run_id)
            tasks = session.scalars(
                select(TaskRow).where(TaskRow.run_id == run_id).order_by(TaskRow.position)
            ).all()
            estimates = session.scalars(
                select(EstimateRow)
                .where(EstimateRow.run_id == run_id)
                .order_by(EstimateRow.task, EstimateRow.position)
            ).all()
            comparisons = session.scalars(
                select(ComparisonRow)
                .where(ComparisonRow.run_id == run_id)
                .order_by(ComparisonRow.task, ComparisonRow.position)
            ).all()
            slices = session.scalars(
                select(SliceRow)
                .where(SliceRow.run_id == run_id)
                .order_by(SliceRow.task, SliceRow.position)
            ).all()
            blobs: dict[str, list[bytes]] = {task.name: [] for task in tasks}
            chosen = select(ExamplePartRow.task, ExamplePartRow.data).where(
                ExamplePartRow.run_id == run_id
            )
            if not examples:
                # The first part alone carries the schema of the columns.
                chosen = chosen.where(ExamplePartRow.part == 0)
            for task_name, data in session.execute(
                chosen.order_by(ExamplePartRow.task, ExamplePartRow.part)
            ):
                blobs[task_name].append(data)
            if examples:
                frames = {name: decode_examples(parts) for name, parts in blobs.items()}
            else:
                frames = {
                    name: ExampleParts(task=name, data=tuple(parts), rows=(0,)).empty
                    for name, parts in blobs.items()
                }
            return build_run(run, tasks, estimates, comparisons, slices, frames)

    def example_parts(self, ref: str, task: str) -> ExampleParts:
        """The stored Parquet parts of one task's examples, to read by column or by row
        without decoding the whole frame (see :class:`ExampleParts`).

        Raises:
            StoreError: no run matches ``ref``, or it has no task ``task``.
        """
        with self._session(f"cannot read the examples of run {ref!r} from") as session:
            run_id = resolve_ref(session, ref, self.url)
            found = session.execute(
                select(ExamplePartRow.n_rows, ExamplePartRow.data)
                .where(ExamplePartRow.run_id == run_id, ExamplePartRow.task == task)
                .order_by(ExamplePartRow.part)
            ).all()
        if not found:
            raise StoreError(
                f"run {run_id} has no task {task!r} with stored examples in {self.url}"
            )
        return ExampleParts(
            task=task,
            data=tuple(row.data for row in found),
            rows=tuple(row.n_rows for row in found),
        )

    def resolve(self, ref: str) -> str:
        """The id of the run ``ref`` names.

        ``ref`` is a full run id, a prefix of one (at least 4 characters) that no other
        run shares, ``latest`` (the newest run) or ``latest:NAME`` (the newest run of
        that name).

        Raises:
            StoreError: no run matches, or a prefix matches several (they are listed).
        """
        with self._session(f"cannot look up run {ref!r} in") as session:
            return resolve_ref(session, ref, self.url)

    def list_runs(self, *, name: str | None = None, limit: int = 50) -> list[RunSummary]:
        """Summaries of the newest runs, newest first, without their examples.

        Args:
            name: only runs of this name.
            limit: at most this many runs (at least 1).
        """
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        with self._session("cannot list the runs in") as session:
            return run_summaries(session, name=name, limit=limit)

    def add_note(self, ref: str, text: str, *, author: str | None = None) -> Note:
        """Add an entry to the decision log of run ``ref``.

        Raises:
            StoreError: the run is not found, or ``text`` is blank.
        """
        if not text.strip():
            raise StoreError("a note needs some text: what was decided, and why")
        with self._session(f"cannot add a note to run {ref!r} in", write=True) as session:
            row = NoteRow(
                run_id=resolve_ref(session, ref, self.url),
                created_at=datetime.now(UTC),
                author=author,
                text=text,
            )
            session.add(row)
            session.flush()
            return _note(row)

    def notes(self, ref: str) -> list[Note]:
        """The decision log of run ``ref``, oldest entry first."""
        with self._session(f"cannot read the notes of run {ref!r} in") as session:
            run_id = resolve_ref(session, ref, self.url)
            rows = session.scalars(
                select(NoteRow)
                .where(NoteRow.run_id == run_id)
                .order_by(NoteRow.created_at, NoteRow.id)
            ).all()
            return [_note(row) for row in rows]


def _note(row: NoteRow) -> Note:
    return Note(
        id=row.id, run_id=row.run_id, created_at=row.created_at, author=row.author, text=row.text
    )
