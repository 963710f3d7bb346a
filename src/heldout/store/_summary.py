"""What the store lists without loading a whole run: run summaries and notes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from heldout.stats import Difference, Estimate

__all__ = ["Note", "RunSummary", "TaskSummary"]


@dataclass(frozen=True)
class TaskSummary:
    """One task of a listed run, summarised by its headline metric.

    Attributes:
        name: the task's name in the spec.
        type: ``classification``, ``regression`` or ``generation``.
        models: the models evaluated, in spec order.
        n: number of examples in the task's dataset.
        headline: the metric the task is summarised by.
        candidate: the model being judged, when the spec compares two.
        baseline: the model it is judged against.
        estimates: the headline metric of every model, by model name.
        difference: candidate minus baseline on the headline metric; ``None`` without a
            comparison.
    """

    name: str
    type: str
    models: tuple[str, ...]
    n: int
    headline: str
    candidate: str | None
    baseline: str | None
    estimates: Mapping[str, Estimate]
    difference: Difference | None

    @property
    def candidate_estimate(self) -> Estimate | None:
        """The candidate's headline estimate, or ``None`` without a candidate."""
        return None if self.candidate is None else self.estimates.get(self.candidate)

    @property
    def baseline_estimate(self) -> Estimate | None:
        """The baseline's headline estimate, or ``None`` without a baseline."""
        return None if self.baseline is None else self.estimates.get(self.baseline)


@dataclass(frozen=True)
class RunSummary:
    """A stored run as ``heldout runs`` lists it: enough for one line, no examples.

    ``candidate`` and ``baseline`` are those of the first task, as ``Run.metrics`` is.
    """

    id: str
    name: str
    status: str
    created_at: datetime
    finished_at: datetime
    tasks: tuple[TaskSummary, ...]

    @property
    def task_names(self) -> tuple[str, ...]:
        return tuple(task.name for task in self.tasks)

    @property
    def models(self) -> tuple[str, ...]:
        """Every model of every task, each once, in order of first appearance."""
        return tuple(dict.fromkeys(model for task in self.tasks for model in task.models))

    @property
    def candidate(self) -> str | None:
        return self.tasks[0].candidate if self.tasks else None

    @property
    def baseline(self) -> str | None:
        return self.tasks[0].baseline if self.tasks else None


@dataclass(frozen=True)
class Note:
    """One entry of a run's decision log.

    Attributes:
        id: the note's number in the store.
        run_id: the run it is about.
        created_at: when it was written (UTC).
        author: who wrote it, when given.
        text: what was decided and why.
    """

    id: int
    run_id: str
    created_at: datetime
    author: str | None
    text: str
