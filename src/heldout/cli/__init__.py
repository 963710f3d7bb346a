"""The command line: Typer commands that read runs and data and print them."""

# The command modules register themselves on ``app`` when imported.
import heldout.cli._check
import heldout.cli._pii  # noqa: F401
from heldout.cli._app import app, main

__all__ = ["app", "main"]
