"""Progress of live models' calls: a Rich bar per model in a terminal, plain lines elsewhere."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

__all__ = ["CallProgress"]

#: A plain line at most this often per model (and always at the end).
_LINE_SECONDS = 5.0


class CallProgress:
    """Reports done/total, calls per second, errors and the time left, per model.

    Use as a context manager around :func:`heldout.evaluate`.
    """

    def __init__(self, console: Console) -> None:
        self._console = console
        self._live = console.is_terminal
        self._bar: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        self._state: dict[str, tuple[float, int, int, float]] = {}

    def __enter__(self) -> CallProgress:
        if self._live:
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TextColumn("{task.fields[errors]}"),
                TimeRemainingColumn(),
                console=self._console,
                transient=False,
            )
            self._bar.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def start(self, label: str, *, total: int, done: int) -> None:
        now = time.monotonic()
        self._state[label] = (now, done, total, now)
        if self._bar is not None:
            self._tasks[label] = self._bar.add_task(
                label, total=total, completed=done, rate="", errors=""
            )
        else:
            cached = f" ({done} from the journal)" if done else ""
            self._console.print(Text(f"{label}: {total} calls{cached}"))

    def update(self, label: str, *, done: int, errors: int) -> None:
        started, first, total, last_line = self._state[label]
        elapsed = max(time.monotonic() - started, 1e-9)
        rate = (done - first) / elapsed
        if self._bar is not None:
            self._bar.update(
                self._tasks[label],
                completed=done,
                rate=f"{rate:,.1f} calls/s",
                errors=f"{errors} errors" if errors else "",
            )
            return
        now = time.monotonic()
        if now - last_line >= _LINE_SECONDS or done >= total:
            self._state[label] = (started, first, total, now)
            failed = f", {errors} errors" if errors else ""
            self._console.print(Text(f"{label}: {done}/{total} calls, {rate:,.1f} calls/s{failed}"))

    def finish(self, label: str) -> None:
        if self._bar is None:
            started = self._state[label][0]
            self._console.print(Text(f"{label}: done in {time.monotonic() - started:,.1f} s"))
