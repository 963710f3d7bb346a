"""The exceptions heldout raises.

Every error a user can cause is a :class:`HeldoutError`; the CLI prints its message as one
line and exits with code 2. Anything else is a bug and keeps its traceback.

::

    HeldoutError
    ├── SpecError            eval.yaml is malformed or inconsistent
    ├── DataError            a data or predictions file cannot be read or does not fit the spec
    ├── MetricError          a metric is unknown or cannot be computed from what was given
    ├── StoreError           the store cannot be opened, or a run is not in it
    └── ModelError           a model backend failed in a way the user must fix
"""

from __future__ import annotations

__all__ = ["DataError", "HeldoutError", "MetricError", "ModelError", "SpecError", "StoreError"]


class HeldoutError(Exception):
    """Root of every error caused by input the user can fix."""


class SpecError(HeldoutError):
    """The evaluation spec is malformed or inconsistent."""


class DataError(HeldoutError):
    """A dataset or predictions file cannot be read, or does not match the spec."""


class MetricError(HeldoutError):
    """A metric is unknown or cannot be computed from the data given."""


class StoreError(HeldoutError):
    """The run store cannot be opened or does not hold the run asked for."""


class ModelError(HeldoutError):
    """A model backend failed in a way the user must fix."""
