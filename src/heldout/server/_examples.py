"""The examples browser: filter a task's examples, cut one page, lay out its rows.

Filters are vectorised masks over the example columns they name, each read alone from the
stored Parquet parts and kept, so any page of a million examples costs the same; only the
rows of the page are decoded in full and turned into Python values. Nothing is
estimated: rows are selected and shown as stored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from numpy.typing import NDArray

from heldout._errors import HeldoutError
from heldout.run import TaskResult
from heldout.server._data import CachedRun, text_of
from heldout.server._diff import Segment, word_diff

__all__ = ["ExamplePage", "ExampleQuery", "ExampleRow", "ModelOutput", "query_examples"]

#: Most rows on one page.
MAX_PER_PAGE = 200
#: Per-example scores preferred for "fixed"/"broken" when a task has no ``correct:`` column.
_PREFERRED_SCORES = ("token_f1", "exact_match", "rougeL", "rouge_l", "chrf", "bleu")
#: Per-model columns that hold no number to filter on.
_NOT_A_SCORE = frozenset({"pred", "error"})
#: Longest text shown in a cell; the rest is cut with a note.
_MAX_CHARS = 4_000


@dataclass(frozen=True)
class ExampleQuery:
    """What the browser asks for; every field is optional.

    Attributes:
        task: the task's name (default: the run's first task).
        slices: ``column=value`` pairs; an example must match all of them.
        right: models that must have the example right (``correct:<model>`` is 1).
        wrong: models that must have it wrong.
        change: ``fixed`` (the baseline wrong, the candidate right), ``broken`` (the
            reverse) or ``same``.
        errors: only examples where some model's call failed.
        score: a per-example score column (``token_f1:tuned``) that ``low``/``high`` bound.
        low: smallest score kept (inclusive).
        high: largest score kept (inclusive).
        q: text searched, ignoring case, in the input, target and every model's output.
        page: 1-based page number.
        per_page: rows per page, at most :data:`MAX_PER_PAGE`.
    """

    task: str | None = None
    slices: tuple[str, ...] = ()
    right: tuple[str, ...] = ()
    wrong: tuple[str, ...] = ()
    change: str = ""
    errors: bool = False
    score: str = ""
    low: float | None = None
    high: float | None = None
    q: str = ""
    page: int = 1
    per_page: int = 50

    def params(self, **changes: object) -> list[tuple[str, str]]:
        """The query string pairs of this query, with ``changes`` applied (for links)."""
        values: dict[str, object] = {
            "task": self.task,
            "slice": list(self.slices),
            "right": list(self.right),
            "wrong": list(self.wrong),
            "change": self.change,
            "errors": "1" if self.errors else "",
            "score": self.score,
            "low": self.low,
            "high": self.high,
            "q": self.q,
            "page": self.page,
            "per_page": self.per_page,
        }
        values.update(changes)
        pairs: list[tuple[str, str]] = []
        for key, value in values.items():
            items = value if isinstance(value, list) else [value]
            pairs.extend((key, str(v)) for v in items if v not in (None, ""))
        return pairs


@dataclass(frozen=True)
class ModelOutput:
    """One model's answer to an example, its diff against the first model's answer."""

    model: str
    text: str
    segments: tuple[Segment, ...]
    correct: bool | None
    scores: tuple[tuple[str, str], ...]
    error: str
    #: per judge, its reason for the score (``reason:<judge>:<model>``) or its error
    judged: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ExampleRow:
    """One example on the page."""

    position: int
    id: str
    input: str
    target: str
    slices: tuple[tuple[str, str], ...]
    outputs: tuple[ModelOutput, ...]


@dataclass(frozen=True)
class ExamplePage:
    """A page of examples and where it lies among those that match."""

    task: str
    total: int
    matching: int
    page: int
    pages: int
    per_page: int
    rows: tuple[ExampleRow, ...]
    models: tuple[str, ...]
    slice_values: Mapping[str, tuple[str, ...]]
    score_columns: tuple[str, ...]
    can_compare: bool

    def to_dict(self) -> dict[str, object]:
        return {
            "task": self.task,
            "total": self.total,
            "matching": self.matching,
            "page": self.page,
            "pages": self.pages,
            "per_page": self.per_page,
            "rows": [
                {
                    "position": row.position,
                    "id": row.id,
                    "input": row.input,
                    "target": row.target,
                    "slices": dict(row.slices),
                    "outputs": [
                        {
                            "model": out.model,
                            "text": out.text,
                            "correct": out.correct,
                            "scores": dict(out.scores),
                            "error": out.error or None,
                            "judged": dict(out.judged),
                        }
                        for out in row.outputs
                    ],
                }
                for row in self.rows
            ],
        }


def pick_task(cached: CachedRun, name: str | None) -> TaskResult:
    """The task called ``name``, or the run's first task."""
    run = cached.run
    if not name:
        return run.tasks[0]
    return run.task(name)


