"""Pick the examples worth reading: what the candidate fixed, broke or got worse at.

Classification tasks store ``correct:<model>`` per example, so a fixed example is one the
baseline got wrong and the candidate right, and a broken one the reverse. Other tasks store
per-example scores such as ``token_f1:<model>``; there the report lists the largest drops.
Nothing is estimated here: the rows are selected and written out as stored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from heldout._util._format import fmt_count, fmt_number, fmt_signed, lower_is_better
from heldout.run import TaskResult

__all__ = ["ExampleTable", "ExamplesView", "build_examples"]

#: Per-example columns that describe a call rather than its quality.
_NOT_A_SCORE = frozenset(
    {"pred", "correct", "latency", "tokens", "prompt_tokens", "completion_tokens", "cost", "error"}
)
#: Preferred per-example scores for generation, best first.
_PREFERRED_SCORES = ("token_f1", "exact_match", "rougeL", "rouge_l", "chrf", "bleu")
_MAX_CHARS = 400
_SCORE_DECIMALS = 3


@dataclass(frozen=True)
class ExampleTable:
    """A titled table of examples; ``rows`` hold already-written cell text."""

    title: str
    description: str
    columns: tuple[str, ...]
    numeric: tuple[bool, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class ExamplesView:
    """The examples section of a task: its tables, or why there are none."""

    tables: tuple[ExampleTable, ...]
    note: str | None = None


def build_examples(task: TaskResult, *, limit: int = 20) -> ExamplesView | None:
    """The examples section for a task, or ``None`` when the task compares no models.

    Args:
        task: the task; needs a candidate and a baseline.
        limit: at most this many rows per table.
    """
    candidate, baseline = task.candidate, task.baseline
    if candidate is None or baseline is None:
        return None
    # Positions, not stored labels, so duplicate index labels cannot mix rows up.
    frame = task.examples.reset_index(drop=True)
    if frame.empty:
        return ExamplesView(tables=(), note="No per-example results were stored for this task.")
    if _has_both(frame, "correct", candidate, baseline):
        return _fixed_and_broken(frame, candidate, baseline, limit)
    score = _score_column(frame, candidate, baseline)
    if score is not None:
        return _largest_drops(frame, score, candidate, baseline, limit)
    return ExamplesView(
        tables=(),
        note=(
            f"No per-example scores stored for both {candidate} and {baseline} "
            f"(expected columns such as correct:{candidate} or token_f1:{candidate})."
        ),
    )


def _has_both(frame: pd.DataFrame, score: str, candidate: str, baseline: str) -> bool:
    return f"{score}:{candidate}" in frame.columns and f"{score}:{baseline}" in frame.columns


def _numeric(frame: pd.DataFrame, column: str) -> NDArray[np.float64]:
    """The column as floats; anything that is not a number becomes NaN."""
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _score_column(frame: pd.DataFrame, candidate: str, baseline: str) -> str | None:
    suffix = f":{candidate}"
    found: list[str] = []
    for column in frame.columns:
        if not isinstance(column, str) or not column.endswith(suffix):
            continue
        score = column[: -len(suffix)]
        if score in _NOT_A_SCORE or not _has_both(frame, score, candidate, baseline):
            continue
        if (
            np.isfinite(_numeric(frame, column)).any()
            and np.isfinite(_numeric(frame, f"{score}:{baseline}")).any()
        ):
            found.append(score)
    for preferred in _PREFERRED_SCORES:
        if preferred in found:
            return preferred
    return found[0] if found else None


def _fixed_and_broken(
    frame: pd.DataFrame, candidate: str, baseline: str, limit: int
) -> ExamplesView:
    now = _numeric(frame, f"correct:{candidate}")
    before = _numeric(frame, f"correct:{baseline}")
    columns = _text_columns(frame, candidate, baseline)
    tables = []
    for title, chosen, verb in (
        (
            f"Fixed by {candidate}",
            np.flatnonzero((before == 0) & (now == 1)),
            f"{baseline} was wrong and {candidate} right",
        ),
        (
            f"Broken by {candidate}",
            np.flatnonzero((before == 1) & (now == 0)),
            f"{baseline} was right and {candidate} wrong",
        ),
    ):
        shown = chosen[:limit]
        tables.append(
            ExampleTable(
                title=title,
                description=f"{_showing(len(shown), len(chosen))} where {verb}.",
                columns=tuple(label for label, _ in columns),
                numeric=tuple(False for _ in columns),
                rows=tuple(_row(frame, int(i), columns) for i in shown),
            )
        )
    return ExamplesView(tables=tuple(tables))


def _largest_drops(
    frame: pd.DataFrame, score: str, candidate: str, baseline: str, limit: int
) -> ExamplesView:
    now = _numeric(frame, f"{score}:{candidate}")
    before = _numeric(frame, f"{score}:{baseline}")
    change = now - before
    worsening = change if lower_is_better(score) else -change
    chosen = np.flatnonzero(worsening > 0)  # NaN, a missing score, is never a drop
    chosen = chosen[np.argsort(-worsening[chosen], kind="stable")]
    shown = chosen[:limit]
    columns = _text_columns(frame, candidate, baseline)
    rows = tuple(
        (
            *_row(frame, int(i), columns),
            fmt_number(float(before[i]), _SCORE_DECIMALS),
            fmt_number(float(now[i]), _SCORE_DECIMALS),
            fmt_signed(float(change[i]), _SCORE_DECIMALS),
        )
        for i in shown
    )
    direction = "lower is better" if lower_is_better(score) else "higher is better"
    table = ExampleTable(
        title=f"Largest drops in {score}",
        description=(
            f"{_showing(len(shown), len(chosen))} where {candidate} scored worse than "
            f"{baseline} on per-example {score} ({direction}), largest drop first."
        ),
        columns=(
            *(label for label, _ in columns),
            f"{score} {baseline}",
            f"{score} {candidate}",
            "change",
        ),
        numeric=(*(False for _ in columns), True, True, True),
        rows=rows,
    )
    return ExamplesView(tables=(table,))


def _text_columns(frame: pd.DataFrame, candidate: str, baseline: str) -> list[tuple[str, str]]:
    """The (header, column) pairs present among id, input, target and both predictions."""
    wanted = [
        ("id", "id"),
        ("input", "input"),
        ("target", "target"),
        (f"{baseline} prediction", f"pred:{baseline}"),
        (f"{candidate} prediction", f"pred:{candidate}"),
    ]
    return [(label, column) for label, column in wanted if column in frame.columns]


def _row(frame: pd.DataFrame, position: int, columns: list[tuple[str, str]]) -> tuple[str, ...]:
    return tuple(_text(frame[column].iloc[position]) for _, column in columns)


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = str(value)
    if len(text) > _MAX_CHARS:
        hidden = len(text) - _MAX_CHARS
        return f"{text[:_MAX_CHARS]}… ({fmt_count(hidden)} more characters)"
    return text


def _showing(shown: int, total: int) -> str:
    noun = "example" if total == 1 else "examples"
    if shown == total:
        return f"All {fmt_count(total)} {noun}" if total else "No examples"
    return f"{fmt_count(shown)} of {fmt_count(total)} {noun}"
