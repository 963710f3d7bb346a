"""Making a model's calls: each once, journaled before it counts, resumable after a kill.

Every request is keyed by the model's identity and the request itself
(:func:`~heldout.models.call_key`). Keys the journal already holds a successful answer for
are not sent again; the rest go to the backend, and each answer is written to the journal
in small batches as it arrives. Progress counts a call done only once it is written, so a
run killed at any moment loses at most the answers of the batch being written, and
``heldout run`` again makes only the calls still missing.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from heldout.models import Backend, Request, Response, call_key
from heldout.spec import HFModelSpec, ModelSpec, OpenAIModelSpec

if TYPE_CHECKING:
    from heldout.store import Journal, JournalEntry

__all__ = ["ProgressSink", "is_live", "make_calls", "open_backends"]

#: Answers are written to the journal at least this often (seconds) and this many at once.
_FLUSH_SECONDS = 0.25
_FLUSH_COUNT = 256
#: Failed journal writes in a row before the run stops making calls.
_WRITE_ATTEMPTS = 3


class ProgressSink(Protocol):
    """Where progress goes: a Rich bar in a terminal, plain lines elsewhere."""

    def start(self, label: str, *, total: int, done: int) -> None: ...

    def update(self, label: str, *, done: int, errors: int) -> None: ...

    def finish(self, label: str) -> None: ...


class _JournalWriter:
    """Writes answers to the journal on a thread of its own, in batches.

    The backend's event loop only queues an answer; the writer commits what has queued
    every quarter second (or every few hundred answers) and only then counts it as done.
    A write that fails is raised again when the writer is closed. The writer sleeps
    between batches rather than waking for each answer: a thread woken a thousand times
    a second takes the interpreter from the event loop as often, which slowed the calls.
    """

    def __init__(
        self,
        journal: Journal | None,
        progress: ProgressSink | None,
        label: str,
        *,
        done: int,
    ) -> None:
        self._journal = journal
        self._progress = progress
        self._label = label
        self._done = done
        self._errors = 0
        self._queue: queue.SimpleQueue[JournalEntry | None] = queue.SimpleQueue()
        self._wake = threading.Event()  # set when a full batch or the close is queued
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="heldout-journal", daemon=True)
        self._thread.start()

    def put(self, entry: JournalEntry) -> None:
        if self._failure is not None:
            # the journal cannot be written: stop making calls whose answers would be lost
            raise self._failure
        self._queue.put(entry)
        if self._queue.qsize() >= _FLUSH_COUNT:
            self._wake.set()

    def close(self) -> None:
        self._queue.put(None)
        self._wake.set()
        self._thread.join()
        if self._failure is not None:
            raise self._failure

    def _loop(self) -> None:
        closing = False
        unwritten: list[JournalEntry] = []
        failures = 0
        while True:
            batch = unwritten
            if not closing:
                self._wake.wait(_FLUSH_SECONDS)
                self._wake.clear()
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:  # close() queues it last
                    closing = True
                    break
                batch.append(item)
            if batch:
                try:
                    if self._journal is not None:
                        self._journal.record(batch)
                except Exception as exc:
                    # kept and tried again with the next batch; after a few failures in a
                    # row the caller stops making calls and sees the error
                    failures += 1
                    unwritten = batch
                    if failures >= _WRITE_ATTEMPTS or closing:
                        self._failure = exc
                        return
                    time.sleep(_FLUSH_SECONDS * failures)
                    continue
                failures = 0
                unwritten = []
                self._done += len(batch)
                self._errors += sum(e.response.error is not None for e in batch)
                self._report()
            if closing:
                return

    def _report(self) -> None:
        if self._progress is None:
            return
        try:
            self._progress.update(self._label, done=self._done, errors=self._errors)
        except Exception:  # progress is for show: it never costs an answer
            self._progress = None


def is_live(spec: ModelSpec) -> bool:
    """Whether a model is called (as opposed to read from a file or a Python function)."""
    return isinstance(spec, OpenAIModelSpec | HFModelSpec)


def open_backends(models: Mapping[str, ModelSpec], *, root: Path) -> dict[str, Backend]:
    """A backend for every live model; local models sharing weights load them once."""
    backends: dict[str, Backend] = {}
    hf = {name: m for name, m in models.items() if isinstance(m, HFModelSpec)}
    try:
        for name, spec in models.items():
            if isinstance(spec, OpenAIModelSpec):
                from heldout.models._openai import OpenAIBackend

                backends[name] = OpenAIBackend(spec, name=name)
        if hf:
            from heldout.models._hf import open_hf_backends

            backends.update(open_hf_backends(hf, root=root))
    except BaseException:
        for backend in backends.values():
            backend.close()
        raise
    return {name: backends[name] for name in models if name in backends}


def make_calls(
    backend: Backend,
    requests: Sequence[Request],
    *,
    journal: Journal | None,
    fresh: bool = False,
    progress: ProgressSink | None = None,
    label: str | None = None,
) -> list[Response]:
    """Every request's response, from the journal or from the backend.

    Identical requests are sent once. Failed calls are journaled too (to be shown), but a
    later run retries them.

    Args:
        backend: the model.
        requests: the calls to answer.
        journal: where answers are kept; ``None`` keeps nothing.
        fresh: send every request again, ignoring answers already in the journal (new
            answers still replace them).
        progress: where to report progress.
        label: the progress line's name (default: the model's name).
    """
    from heldout.store import JournalEntry

    label = label or backend.name
    identity = dict(backend.identity)
    keys = [call_key(identity, r) for r in requests]
    unique: dict[str, Request] = {}
    for key, request in zip(keys, requests, strict=True):
        unique.setdefault(key, request)
    answers: dict[str, Response] = {}
    if journal is not None and not fresh:
        answers.update(journal.finished(list(unique)))
    pending = [k for k in unique if k not in answers]
    if progress is not None:
        progress.start(label, total=len(unique), done=len(answers))
    writer = _JournalWriter(journal, progress, label, done=len(answers))

    def on_done(i: int, response: Response) -> None:
        key = pending[i]
        answers[key] = response
        writer.put(
            JournalEntry(
                key=key,
                model=backend.name,
                identity=identity,
                request=unique[key],
                response=response,
            )
        )

    try:
        if pending:
            backend.run([unique[k] for k in pending], on_done)
    finally:
        writer.close()
        if progress is not None:
            progress.finish(label)
    missing = [k for k in pending if k not in answers]
    if missing:
        raise RuntimeError(f"{backend.name}: the backend left {len(missing)} requests unanswered")
    return [answers[k] for k in keys]
