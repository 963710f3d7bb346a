"""The ``openai`` backend: any server that speaks the OpenAI HTTP API.

Hosted APIs, vLLM, Ollama, llama.cpp and TGI all answer ``POST /chat/completions`` and
most answer ``POST /completions``. ``generate`` works on either endpoint;
``loglikelihood`` needs ``endpoint: completions`` and a server that returns the prompt's
log-probabilities when asked to echo it (``echo: true, logprobs: 1``), as in
lm-evaluation-harness's ``local-completions`` model.

Every batch runs on one ``aiohttp`` session with at most ``concurrency`` requests in
flight. A failed attempt is retried with exponential backoff and full jitter on 429, 500,
502, 503, 504, connection errors, timeouts and malformed JSON; ``Retry-After`` is honoured.
A request that fails after every retry is answered with ``Response(error=...)``.

The API key is read from the environment variable named by ``api_key_env`` when the
backend is built; it is sent as ``Authorization: Bearer ...`` and appears nowhere else
(not in :attr:`OpenAIBackend.identity`, its ``repr``, or any error message).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import os
import queue
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from heldout._errors import ModelError
from heldout.models._protocol import (
    OnDone,
    Request,
    RequestKind,
    Response,
    SamplingParams,
    prompt_text,
)
from heldout.spec import OpenAIModelSpec

if TYPE_CHECKING:
    import aiohttp

__all__ = ["OpenAIBackend"]

_RETRIED = frozenset({429, 500, 502, 503, 504})
_RETRY_AFTER = frozenset({429, 503})
_BODY_CHARS = 300


class _Secret:
    """A value that never shows itself in a repr, a traceback's locals or a log."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<secret>"


@dataclass(frozen=True)
class _Failure:
    """Why one attempt failed.

    ``what`` names the failure (``HTTP 500``, ``timeout (60 s)``); ``detail`` is the
    server's short answer; ``status`` the HTTP status, if one came; ``retry`` whether
    another attempt may succeed; ``wait_s`` the least wait the server asked for;
    ``refused`` whether no connection could be made at all.
    """

    what: str
    detail: str = ""
    status: int | None = None
    retry: bool = True
    wait_s: float = 0.0
    refused: bool = False


class _Malformed(Exception):
    """A 200 answer that is not the JSON the endpoint promises (retried)."""


class _Unanswerable(Exception):
    """A well-formed 200 answer that cannot answer the request (not retried)."""


