"""What the page shows, as plain strings: the view the templates lay out.

Every formatting decision is made while building these (``_build``, ``_task``,
``_sentences``), so the templates only place strings, and the strings are typed and tested.
All of them are user text as far as the page is concerned: the templates escape them.
"""

from __future__ import annotations

from dataclasses import dataclass

from heldout.report._analysis import AnalysisView
from heldout.report._data import DataView
from heldout.report._examples import ExamplesView
from heldout.report._judges import JudgesView
from heldout.report._plot import FigureView

__all__ = [
    "Cell",
    "Column",
    "Fact",
    "MetricRow",
    "NoteView",
    "ReportView",
    "SliceRow",
    "TaskView",
]


@dataclass(frozen=True)
class Fact:
    """A labelled value in a facts list; ``detail`` is the tooltip."""

    label: str
    value: str
    detail: str = ""


@dataclass(frozen=True)
class Cell:
    """A number with its interval; ``method`` is printed small, ``detail`` is the tooltip."""

    value: str
    interval: str
    method: str
    detail: str


@dataclass(frozen=True)
class Column:
    """A model column of a table; ``role`` is ``baseline``, ``candidate`` or empty."""

    model: str
    role: str


@dataclass(frozen=True)
class MetricRow:
    """One metric of the comparison table."""

    metric: str
    headline: bool
    estimates: tuple[Cell | None, ...]
    delta: Cell | None
    p: str
    p_adjusted: str
    test: str
    test_detail: str
    verdict: str
    verdict_class: str


@dataclass(frozen=True)
class SliceRow:
    """One slice value of the headline metric."""

    column: str
    value: str
    n: str
    small: bool
    estimates: tuple[Cell | None, ...]
    delta: Cell | None
    p_adjusted: str
    verdict: str
    verdict_class: str


@dataclass(frozen=True)
class TaskView:
    """Everything shown for one task."""

    anchor: str
    name: str
    type: str
    summary: str
    headline: str
    headline_class: str
    worse_slices: tuple[str, ...]
    facts: tuple[Fact, ...]
    warnings: tuple[str, ...]
    compared: bool
    columns: tuple[Column, ...]
    correction: str
    rows: tuple[MetricRow, ...]
    mde: str | None
    metric_figure: FigureView | None
    delta_figure: FigureView | None
    confusion_figure: FigureView | None
    slice_metric: str
    slice_note: str
    slice_figure: FigureView | None
    slice_rows: tuple[SliceRow, ...]
    examples: ExamplesView | None
    calls: CallsView | None = None
    clean_rows: tuple[MetricRow, ...] = ()
    clean_note: str | None = None
    robustness: tuple[RobustnessView, ...] = ()
    analysis: AnalysisView | None = None
    data: DataView | None = None
    judges: JudgesView | None = None
    #: the utility score's components: (metric, weight, normalisation rule)
    utility: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class RobustnessView:
    """One stress operation for one model: the paired change from originals to variants."""

    operation: str
    model: str
    pairs: str
    change: Cell
    flip_rate: Cell | None
    broke: str
    fixed: str
    versus: Cell | None
    verdict: str
    verdict_class: str


@dataclass(frozen=True)
class CallsView:
    """How the live models answered: one row per model, one column per figure."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, str, str, str, tuple[Cell | None, ...], str], ...]


@dataclass(frozen=True)
class NoteView:
    """One entry of the decision log."""

    time: str
    iso: str
    text: str


@dataclass(frozen=True)
class ReportView:
    """The whole page."""

    title: str
    run_id: str
    facts: tuple[Fact, ...]
    settings: tuple[Fact, ...]
    status_warning: str | None
    tasks: tuple[TaskView, ...]
    notes: tuple[NoteView, ...]
    spec_json: str
