"""The command line: Typer commands that read runs and data and print them."""

import gc as _gc

# Imports make objects that live as long as the process: the garbage collector's passes
# over them while they load find nothing and cost a quarter of the start-up.
_collecting = _gc.isenabled()
_gc.disable()
try:
    # The command modules register themselves on ``app`` when imported.
    import heldout.cli._check
    import heldout.cli._history
    import heldout.cli._monitor
    import heldout.cli._pii
    import heldout.cli._plan
    import heldout.cli._serve
    import heldout.cli._split
    import heldout.cli._stress  # noqa: F401
    from heldout.cli._app import app, console_main, main
finally:
    if _collecting:
        _gc.enable()

__all__ = ["app", "console_main", "main"]
