"""A small OpenAI-compatible server that answers every request after a fixed latency.

Used by ``bench_endpoint.py`` to time evaluation tools against the same endpoint. It speaks
just enough of the API for clients to run: ``POST /v1/chat/completions`` and
``POST /v1/completions`` (both also streamed, when the body asks for ``stream: true``),
``POST /v1/responses`` and ``GET /v1/models``. Each answer is a short deterministic text.

It records, per request, when it arrived and when its answer was ready, and reports them:

- ``GET /stats``: ``{"requests", "span_s", "first_arrival", "last_answer", "max_in_flight",
  "by_path"}``; ``span_s`` runs from the first arrival to the last answer.
- ``POST /reset``: forgets every request recorded so far.

Usage: python benchmarks/endpoint_server.py [--port 0] [--latency 0.05] [--text 42]

With ``--port 0`` a free port is chosen. Once it listens, the server prints one line,
``PORT <number>``, and flushes, so that a parent process can read where it is.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from typing import Any

from aiohttp import web

MODEL = "bench-model"


class Recorder:
    """Arrival and answer times of every request since the last reset."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.arrivals: list[float] = []
        self.answers: list[float] = []
        self.by_path: dict[str, int] = {}
        self.in_flight = 0
        self.max_in_flight = 0

    def arrive(self, path: str) -> float:
        now = time.monotonic()
        self.arrivals.append(now)
        self.by_path[path] = self.by_path.get(path, 0) + 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        return now

    def answer(self) -> None:
        self.answers.append(time.monotonic())
        self.in_flight -= 1

    def stats(self) -> dict[str, Any]:
        first = min(self.arrivals) if self.arrivals else None
        last = max(self.answers) if self.answers else None
        span = last - first if first is not None and last is not None else 0.0
        return {
            "requests": len(self.arrivals),
            "answered": len(self.answers),
            "span_s": span,
            "first_arrival": first,
            "last_answer": last,
            "max_in_flight": self.max_in_flight,
            "by_path": dict(self.by_path),
        }


def _usage(prompt: str, text: str) -> dict[str, int]:
    prompt_tokens = len(prompt.split())
    completion_tokens = len(text.split())
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def _chat_prompt(body: dict[str, Any]) -> str:
    parts = []
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(str(c.get("text", "")) for c in content if isinstance(c, dict))
    return "\n".join(parts)


def _sse(chunks: list[dict[str, Any]]) -> bytes:
    lines = [b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks]
    return b"".join(lines) + b"data: [DONE]\n\n"


def make_app(latency: float, text: str) -> web.Application:
    recorder = Recorder()
    created = int(time.time())

    async def _body(request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {}
        return body if isinstance(body, dict) else {}

    async def chat(request: web.Request) -> web.StreamResponse:
        recorder.arrive("chat")
        try:
            body = await _body(request)
            await asyncio.sleep(latency)
            prompt = _chat_prompt(body)
            base = {
                "id": "chatcmpl-bench",
                "created": created,
                "model": body.get("model", MODEL),
            }
            usage = _usage(prompt, text)
            if body.get("stream"):
                first = {
                    **base,
                    "object": "chat.completion.chunk",
                    "choices": [
                        {
                            "index": 0,
                            "delta": {"role": "assistant", "content": text},
                            "finish_reason": None,
                        }
                    ],
                }
                last = {
                    **base,
                    "object": "chat.completion.chunk",
                    "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                    "usage": usage,
                }
                return web.Response(body=_sse([first, last]), content_type="text/event-stream")
            answer = {
                **base,
                "object": "chat.completion",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                ],
                "usage": usage,
            }
            return web.json_response(answer)
        finally:
            recorder.answer()

    async def completions(request: web.Request) -> web.StreamResponse:
        recorder.arrive("completions")
        try:
            body = await _body(request)
            await asyncio.sleep(latency)
            prompts = body.get("prompt", "")
            if not isinstance(prompts, list) or (prompts and isinstance(prompts[0], int)):
                prompts = [prompts]
            base = {
                "id": "cmpl-bench",
                "created": created,
                "model": body.get("model", MODEL),
                "object": "text_completion",
            }
            choices = [
                {"index": i, "text": text, "logprobs": None, "finish_reason": "stop"}
                for i in range(len(prompts))
            ]
            usage = _usage(" ".join(str(p) for p in prompts), text * len(prompts))
            if body.get("stream"):
                chunk = {**base, "choices": choices, "usage": usage}
                return web.Response(body=_sse([chunk]), content_type="text/event-stream")
            return web.json_response({**base, "choices": choices, "usage": usage})
        finally:
            recorder.answer()

    async def responses(request: web.Request) -> web.StreamResponse:
        recorder.arrive("responses")
        try:
            body = await _body(request)
            await asyncio.sleep(latency)
            prompt = body.get("input", "")
            prompt = prompt if isinstance(prompt, str) else json.dumps(prompt)
            usage = _usage(prompt, text)
            answer = {
                "id": "resp-bench",
                "object": "response",
                "created_at": created,
                "status": "completed",
                "model": body.get("model", MODEL),
                "output": [
                    {
                        "type": "message",
                        "id": "msg-bench",
                        "status": "completed",
                        "role": "assistant",
                        "content": [{"type": "output_text", "text": text, "annotations": []}],
                    }
                ],
                "usage": {
                    "input_tokens": usage["prompt_tokens"],
                    "output_tokens": usage["completion_tokens"],
                    "total_tokens": usage["total_tokens"],
                    "input_tokens_details": {"cached_tokens": 0},
                    "output_tokens_details": {"reasoning_tokens": 0},
                },
            }
            return web.json_response(answer)
        finally:
            recorder.answer()

    async def models(request: web.Request) -> web.Response:
        listed = {"id": MODEL, "object": "model", "created": created, "owned_by": "bench"}
        return web.json_response({"object": "list", "data": [listed]})

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(recorder.stats())

    async def reset(request: web.Request) -> web.Response:
        recorder.reset()
        return web.json_response({"ok": True})

    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.add_routes(
        [
            web.post("/v1/chat/completions", chat),
            web.post("/v1/completions", completions),
            web.post("/v1/responses", responses),
            web.get("/v1/models", models),
            web.get("/stats", stats),
            web.post("/reset", reset),
        ]
    )
    return app


async def serve(host: str, port: int, latency: float, text: str) -> None:
    runner = web.AppRunner(make_app(latency, text), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else port
    print(f"PORT {bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per answer")
    parser.add_argument("--text", default="42", help="the text every answer carries")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.host, args.port, args.latency, args.text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
