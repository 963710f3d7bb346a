"""The Python front door: evaluate a spec, read a run back."""

from __future__ import annotations

from heldout.run import Run

__all__ = ["load_run"]


def load_run(ref: str, *, store: str | None = None) -> Run:
    """Read a recorded run back from the store.

    Args:
        ref: run id, unique id prefix, ``latest`` or ``latest:NAME``.
        store: SQLAlchemy URL; the default store is ``.heldout/heldout.db``.

    Example:
        >>> run = heldout.load_run("latest:support-assistant")   # doctest: +SKIP
    """
    from heldout.store import Store

    with Store.open(store, create=False) as opened:
        return opened.load_run(ref)
