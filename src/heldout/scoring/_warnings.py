"""The warning scoring emits when a metric is undefined on the data it is given."""

from __future__ import annotations

import warnings

__all__ = ["HeldoutMetricWarning", "warn_undefined"]


class HeldoutMetricWarning(UserWarning):
    """A metric is undefined on the data (F1 with no positives, R² of a constant target).

    The value reported instead follows scikit-learn's ``zero_division=0`` convention (or
    scikit-learn's own convention for that metric, which the message names).
    """


def warn_undefined(metric: str, reason: str, model: str | None = None) -> None:
    """Warn that ``metric`` is undefined, saying why and what is reported instead."""
    who = f' for model "{model}"' if model else ""
    warnings.warn(f"{metric}{who}: {reason}", HeldoutMetricWarning, stacklevel=3)
