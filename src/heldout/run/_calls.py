"""Making a model's calls: each once, journaled before it counts, resumable after a kill.

Every request is keyed by the model's identity and the request itself
(:func:`~heldout.models.call_key`). Keys the journal already holds a successful answer for
are not sent again; the rest go to the backend, and each answer is written to the journal
in small batches as it arrives. Progress counts a call done only once it is written, so a
run killed at any moment loses at most the answers of the batch being written, and
``heldout run`` again makes only the calls still missing.
"""

from __future__ import annotations

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


class ProgressSink(Protocol):
    """Where progress goes: a Rich bar in a terminal, plain lines elsewhere."""

    def start(self, label: str, *, total: int, done: int) -> None: ...

    def update(self, label: str, *, done: int, errors: int) -> None: ...

    def finish(self, label: str) -> None: ...


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
    buffer: list[JournalEntry] = []
    state = {"done": len(answers), "errors": 0, "flushed": time.monotonic()}

    def flush() -> None:
        if buffer and journal is not None:
            journal.record(buffer)
        state["done"] += len(buffer) if journal is not None else 0
        buffer.clear()
        state["flushed"] = time.monotonic()
        if progress is not None:
            progress.update(label, done=int(state["done"]), errors=int(state["errors"]))

    def on_done(i: int, response: Response) -> None:
        key = pending[i]
        answers[key] = response
        if response.error is not None:
            state["errors"] += 1
        if journal is None:
            state["done"] += 1
        buffer.append(
            JournalEntry(
                key=key,
                model=backend.name,
                identity=identity,
                request=unique[key],
                response=response,
            )
        )
        if len(buffer) >= _FLUSH_COUNT or time.monotonic() - state["flushed"] >= _FLUSH_SECONDS:
            flush()

    try:
        if pending:
            backend.run([unique[k] for k in pending], on_done)
    finally:
        flush()
        if progress is not None:
            progress.finish(label)
    missing = [k for k in pending if k not in answers]
    if missing:
        raise RuntimeError(f"{backend.name}: the backend left {len(missing)} requests unanswered")
    return [answers[k] for k in keys]
