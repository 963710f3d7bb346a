"""Labels read per distinct value equal labels read value by value."""

from __future__ import annotations

import numpy as np
import pytest

from heldout._util._labels import label_text, label_texts


def _one_by_one(values: list[object], missing: str | None) -> list[str | None]:
    return [
        missing if v is None or (isinstance(v, float) and np.isnan(v)) else label_text(v)
        for v in values
    ]


@pytest.mark.parametrize(
    "values",
    [
        ["a", "b", None, "a"],
        [1, 2, 3, 2],
        [1.0, 2.5, float("nan"), 1.0],
        [True, False, True],
        [True, 1, 0, False],  # True == 1: must stay two labels
        [1, "1", 1.0, None],
        [np.int64(3), 4, np.float64(4.0)],
        [],
    ],
)
def test_label_texts_equal_label_text_of_each_value(values: list[object]) -> None:
    got = label_texts(np.array(values, dtype=object), "(missing)")
    assert list(got) == _one_by_one(values, "(missing)")


def test_label_texts_on_a_random_column_of_many_kinds() -> None:
    rng = np.random.default_rng(0)
    pool: list[object] = ["x", "y", 1, 2, 2.0, 2.5, True, False, None, float("nan")]
    values = [pool[i] for i in rng.integers(0, len(pool), size=2_000)]
    assert list(label_texts(np.array(values, dtype=object))) == _one_by_one(values, None)
