"""The command line: Typer commands that read runs and print them."""

from heldout.cli._app import app, main

__all__ = ["app", "main"]
