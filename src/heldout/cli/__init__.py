"""The command line: Typer commands that read runs and data and print them."""

# The command modules register themselves on ``app`` when imported.
import heldout.cli._check
import heldout.cli._history
import heldout.cli._monitor
import heldout.cli._pii
import heldout.cli._plan
import heldout.cli._serve
import heldout.cli._split
import heldout.cli._stress  # noqa: F401
from heldout.cli._app import app, main

__all__ = ["app", "main"]
