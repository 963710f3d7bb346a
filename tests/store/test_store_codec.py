"""Values the database cannot hold as they are: NaN, infinities, time zones, tags."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

import numpy as np
import pytest

from heldout import StoreError
from heldout.store._codec import from_json, from_utc, strict_json_dumps, to_json, utcoffset_seconds


@pytest.mark.parametrize(
    "value",
    [
        {"a": [1, 2.5, None, True, "x"]},
        {"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "list": [math.nan, 0.0]},
        {"$float": "NaN"},
        {"$dict": {"$float": "Infinity"}},
        {"$float": "NaN", "other": 1},
        [{"$dict": 1}],
        "plain",
        None,
    ],
)
def test_json_round_trip_is_exact(value: Any) -> None:
    stored = json.loads(strict_json_dumps(to_json(value, "value")))

    assert json.dumps(from_json(stored)) == json.dumps(value)


def test_json_is_strict_and_normalised() -> None:
    value = {1: (np.float64(0.5), np.int64(3), np.bool_(True)), None: MappingProxyType({"k": 1})}

    assert to_json(value, "v") == {"1": [0.5, 3, True], "null": {"k": 1}}
    with pytest.raises(ValueError, match="Out of range float values"):
        strict_json_dumps(math.nan)


def test_unstorable_values_are_named_by_their_path() -> None:
    with pytest.raises(StoreError, match=r"run\.stats\['timing'\]\[1\] holds a datetime value"):
        to_json({"timing": [0, datetime(2026, 1, 1)]}, "run.stats")
    with pytest.raises(StoreError, match=r"run\.spec has a frozenset key"):
        to_json({frozenset(): 1}, "run.spec")


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 5, 9, 14, 30, tzinfo=timezone(timedelta(hours=2))),
        datetime(2026, 5, 9, 14, 30, tzinfo=timezone(timedelta(hours=-9, minutes=-30))),
        datetime(2026, 5, 9, 14, 30, tzinfo=UTC),
        datetime(2026, 5, 9, 14, 30),
    ],
)
def test_times_come_back_in_the_offset_they_were_given_in(moment: datetime) -> None:
    as_utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

    again = from_utc(as_utc, utcoffset_seconds(moment))

    assert again.isoformat() == moment.isoformat()


@pytest.mark.parametrize(
    "value",
    [
        {"kind": "generate", "prompt": "héllo", "params": {"stop": ["a"], "seed": None}},
        {"t": (1, (2.5, "x")), 3: "int key", True: "bool key", None: "none key", 1.5: "f"},
        {"p": float("nan")},
        {"p": [1.0, float("inf"), -float("inf")]},
        {"$float": "NaN"},  # a user's own dict that looks like a tag
        {"outer": {"$dict": {"a": 1}}},
        {"n": np.float64(0.25), "i": np.int64(3)},
        [],
        "text",
    ],
)
def test_documents_are_stored_as_to_json_writes_them(value: object) -> None:
    from sqlalchemy.dialects import sqlite

    from heldout.store._codec import JSONDocument, strict_json_dumps, to_json

    bound = JSONDocument().process_bind_param(value, sqlite.dialect())
    assert strict_json_dumps(bound) == strict_json_dumps(to_json(value, "value"))
