"""A ``call`` for the judge engine that answers with the scripted judge, counting calls."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from heldout.models import Request, Response
from tests.judges import scripted


class ScriptedCall:
    """Answers each request with ``answer(messages)``; remembers every request."""

    def __init__(self, answer: Callable[[list[dict[str, str]]], str] = scripted.answer) -> None:
        self.answer = answer
        self.requests: list[Request] = []

    def __call__(self, model: str, requests: Sequence[Request]) -> list[Response]:
        self.requests.extend(requests)
        out = []
        for r in requests:
            assert not isinstance(r.prompt, str)
            messages = [{"role": m.role, "content": m.content} for m in r.prompt]
            out.append(Response(text=self.answer(messages), input_tokens=10, output_tokens=5))
        return out
