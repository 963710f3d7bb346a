"""The public surface of heldout.judges."""

from __future__ import annotations

import heldout.judges


def test_public_names() -> None:
    public = {n for n in dir(heldout.judges) if not n.startswith("_") and n != "annotations"}
    modules = {n for n in public if type(getattr(heldout.judges, n)).__name__ == "module"}
    assert public - modules == set(heldout.judges.__all__)
    assert heldout.judges.__all__ == sorted(
        heldout.judges.__all__, key=lambda n: (not n.isupper(), n)
    )
