"""The examples search over text columns as stored: chunked, dictionary-encoded or not."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pytest

from heldout.server._data import _text


@dataclass
class _Parts:
    """The two things the search reads from stored examples."""

    columns: dict[str, pa.ChunkedArray]
    json_columns: frozenset[str] = field(default_factory=frozenset)

    def arrow(self, column: str) -> pa.ChunkedArray:
        return self.columns[column]


ROWS = ["Refund please", None, "router RESET", "refund", "Ümlaut REFUND", "nothing"]


def _expected(rows: list[str | None], needle: str) -> np.ndarray:
    return np.array([r is not None and needle.lower() in r.lower() for r in rows])


@pytest.mark.parametrize(
    "chunks",
    [
        [ROWS],  # one chunk, every value distinct: searched as it is
        [ROWS[:2], ROWS[2:5], ROWS[5:]],  # row groups: searched chunk by chunk
        [ROWS * 3000, ROWS * 2000],  # few distinct values over chunks: dictionary-encoded
    ],
)
@pytest.mark.parametrize("needle", ["refund", "RESET", "ümlaut", "zzz"])
def test_search_ignores_case_over_every_chunk(chunks: list[list[str | None]], needle: str) -> None:
    column = pa.chunked_array([pa.array(c, pa.string()) for c in chunks])
    searchable = _text(_Parts({"input": column}), "input")  # type: ignore[arg-type]
    rows = [r for c in chunks for r in c]
    assert searchable.contains(needle).tolist() == _expected(rows, needle).tolist()


def test_search_reads_dictionary_columns_through_their_codes() -> None:
    chunks = [
        pa.array(["billing", "bug", None, "billing"]).dictionary_encode(),
        pa.array(["other", "BUG"]).dictionary_encode(),
    ]
    column = pa.chunked_array(chunks)
    searchable = _text(_Parts({"target": column}), "target")  # type: ignore[arg-type]
    assert searchable.codes is not None
    rows = ["billing", "bug", None, "billing", "other", "BUG"]
    assert searchable.contains("bug").tolist() == _expected(rows, "bug").tolist()


def test_the_run_cache_builds_each_key_once_and_different_keys_at_once() -> None:
    import threading
    import time

    from heldout.server._data import CachedRun

    cached = CachedRun(run=None, store=None)  # type: ignore[arg-type]
    builds: list[str] = []
    both_inside = threading.Barrier(2, timeout=5)

    def build(name: str) -> str:
        builds.append(name)
        both_inside.wait()  # only returns when the other key is being built too
        time.sleep(0.01)
        return name.upper()

    results: list[str] = []
    threads = [
        threading.Thread(target=lambda k=k: results.append(cached.derived((k,), lambda: build(k))))
        for k in ("a", "b")
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["A", "B"]
    # a second request for a key returns the same object without building again
    assert cached.derived(("a",), lambda: build("again")) == "A"
    assert sorted(builds) == ["a", "b"]
