"""A real OpenAI-compatible HTTP server on 127.0.0.1, for testing the ``openai`` backend.

It runs ``aiohttp.web`` on its own event loop in a background thread and answers
``POST /v1/chat/completions`` and ``POST /v1/completions`` deterministically::

    with OpenAIServer(latency=0.01) as server:
        server.fault(Fault.rate_limited(retry_after="1"), Fault.server_error())
        ...  # point a backend at server.base_url
        assert server.max_in_flight <= 8

Answers: ``answer(prompt)`` (by default :func:`default_answer`) is the generated text,
cut at ``max_tokens`` tokens and at the first ``stop`` string. A chat prompt is its
messages as ``role: content`` lines joined by a blank line.

Log-probabilities come from :func:`score`: the text is cut into tokens by :func:`tokenize`
(a word or a punctuation mark with the spaces before it, as BPE tokenisers do) and each
token gets a log-probability derived from a hash of the text before it. ``top_logprobs``
holds the token and one alternative; the token is the greedy one when its log-probability
is the higher. As real servers do, the first token of an echoed prompt has none.

Faults queued with :meth:`OpenAIServer.fault` are applied to the next requests, one each.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import web

__all__ = [
    "Fault",
    "OpenAIServer",
    "Received",
    "Token",
    "default_answer",
    "score",
    "tokenize",
]

_TOKEN = re.compile(r"\s*\w+|\s*[^\w\s]|\s+")


def tokenize(text: str) -> list[tuple[str, int]]:
    """The tokens of ``text`` and their character offsets; they join back to ``text``."""
    return [(m.group(), m.start()) for m in _TOKEN.finditer(text)]


def _logprob(before: str, token: str, salt: str = "") -> float:
    digest = hashlib.sha256(f"{salt}\x00{before}\x00{token}".encode()).digest()
    return -round(int.from_bytes(digest[:4], "big") % 800 / 100 + 0.05, 4)


@dataclass(frozen=True)
class Token:
    """One scored token: its text, offset, log-probability and the top alternatives."""

    text: str
    offset: int
    logprob: float | None
    top: dict[str, float] | None


def score(text: str, *, prefix: str = "", first_scored: bool = False) -> list[Token]:
    """Deterministic log-probabilities of the tokens of ``text``.

    ``prefix`` is text that came before (the prompt, for generated text) and conditions
    every value. The first token has no log-probability unless ``first_scored``.
    """
    out = []
    for k, (token, offset) in enumerate(tokenize(text)):
        if k == 0 and not first_scored:
            out.append(Token(token, offset, None, None))
            continue
        before = prefix + text[:offset]
        value = _logprob(before, token)
        alternative = " the" if token != " the" else " a"
        out.append(
            Token(token, offset, value, {token: value, alternative: _logprob(before, token, "alt")})
        )
    return out


def default_answer(prompt: str) -> str:
    """The generated text unless a test gives its own ``answer``."""
    return "answer to " + " ".join(prompt.split()[-6:])


@dataclass(frozen=True)
class Fault:
    """What the server does instead of answering one request."""

    status: int = 200
    body: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    hang_s: float = 0.0
    echo_key: bool = False

    @classmethod
    def rate_limited(cls, retry_after: str = "1") -> Fault:
        return cls(429, '{"error": {"message": "rate limited"}}', {"Retry-After": retry_after})

    @classmethod
    def unavailable(cls, retry_after: str | None = None) -> Fault:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        return cls(503, '{"error": {"message": "overloaded"}}', headers)

    @classmethod
    def server_error(cls, status: int = 500) -> Fault:
        return cls(status, '{"error": {"message": "internal error"}}')

    @classmethod
    def hang(cls, seconds: float) -> Fault:
        """Wait ``seconds`` before answering (past the client's timeout)."""
        return cls(hang_s=seconds)

    @classmethod
    def malformed_json(cls) -> Fault:
        return cls(200, '{"choices": [{"text": "cut')

    @classmethod
    def incomplete(cls) -> Fault:
        """Valid JSON without ``choices``."""
        return cls(200, '{"object": "text_completion"}')

    @classmethod
    def unauthorized(cls, *, echo_key: bool = True) -> Fault:
        """A 401 whose message repeats the key it received, as careless servers do."""
        return cls(401, "", echo_key=echo_key)

    @classmethod
    def http(cls, status: int, message: str) -> Fault:
        return cls(status, json.dumps({"error": {"message": message}}))


@dataclass(frozen=True)
class Received:
    """One request as the server saw it (header names in lower case)."""

    path: str
    query: str
    headers: dict[str, str]
    raw: str
    body: Any


class OpenAIServer:
    """An OpenAI-compatible server on a free port of 127.0.0.1, in a background thread.

    Args:
        latency: seconds to wait before each answer.
        answer: prompt text to generated text.
        reject_zero_max_tokens: answer ``max_tokens: 0`` with a 400, as llama.cpp does.
        reasoning: answer a chat request carrying ``max_tokens`` with OpenAI's 400 for
            reasoning models, which take ``max_completion_tokens`` only.
        prompt_logprobs: return log-probabilities of an echoed prompt.
    """

    def __init__(
        self,
        *,
        latency: float = 0.0,
        answer: Callable[[str], str] = default_answer,
        reject_zero_max_tokens: bool = False,
        prompt_logprobs: bool = True,
        reasoning: bool = False,
    ) -> None:
        self.reasoning = reasoning
        self.latency = latency
        self.answer = answer
        self.reject_zero_max_tokens = reject_zero_max_tokens
        self.prompt_logprobs = prompt_logprobs
        self.received: list[Received] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.first_arrival: float | None = None
        self.last_answer: float | None = None
        self._faults: collections.deque[Fault] = collections.deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._closing: asyncio.Event | None = None
        self._port = 0

    # -- control from the test ---------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/v1"

    @property
    def count(self) -> int:
        """Requests received so far (faulted ones included)."""
        return len(self.received)

    @property
    def span_s(self) -> float:
        """Seconds from the first request's arrival to the last answer sent."""
        if self.first_arrival is None or self.last_answer is None:
            return 0.0
        return self.last_answer - self.first_arrival

    def fault(self, *faults: Fault) -> None:
        """Apply these faults to the next requests, one each, in order."""
        self._faults.extend(faults)

    def reset(self) -> None:
        """Forget the requests received and the in-flight high-water mark."""
        self.received.clear()
        self.max_in_flight = 0
        self.first_arrival = self.last_answer = None

    def __enter__(self) -> OpenAIServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        ready = threading.Event()
        errors: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._serve, args=(ready, errors), name="openai-server", daemon=True
        )
        self._thread.start()
        ready.wait(10)
        if errors:
            raise errors[0]

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._thread = None

    # -- the server thread -------------------------------------------------------------

    def _serve(self, ready: threading.Event, errors: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            runner = loop.run_until_complete(self._start())
        except BaseException as exc:
            errors.append(exc)
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            assert self._closing is not None
            self._closing.set()
            loop.run_until_complete(runner.cleanup())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _start(self) -> web.AppRunner:
        self._closing = asyncio.Event()
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/completions", self._completions)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(runner, sock, backlog=1024).start()
        return runner

    async def _handle(
        self, request: web.Request, answer: Callable[[dict[str, Any]], web.Response]
    ) -> web.Response:
        now = time.perf_counter()
        if self.first_arrival is None:
            self.first_arrival = now
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            raw = await request.text()
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            headers = {k.lower(): v for k, v in request.headers.items()}
            self.received.append(Received(request.path, request.query_string, headers, raw, body))
            fault = self._faults.popleft() if self._faults else None
            if fault is not None and fault.hang_s:
                assert self._closing is not None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), fault.hang_s)
            elif self.latency:
                await asyncio.sleep(self.latency)
            if fault is not None and not fault.hang_s:
                text = fault.body
                if fault.echo_key:
                    given = headers.get("authorization", "")
                    text = json.dumps({"error": {"message": f"Incorrect API key: {given}"}})
                return web.Response(
                    status=fault.status,
                    text=text,
                    headers=dict(fault.headers),
                    content_type="application/json",
                )
            if not isinstance(body, dict) or not isinstance(body.get("model"), str):
                return _error(400, "body must be a JSON object with a model")
            return answer(body)
        finally:
            self.in_flight -= 1
            self.last_answer = time.perf_counter()

    async def _chat(self, request: web.Request) -> web.Response:
        return await self._handle(request, self._chat_answer)

    async def _completions(self, request: web.Request) -> web.Response:
        return await self._handle(request, self._completions_answer)

    def _generated(self, prompt: str, body: dict[str, Any]) -> tuple[str, str]:
        """The generated text and finish reason, after ``max_tokens`` and ``stop``."""
        text = self.answer(prompt)
        finish = "stop"
        max_tokens = body.get("max_tokens", body.get("max_completion_tokens", 16))
        tokens = tokenize(text)
        if len(tokens) > max_tokens:
            text = "".join(t for t, _ in tokens[:max_tokens])
            finish = "length"
        for stop in body.get("stop") or ():
            if stop in text:
                text = text[: text.index(stop)]
                finish = "stop"
        return text, finish

    def _chat_answer(self, body: dict[str, Any]) -> web.Response:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return _error(400, "messages must be a non-empty list")
        if self.reasoning and "max_tokens" in body:
            return _error(
                400,
                "Unsupported parameter: 'max_tokens' is not supported with this model. "
                "Use 'max_completion_tokens' instead.",
            )
        prompt = "\n\n".join(f"{m['role']}: {m['content']}" for m in messages)
        text, finish = self._generated(prompt, body)
        choice: dict[str, Any] = {
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": finish,
            "logprobs": None,
        }
        if body.get("logprobs"):
            choice["logprobs"] = {
                "content": [
                    {"token": t.text, "logprob": t.logprob, "bytes": None, "top_logprobs": []}
                    for t in score(text, prefix=prompt, first_scored=True)
                ]
            }
        usage = _usage(len(tokenize(prompt)), len(tokenize(text)))
        return web.json_response(
            {"id": "chatcmpl-1", "object": "chat.completion", "choices": [choice], "usage": usage}
        )

    def _completions_answer(self, body: dict[str, Any]) -> web.Response:
        prompt = body.get("prompt")
        if not isinstance(prompt, str):
            return _error(400, "prompt must be a string")
        max_tokens = body.get("max_tokens", 16)
        if max_tokens == 0 and self.reject_zero_max_tokens:
            return _error(400, "max_tokens must be at least 1")
        text, finish = self._generated(prompt, body) if max_tokens else ("", "length")
        echo = bool(body.get("echo"))
        shown = prompt + text if echo else text
        choice: dict[str, Any] = {
            "index": 0,
            "text": shown,
            "finish_reason": finish,
            "logprobs": None,
        }
        if body.get("logprobs") is not None and (self.prompt_logprobs or not echo):
            if echo:
                tokens = score(prompt) + [
                    Token(t.text, t.offset + len(prompt), t.logprob, t.top)
                    for t in score(text, prefix=prompt, first_scored=True)
                ]
            else:
                tokens = score(text, prefix=prompt, first_scored=True)
            choice["logprobs"] = {
                "tokens": [t.text for t in tokens],
                "token_logprobs": [t.logprob for t in tokens],
                "top_logprobs": [t.top for t in tokens],
                "text_offset": [t.offset for t in tokens],
            }
        usage = _usage(len(tokenize(prompt)), len(tokenize(text)))
        return web.json_response(
            {"id": "cmpl-1", "object": "text_completion", "choices": [choice], "usage": usage}
        )


def _usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": {"message": message}}, status=status)


def main() -> None:
    """Serve in this process until stdin closes, for throughput checks from another process.

    ``python -m tests.models.openai_server 0.05`` prints the base URL, then, when stdin
    closes, the requests received, the most in flight and the span from first to last.
    """
    import sys

    latency = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0
    with OpenAIServer(latency=latency) as server:
        print(server.base_url, flush=True)
        sys.stdin.read()
        print(
            f"requests {server.count} max_in_flight {server.max_in_flight} "
            f"span_s {server.span_s:.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
