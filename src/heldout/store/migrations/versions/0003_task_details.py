"""Per task: how live models answered (calls, failures, samples, latency, cost), the
metrics on the clean subset when the spec excludes leaked examples, robustness to
stress operations, and the analyses (calibration...).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28

NULL (tasks saved before this revision) reads as none of these.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("run_tasks") as batch:
        batch.add_column(sa.Column("live", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("clean", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("robustness", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("analysis", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("run_tasks") as batch:
        batch.drop_column("analysis")
        batch.drop_column("robustness")
        batch.drop_column("clean")
        batch.drop_column("live")