def query_examples(cached: CachedRun, query: ExampleQuery) -> ExamplePage:
    """The page of ``query``'s task that ``query`` asks for.

    Raises:
        HeldoutError: the query names a task, slice column, model or score the run lacks,
            or a page size out of range.
    """
    task = pick_task(cached, query.task)
    parts = cached.parts(task)
    total = len(parts)
    if not 1 <= query.per_page <= MAX_PER_PAGE:
        raise HeldoutError(f"per_page must be between 1 and {MAX_PER_PAGE}, got {query.per_page}")
    mask = _mask(cached, task, query)
    chosen = np.flatnonzero(mask) if mask is not None else None
    matching = total if chosen is None else int(chosen.size)
    pages = max(1, math.ceil(matching / query.per_page))
    page = min(max(query.page, 1), pages)
    start = (page - 1) * query.per_page
    stop = min(start + query.per_page, matching)
    positions = np.arange(start, stop, dtype=np.int64) if chosen is None else chosen[start:stop]
    rows = parts.take(positions)
    scores = score_columns(task)
    return ExamplePage(
        task=task.name,
        total=total,
        matching=matching,
        page=page,
        pages=pages,
        per_page=query.per_page,
        rows=tuple(
            _row(task, int(position), record, scores)
            for position, record in zip(positions, rows.to_dict("records"), strict=True)
        ),
        models=task.models,
        slice_values=cached.derived(
            ("slice-values", task.name), lambda: _slice_values(cached, task)
        ),
        score_columns=scores,
        can_compare=_change_columns(task) is not None,
    )


def _mask(cached: CachedRun, task: TaskResult, query: ExampleQuery) -> NDArray[np.bool_] | None:
    frame = task.examples  # no rows: the stored columns and their dtypes
    mask: NDArray[np.bool_] | None = None

    def both(extra: NDArray[np.bool_]) -> None:
        nonlocal mask
        mask = extra if mask is None else mask & extra

    for item in query.slices:
        column, sep, value = item.partition("=")
        if not sep or column not in task.dataset.slices or column not in frame.columns:
            known = ", ".join(task.dataset.slices) or "none"
            raise HeldoutError(
                f'slice filter "{item}" of task {task.name}: give COLUMN=VALUE with a slice '
                f"column ({known})"
            )
        codes, code_of = _slice_codes(cached, task, column)
        both(codes == code_of.get(value, -2))
    for models, wanted in ((query.right, 1.0), (query.wrong, 0.0)):
        for model in models:
            both(_numbers(cached.column(task, _model_column(task, "correct", model))) == wanted)
    if query.change:
        both(_change_mask(cached, task, query.change))
    if query.errors:
        failed = np.zeros(len(cached.parts(task)), dtype=np.bool_)
        for model in task.models:
            column = f"error:{model}"
            if column in frame.columns:
                failed |= _nonempty(cached.column(task, column))
        both(failed)
    if query.score and (query.low is not None or query.high is not None):
        if query.score not in score_columns(task):
            known = ", ".join(score_columns(task)) or "none"
            raise HeldoutError(
                f'score "{query.score}" is not a per-example score of task {task.name} '
                f"(scores: {known})"
            )
        values = _numbers(cached.column(task, query.score))
        inside = np.isfinite(values)
        if query.low is not None:
            inside &= values >= query.low
        if query.high is not None:
            inside &= values <= query.high
        both(inside)
    if query.q.strip():
        columns = [c for c in ("id", "input", "target") if c in frame.columns]
        columns += [f"pred:{m}" for m in task.models if f"pred:{m}" in frame.columns]
        both(cached.search_mask(task, columns, query.q.strip()))
    return mask


def _slice_codes(
    cached: CachedRun, task: TaskResult, column: str
) -> tuple[NDArray[np.int64], dict[str, int]]:
    """A slice column as integer codes and the code of each value as the page writes it,
    so a slice filter is one integer comparison; built once per column."""

    def build() -> tuple[NDArray[np.int64], dict[str, int]]:
        parts = cached.parts(task)
        stored = parts.arrow(column)
        if pa.types.is_dictionary(stored.type) and column not in parts.json_columns:
            # Text the writer dictionary-encoded: its codes are the codes (missing: -1).
            coded = stored.unify_dictionaries().combine_chunks()
            codes = coded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
            return codes.astype(np.int64), {
                str(v): i for i, v in enumerate(coded.dictionary.to_pylist())
            }
        values = cached.column(task, column)
        # Arrow text is factorised by Arrow; other columns as the page writes them.
        text = values if isinstance(values.dtype, pd.ArrowDtype) else values.astype(str)
        codes, uniques = pd.factorize(text)
        return codes.astype(np.int64), {str(v): i for i, v in enumerate(uniques)}

    found: tuple[NDArray[np.int64], dict[str, int]] = cached.derived(
        ("slice-codes", task.name, column), build
    )
    return found


