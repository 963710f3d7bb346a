"""Journal keys never change silently: a key that changed would make every stored answer
unreachable, and a rerun would pay for every call again."""

from __future__ import annotations

import pytest

from heldout.models._protocol import Message, Request, SamplingParams, call_key

IDENTITY = {"backend": "openai", "model": "m", "base_url": "http://x/v1"}


@pytest.mark.parametrize(
    ("request_", "key"),
    [
        (
            Request(
                kind="generate",
                prompt="Say hi",
                params=SamplingParams(temperature=0.7, max_tokens=5, stop=("a",), seed=3),
                sample=1,
            ),
            "6915f20a27926a269adc87b8fde9ae3fb9e2f2e396ed9f4dfe8ff12454d5699d",
        ),
        (
            Request(kind="loglikelihood", prompt="Q:", continuation=" A"),
            "baabd4ace67d2168968ae612fe5210606df682db1f4a9490df8b3e854124bdd9",
        ),
        (
            Request(kind="generate", prompt=(Message("system", "s"), Message("user", "u"))),
            "46d7b4cd109d4823ab54ba605c0b2aba27354cdbfe83d9b03b03c89ae9352188",
        ),
    ],
)
def test_call_keys_are_pinned(request_: Request, key: str) -> None:
    assert call_key(IDENTITY, request_) == key
