"""Run summaries for ``heldout runs``: each task's headline result, no examples loaded."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session

from heldout.stats import Difference, Estimate
from heldout.store._codec import from_utc
from heldout.store._records import difference_from_row, estimate_from_row
from heldout.store._refs import NEWEST
from heldout.store._schema import ComparisonRow, EstimateRow, RunRow, TaskRow
from heldout.store._summary import RunSummary, TaskSummary

__all__ = ["run_summaries"]


def run_summaries(session: Session, *, name: str | None, limit: int) -> list[RunSummary]:
    """The newest ``limit`` runs (of ``name``, when given), newest first, in four queries."""
    # Only the listing columns: spec and stats stay in the database.
    query = select(
        RunRow.id,
        RunRow.name,
        RunRow.status,
        RunRow.created_at,
        RunRow.created_utcoffset,
        RunRow.finished_at,
        RunRow.finished_utcoffset,
    )
    if name is not None:
        query = query.where(RunRow.name == name)
    runs = session.execute(query.order_by(*NEWEST).limit(limit)).all()
    ids = [run.id for run in runs]
    tasks = session.execute(
        select(
            TaskRow.run_id,
            TaskRow.name,
            TaskRow.type,
            TaskRow.models,
            TaskRow.dataset_n,
            TaskRow.headline,
            TaskRow.candidate,
            TaskRow.baseline,
        )
        .where(TaskRow.run_id.in_(ids))
        .order_by(TaskRow.run_id, TaskRow.position)
    ).all()
    estimates: dict[tuple[str, str], dict[str, Estimate]] = {}
    for est in session.scalars(
        select(EstimateRow)
        .join(TaskRow, _same_task(EstimateRow))
        .where(EstimateRow.run_id.in_(ids), EstimateRow.metric == TaskRow.headline)
        .order_by(EstimateRow.position)
    ):
        estimates.setdefault((est.run_id, est.task), {})[est.model] = estimate_from_row(est)
    differences: dict[tuple[str, str], Difference] = {
        (c.run_id, c.task): difference_from_row(c)
        for c in session.scalars(
            select(ComparisonRow)
            .join(TaskRow, _same_task(ComparisonRow))
            .where(ComparisonRow.run_id.in_(ids), ComparisonRow.metric == TaskRow.headline)
        )
    }

    by_run: dict[str, list[TaskSummary]] = {run_id: [] for run_id in ids}
    for t in tasks:
        by_run[t.run_id].append(
            TaskSummary(
                name=t.name,
                type=t.type,
                models=tuple(t.models),
                n=t.dataset_n,
                headline=t.headline,
                candidate=t.candidate,
                baseline=t.baseline,
                estimates=estimates.get((t.run_id, t.name), {}),
                difference=differences.get((t.run_id, t.name)),
            )
        )
    return [
        RunSummary(
            id=r.id,
            name=r.name,
            status=r.status,
            created_at=from_utc(r.created_at, r.created_utcoffset),
            finished_at=from_utc(r.finished_at, r.finished_utcoffset),
            tasks=tuple(by_run[r.id]),
        )
        for r in runs
    ]


def _same_task(entity: type[EstimateRow] | type[ComparisonRow]) -> ColumnElement[bool]:
    return and_(TaskRow.run_id == entity.run_id, TaskRow.name == entity.task)
