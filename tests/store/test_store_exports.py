"""The store's public surface is what its ``__all__`` says, and no more."""

from __future__ import annotations

import heldout.store


def test_public_names() -> None:
    assert heldout.store.__all__ == [
        "DEFAULT_URL",
        "FailedCall",
        "Journal",
        "JournalEntry",
        "Note",
        "RunSummary",
        "Store",
        "TaskSummary",
        "identity_hash",
    ]
    # identifiers only: pytest's assertion rewriting (heldout registers a pytest plugin)
    # leaves "@py_builtins" and "@pytest_ar" in the modules it rewrites
    public = {n for n in vars(heldout.store) if n.isidentifier() and not n.startswith("_")}
    assert public == set(heldout.store.__all__)
