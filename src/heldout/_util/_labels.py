"""One spelling for labels written as numbers or booleans, wherever they are read."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = ["label_text", "label_texts"]

#: Columns whose values are all of one of these kinds are labelled per distinct value.
_HOMOGENEOUS = frozenset({"string", "integer", "floating", "boolean", "empty"})


def label_text(v: Any) -> str:
    """``1``, ``1.0`` and ``"1"`` are the label ``"1"``; booleans are ``"true"``/``"false"``.

    The spec, the dataset and the predictions files all read labels through this, so the
    same value written in YAML, JSON, CSV or Parquet names the same class.
    """
    if isinstance(v, bool | np.bool_):
        return "true" if v else "false"
    if isinstance(v, float | np.floating) and float(v).is_integer():
        return str(int(v))
    return str(v)


def label_texts(values: NDArray[Any], missing: str | None = None) -> NDArray[np.object_]:
    """:func:`label_text` of every value; ``missing`` for None and NaN.

    A column of one kind (texts, integers, floats or booleans) is labelled once per
    distinct value, which keeps a million-row slice column to a fraction of a second; a
    column mixing kinds (where ``True == 1`` would merge two labels) is labelled value
    by value.
    """
    values = np.asarray(values, dtype=object)
    if pd.api.types.infer_dtype(values, skipna=True) in _HOMOGENEOUS:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        texts = np.empty(len(uniques) + 1, dtype=object)
        texts[:-1] = [label_text(v) for v in uniques]
        texts[-1] = missing
        return texts[codes]  # the sentinel -1 picks ``missing``
    out = np.empty(values.shape[0], dtype=object)
    for i, v in enumerate(values):
        out[i] = missing if v is None or (isinstance(v, float) and np.isnan(v)) else label_text(v)
    return out