class OpenAIBackend:
    """A model behind an OpenAI-compatible HTTP API.

    Args:
        spec: the model's spec (``base_url`` is already filled in from a preset).
        name: the model's name in the eval spec, used in messages.
        backoff: the first retry waits up to this many seconds; each later one up to
            twice as long as the one before.
        backoff_cap: no retry waits longer than this (unless ``Retry-After`` asks for it).

    Raises:
        ModelError: ``api_key_env`` names an environment variable that is unset or empty.

    Example:
        >>> backend = OpenAIBackend(spec, name="gpt")  # doctest: +SKIP
        >>> backend.run([Request("generate", "2+2=")], lambda i, r: print(r.text))  # doctest: +SKIP
    """

    def __init__(
        self,
        spec: OpenAIModelSpec,
        *,
        name: str,
        backoff: float = 0.5,
        backoff_cap: float = 30.0,
    ) -> None:
        self.name = name
        self._spec = spec
        self._base_url = spec.base_url or ""
        self._backoff = backoff
        self._backoff_cap = backoff_cap
        kinds: tuple[RequestKind, ...] = (
            ("generate",) if spec.endpoint == "chat" else ("generate", "loglikelihood")
        )
        self.supports: frozenset[RequestKind] = frozenset(kinds)
        self.identity: Mapping[str, Any] = {
            "backend": "openai",
            "base_url": self._base_url,
            "model": spec.model,
            "endpoint": spec.endpoint,
        }
        self._key = _read_key(spec.api_key_env, model=name)
        self._zero_max_tokens = True  # until the server refuses ``max_tokens: 0``
        # the name of the output-token limit: OpenAI's reasoning models refuse
        # ``max_tokens`` and ask for ``max_completion_tokens``, which older servers don't know
        self._limit_field = "max_tokens"
        self._unreachable = False  # a request has used every retry on a refused connection

    def __repr__(self) -> str:
        return (
            f"OpenAIBackend(name={self.name!r}, model={self._spec.model!r}, "
            f"base_url={self._base_url!r}, endpoint={self._spec.endpoint!r})"
        )

    def run(self, requests: Sequence[Request], on_done: OnDone) -> None:
        """Answer every request, calling ``on_done(i, response)`` as each finishes.

        Blocks until all are answered. ``on_done`` is always called from the calling
        thread. When the calling thread already runs an event loop (a notebook), the
        requests run on a loop in a worker thread while this thread waits and calls
        ``on_done``; that blocks the caller's loop for the duration, as any synchronous
        call would.
        """
        if not requests:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            asyncio.run(self._run_all(requests, on_done))
            return
        self._run_in_thread(requests, on_done)

    def close(self) -> None:
        """Nothing to release: each :meth:`run` opens and closes its own session."""

    # -- the event loop ------------------------------------------------------------------

    def _run_in_thread(self, requests: Sequence[Request], on_done: OnDone) -> None:
        answers: queue.SimpleQueue[tuple[int, Response] | BaseException | None] = (
            queue.SimpleQueue()
        )
        started: dict[str, Any] = {}

        async def main() -> None:
            started["loop"] = asyncio.get_running_loop()
            started["task"] = asyncio.current_task()
            await self._run_all(requests, lambda i, r: answers.put((i, r)))

        def target() -> None:
            try:
                asyncio.run(main())
            except BaseException as exc:
                answers.put(exc)
            else:
                answers.put(None)

        thread = threading.Thread(target=target, name=f"heldout-openai-{self.name}", daemon=True)
        thread.start()
        finished = False
        try:
            while (item := answers.get()) is not None:
                if isinstance(item, BaseException):
                    finished = True
                    raise item
                on_done(*item)
            finished = True
        finally:
            if not finished and "task" in started:
                # on_done raised: stop the requests still in flight
                with contextlib.suppress(RuntimeError):  # the loop has already closed
                    started["loop"].call_soon_threadsafe(started["task"].cancel)
            thread.join()

    async def _run_all(self, requests: Sequence[Request], on_done: OnDone) -> None:
        spec = self._spec
        headers = {"Content-Type": "application/json", **spec.headers}
        if self._key is not None:
            headers["Authorization"] = f"Bearer {self._key.reveal()}"
        import aiohttp  # imported here: the CLI starts without it

        connector = aiohttp.TCPConnector(limit=spec.concurrency)
        timeout = aiohttp.ClientTimeout(total=spec.timeout)
        pending = iter(range(len(requests)))
        async with aiohttp.ClientSession(
            connector=connector, timeout=timeout, headers=headers
        ) as session:

            async def worker() -> None:
                # a fixed pool of workers sharing one iterator: never more than
                # ``concurrency`` in flight, and no task per request
                for i in pending:
                    on_done(i, await self._answer(session, requests[i]))

            workers = [
                asyncio.create_task(worker()) for _ in range(min(spec.concurrency, len(requests)))
            ]
            try:
                await asyncio.gather(*workers)
            finally:
                for task in workers:
                    task.cancel()
                await asyncio.gather(*workers, return_exceptions=True)

    # -- one request ---------------------------------------------------------------------

    async def _answer(self, session: aiohttp.ClientSession, request: Request) -> Response:
        if request.kind == "generate":
            return await self._generate(session, request)
        if request.kind == "loglikelihood":
            if self._spec.endpoint != "completions":
                return Response(
                    error="loglikelihood needs endpoint: completions "
                    "(the chat endpoint returns no prompt log-probabilities)",
                    attempts=0,
                )
            return await self._loglikelihood(session, request)
        return Response(
            error=f"the openai backend cannot answer {request.kind} "
            "requests (it supports: " + ", ".join(sorted(self.supports)) + ")",
            attempts=0,
        )

    async def _generate(self, session: aiohttp.ClientSession, request: Request) -> Response:
        params = request.params.for_sample(request.sample)
        chat = self._spec.endpoint == "chat"
        body: dict[str, Any] = {"model": self._spec.model}
        if chat:
            if isinstance(request.prompt, str):
                body["messages"] = [{"role": "user", "content": request.prompt}]
            else:
                body["messages"] = [{"role": m.role, "content": m.content} for m in request.prompt]
        else:
            body["prompt"] = prompt_text(request.prompt)
        body.update(_sampling(params))
        if request.logprobs:
            body["logprobs"] = True if chat else 1
        if request.top_logprobs and chat:
            body["logprobs"] = True
            body["top_logprobs"] = request.top_logprobs
        path = "/chat/completions" if chat else "/completions"

        def sent() -> dict[str, Any]:
            if self._limit_field == "max_tokens" or "max_tokens" not in body:
                return body
            renamed = {k: v for k, v in body.items() if k != "max_tokens"}
            renamed[self._limit_field] = body["max_tokens"]
            return renamed

        return await self._call(session, path, sent, _parse_chat if chat else _parse_text)

    async def _loglikelihood(self, session: aiohttp.ClientSession, request: Request) -> Response:
        context = prompt_text(request.prompt)
        full = context + request.continuation

        def body() -> dict[str, Any]:
            return {
                "model": self._spec.model,
                "prompt": full,
                "echo": True,
                "max_tokens": 0 if self._zero_max_tokens else 1,
                "logprobs": 1,
                "temperature": 0.0,
            }

        def parse(data: Any) -> Response:
            return _parse_loglikelihood(data, start=len(context), end=len(full))

        return await self._call(session, "/completions", body, parse, loglikelihood=True)

    async def _call(
        self,
        session: aiohttp.ClientSession,
        path: str,
        body: Callable[[], dict[str, Any]],
        parse: Callable[[Any], Response],
        *,
        loglikelihood: bool = False,
    ) -> Response:
        url = self._base_url + path
        attempts = 0
        retries = 0
        while True:
            attempts += 1
            sent = body()
            start = time.perf_counter()
            outcome = await self._attempt(session, url, sent, parse)
            if isinstance(outcome, Response):
                self._unreachable = False
                latency = time.perf_counter() - start
                return replace(outcome, latency_s=latency, attempts=attempts)
            if not outcome.refused:
                self._unreachable = False
            if loglikelihood and outcome.status == 400 and sent.get("max_tokens") == 0:
                # llama.cpp and some vLLM versions refuse to generate nothing: ask for one
                # token (left out of the sum) and do so for every later request
                self._zero_max_tokens = False
                continue
            if (
                outcome.status == 400
                and "max_tokens" in sent
                and "max_completion_tokens" in outcome.detail
            ):
                # the server wants the newer name of the same limit: use it from now on
                self._limit_field = "max_completion_tokens"
                continue
            if outcome.wait_s > self._spec.max_wait:
                return Response(error=self._too_long(outcome), attempts=attempts)
            if not outcome.retry:
                return Response(error=self._message(outcome, url), attempts=attempts)
            if retries >= self._spec.max_retries or (outcome.refused and self._unreachable):
                if outcome.refused and retries >= self._spec.max_retries:
                    # every retry was refused: answer the rest with one try each
                    self._unreachable = True
                return Response(error=self._exhausted(outcome, attempts), attempts=attempts)
            wait = random.uniform(0.0, min(self._backoff_cap, self._backoff * 2.0**retries))
            await asyncio.sleep(max(wait, outcome.wait_s))
            retries += 1

    async def _attempt(
        self,
        session: aiohttp.ClientSession,
        url: str,
        body: dict[str, Any],
        parse: Callable[[Any], Response],
    ) -> Response | _Failure:
        import aiohttp

        try:
            async with session.post(url, data=json.dumps(body).encode()) as http:
                status = http.status
                raw = await http.read()
                retry_after = http.headers.get("Retry-After")
        except TimeoutError:
            return _Failure(f"timeout ({self._spec.timeout:g} s)")
        except aiohttp.ClientConnectorError as exc:
            return _Failure("connection failed", _short(str(exc)), refused=True)
        except aiohttp.ClientError as exc:
            return _Failure("connection failed", _short(f"{type(exc).__name__}: {exc}"))
        if status != 200:
            text = _short(raw.decode("utf-8", errors="replace"))
            wait = _retry_after(retry_after) if status in _RETRY_AFTER else None
            return _Failure(
                f"HTTP {status}", text, status, retry=status in _RETRIED, wait_s=wait or 0.0
            )
        try:
            data = json.loads(raw)
        except ValueError:
            return _Failure("malformed JSON", _short(raw.decode("utf-8", errors="replace")))
        try:
            return parse(data)
        except _Malformed as exc:
            return _Failure("incomplete answer", _short(str(exc)))
        except _Unanswerable as exc:
            return _Failure(str(exc), retry=False)

    # -- messages ------------------------------------------------------------------------

    def _message(self, failure: _Failure, url: str) -> str:
        """The error of a failure that is not retried: what happened and what to do."""
        what = failure.what
        detail = f": {failure.detail}" if failure.detail else ""
        if failure.status in (401, 403):
            env = self._spec.api_key_env
            hint = (
                f"check the key in the environment variable {env}"
                if env
                else "the server wants a key: set api_key_env: to the environment "
                "variable that holds it"
            )
            text = f"{what} from {url}{detail}. The server refused the key: {hint}"
        elif failure.status == 404:
            text = (
                f"{what} from {url}{detail}. The model name {self._spec.model!r} or the "
                f"base_url {self._base_url} is wrong"
            )
        elif failure.status is not None:
            text = f"{what} from {url}{detail}"
        else:
            text = f"{what}{detail}"
        return self._redact(text)

    def _too_long(self, failure: _Failure) -> str:
        return (
            f"{failure.what}: the server asked to wait {failure.wait_s:g} s before retrying, "
            f"longer than max_wait ({self._spec.max_wait:g} s); rerun later (finished calls are "
            f"kept) or raise max_wait for model {self.name}"
        )

    def _exhausted(self, failure: _Failure, attempts: int) -> str:
        tries = f"{attempts} attempt" + ("" if attempts == 1 else "s")
        detail = f": {failure.detail}" if failure.detail else ""
        return self._redact(f"{failure.what} after {tries}{detail}")

    def _redact(self, text: str) -> str:
        # never show the key, or a header's value, even when a server echoes it back
        secrets = [self._key.reveal()] if self._key else []
        secrets += [v for v in self._spec.headers.values() if len(v) >= 8]
        for secret in secrets:
            text = text.replace(secret, "***")
        return text


