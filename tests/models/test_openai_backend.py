"""The openai backend, against a real OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import email.utils
import json
import socket
import threading
import time
from collections.abc import Iterator, Sequence

import pytest

from heldout._errors import ModelError
from heldout.models._openai import OpenAIBackend, _retry_after
from heldout.models._protocol import Message, Request, Response, SamplingParams
from heldout.spec._model import OpenAIModelSpec
from tests.models.openai_server import Fault, OpenAIServer, default_answer, score, tokenize

KEY = "sk-test-7f3a9c1e5b2d4f60"
ENV = "HELDOUT_TEST_OPENAI_KEY"


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as running:
        yield running


def _spec(base_url: str, **fields: object) -> OpenAIModelSpec:
    return OpenAIModelSpec.model_validate(
        {"backend": "openai", "model": "tiny-model", "base_url": base_url, **fields}
    )


def _backend(base_url: str, **fields: object) -> OpenAIBackend:
    return OpenAIBackend(_spec(base_url, **fields), name="tiny", backoff=0.01)


def _run(backend: OpenAIBackend, requests: Sequence[Request]) -> list[Response]:
    """Run a batch and check every request is answered exactly once."""
    got: dict[int, Response] = {}

    def on_done(i: int, response: Response) -> None:
        assert i not in got
        got[i] = response

    backend.run(requests, on_done)
    assert sorted(got) == list(range(len(requests)))
    return [got[i] for i in range(len(requests))]


def _one(backend: OpenAIBackend, request: Request) -> Response:
    return _run(backend, [request])[0]


# -- generate ----------------------------------------------------------------------------


def test_chat_generate_sends_messages_and_returns_the_answer(server: OpenAIServer) -> None:
    backend = _backend(server.base_url)
    chat = (Message("system", "Be brief."), Message("user", "What is the capital of France?"))
    plain, messages = _run(
        backend, [Request("generate", "Name a colour."), Request("generate", chat)]
    )

    assert plain.text == default_answer("user: Name a colour.")
    assert plain.finish_reason == "stop"
    assert plain.attempts == 1 and plain.error is None
    assert plain.latency_s is not None and 0 < plain.latency_s < 5
    assert (plain.input_tokens, plain.output_tokens) == (6, 8)  # user : Name a colour .
    assert messages.text == default_answer(
        "system: Be brief.\n\nuser: What is the capital of France?"
    )

    bodies = sorted((r.body for r in server.received), key=lambda b: len(b["messages"]))
    assert all(r.path == "/v1/chat/completions" for r in server.received)
    assert bodies[0]["messages"] == [{"role": "user", "content": "Name a colour."}]
    assert bodies[1]["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is the capital of France?"},
    ]
    assert all(b["model"] == "tiny-model" for b in bodies)


def test_completions_generate_sends_text_and_joins_chat_messages(server: OpenAIServer) -> None:
    backend = _backend(server.base_url, endpoint="completions", concurrency=1)
    chat = (Message("system", "Be brief."), Message("user", "Hi"))
    plain, joined = _run(backend, [Request("generate", "Once upon a"), Request("generate", chat)])

    assert plain.text == default_answer("Once upon a")
    assert joined.text == default_answer("system: Be brief.\n\nuser: Hi")
    assert [r.path for r in server.received] == ["/v1/completions"] * 2
    assert [r.body["prompt"] for r in server.received] == [
        "Once upon a",
        "system: Be brief.\n\nuser: Hi",
    ]
    assert "echo" not in server.received[0].body


def test_sampling_parameters_reach_the_server(server: OpenAIServer) -> None:
    backend = _backend(server.base_url, concurrency=1)
    params = SamplingParams(
        temperature=0.7, top_p=0.9, max_tokens=3, stop=("\n",), seed=11, repetition_penalty=1.1
    )
    first, third, default = _run(
        backend,
        [
            Request("generate", "Tell me a long story", params=params),
            Request("generate", "Tell me a long story", params=params, sample=2),
            Request("generate", "Hi"),
        ],
    )
    sent = [r.body for r in server.received]
    assert {k: sent[0][k] for k in params.__dataclass_fields__} == {
        "temperature": 0.7,
        "top_p": 0.9,
        "max_tokens": 3,
        "stop": ["\n"],
        "seed": 11,
        "repetition_penalty": 1.1,
    }
    assert sent[1]["seed"] == 13  # sample 2 draws with seed + 2
    # unset parameters are left to the server; repetition_penalty is not standard
    assert set(sent[2]) == {"model", "messages", "temperature", "max_tokens"}
    assert (sent[2]["temperature"], sent[2]["max_tokens"]) == (0.0, 256)
    assert first.text == "answer to user" and first.finish_reason == "length"
    assert third.text == first.text and default.finish_reason == "stop"


@pytest.mark.parametrize("endpoint", ["chat", "completions"])
def test_generated_token_logprobs_are_asked_for_and_returned(
    server: OpenAIServer, endpoint: str
) -> None:
    backend = _backend(server.base_url, endpoint=endpoint)
    response = _one(backend, Request("generate", "Say hello", logprobs=True))

    prompt = "user: Say hello" if endpoint == "chat" else "Say hello"
    expected = [t.logprob for t in score(default_answer(prompt), prefix=prompt, first_scored=True)]
    assert response.token_logprobs == tuple(expected)
    assert len(expected) == (6 if endpoint == "chat" else 4)
    assert server.received[0].body["logprobs"] == (True if endpoint == "chat" else 1)
    without = _one(backend, Request("generate", "Say hello"))
    assert without.token_logprobs is None
    assert "logprobs" not in server.received[1].body


# -- loglikelihood -----------------------------------------------------------------------

CASES = [
    ("The capital of France is", " Paris"),
    ("The capital of France is", " Paris, of course."),
    ("Question: 2 + 2 =", " 4"),
    ("Question: 2 + 2 =", " 5"),
    ("Question: 2 + 2 =", " four"),
    ("Colours:", " red, green and blue"),
    ("Once upon", " a time"),
    ("Once upon", " the time"),
]


def _expected(context: str, continuation: str) -> tuple[float, bool]:
    """The continuation's summed log-probability and greediness, from the server's script."""
    tokens = [t for t in score(context + continuation) if t.offset >= len(context)]
    assert tokens and all(t.logprob is not None and t.top for t in tokens)
    total = sum(t.logprob for t in tokens if t.logprob is not None)
    greedy = all(t.top is not None and max(t.top, key=t.top.__getitem__) == t.text for t in tokens)
    return total, greedy


def test_loglikelihood_sums_only_the_continuation_tokens(server: OpenAIServer) -> None:
    backend = _backend(server.base_url, endpoint="completions")
    responses = _run(backend, [Request("loglikelihood", c, continuation=x) for c, x in CASES])

    expected = [_expected(c, x) for c, x in CASES]
    assert {greedy for _, greedy in expected} == {True, False}  # both outcomes are exercised
    for (context, continuation), response, (total, greedy) in zip(
        CASES, responses, expected, strict=True
    ):
        assert response.error is None, response.error
        assert response.logprob == pytest.approx(total, abs=1e-9), (context, continuation)
        assert response.greedy is greedy, (context, continuation)
        everything = sum(t.logprob or 0.0 for t in score(context + continuation))
        assert response.logprob != pytest.approx(everything)  # the context is left out
    body = server.received[0].body
    assert {k: body[k] for k in ("echo", "max_tokens", "logprobs")} == {
        "echo": True,
        "max_tokens": 0,
        "logprobs": 1,
    }
    assert {r.body["prompt"] for r in server.received} == {c + x for c, x in CASES}


def test_loglikelihood_asks_for_one_token_once_the_server_refuses_zero() -> None:
    with OpenAIServer(reject_zero_max_tokens=True) as server:
        backend = _backend(server.base_url, endpoint="completions", concurrency=1)
        responses = _run(backend, [Request("loglikelihood", c, continuation=x) for c, x in CASES])

        # the refusal is remembered: only the first request is sent with max_tokens 0
        assert [r.body["max_tokens"] for r in server.received] == [0] + [1] * len(CASES)
    assert [r.attempts for r in responses] == [2] + [1] * (len(CASES) - 1)
    for (context, continuation), response in zip(CASES, responses, strict=True):
        total, greedy = _expected(context, continuation)
        # the generated token after the prompt is not part of the continuation
        assert response.logprob == pytest.approx(total, abs=1e-9)
        assert response.greedy is greedy


def test_loglikelihood_without_prompt_logprobs_says_to_use_generate() -> None:
    with OpenAIServer(prompt_logprobs=False) as server:
        backend = _backend(server.base_url, endpoint="completions")
        response = _one(backend, Request("loglikelihood", "2 + 2 =", continuation=" 4"))
        assert server.count == 1  # not retried
    assert response.error is not None and response.logprob is None
    assert "does not return prompt logprobs" in response.error
    assert "method: generate" in response.error


def test_chat_endpoint_answers_generate_only(server: OpenAIServer) -> None:
    chat = _backend(server.base_url)
    completions = _backend(server.base_url, endpoint="completions")
    assert chat.supports == frozenset({"generate"})
    assert completions.supports == frozenset({"generate", "loglikelihood"})

    loglikelihood, classify = _run(
        chat, [Request("loglikelihood", "a", continuation=" b"), Request("classify", "a")]
    )
    assert loglikelihood.error is not None and "endpoint: completions" in loglikelihood.error
    assert classify.error is not None and "classify" in classify.error
    assert server.count == 0


# -- retries -----------------------------------------------------------------------------


def test_rate_limit_waits_at_least_retry_after(server: OpenAIServer) -> None:
    server.fault(Fault.rate_limited(retry_after="1"))
    backend = _backend(server.base_url)
    start = time.perf_counter()
    response = _one(backend, Request("generate", "Hi"))
    elapsed = time.perf_counter() - start

    assert response.error is None and response.attempts == 2
    assert elapsed >= 1.0
    assert response.latency_s is not None and response.latency_s < 0.5  # the successful try


def test_a_retry_after_past_max_wait_is_an_error_at_once(server: OpenAIServer) -> None:
    server.fault(Fault.rate_limited(retry_after="3600"))
    backend = _backend(server.base_url, max_wait=5)
    start = time.perf_counter()
    response = _one(backend, Request("generate", "Hi"))

    assert time.perf_counter() - start < 2.0
    assert server.count == 1
    assert response.error is not None
    assert "wait 3600 s" in response.error and "max_wait (5 s)" in response.error
    assert "rerun later" in response.error


def test_a_reasoning_model_gets_max_completion_tokens(server: OpenAIServer) -> None:
    server.reasoning = True
    params = SamplingParams(max_tokens=2)
    requests = [Request("generate", p, params=params) for p in ("Hi", "Hello there")]
    responses = _run(_backend(server.base_url), requests)

    assert all(r.error is None for r in responses), responses
    assert responses[0].attempts == 2  # the refused try, then the renamed limit
    # the renamed limit still limits: two tokens of the default answer
    assert responses[0].text == "".join(t for t, _ in tokenize(default_answer("user: Hi"))[:2])
    bodies = [r.body for r in server.received]
    assert "max_tokens" in bodies[0] and "max_completion_tokens" not in bodies[0]
    assert all(b["max_completion_tokens"] == 2 and "max_tokens" not in b for b in bodies[-2:])


def test_retry_after_is_read_as_seconds_or_an_http_date() -> None:
    assert _retry_after("3") == 3.0
    assert _retry_after("0.5") == 0.5
    assert _retry_after(None) is None
    assert _retry_after("soon") is None
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    waited = _retry_after(later)
    assert waited is not None and 28 <= waited <= 30
    earlier = email.utils.formatdate(time.time() - 30, usegmt=True)
    assert _retry_after(earlier) == 0.0


def test_server_error_then_success_takes_two_attempts(server: OpenAIServer) -> None:
    server.fault(Fault.server_error(500))
    response = _one(_backend(server.base_url), Request("generate", "Hi"))
    assert response.error is None and response.attempts == 2
    assert response.text == default_answer("user: Hi")
    assert server.count == 2


def test_each_transient_status_is_retried(server: OpenAIServer) -> None:
    server.fault(*(Fault.server_error(s) for s in (502, 503, 504)), Fault.unavailable("0"))
    response = _one(_backend(server.base_url), Request("generate", "Hi"))
    assert response.error is None and response.attempts == 5


def test_timeout_then_success(server: OpenAIServer) -> None:
    server.fault(Fault.hang(3.0))
    backend = _backend(server.base_url, timeout=0.4)
    start = time.perf_counter()
    response = _one(backend, Request("generate", "Hi"))
    assert response.error is None and response.attempts == 2
    assert 0.4 <= time.perf_counter() - start < 2.5


def test_malformed_and_incomplete_json_are_retried(server: OpenAIServer) -> None:
    server.fault(Fault.malformed_json(), Fault.incomplete())
    response = _one(_backend(server.base_url), Request("generate", "Hi"))
    assert response.error is None and response.attempts == 3
    assert response.text == default_answer("user: Hi")


def test_persistent_failure_is_an_error_response_after_every_retry(server: OpenAIServer) -> None:
    server.fault(*[Fault.server_error(500)] * 20)
    backend = _backend(server.base_url, max_retries=3, concurrency=1)
    failed, answered = _run(backend, [Request("generate", "Hi"), Request("generate", "Hi")])

    assert failed.attempts == 4 and failed.text is None
    assert failed.error is not None
    assert failed.error.startswith("HTTP 500 after 4 attempts: ")
    assert "internal error" in failed.error
    assert answered.error is not None and answered.attempts == 4
    assert server.count == 8


def test_timeouts_to_the_end_are_an_error_response(server: OpenAIServer) -> None:
    server.fault(Fault.hang(2.0), Fault.hang(2.0))
    response = _one(
        _backend(server.base_url, timeout=0.2, max_retries=1), Request("generate", "Hi")
    )
    assert response.error == "timeout (0.2 s) after 2 attempts"
    assert response.attempts == 2


def test_unauthorized_is_not_retried_and_names_the_variable_not_the_key(
    server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, KEY)
    server.fault(Fault.unauthorized(echo_key=True))
    response = _one(_backend(server.base_url, api_key_env=ENV), Request("generate", "Hi"))

    assert server.count == 1 and response.attempts == 1
    assert response.error is not None
    assert "HTTP 401" in response.error and ENV in response.error
    assert KEY not in response.error  # even though the server repeated it
    assert "Incorrect API key" in response.error


def test_not_found_names_the_model_and_the_base_url(server: OpenAIServer) -> None:
    server.fault(Fault.http(404, "The model does not exist"))
    response = _one(_backend(server.base_url), Request("generate", "Hi"))
    assert server.count == 1 and response.attempts == 1
    assert response.error is not None
    assert "HTTP 404" in response.error and "'tiny-model'" in response.error
    assert server.base_url in response.error and "does not exist" in response.error


@pytest.mark.parametrize("status", [400, 403, 422])
def test_client_errors_are_not_retried(server: OpenAIServer, status: int) -> None:
    server.fault(Fault.http(status, "bad field: temprature"))
    response = _one(_backend(server.base_url), Request("generate", "Hi"))
    assert server.count == 1 and response.attempts == 1
    assert response.error is not None
    assert f"HTTP {status}" in response.error and "bad field: temprature" in response.error


def test_unreachable_server_answers_every_request_quickly() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    backend = _backend(f"http://127.0.0.1:{port}/v1", max_retries=3, concurrency=4)
    start = time.perf_counter()
    responses = _run(backend, [Request("generate", f"q{i}") for i in range(40)])

    assert time.perf_counter() - start < 3.0
    assert all(r.error is not None and "connection failed" in r.error for r in responses)
    attempts = [r.attempts for r in responses]
    assert max(attempts) == 4  # the first to use every retry; the others in flight stop early
    # a worker takes its next request only once one has used every retry: one try each
    assert attempts[4:] == [1] * 36


# -- the key -----------------------------------------------------------------------------


def test_key_is_sent_only_as_the_authorization_header(
    server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, KEY)
    backend = _backend(
        server.base_url, api_key_env=ENV, headers={"X-Team": "evals"}, endpoint="completions"
    )
    _run(
        backend,
        [Request("generate", "Hi"), Request("loglikelihood", "Hello", continuation=" world")],
    )
    assert server.count == 2
    for received in server.received:
        assert received.headers["authorization"] == f"Bearer {KEY}"
        assert received.headers["x-team"] == "evals"
        others = [v for k, v in received.headers.items() if k != "authorization"]
        assert not any(KEY in v for v in others)
        assert KEY not in received.raw and KEY not in received.path + received.query


def test_no_authorization_header_without_a_key(server: OpenAIServer) -> None:
    _one(_backend(server.base_url), Request("generate", "Hi"))
    assert "authorization" not in server.received[0].headers


@pytest.mark.parametrize("value", [None, "", "   "])
def test_missing_key_variable_is_a_model_error_before_any_request(
    server: OpenAIServer, monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv(ENV, raising=False)
    else:
        monkeypatch.setenv(ENV, value)
    with pytest.raises(ModelError, match=rf"models\.tiny: environment variable {ENV} is not set"):
        _backend(server.base_url, api_key_env=ENV)
    assert server.count == 0


def test_key_is_absent_from_repr_identity_and_state(
    server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, KEY)
    backend = _backend(server.base_url, api_key_env=ENV)
    assert dict(backend.identity) == {
        "backend": "openai",
        "base_url": server.base_url,
        "model": "tiny-model",
        "endpoint": "chat",
    }
    assert KEY not in repr(backend)
    assert KEY not in json.dumps(dict(backend.identity))
    assert KEY not in repr(vars(backend))
    assert "tiny-model" in repr(backend)


# -- concurrency and the event loop ------------------------------------------------------


def test_concurrency_bound_is_respected_and_reached() -> None:
    with OpenAIServer(latency=0.05) as server:
        backend = _backend(server.base_url, concurrency=8)
        prompts = [f"question {i}" for i in range(48)]
        responses = _run(backend, [Request("generate", p) for p in prompts])
        assert server.max_in_flight == 8
    assert [r.text for r in responses] == [default_answer(f"user: {p}") for p in prompts]


def test_inside_a_running_event_loop_on_done_is_called_from_the_calling_thread(
    server: OpenAIServer,
) -> None:
    backend = _backend(server.base_url)
    threads: set[int] = set()

    async def main() -> list[str | None]:
        texts: list[str | None] = [None] * 5

        def on_done(i: int, response: Response) -> None:
            threads.add(threading.get_ident())
            texts[i] = response.text

        backend.run([Request("generate", f"q{i}") for i in range(5)], on_done)
        return texts

    texts = asyncio.run(main())
    assert texts == [default_answer(f"user: q{i}") for i in range(5)]
    assert threads == {threading.get_ident()}


@pytest.mark.parametrize("in_loop", [False, True])
def test_an_error_in_on_done_stops_the_run_and_is_raised(
    server: OpenAIServer, in_loop: bool
) -> None:
    backend = _backend(server.base_url, concurrency=2)

    def on_done(i: int, response: Response) -> None:
        raise RuntimeError("journal full")

    def go() -> None:
        backend.run([Request("generate", f"q{i}") for i in range(20)], on_done)

    async def in_a_loop() -> None:
        go()

    with pytest.raises(RuntimeError, match="journal full"):
        if in_loop:
            asyncio.run(in_a_loop())
        else:
            go()
    assert server.count < 20


def test_empty_batch_sends_nothing(server: OpenAIServer) -> None:
    backend = _backend(server.base_url)
    backend.run([], lambda i, r: None)
    backend.close()
    assert server.count == 0


# -- presets -----------------------------------------------------------------------------


def test_presets_fill_base_url_and_key_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = OpenAIModelSpec.model_validate(
        {"backend": "openai", "model": "gpt-4o-mini", "preset": "openai"}
    )
    assert (spec.base_url, spec.api_key_env) == ("https://api.openai.com/v1", "OPENAI_API_KEY")
    local = OpenAIModelSpec.model_validate(
        {"backend": "openai", "model": "m", "preset": "vllm", "base_url": "http://gpu:9000/v1/"}
    )
    assert (local.base_url, local.api_key_env) == ("http://gpu:9000/v1", None)

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ModelError, match="OPENAI_API_KEY is not set"):
        OpenAIBackend(spec, name="gpt")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    backend = OpenAIBackend(spec, name="gpt")
    assert backend.identity["base_url"] == "https://api.openai.com/v1"
    assert KEY not in repr(backend)
