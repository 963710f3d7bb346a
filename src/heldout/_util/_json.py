"""Documents any JSON reader can load: no ``NaN`` or ``Infinity`` tokens."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["json_ready"]


def json_ready(value: Any) -> Any:
    """``value`` with every non-finite float (``nan``, ``inf``) replaced by ``None``.

    Dicts, lists and tuples are walked (tuples come back as lists); anything else is
    returned as it is.

    Example:
        >>> json_ready({"p": float("nan"), "n": [1, float("inf")]})
        {'p': None, 'n': [1, None]}
    """
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return value