# -- helpers ------------------------------------------------------------------------------


def _read_key(env: str | None, *, model: str) -> _Secret | None:
    if env is None:
        return None
    value = os.environ.get(env, "").strip()
    if not value:
        raise ModelError(
            f"models.{model}: environment variable {env} is not set. Export it "
            "(the key is read at run time and never stored)"
        )
    return _Secret(value)


def _sampling(params: SamplingParams) -> dict[str, Any]:
    out: dict[str, Any] = {"temperature": params.temperature, "max_tokens": params.max_tokens}
    if params.top_p is not None:
        out["top_p"] = params.top_p
    if params.stop:
        out["stop"] = list(params.stop)
    if params.seed is not None:
        out["seed"] = params.seed
    if params.repetition_penalty is not None:
        # a vLLM / TGI extension: hosted APIs reject it, so only sent when asked for
        out["repetition_penalty"] = params.repetition_penalty
    return out


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _BODY_CHARS else text[: _BODY_CHARS - 3] + "..."


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: a number, or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _choice(data: Any) -> dict[str, Any]:
    try:
        choice = data["choices"][0]
    except (KeyError, IndexError, TypeError) as exc:
        raise _Malformed(f"no choices in {_short(json.dumps(data))}") from exc
    if not isinstance(choice, dict):
        raise _Malformed(f"choices[0] is not an object: {_short(json.dumps(choice))}")
    return choice


