"""The store's tables, as SQLAlchemy declarative models.

A run is one row in ``runs`` and rows keyed by ``(run_id, task)`` in the other tables;
every child row goes when its run goes (``ON DELETE CASCADE``). Per-example results are
columnar: Parquet blobs of at most 250,000 rows in ``example_parts``. ``calls`` is the
call journal, one row per call to a live model, shared by every run.

Any change here needs a migration in ``migrations/versions`` (a test compares the two).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from heldout.store._codec import JSONDocument, NaNFloat, UTCDateTime

__all__ = [
    "Base",
    "CallRow",
    "ComparisonRow",
    "EstimateRow",
    "ExamplePartRow",
    "NoteRow",
    "RunRow",
    "SliceRow",
    "TaskRow",
]

# Deterministic constraint names, so later migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _task_key() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["run_id", "task"], ["run_tasks.run_id", "run_tasks.name"], ondelete="CASCADE"
    )


class RunRow(Base):
    """One evaluation. Times are UTC; ``*_utcoffset`` keeps the offset they were given in
    (seconds, NULL for a naive time) so a run reads back exactly as it was saved."""

    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(String)
    status: Mapped[str] = mapped_column(String)
    spec: Mapped[Any] = mapped_column(JSONDocument)
    spec_hash: Mapped[str] = mapped_column(String)
    stats: Mapped[Any] = mapped_column(JSONDocument)
    heldout_version: Mapped[str] = mapped_column(String)
    git_commit: Mapped[str | None] = mapped_column(String)
    user: Mapped[str | None] = mapped_column(String)
    host: Mapped[str | None] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_utcoffset: Mapped[int | None]
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_utcoffset: Mapped[int | None]

    __table_args__ = (
        Index(None, "created_at"),
        Index(None, "name", "created_at"),
    )


class TaskRow(Base):
    """One task of a run: its dataset, models and the JSON-shaped parts of its result."""

    __tablename__ = "run_tasks"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String, primary_key=True)
    position: Mapped[int]
    type: Mapped[str] = mapped_column(String)
    dataset_path: Mapped[str] = mapped_column(Text)
    dataset_hash: Mapped[str] = mapped_column(String)
    dataset_n: Mapped[int]
    dataset_columns: Mapped[Any] = mapped_column(JSONDocument)
    dataset_slices: Mapped[Any] = mapped_column(JSONDocument)
    models: Mapped[Any] = mapped_column(JSONDocument)
    headline: Mapped[str] = mapped_column(String)
    candidate: Mapped[str | None] = mapped_column(String)
    baseline: Mapped[str | None] = mapped_column(String)
    mde: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    confusion: Mapped[Any] = mapped_column(JSONDocument)
    dropped: Mapped[Any] = mapped_column(JSONDocument)
    live: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    clean: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    robustness: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    analysis: Mapped[Any] = mapped_column(JSONDocument, nullable=True)


class EstimateRow(Base):
    """``metrics[model][metric]`` of a task; NULL floats mean NaN."""

    __tablename__ = "estimates"

    run_id: Mapped[str] = mapped_column(String, primary_key=True)
    task: Mapped[str] = mapped_column(String, primary_key=True)
    model: Mapped[str] = mapped_column(String, primary_key=True)
    metric: Mapped[str] = mapped_column(String, primary_key=True)
    position: Mapped[int]
    value: Mapped[float] = mapped_column(NaNFloat, nullable=True)
    ci_low: Mapped[float] = mapped_column(NaNFloat, nullable=True)
    ci_high: Mapped[float] = mapped_column(NaNFloat, nullable=True)
    n: Mapped[int]
    method: Mapped[str] = mapped_column(String)
    confidence: Mapped[float] = mapped_column(NaNFloat, nullable=True)

    __table_args__ = (_task_key(),)


class ComparisonRow(Base):
    """``comparisons[metric]``: candidate minus baseline. ``corrected`` says whether a
    multiple-comparison correction produced ``p_adjusted`` (NULL with ``corrected`` true
    is an adjusted p-value of NaN)."""

    __tablename__ = "comparisons"

    run_id: Mapped[str] = mapped_column(String, primary_key=True)
    task: Mapped[str] = mapped_column(String, primary_key=True)
    metric: Mapped[str] = mapped_column(String, primary_key=True)
    position: Mapped[int]
    candidate: Mapped[str | None] = mapped_column(String)
    baseline: Mapped[str | None] = mapped_column(String)
    delta: Mapped[float] = mapped_column(NaNFloat, nullable=True)
    ci_low: Mapped[float] = mapped_column(NaNFloat, nullable=True)
    ci_high: Mapped[float] = mapped_column(NaNFloat, nullable=True)
    p_value: Mapped[float] = mapped_column(NaNFloat, nullable=True)
    p_adjusted: Mapped[float] = mapped_column(NaNFloat, nullable=True)
    corrected: Mapped[bool]
    test: Mapped[str] = mapped_column(String)
    verdict: Mapped[str] = mapped_column(String)
    n: Mapped[int]
    confidence: Mapped[float] = mapped_column(NaNFloat, nullable=True)

    __table_args__ = (_task_key(),)


class SliceRow(Base):
    """The headline metric on one slice value, per model, and its paired difference."""

    __tablename__ = "slice_results"

    run_id: Mapped[str] = mapped_column(String, primary_key=True)
    task: Mapped[str] = mapped_column(String, primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    slice_column: Mapped[str] = mapped_column(String)
    slice_value: Mapped[str] = mapped_column(String)
    metric: Mapped[str] = mapped_column(String)
    n: Mapped[int]
    small: Mapped[bool]
    estimates: Mapped[Any] = mapped_column(JSONDocument)
    comparison: Mapped[Any] = mapped_column(JSONDocument, nullable=True)

    __table_args__ = (_task_key(),)


class ExamplePartRow(Base):
    """Rows ``[part * size, ...)`` of a task's examples frame, as one Parquet file."""

    __tablename__ = "example_parts"

    run_id: Mapped[str] = mapped_column(String, primary_key=True)
    task: Mapped[str] = mapped_column(String, primary_key=True)
    part: Mapped[int] = mapped_column(primary_key=True)
    n_rows: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (_task_key(),)


class NoteRow(Base):
    """The decision log: why a run was kept, shipped or thrown away."""

    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    author: Mapped[str | None] = mapped_column(String)
    text: Mapped[str] = mapped_column(Text)


class CallRow(Base):
    """One call to a live model and its answer, keyed by ``call_key(identity, request)``.

    ``model_hash`` is the hash of ``identity`` (what makes the model's answers what they
    are); ``model`` is only the name the spec gave it, for listing. ``error`` is NULL when
    the call succeeded; the token counts and latency repeat ``response`` for queries.
    """

    __tablename__ = "calls"

    key: Mapped[str] = mapped_column(String, primary_key=True)
    model: Mapped[str] = mapped_column(String)
    model_hash: Mapped[str] = mapped_column(String, index=True)
    identity: Mapped[Any] = mapped_column(JSONDocument)
    kind: Mapped[str] = mapped_column(String)
    request: Mapped[Any] = mapped_column(JSONDocument)
    response: Mapped[Any] = mapped_column(JSONDocument)
    error: Mapped[str | None] = mapped_column(Text)
    latency_s: Mapped[float | None] = mapped_column(Float)
    input_tokens: Mapped[int | None]
    output_tokens: Mapped[int | None]
    attempts: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
