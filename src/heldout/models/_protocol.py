"""What every live backend speaks: two kinds of request, one kind of response.

``generate``
    A prompt (plain text, or chat messages) to a text; optionally the log-probability of
    each generated token.
``loglikelihood``
    A context and a continuation to the summed log-probability of the continuation's
    tokens given the context, and whether the continuation is what greedy decoding
    would have produced.

A third kind, ``classify``, is for models that are classifiers themselves (a sequence
classification head): a text to a probability per class.

A backend declares which kinds it supports (:attr:`Backend.supports`); a task that needs
one it lacks is refused before the first call. A backend answers a batch of requests by
calling ``on_done(i, response)`` once per request, in any order, from the calling thread;
a request that fails after every retry is answered with ``Response(error=...)``, never
dropped and never raised.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal, Protocol, runtime_checkable

__all__ = [
    "Backend",
    "Message",
    "OnDone",
    "Prompt",
    "Request",
    "RequestKind",
    "Response",
    "SamplingParams",
    "call_key",
    "prompt_text",
]

RequestKind = Literal["generate", "loglikelihood", "classify"]


@dataclass(frozen=True)
class Message:
    """One chat turn: ``role`` is ``system``, ``user`` or ``assistant``."""

    role: str
    content: str


#: A prompt is plain text (completion style) or a sequence of chat messages.
Prompt = str | tuple[Message, ...]


def prompt_text(prompt: Prompt) -> str:
    """A prompt as one text: chat messages joined as ``role: content`` lines.

    Only for display and for backends with no chat format; a backend with a chat template
    applies its own.
    """
    if isinstance(prompt, str):
        return prompt
    return "\n\n".join(f"{m.role}: {m.content}" for m in prompt)


@dataclass(frozen=True)
class SamplingParams:
    """How text is generated. ``None`` leaves a parameter to the backend's default.

    ``seed`` is the base seed; sample ``k`` of an example is drawn with ``seed + k`` so
    that repeated samples differ and a rerun draws the same ones.
    """

    temperature: float = 0.0
    top_p: float | None = None
    max_tokens: int = 256
    stop: tuple[str, ...] = ()
    seed: int | None = None
    repetition_penalty: float | None = None

    def for_sample(self, sample: int) -> SamplingParams:
        """The parameters of repeated sample ``sample`` (its own seed)."""
        if self.seed is None or sample == 0:
            return self
        return SamplingParams(
            temperature=self.temperature,
            top_p=self.top_p,
            max_tokens=self.max_tokens,
            stop=self.stop,
            seed=self.seed + sample,
            repetition_penalty=self.repetition_penalty,
        )


@dataclass(frozen=True)
class Request:
    """One call to make.

    Attributes:
        kind: ``generate``, ``loglikelihood`` or ``classify``.
        prompt: for ``generate`` and ``classify`` the prompt; for ``loglikelihood`` the
            context.
        continuation: for ``loglikelihood``, the text whose log-probability is asked
            (it includes any leading space, e.g. ``" Paris"``).
        params: sampling parameters (``generate`` only).
        sample: index of the repeated sample (0 for the first).
        logprobs: ask for per-token log-probabilities of the generated text.
        top_logprobs: also ask for the ``top_logprobs`` most likely tokens at each
            generated position (0: none); LLM judges weight their score by them.
    """

    kind: RequestKind
    prompt: Prompt
    continuation: str = ""
    params: SamplingParams = field(default_factory=SamplingParams)
    sample: int = 0
    logprobs: bool = False
    top_logprobs: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The request as plain JSON-able data (what the journal keys and keeps)."""
        prompt: Any = (
            self.prompt
            if isinstance(self.prompt, str)
            else [{"role": m.role, "content": m.content} for m in self.prompt]
        )
        out: dict[str, Any] = {"kind": self.kind, "prompt": prompt, "sample": self.sample}
        if self.kind == "loglikelihood":
            out["continuation"] = self.continuation
        elif self.kind == "generate":
            chosen = self.params.for_sample(self.sample)
            # field by field (``asdict`` deep-copies: it was most of a journal write)
            params = {f.name: getattr(chosen, f.name) for f in fields(chosen)}
            params["stop"] = list(self.params.stop)
            out["params"] = params
            out["logprobs"] = self.logprobs
            if self.top_logprobs:
                # only when asked, so the journal keys of every other call stay as they were
                out["top_logprobs"] = self.top_logprobs
        return out


@dataclass(frozen=True)
class Response:
    """The answer to one request.

    Attributes:
        text: the generated text (``generate``).
        logprob: the continuation's summed log-probability (``loglikelihood``).
        greedy: whether the continuation is the greedy continuation (``loglikelihood``).
        probabilities: class label to probability (``classify``).
        token_logprobs: per generated token, when asked for and offered.
        input_tokens / output_tokens: token counts, when known.
        latency_s: wall time of the successful attempt, in seconds.
        attempts: how many attempts were made (1 when the first succeeded).
        error: why the request failed after every retry; ``None`` on success.
        finish_reason: ``stop``, ``length``... as the backend reports it.
        top_logprobs: per generated token, when asked for (``Request.top_logprobs``) and
            offered: the generated token and its log-probability first, then the most
            likely tokens at that position with theirs.
    """

    text: str | None = None
    logprob: float | None = None
    greedy: bool | None = None
    probabilities: Mapping[str, float] | None = None
    token_logprobs: tuple[float, ...] | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency_s: float | None = None
    attempts: int = 1
    error: str | None = None
    finish_reason: str | None = None
    top_logprobs: tuple[tuple[tuple[str, float], ...], ...] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        values = ((f.name, getattr(self, f.name)) for f in fields(self))
        out = {k: v for k, v in values if v is not None}
        if self.probabilities is not None:
            out["probabilities"] = dict(self.probabilities)
        if self.token_logprobs is not None:
            out["token_logprobs"] = list(self.token_logprobs)
        if self.top_logprobs is not None:
            out["top_logprobs"] = [[list(p) for p in position] for position in self.top_logprobs]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Response:
        values = dict(data)
        if values.get("token_logprobs") is not None:
            values["token_logprobs"] = tuple(values["token_logprobs"])
        if values.get("top_logprobs") is not None:
            values["top_logprobs"] = tuple(
                tuple((str(t), float(lp)) for t, lp in position)
                for position in values["top_logprobs"]
            )
        return cls(**values)


#: Called once per request as it finishes: its index in the batch and its response.
OnDone = Callable[[int, Response], None]


@runtime_checkable
class Backend(Protocol):
    """A live model.

    Attributes:
        name: the model's name in the spec.
        supports: the request kinds it can answer.
        identity: what makes its answers what they are, as JSON-able data: backend,
            path and weight hashes, adapter and its hash, served model name, base URL.
            Two backends with the same identity give the same answers to the same
            requests; the journal keys calls by it.
    """

    name: str
    supports: frozenset[RequestKind]
    identity: Mapping[str, Any]

    def run(self, requests: Sequence[Request], on_done: OnDone) -> None:
        """Answer every request, calling ``on_done`` for each as it finishes."""
        ...

    def close(self) -> None:
        """Release connections, memory, threads."""
        ...


def call_key(identity: Mapping[str, Any], request: Request) -> str:
    """The journal key of a call: a hash of the model's identity and the request."""
    payload = json.dumps(
        {"model": identity, "request": request.to_dict()},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
