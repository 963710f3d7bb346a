"""The run store: every run, its results and its decision log, in one SQL database.

SQLite by default (``.heldout/heldout.db`` under the working directory), PostgreSQL by
URL (``pip install "heldout[postgres]"``). The schema is migrated with Alembic when a
store is opened. Per-example results are kept columnar, as Parquet parts inside the
database, so a run of a million examples is still one transaction. The store also keeps
the call journal (:meth:`Store.journal`): every call to a live model and its answer, so
that a rerun makes none twice.

>>> from heldout.store import Store
>>> with Store.open() as store:                                  # doctest: +SKIP
...     store.save_run(run)
...     [summary.id for summary in store.list_runs(limit=5)]
"""

from heldout.store._engine import DEFAULT_URL
from heldout.store._journal import FailedCall, Journal, JournalEntry, identity_hash
from heldout.store._store import Store
from heldout.store._summary import Note, RunSummary, TaskSummary

__all__ = [
    "DEFAULT_URL",
    "FailedCall",
    "Journal",
    "JournalEntry",
    "Note",
    "RunSummary",
    "Store",
    "TaskSummary",
    "identity_hash",
]
