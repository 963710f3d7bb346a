"""One spelling for labels written as numbers or booleans, wherever they are read."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["label_text"]


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