def _usage(data: Any) -> tuple[int | None, int | None]:
    usage = data.get("usage") if isinstance(data, dict) else None
    if not isinstance(usage, dict):
        return None, None
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    return (
        prompt if isinstance(prompt, int) else None,
        completion if isinstance(completion, int) else None,
    )


def _floats(values: Any) -> tuple[float, ...] | None:
    if not isinstance(values, list) or not all(isinstance(v, int | float) for v in values):
        return None
    return tuple(float(v) for v in values)


def _top_logprobs(logprobs: Any) -> tuple[tuple[tuple[str, float], ...], ...] | None:
    """Each generated token with its log-probability, then the alternatives the server
    listed at that position (chat ``logprobs.content[i].top_logprobs``)."""
    if not isinstance(logprobs, dict) or not isinstance(logprobs.get("content"), list):
        return None
    positions: list[tuple[tuple[str, float], ...]] = []
    for item in logprobs["content"]:
        if not isinstance(item, dict) or not isinstance(item.get("token"), str):
            return None
        chosen = (item["token"], float(item.get("logprob") or 0.0))
        tops = item.get("top_logprobs") or []
        alternatives = tuple(
            (str(t["token"]), float(t["logprob"]))
            for t in tops
            if isinstance(t, dict) and isinstance(t.get("logprob"), int | float)
        )
        positions.append((chosen, *alternatives))
    if not any(len(p) > 1 for p in positions):
        return None
    return tuple(positions)


