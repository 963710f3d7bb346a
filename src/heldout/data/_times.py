"""A time column read as numbers: ISO dates and datetimes, or plain numbers.

Used wherever rows are ordered or windowed by time (``heldout split --time``, ``heldout
monitor --time``). Dates become microseconds since 1970 (a time without a zone is taken
as UTC); a column mixing dates and numbers, an unparseable value or an empty cell is a
one-line error naming the file and line.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from heldout._errors import DataError
from heldout.data._read import column_values
from heldout.data._text_norm import as_text

__all__ = ["EPOCH", "time_values", "to_micros"]

#: The origin of date values: microseconds are counted from here.
EPOCH = datetime(1970, 1, 1)


def time_values(
    table: pa.Table, name: str, *, locate: Callable[[int], str], option: str = "--time"
) -> tuple[NDArray[np.float64], bool]:
    """The column as float64 times, and whether they are dates.

    Raises:
        DataError: an empty cell, a value that is neither an ISO date/datetime nor a
            number, or dates mixed with numbers — naming ``locate(row)``.
    """
    col = table.column(name)
    t = col.type
    nulls = np.asarray(pc.is_null(col, nan_is_null=True).to_numpy(zero_copy_only=False), bool)
    if nulls.any():
        row = int(np.flatnonzero(nulls)[0])
        raise DataError(
            f'{locate(row)}: column "{name}" ({option}) is empty on this row. '
            "Fill in its time or drop the row"
        )
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        target = pa.timestamp("us", tz="UTC" if pa.types.is_timestamp(t) and t.tz else None)
        micros = pc.cast(col, target).cast(pa.int64()).to_numpy(zero_copy_only=False)
        return np.asarray(micros, dtype=np.float64), True
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64), False
    out = np.empty(len(col), dtype=np.float64)
    first: bool | None = None
    for i, v in enumerate(column_values(table, name)):
        parsed = _parse(v)
        if parsed is None:
            raise DataError(
                f'{locate(i)}: column "{name}" ({option}) value {as_text(v)!r} is neither '
                "an ISO date/datetime nor a number. Write times like 2024-05-01 or "
                "2024-05-01T12:30:00"
            )
        out[i], is_date = parsed
        if first is None:
            first = is_date
        elif is_date != first:
            raise DataError(
                f'{locate(i)}: column "{name}" ({option}) mixes dates and numbers '
                f"({as_text(v)!r} here). Write every time the same way"
            )
    return out, bool(first)


def to_micros(value: datetime | date) -> float:
    """Microseconds since 1970; a time without a zone is taken as UTC."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return float((value - EPOCH) // timedelta(microseconds=1))


def _parse(value: Any) -> tuple[float, bool] | None:
    """``(time, is_date)``, or ``None`` when the value is no time."""
    if isinstance(value, bool | np.bool_) or value is None:
        return None
    if isinstance(value, int | float | np.integer | np.floating):
        return (float(value), False) if math.isfinite(float(value)) else None
    if isinstance(value, datetime | date):
        return to_micros(value), True
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        return to_micros(datetime.fromisoformat(text)), True
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return None
    return (number, False) if math.isfinite(number) else None
