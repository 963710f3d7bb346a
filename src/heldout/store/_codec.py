"""Column types that make values survive the database unchanged.

* JSON documents may hold NaN and infinities (undefined metrics on a small slice), which
  strict JSON, and so PostgreSQL, rejects: they are written as tagged objects.
* SQLite stores a float NaN as NULL: :class:`NaNFloat` reads NULL back as NaN.
* SQLite keeps no time zone: :class:`UTCDateTime` writes UTC and reads UTC back.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import numpy as np
from sqlalchemy import JSON, DateTime, Dialect, Float
from sqlalchemy.types import TypeDecorator

from heldout._errors import StoreError

__all__ = [
    "JSONDocument",
    "NaNFloat",
    "UTCDateTime",
    "from_json",
    "from_utc",
    "strict_json_dumps",
    "to_json",
    "utcoffset_seconds",
]

_FLOAT = "$float"
_DICT = "$dict"
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


#: One encoder for every document (``json.dumps`` with options builds a new one per call).
_STRICT = json.JSONEncoder(allow_nan=False, ensure_ascii=False)


def strict_json_dumps(value: Any) -> str:
    """``json.dumps`` that refuses NaN: whatever reaches the database is portable JSON."""
    return _STRICT.encode(value)


def to_json(value: Any, where: str) -> Any:
    """``value`` as plain JSON data, with non-finite floats as ``{"$float": "NaN"}``.

    Tuples become lists and non-string keys become strings, as ``json.dumps`` does, so a
    stored document equals what ``heldout run --json`` prints.

    Raises:
        StoreError: ``value`` holds something JSON cannot represent; ``where`` names it.
    """
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return {_FLOAT: "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")}
    if isinstance(value, np.generic):
        return to_json(value.item(), where)
    if isinstance(value, list | tuple):
        return [to_json(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        out = {_key(k, where): to_json(v, f"{where}[{k!r}]") for k, v in value.items()}
        # A user's own {"$float": ...} must not be read back as a tag.
        return {_DICT: out} if len(out) == 1 and next(iter(out)) in (_FLOAT, _DICT) else out
    raise StoreError(
        f"{where} holds a {type(value).__name__} value ({value!r:.60}), which cannot be "
        "stored as JSON; convert it to a string, number, bool, list or dict"
    )


def from_json(value: Any) -> Any:
    """The inverse of :func:`to_json`."""
    if isinstance(value, list):
        return [from_json(v) for v in value]
    if isinstance(value, dict):
        if len(value) == 1:
            ((key, inner),) = value.items()
            if key == _FLOAT:
                return _NON_FINITE[inner]
            if key == _DICT:
                return {k: from_json(v) for k, v in inner.items()}
        return {k: from_json(v) for k, v in value.items()}
    return value


def _plain(value: Any) -> bool:
    """Whether ``value`` is already plain JSON that :func:`to_json` would leave as it is:
    one C-speed ``json.dumps`` instead of walking every value in Python (a journal write
    walked three documents per call)."""
    try:
        text = _STRICT.encode(value)
    except (TypeError, ValueError):  # NumPy values, NaN, infinities, anything else
        return False
    # a user's own {"$float": ...} or {"$dict": ...} needs to_json's escaping
    return _FLOAT not in text and _DICT not in text


def _key(key: Any, where: str) -> str:
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, bool | int | float):
        return json.dumps(key)
    raise StoreError(f"{where} has a {type(key).__name__} key {key!r:.60}; use string keys")


class JSONDocument(TypeDecorator[Any]):
    """JSON that round-trips NaN and infinities; ``None`` is SQL NULL."""

    impl = JSON(none_as_null=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if _plain(value):
            return value  # stored exactly as to_json would have left it
        return to_json(value, "value")

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else from_json(value)


class NaNFloat(TypeDecorator[float]):
    """A float column where SQL NULL means NaN (SQLite cannot store NaN)."""

    impl = Float
    cache_ok = True

    def process_bind_param(self, value: float | None, dialect: Dialect) -> float | None:
        return None if value is None or math.isnan(value) else float(value)

    def process_result_value(self, value: float | None, dialect: Dialect) -> float:
        return math.nan if value is None else float(value)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and read back as an aware UTC datetime.

    A naive datetime is taken to be UTC already.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcoffset_seconds(moment: datetime) -> int | None:
    """The offset from UTC the caller wrote ``moment`` in; ``None`` for a naive datetime."""
    offset = moment.utcoffset()
    return None if offset is None else int(offset.total_seconds())


def from_utc(moment: datetime, offset: int | None) -> datetime:
    """``moment`` (aware, UTC) shown again in the offset it was written in."""
    if offset is None:
        return moment.astimezone(UTC).replace(tzinfo=None)
    return moment.astimezone(timezone(timedelta(seconds=offset)))