def _parse_chat(data: Any) -> Response:
    choice = _choice(data)
    message = choice.get("message")
    if not isinstance(message, dict):
        raise _Malformed("choices[0] has no message")
    content = message.get("content")
    if content is not None and not isinstance(content, str):
        raise _Malformed("choices[0].message.content is not text")
    logprobs = choice.get("logprobs")
    tokens = None
    if isinstance(logprobs, dict) and isinstance(logprobs.get("content"), list):
        tokens = _floats(
            [t.get("logprob") if isinstance(t, dict) else None for t in logprobs["content"]]
        )
    input_tokens, output_tokens = _usage(data)
    return Response(
        text=content or "",
        token_logprobs=tokens,
        top_logprobs=_top_logprobs(logprobs),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        finish_reason=choice.get("finish_reason"),
    )


def _parse_text(data: Any) -> Response:
    choice = _choice(data)
    text = choice.get("text")
    if not isinstance(text, str):
        raise _Malformed("choices[0] has no text")
    logprobs = choice.get("logprobs")
    tokens = _floats(logprobs.get("token_logprobs")) if isinstance(logprobs, dict) else None
    input_tokens, output_tokens = _usage(data)
    return Response(
        text=text,
        token_logprobs=tokens,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        finish_reason=choice.get("finish_reason"),
    )


def _parse_loglikelihood(data: Any, *, start: int, end: int) -> Response:
    """Sum the log-probabilities of the tokens that start inside the continuation.

    ``start`` and ``end`` are the continuation's character offsets in the echoed text.
    A token generated after the prompt (``max_tokens: 1``) starts at ``end`` and is left
    out. The continuation is greedy when each of its tokens is the most likely one at its
    position (``top_logprobs``).
    """
    logprobs = _choice(data).get("logprobs")
    if not isinstance(logprobs, dict) or not isinstance(logprobs.get("token_logprobs"), list):
        raise _Unanswerable(
            "the server does not return prompt logprobs (echo with logprobs); "
            "use method: generate for this model"
        )
    tokens, values, offsets = (
        logprobs.get("tokens"),
        logprobs["token_logprobs"],
        logprobs.get("text_offset"),
    )
    tops = logprobs.get("top_logprobs")
    if not isinstance(offsets, list) or not isinstance(tokens, list):
        raise _Unanswerable(
            "the server returns prompt logprobs without tokens and text_offset; "
            "use method: generate for this model"
        )
    if len(offsets) != len(values) or len(tokens) != len(values):
        raise _Malformed("logprobs.tokens, token_logprobs and text_offset differ in length")
    total = 0.0
    count = 0
    all_best, known = True, True
    for k, offset in enumerate(offsets):
        if not isinstance(offset, int) or not start <= offset < end:
            continue
        value = values[k]
        if not isinstance(value, int | float):
            raise _Unanswerable(
                "the server gives the continuation's first token no log-probability "
                "(the context is empty?); give each continuation a context"
            )
        total += float(value)
        count += 1
        top = tops[k] if isinstance(tops, list) and k < len(tops) else None
        if isinstance(top, dict) and top:
            best = max(float(v) for v in top.values())
            all_best = all_best and float(top.get(tokens[k], value)) >= best
        else:
            known = False  # no alternatives offered at this position
    # one token that is not the most likely settles it; otherwise every position must be known
    greedy = False if not all_best else (True if known else None)
    if count == 0:
        raise _Unanswerable(
            "no token of the echoed text starts inside the continuation (the context's "
            "last token runs into it); start the continuation with its space, e.g. ' Paris'"
        )
    return Response(logprob=total, greedy=greedy, input_tokens=_usage(data)[0])
