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
    public = {name for name in vars(heldout.store) if not name.startswith("_")}
    assert public == set(heldout.store.__all__)