def _nonempty(values: pd.Series) -> NDArray[np.bool_]:
    """Rows whose cell the page would write as some text (an error message)."""
    if isinstance(values.dtype, pd.ArrowDtype):
        return np.asarray((values.fillna("") != "").to_numpy(dtype=np.bool_))
    return np.asarray(values.map(lambda v: bool(text_of(v))).to_numpy(dtype=np.bool_))


def _numbers(values: pd.Series) -> NDArray[np.float64]:
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _model_column(task: TaskResult, prefix: str, model: str) -> str:
    column = f"{prefix}:{model}"
    if model not in task.models or column not in task.examples.columns:
        known = ", ".join(m for m in task.models if f"{prefix}:{m}" in task.examples.columns)
        raise HeldoutError(
            f'model "{model}" has no per-example {prefix} column in task {task.name} '
            f"(models with one: {known or 'none'})"
        )
    return column


def _change_columns(task: TaskResult) -> tuple[str, str, bool] | None:
    """``(candidate column, baseline column, lower is better)`` deciding fixed/broken."""
    candidate, baseline = task.candidate, task.baseline
    if candidate is None or baseline is None:
        return None
    columns = task.examples.columns
    for score in ("correct", *_PREFERRED_SCORES):
        if f"{score}:{candidate}" in columns and f"{score}:{baseline}" in columns:
            return f"{score}:{candidate}", f"{score}:{baseline}", False
    return None


def _change_mask(cached: CachedRun, task: TaskResult, change: str) -> NDArray[np.bool_]:
    found = _change_columns(task)
    if change not in ("fixed", "broken", "same"):
        raise HeldoutError(f'change must be "fixed", "broken" or "same", got "{change}"')
    if found is None:
        raise HeldoutError(
            f"task {task.name} compares no candidate with a baseline on a per-example score, "
            "so no example is fixed or broken; leave the change filter out"
        )
    now = _numbers(cached.column(task, found[0]))
    before = _numbers(cached.column(task, found[1]))
    if change == "fixed":
        return np.asarray(now > before)
    if change == "broken":
        return np.asarray(now < before)
    return np.asarray(now == before)


def score_columns(task: TaskResult) -> tuple[str, ...]:
    """The per-example numeric columns of each model (``correct:tuned``, ``chrf:base``)."""
    found = []
    for column, dtype in task.examples.dtypes.items():
        if not isinstance(column, str):
            continue
        score, sep, model = column.rpartition(":")
        numeric = pd.api.types.is_numeric_dtype(dtype)
        if sep and model in task.models and score not in _NOT_A_SCORE and numeric:
            found.append(column)
    return tuple(found)


def _slice_values(cached: CachedRun, task: TaskResult) -> dict[str, tuple[str, ...]]:
    values: dict[str, tuple[str, ...]] = {}
    for column in task.dataset.slices:
        if column in task.examples.columns:
            _, seen = _slice_codes(cached, task, column)
            values[column] = tuple(sorted(seen)[:200])
    return values


def _row(
    task: TaskResult, position: int, record: Mapping[Any, Any], scores: tuple[str, ...]
) -> ExampleRow:
    outputs = []
    reference: str | None = None
    for model in task.models:
        text = _cut(text_of(record.get(f"pred:{model}")))
        if reference is None:
            reference = text
            segments: Sequence[Segment] = (Segment(text, "same"),)
        else:
            _, segments = word_diff(reference, text)
        correct = record.get(f"correct:{model}")
        outputs.append(
            ModelOutput(
                model=model,
                text=text,
                segments=tuple(segments),
                correct=None if correct is None or pd.isna(correct) else bool(correct),
                scores=tuple(
                    (column.rpartition(":")[0], _number(record[column]))
                    for column in scores
                    if column.endswith(f":{model}") and not column.startswith("correct:")
                ),
                error=text_of(record.get(f"error:{model}")),
                judged=_judged(record, model),
            )
        )
    return ExampleRow(
        position=position,
        id=text_of(record.get("id")),
        input=_cut(text_of(record.get("input"))),
        target=_cut(text_of(record.get("target", record.get("references")))),
        slices=tuple((c, text_of(record.get(c))) for c in task.dataset.slices),
        outputs=tuple(outputs),
    )


def _judged(record: Mapping[Any, Any], model: str) -> tuple[tuple[str, str], ...]:
    """Each judge's reason for ``model``'s score, or the judge's error when it failed."""
    found: dict[str, str] = {}
    for column, value in record.items():
        if not isinstance(column, str) or not column.endswith(f":{model}"):
            continue
        kind, _, judge = column[: -len(model) - 1].partition(":")
        text = text_of(value)
        if kind == "judge_error" and text:
            found[judge] = f"judge error: {text}"
        elif kind == "reason" and text and judge not in found:
            found[judge] = _cut(text)
    return tuple(sorted(found.items()))


def _number(value: object) -> str:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    return "" if not math.isfinite(number) else f"{number:.3f}"


def _cut(text: str) -> str:
    if len(text) <= _MAX_CHARS:
        return text
    return f"{text[:_MAX_CHARS]}… ({len(text) - _MAX_CHARS:,} more characters)"
