"""The OpenAI-compatible test server, answering chat calls as the scripted judge.

Answers come from :func:`tests.judges.scripted.answer` on the request's messages. When the
request asks for ``top_logprobs``, every generated token comes back with its
log-probability and alternatives; at the score's token the alternatives are
``SCORE_TABLE`` when the output being judged says ``LOGPROBS`` (the table the weighting
test computes by hand), else the chosen token alone with probability 1.
"""

from __future__ import annotations

import math
import re
from typing import Any

from aiohttp import web

from tests.judges import scripted
from tests.models.openai_server import OpenAIServer, tokenize

#: Score token → probability, for outputs that say LOGPROBS (2 falls under p = 0.01).
SCORE_TABLE = {"4": 0.6, "5": 0.3, "3": 0.095, "2": 0.005}
#: What the weighted score of those outputs is, by hand.
WEIGHTED = (0.6 * 4 + 0.3 * 5 + 0.095 * 3) / (0.6 + 0.3 + 0.095)


class JudgeServer(OpenAIServer):
    """A judge on 127.0.0.1 that reads its prompts like :mod:`tests.judges.scripted`."""

    def _chat_answer(self, body: dict[str, Any]) -> web.Response:
        messages = body["messages"]
        text = scripted.answer(messages)
        choice: dict[str, Any] = {
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": "stop",
            "logprobs": None,
        }
        if body.get("top_logprobs"):
            _, data, _ = scripted.read_prompt(messages)
            table = SCORE_TABLE if "LOGPROBS" in data.get("output", "") else None
            choice["logprobs"] = {"content": _content(text, table)}
        prompt_tokens = sum(len(tokenize(m["content"])) for m in messages)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(tokenize(text)),
            "total_tokens": prompt_tokens + len(tokenize(text)),
        }
        return web.json_response(
            {"id": "chatcmpl-1", "object": "chat.completion", "choices": [choice], "usage": usage}
        )


def _content(text: str, table: dict[str, float] | None) -> list[dict[str, Any]]:
    score = re.search(r'"score":\s*(\d+)', text)
    out = []
    for token, offset in tokenize(text):
        tops = [{"token": token, "logprob": 0.0}]
        if score is not None and offset <= score.start(1) < offset + len(token) and table:
            tops = [{"token": " " + t, "logprob": math.log(p)} for t, p in table.items()]
            logprob = math.log(table.get(token.strip(), 1e-6))
        else:
            logprob = 0.0
        out.append({"token": token, "logprob": logprob, "bytes": None, "top_logprobs": tops})
    return out
