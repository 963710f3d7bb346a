"""The initial schema: runs, their tasks, estimates, comparisons, slices, example parts
and notes.

Revision ID: 0001
Revises:
Create Date: 2026-05-09

Types are spelled out here rather than imported from the package, so the migration keeps
describing the schema it created when the package's types change later.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _task_key(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["run_id", "task"],
        ["run_tasks.run_id", "run_tasks.name"],
        name=op.f(f"fk_{table}_run_id_run_tasks"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("spec_hash", sa.String(), nullable=False),
        sa.Column("stats", sa.JSON(), nullable=False),
        sa.Column("heldout_version", sa.String(), nullable=False),
        sa.Column("git_commit", sa.String(), nullable=True),
        sa.Column("user", sa.String(), nullable=True),
        sa.Column("host", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_utcoffset", sa.Integer(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_utcoffset", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
    )
    op.create_index(op.f("ix_runs_created_at"), "runs", ["created_at"])
    op.create_index(op.f("ix_runs_name_created_at"), "runs", ["name", "created_at"])

    op.create_table(
        "notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author", sa.String(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_notes_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notes")),
    )
    op.create_index(op.f("ix_notes_run_id"), "notes", ["run_id"])

    op.create_table(
        "run_tasks",
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("dataset_path", sa.Text(), nullable=False),
        sa.Column("dataset_hash", sa.String(), nullable=False),
        sa.Column("dataset_n", sa.Integer(), nullable=False),
        sa.Column("dataset_columns", sa.JSON(), nullable=False),
        sa.Column("dataset_slices", sa.JSON(), nullable=False),
        sa.Column("models", sa.JSON(), nullable=False),
        sa.Column("headline", sa.String(), nullable=False),
        sa.Column("candidate", sa.String(), nullable=True),
        sa.Column("baseline", sa.String(), nullable=True),
        sa.Column("mde", sa.JSON(), nullable=True),
        sa.Column("confusion", sa.JSON(), nullable=False),
        sa.Column("dropped", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_run_tasks_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "name", name=op.f("pk_run_tasks")),
    )

    op.create_table(
        "estimates",
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("task", sa.String(), nullable=False),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("metric", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("ci_low", sa.Float(), nullable=True),
        sa.Column("ci_high", sa.Float(), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=True),
        _task_key("estimates"),
        sa.PrimaryKeyConstraint("run_id", "task", "model", "metric", name=op.f("pk_estimates")),
    )

    op.create_table(
        "comparisons",
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("task", sa.String(), nullable=False),
        sa.Column("metric", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("candidate", sa.String(), nullable=True),
        sa.Column("baseline", sa.String(), nullable=True),
        sa.Column("delta", sa.Float(), nullable=True),
        sa.Column("ci_low", sa.Float(), nullable=True),
        sa.Column("ci_high", sa.Float(), nullable=True),
        sa.Column("p_value", sa.Float(), nullable=True),
        sa.Column("p_adjusted", sa.Float(), nullable=True),
        sa.Column("corrected", sa.Boolean(), nullable=False),
        sa.Column("test", sa.String(), nullable=False),
        sa.Column("verdict", sa.String(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=True),
        _task_key("comparisons"),
        sa.PrimaryKeyConstraint("run_id", "task", "metric", name=op.f("pk_comparisons")),
    )

    op.create_table(
        "slice_results",
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("task", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("slice_column", sa.String(), nullable=False),
        sa.Column("slice_value", sa.String(), nullable=False),
        sa.Column("metric", sa.String(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("small", sa.Boolean(), nullable=False),
        sa.Column("estimates", sa.JSON(), nullable=False),
        sa.Column("comparison", sa.JSON(), nullable=True),
        _task_key("slice_results"),
        sa.PrimaryKeyConstraint("run_id", "task", "position", name=op.f("pk_slice_results")),
    )

    op.create_table(
        "example_parts",
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("task", sa.String(), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("n_rows", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        _task_key("example_parts"),
        sa.PrimaryKeyConstraint("run_id", "task", "part", name=op.f("pk_example_parts")),
    )


def downgrade() -> None:
    for table in ("example_parts", "slice_results", "comparisons", "estimates", "run_tasks"):
        op.drop_table(table)
    op.drop_index(op.f("ix_notes_run_id"), table_name="notes")
    op.drop_table("notes")
    op.drop_index(op.f("ix_runs_name_created_at"), table_name="runs")
    op.drop_index(op.f("ix_runs_created_at"), table_name="runs")
    op.drop_table("runs")
