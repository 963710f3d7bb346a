"""The package's front door: what `import heldout` offers, and each stage's public names."""

from __future__ import annotations

import importlib

import heldout

EXPECTED = {
    "DataError",
    "Difference",
    "Estimate",
    "HeldoutError",
    "MetricError",
    "MinimumDetectableEffect",
    "ModelError",
    "Run",
    "SpecError",
    "StoreError",
    "TaskResult",
    "__version__",
    "compare",
    "evaluate",
    "load_run",
    "metric",
}


def test_top_level_surface_is_exactly_the_documented_one() -> None:
    assert set(heldout.__all__) == EXPECTED
    for name in EXPECTED:
        assert getattr(heldout, name) is not None


def test_every_stage_declares_and_exports_its_names() -> None:
    for stage in (
        "spec",
        "data",
        "models",
        "scoring",
        "stats",
        "analysis",
        "store",
        "report",
        "run",
        "history",
        "cli",
        "demo",
    ):
        module = importlib.import_module(f"heldout.{stage}")
        assert module.__all__, stage
        missing = [n for n in module.__all__ if not hasattr(module, n)]
        assert not missing, (stage, missing)
        assert all(not n.startswith("_") for n in module.__all__), stage


def test_user_errors_share_one_root() -> None:
    for cls in (
        heldout.SpecError,
        heldout.DataError,
        heldout.MetricError,
        heldout.StoreError,
        heldout.ModelError,
    ):
        assert issubclass(cls, heldout.HeldoutError)
    assert not issubclass(heldout.HeldoutError, (ValueError, KeyError))
