"""Runs read once and kept: an LRU of runs' aggregates, and the example columns read.

Opening a run reads its stored aggregates only (``Store.load_run(examples=False)``); the
per-example Parquet parts are fetched as bytes when a page first needs them and read one
column at a time (Arrow projection), each column kept once read. Pages filter those
columns with vectorised masks and decode only the rows they show; search runs over the
Arrow text columns, ignoring case.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from heldout.run import Run, TaskResult
from heldout.store import Store
from heldout.store._partial import ExampleParts

__all__ = ["CachedRun", "RunCache"]

#: Rows sampled to judge whether a text column has few distinct values.
_SAMPLE = 10_000


@dataclass(eq=False)
class CachedRun:
    """One run's aggregates and what was read or derived from it, each on first use.

    ``run`` holds every stored aggregate; its tasks' ``examples`` are empty frames that
    carry the stored columns and dtypes. Per-example data comes from :meth:`parts`.
    """

    run: Run
    store: Store
    _derived: dict[tuple[str, ...], Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _building: dict[tuple[str, ...], threading.RLock] = field(default_factory=dict)

    def derived(self, key: tuple[str, ...], build: Callable[[], Any]) -> Any:
        """``build()`` once per ``key``; later calls return the same object.

        One builder per key; different keys build at the same time (a search reads and
        scans its text columns on two threads).
        """
        with self._lock:
            if key in self._derived:
                return self._derived[key]
            building = self._building.setdefault(key, threading.RLock())
        with building:
            with self._lock:
                if key in self._derived:
                    return self._derived[key]
            value = build()
            with self._lock:
                self._derived[key] = value
            return value

    def parts(self, task: TaskResult) -> ExampleParts:
        """The stored examples of ``task``, fetched (not decoded) once."""
        found: ExampleParts = self.derived(
            ("parts", task.name), lambda: self.store.example_parts(self.run.id, task.name)
        )
        return found

    def column(self, task: TaskResult, name: str) -> pd.Series:
        """Every row of one examples column, read alone and kept; text as Arrow strings."""
        found: pd.DataFrame = self.derived(
            ("column", task.name, name), lambda: self.parts(task).frame([name], arrow_text=True)
        )
        return found[name]

    def full_run(self) -> Run:
        """The run with its examples decoded, for what needs whole frames (comparisons)."""
        run: Run = self.derived(("full-run",), lambda: self.store.load_run(self.run.id))
        return run

    def search_mask(self, task: TaskResult, columns: list[str], text: str) -> NDArray[np.bool_]:
        """Rows where any of ``columns`` contains ``text``, ignoring case."""
        needle = text.lower()
        parts = self.parts(task)

        def scan(column: str) -> NDArray[np.bool_]:
            found: _Searchable = self.derived(
                ("text", task.name, column), functools.partial(_text, parts, column)
            )
            return found.contains(needle)

        mask = np.zeros(len(parts), dtype=np.bool_)
        # Arrow reads and matches without holding the interpreter: columns in parallel
        with ThreadPoolExecutor(max_workers=max(1, min(len(columns), 2))) as pool:
            for hits in pool.map(scan, columns):
                mask |= hits
        return mask


@dataclass(frozen=True)
class _Searchable:
    """A text column searched ignoring case (Arrow's literal RE2 match, faster than
    lowercasing a million strings first); a column of few distinct values as a
    dictionary, so a search reads each value once instead of once per row."""

    values: pa.Array | pa.ChunkedArray
    codes: NDArray[np.int64] | None

    def contains(self, needle: str) -> NDArray[np.bool_]:
        hit = pc.match_substring(self.values, needle, ignore_case=True)
        hit = hit.to_numpy(zero_copy_only=False)
        hit = np.asarray(hit, dtype=np.bool_)
        return hit if self.codes is None else hit[self.codes]


def _text(parts: ExampleParts, column: str) -> _Searchable:
    stored = parts.arrow(column)
    kind = stored.type
    if pa.types.is_dictionary(kind) and column in parts.json_columns:
        stored, kind = stored.cast(kind.value_type), kind.value_type
    if pa.types.is_dictionary(kind) and column not in parts.json_columns:
        # Few distinct values: search them once, then look each row's code up.
        coded = stored.combine_chunks()
        distinct = pa.concat_arrays(
            [coded.dictionary.cast(pa.large_string()), pa.array([""], pa.large_string())]
        )
        missing = len(coded.dictionary)
        codes = coded.indices.fill_null(missing).to_numpy(zero_copy_only=False)
        return _Searchable(values=distinct, codes=codes.astype(np.int64))
    array: pa.Array | pa.ChunkedArray
    if column not in parts.json_columns and (
        pa.types.is_string(kind) or pa.types.is_large_string(kind)
    ):
        array = stored  # searched chunk by chunk: joining a million strings is a copy
    else:
        # Lists of references, numbers, JSON cells: written as the page writes them.
        cells = parts.frame([column])[column]
        array = pa.array([text_of(v) for v in cells], type=pa.large_string())
    text = array.fill_null("")
    # Judged on a sample, as the store does: encoding unique text only costs time.
    sample = text.slice(0, _SAMPLE)
    if pc.count_distinct(sample).as_py() * 2 <= len(sample):
        whole = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
        encoded = whole.dictionary_encode()
        codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        return _Searchable(values=encoded.dictionary, codes=codes)
    return _Searchable(values=text, codes=None)


def text_of(value: object) -> str:
    """A cell as the page writes it: missing is empty, lists are joined by `` | ``."""
    if value is None:
        return ""
    if isinstance(value, float) and np.isnan(value):
        return ""
    if isinstance(value, list | tuple | np.ndarray):
        return " | ".join(text_of(v) for v in value)
    return str(value)


class RunCache:
    """The ``size`` most recently used runs of one store, decoded."""

    def __init__(self, store: Store, size: int = 2) -> None:
        self._store = store
        self._size = size
        self._runs: OrderedDict[str, CachedRun] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}

    def get(self, ref: str) -> CachedRun:
        """The run ``ref`` names (see :meth:`Store.resolve`), decoded at most once.

        Raises:
            StoreError: no run matches ``ref``.
        """
        run_id = self._store.resolve(ref)
        with self._lock:
            cached = self._runs.get(run_id)
            if cached is not None:
                self._runs.move_to_end(run_id)
                return cached
            loading = self._loading.setdefault(run_id, threading.Lock())
        # One loader per run: a second request for it waits instead of decoding it again.
        with loading:
            with self._lock:
                cached = self._runs.get(run_id)
            if cached is None:
                cached = CachedRun(self._store.load_run(run_id, examples=False), self._store)
                with self._lock:
                    self._runs[run_id] = cached
                    self._runs.move_to_end(run_id)
                    while len(self._runs) > self._size:
                        self._runs.popitem(last=False)
                    self._loading.pop(run_id, None)
        return cached
