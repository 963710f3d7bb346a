"""The hf backend, on tiny models built on disk: cross-checked against direct forward passes."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from heldout._errors import ModelError
from heldout.models._protocol import Message, Request, Response, SamplingParams, prompt_text
from heldout.spec._model import HFModelSpec
from tests.models.conftest import HFModels
from tests.models.hf_fixtures import CLASSIFIER_LABELS

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")

from heldout.models import _hf  # noqa: E402
from heldout.models._hf import HFBackend, open_hf_backends  # noqa: E402

CONTEXTS = [
    "The capital of France is",
    "The capital of France is ",  # trailing space moves onto the continuation
    "Question: which colour is the sky?\nAnswer:",
    "A cat sat on the mat. The dog ran in the park with a red ball and",
    "",  # empty context: scored after the BOS token
]
CONTINUATIONS = [" Paris", " Madrid", " blue", "x"]


def _spec(path: Path, **options: Any) -> HFModelSpec:
    return HFModelSpec(backend="hf", path=str(path), **options)


def _open(models: dict[str, HFModelSpec], root: Path) -> dict[str, HFBackend]:
    backends = open_hf_backends(models, root=root)
    assert all(isinstance(b, HFBackend) for b in backends.values())
    return {name: b for name, b in backends.items() if isinstance(b, HFBackend)}


def _run(backend: HFBackend, requests: Sequence[Request]) -> list[Response]:
    out: dict[int, Response] = {}

    def on_done(i: int, response: Response) -> None:
        assert i not in out, f"request {i} answered twice"
        out[i] = response

    backend.run(requests, on_done)
    assert sorted(out) == list(range(len(requests)))
    return [out[i] for i in range(len(requests))]


def _ll_requests() -> list[Request]:
    return [
        Request(kind="loglikelihood", prompt=c, continuation=x)
        for c in CONTEXTS
        for x in CONTINUATIONS
    ]


def _load_causal(path: Path, adapter: Path | None = None) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(path).eval()
    if adapter is not None:
        from peft import PeftModel

        with pytest.warns(FutureWarning, match="is_gradient_checkpointing"):
            model = PeftModel.from_pretrained(model, adapter).eval()
    return model, AutoTokenizer.from_pretrained(path)


def _direct_loglikelihood(
    model: Any, tok: Any, context: str, continuation: str, *, max_length: int = 128
) -> tuple[float, bool]:
    """lm-evaluation-harness's recipe, written out with one plain forward pass per request."""
    spaces = len(context) - len(context.rstrip())
    if spaces:
        context, continuation = context[:-spaces], context[-spaces:] + continuation
    if context:
        whole = tok(context + continuation, add_special_tokens=False)["input_ids"]
        cont = whole[len(tok(context, add_special_tokens=False)["input_ids"]) :]
    else:
        cont = tok(continuation, add_special_tokens=False)["input_ids"]
        whole = [tok.bos_token_id, *cont]
    whole = whole[-(max_length + 1) :]
    inputs = torch.tensor([whole[:-1]])
    with torch.no_grad():
        logprobs = torch.log_softmax(model(input_ids=inputs).logits[0].float(), dim=-1)
    first = len(whole) - 1 - len(cont)
    total = sum(float(logprobs[first + k, t]) for k, t in enumerate(cont))
    greedy = all(int(logprobs[first + k].argmax()) == t for k, t in enumerate(cont))
    return total, greedy


@pytest.fixture(scope="module")
def gpt2(hf_models: HFModels) -> dict[str, HFBackend]:
    backends = _open(
        {
            "base": _spec(hf_models.gpt2, batch_size=8),
            "base1": _spec(hf_models.gpt2, batch_size=1),
            "tuned": _spec(hf_models.gpt2, adapter=str(hf_models.lora), batch_size=8),
            "tuned1": _spec(hf_models.gpt2, adapter=str(hf_models.lora), batch_size=1),
            "tuned2": _spec(hf_models.gpt2, adapter=str(hf_models.lora2)),
        },
        hf_models.gpt2.parent,
    )
    yield backends
    for backend in backends.values():
        backend.close()


# -- log-likelihood -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def direct_base(hf_models: HFModels) -> list[tuple[float, bool]]:
    """The base model's log-likelihoods of ``_ll_requests()``, one plain forward pass each."""
    model, tok = _load_causal(hf_models.gpt2)
    return [
        _direct_loglikelihood(model, tok, str(r.prompt), r.continuation) for r in _ll_requests()
    ]


@pytest.mark.parametrize("mode", ["shared", "fast", "full"])
def test_loglikelihoods_equal_a_direct_forward_pass(
    gpt2: dict[str, HFBackend],
    direct_base: list[tuple[float, bool]],
    mode: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = gpt2["base"]
    assert base._scoring_mode() == "shared"  # the cheapest mode passes its check on GPT-2
    monkeypatch.setattr(HFBackend, "_scoring_mode", lambda self: mode)
    requests = _ll_requests()
    got = _run(base, requests)
    for request, response, (expected, greedy) in zip(requests, got, direct_base, strict=True):
        assert response.ok, response.error
        assert response.logprob == pytest.approx(expected, abs=1e-5), request
        assert response.greedy is greedy


def test_adapter_loglikelihoods_equal_a_direct_peft_forward_pass(
    hf_models: HFModels, gpt2: dict[str, HFBackend]
) -> None:
    model, tok = _load_causal(hf_models.gpt2, adapter=hf_models.lora)
    requests = _ll_requests()
    for request, response in zip(requests, _run(gpt2["tuned"], requests), strict=True):
        assert isinstance(request.prompt, str)
        expected, _ = _direct_loglikelihood(model, tok, request.prompt, request.continuation)
        assert response.logprob == pytest.approx(expected, abs=1e-5)


def test_long_contexts_lose_their_beginning(hf_models: HFModels) -> None:
    backend = _open({"m": _spec(hf_models.gpt2, max_length=16)}, hf_models.gpt2.parent)["m"]
    model, tok = _load_causal(hf_models.gpt2)
    context = " ".join(["The quick brown fox jumps over the lazy dog."] * 4)
    requests = [
        Request(kind="loglikelihood", prompt=context, continuation=x) for x in CONTINUATIONS
    ]
    for request, response in zip(requests, _run(backend, requests), strict=True):
        expected, _ = _direct_loglikelihood(
            model, tok, context, request.continuation, max_length=16
        )
        assert response.input_tokens == 17
        assert response.logprob == pytest.approx(expected, abs=1e-5)
    backend.close()


def test_results_do_not_depend_on_batch_size(gpt2: dict[str, HFBackend]) -> None:
    requests = _ll_requests()
    for one, eight in (("base1", "base"), ("tuned1", "tuned")):
        single = _run(gpt2[one], requests)
        batched = _run(gpt2[eight], requests)
        for a, b in zip(single, batched, strict=True):
            assert a.logprob == pytest.approx(b.logprob, abs=1e-4)
            assert a.greedy is b.greedy
    prompts = ["The", "The capital of France is", "Question: which colour is the sky?", "A cat"]
    generate = [
        Request(kind="generate", prompt=p, params=SamplingParams(max_tokens=8)) for p in prompts
    ]
    single_texts = [r.text for r in _run(gpt2["base1"], generate)]
    batched_texts = [r.text for r in _run(gpt2["base"], generate)]
    assert single_texts == batched_texts
    assert len(set(single_texts)) > 1


def test_greedy_flag_is_true_for_the_argmax_continuation(
    hf_models: HFModels, gpt2: dict[str, HFBackend]
) -> None:
    model, tok = _load_causal(hf_models.gpt2)
    cases = []
    for context in ("The capital of France is", "The dog ran", "Question: what is two"):
        ids = tok(context, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            best = int(model(input_ids=torch.tensor([ids])).logits[0, -1].argmax())
        continuation = tok.decode([best])
        if tok(context + continuation, add_special_tokens=False)["input_ids"] == [*ids, best]:
            cases.append((context, continuation, best))
    assert cases, "no context whose argmax token survives re-tokenization"
    for context, continuation, best in cases:
        other = next(t for t in range(5, 400) if t != best and tok.decode([t]).strip())
        requests = [
            Request(kind="loglikelihood", prompt=context, continuation=continuation),
            Request(kind="loglikelihood", prompt=context, continuation=tok.decode([other])),
        ]
        greedy, not_greedy = _run(gpt2["base"], requests)
        assert greedy.greedy is True
        assert not_greedy.greedy is False


def test_seq2seq_loglikelihood_matches_the_models_own_loss(hf_models: HFModels) -> None:
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    backend = _open({"t5": _spec(hf_models.t5, batch_size=3)}, hf_models.t5.parent)["t5"]
    assert backend.supports == {"generate", "loglikelihood"}
    model = AutoModelForSeq2SeqLM.from_pretrained(hf_models.t5).eval()
    tok = AutoTokenizer.from_pretrained(hf_models.t5)
    requests = [r for r in _ll_requests() if r.prompt]
    for request, response in zip(requests, _run(backend, requests), strict=True):
        assert isinstance(request.prompt, str)
        context = request.prompt.rstrip()
        continuation = request.prompt[len(context) :] + request.continuation
        labels = tok(continuation, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            loss = model(
                input_ids=torch.tensor([tok(context)["input_ids"]]),
                labels=torch.tensor([labels]),
            ).loss
        assert response.logprob == pytest.approx(-float(loss) * len(labels), abs=1e-4)
    generated = _run(
        backend,
        [Request(kind="generate", prompt="The capital", params=SamplingParams(max_tokens=6))],
    )[0]
    with torch.no_grad():
        direct = model.generate(
            input_ids=torch.tensor([tok("The capital")["input_ids"]]),
            max_new_tokens=6,
            do_sample=False,
        )
    assert generated.text == tok.decode(direct[0, 1:], skip_special_tokens=True)
    backend.close()


# -- adapters -------------------------------------------------------------------------------


def test_adapter_changes_outputs_and_base_stays_the_base(
    hf_models: HFModels, gpt2: dict[str, HFBackend]
) -> None:
    requests = _ll_requests()
    # alternate between adapters so that each switch is exercised
    tuned = _run(gpt2["tuned"], requests)
    shared_base = _run(gpt2["base"], requests)
    tuned2 = _run(gpt2["tuned2"], requests)
    tuned_again = _run(gpt2["tuned"], requests)
    alone = _open({"alone": _spec(hf_models.gpt2)}, hf_models.gpt2.parent)["alone"]
    alone_base = _run(alone, requests)
    alone.close()
    for t, b, t2, again, a in zip(tuned, shared_base, tuned2, tuned_again, alone_base, strict=True):
        assert b.logprob == pytest.approx(a.logprob, abs=1e-5)
        assert again.logprob == pytest.approx(t.logprob, abs=1e-5)
        assert abs(t.logprob - b.logprob) > 1e-3  # type: ignore[operator]
        assert abs(t2.logprob - t.logprob) > 1e-3  # type: ignore[operator]


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The folders whose weights are loaded while the test runs, in order."""
    seen: list[Path] = []
    real = _hf._load_model

    def counting(plan: Any) -> Any:
        seen.append(plan.path)
        return real(plan)

    monkeypatch.setattr(_hf, "_load_model", counting)
    return seen


def _one_token(prompt: str = "The") -> list[Request]:
    return [Request(kind="generate", prompt=prompt, params=SamplingParams(max_tokens=1))]


def test_weights_load_on_the_first_run_once_per_folder(
    hf_models: HFModels, loads: list[Path]
) -> None:
    gpt2, t5 = hf_models.gpt2.resolve(), hf_models.t5.resolve()
    backends = _open(
        {
            "base": _spec(hf_models.gpt2),
            "tuned": _spec(hf_models.gpt2, adapter=str(hf_models.lora)),
            "lora": _spec(hf_models.gpt2, adapter=str(hf_models.lora2)),  # a name peft dislikes
            "t5": _spec(hf_models.t5),
        },
        hf_models.gpt2.parent,
    )
    # opening reads no weights, yet all that plans the calls is there
    assert loads == []
    shared = backends["base"]._loaded
    assert shared is backends["tuned"]._loaded is backends["lora"]._loaded
    assert shared.model is None and shared.peft is None
    assert backends["base"].supports == {"generate", "loglikelihood"}
    assert backends["tuned"].identity["weights"] == _sha256(hf_models.gpt2 / "model.safetensors")
    assert backends["tuned"].identity["adapter_config"]["r"] == 4
    assert backends["t5"].identity["kind"] == "seq2seq"
    assert backends["base"].render("as it is") == "as it is"
    # nothing to answer (or only what the model cannot answer) loads nothing
    backends["lora"].run([], lambda i, r: pytest.fail("no request to answer"))
    (wrong,) = _run(backends["t5"], [Request(kind="classify", prompt="a")])
    assert wrong.error is not None and "cannot answer classify" in wrong.error
    assert loads == []
    # the first run of any backend of the folder loads it with every adapter of its backends
    assert _run(backends["lora"], _one_token())[0].ok
    assert loads == [gpt2]
    assert shared.model is not None
    assert set(shared.peft.peft_config) == set(shared.adapters.values())
    assert len(shared.adapters) == 2
    for name in ("base", "tuned", "lora"):
        assert _run(backends[name], _one_token())[0].ok
    assert loads == [gpt2]
    assert _run(backends["t5"], _one_token())[0].ok
    assert loads == [gpt2, t5]
    for backend in backends.values():
        backend.close()
    assert shared.model is None and shared.peft is None  # freed with its last backend
    with pytest.raises(ModelError, match="closed"):
        backends["base"].run(_one_token(), lambda i, r: None)
    assert loads == [gpt2, t5]


def test_backends_closed_unused_load_nothing(hf_models: HFModels, loads: list[Path]) -> None:
    backends = _open(
        {
            "base": _spec(hf_models.gpt2),
            "tuned": _spec(hf_models.gpt2, adapter=str(hf_models.lora)),
        },
        hf_models.gpt2.parent,
    )
    for backend in backends.values():
        backend.close()
    assert loads == []
    assert backends["base"]._loaded.users == 0


def _sha256(*files: Path) -> str:
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.read_bytes())
    return digest.hexdigest()


def test_identity_records_weights_tokenizer_and_adapter(
    hf_models: HFModels, gpt2: dict[str, HFBackend]
) -> None:
    base, tuned = gpt2["base"].identity, gpt2["tuned"].identity
    assert base["backend"] == "hf"
    assert base["path"] == str(hf_models.gpt2.resolve())
    assert (base["kind"], base["dtype"]) == ("causal", "float32")
    assert base["weights"] == _sha256(hf_models.gpt2 / "model.safetensors")
    assert len(base["tokenizer"]) == 64
    assert "adapter" not in base
    assert tuned["weights"] == base["weights"]
    assert tuned["adapter"] == str(hf_models.lora.resolve())
    lora = hf_models.lora
    assert tuned["adapter_hash"] == _sha256(
        lora / "adapter_config.json", lora / "adapter_model.safetensors"
    )
    assert tuned["adapter_config"] == json.loads((lora / "adapter_config.json").read_text())
    assert tuned["adapter_config"]["r"] == 4
    assert gpt2["tuned2"].identity["adapter_hash"] != tuned["adapter_hash"]
    json.dumps(tuned)  # recordable as it is


def test_an_adapter_saved_against_another_folder_loads_onto_the_same_weights(
    hf_models: HFModels, gpt2: dict[str, HFBackend]
) -> None:
    # the adapter's config names the gpt2 folder; gpt2_plain holds the same weights elsewhere
    moved = _open({"t": _spec(hf_models.gpt2_plain, adapter=str(hf_models.lora))}, Path("/"))["t"]
    requests = [r for r in _ll_requests() if r.prompt]
    for a, b in zip(_run(moved, requests), _run(gpt2["tuned"], requests), strict=True):
        assert a.logprob == pytest.approx(b.logprob, abs=1e-5)
    moved.close()


def test_an_adapter_folder_that_is_not_one_is_a_model_error_at_open(
    hf_models: HFModels, tmp_path: Path
) -> None:
    base = str(hf_models.gpt2.resolve())
    no_weights = tmp_path / "no-weights"
    no_weights.mkdir()
    shutil.copy(hf_models.lora / "adapter_config.json", no_weights)
    cases = {
        hf_models.classifier: "no adapter_config.json",  # a model, not an adapter
        no_weights: "no adapter weights (adapter_model.safetensors or adapter_model.bin)",
    }
    for adapter, reason in cases.items():
        with pytest.raises(ModelError) as caught:
            open_hf_backends({"tuned": _spec(hf_models.gpt2, adapter=str(adapter))}, root=tmp_path)
        message = str(caught.value)
        assert message.startswith("models.tuned.adapter: ")
        assert str(adapter.resolve()) in message
        assert base in message
        assert reason in message


def test_a_folder_without_weights_is_a_model_error_at_open(
    hf_models: HFModels, tmp_path: Path
) -> None:
    config_only = tmp_path / "config-only"
    config_only.mkdir()
    for f in hf_models.gpt2.iterdir():
        if f.suffix != ".safetensors":
            shutil.copy(f, config_only)
    with pytest.raises(ModelError, match=r"models\.m\.path: .*holds no weight files"):
        open_hf_backends({"m": _spec(config_only)}, root=tmp_path)


def test_an_adapter_that_does_not_fit_fails_the_first_run_of_its_folder(
    hf_models: HFModels, tmp_path: Path, loads: list[Path]
) -> None:
    base = str(hf_models.gpt2.resolve())
    wrong_modules = tmp_path / "wrong-modules"
    shutil.copytree(hf_models.lora, wrong_modules)
    config = json.loads((wrong_modules / "adapter_config.json").read_text())
    config["target_modules"] = ["q_proj", "v_proj"]
    (wrong_modules / "adapter_config.json").write_text(json.dumps(config))
    cases = {
        hf_models.bad_adapter: "size mismatch",  # made for a 32-wide model
        wrong_modules: "q_proj",
    }
    answered: list[int] = []

    def on_done(i: int, response: Response) -> None:
        answered.append(i)

    for adapter, reason in cases.items():
        loads.clear()
        backends = _open(
            {
                "base": _spec(hf_models.gpt2),
                "tuned": _spec(hf_models.gpt2, adapter=str(hf_models.lora)),
                "bad": _spec(hf_models.gpt2, adapter=str(adapter)),
            },
            tmp_path,
        )
        assert loads == []
        assert backends["bad"].identity["adapter"] == str(adapter.resolve())
        # the backend without an adapter runs first, and already fails for its folder
        for name in ("base", "tuned", "bad"):
            with pytest.raises(ModelError) as caught:
                backends[name].run(_one_token(), on_done)
            message = str(caught.value)
            assert message.startswith("models.bad.adapter: ")
            assert str(adapter.resolve()) in message
            assert base in message
            assert reason in message
        assert answered == []
        assert loads == [hf_models.gpt2.resolve()]  # tried once, not again by each backend
        assert backends["base"]._loaded.model is None
        for backend in backends.values():
            backend.close()


# -- generation -----------------------------------------------------------------------------


def test_chat_template_is_applied_to_messages_unless_switched_off(
    hf_models: HFModels, monkeypatch: pytest.MonkeyPatch
) -> None:
    backends = _open(
        {
            "chat": _spec(hf_models.gpt2),
            "plain": _spec(hf_models.gpt2, chat_template=False),
            "no_template": _spec(hf_models.gpt2_plain),
        },
        hf_models.gpt2.parent,
    )
    messages = (Message("system", "be brief"), Message("user", "hello there"))
    seen: list[str] = []
    tok_class = type(backends["chat"]._loaded.tokenizer)
    real_call = tok_class.__call__

    def spy(self: Any, text: Any, *args: Any, **kwargs: Any) -> Any:
        seen.extend([text] if isinstance(text, str) else text)
        return real_call(self, text, *args, **kwargs)

    monkeypatch.setattr(tok_class, "__call__", spy)
    request = Request(kind="generate", prompt=messages, params=SamplingParams(max_tokens=2))
    templated = "<|system|>be brief\n<|user|>hello there\n<|assistant|>"
    for name, expected in (
        ("chat", templated),
        ("plain", prompt_text(messages)),
        ("no_template", prompt_text(messages)),
    ):
        seen.clear()
        (response,) = _run(backends[name], [request])
        assert seen == [expected]
        assert response.input_tokens == len(
            real_call(backends[name]._loaded.tokenizer, expected, add_special_tokens=False)[
                "input_ids"
            ]
        )
    seen.clear()
    _run(backends["chat"], [Request(kind="generate", prompt="as it is", params=request.params)])
    assert seen == ["as it is"]
    for backend in backends.values():
        backend.close()


def test_chat_template_asked_for_but_missing_is_a_model_error(hf_models: HFModels) -> None:
    with pytest.raises(ModelError, match="has no chat template"):
        open_hf_backends(
            {"m": _spec(hf_models.gpt2_plain, chat_template=True)}, root=hf_models.gpt2.parent
        )


def test_stop_strings_cut_the_text(gpt2: dict[str, HFBackend]) -> None:
    prompt = "The quick brown fox"
    free = _run(
        gpt2["base"],
        [Request(kind="generate", prompt=prompt, params=SamplingParams(max_tokens=16))],
    )[0]
    assert free.finish_reason == "length"
    assert free.output_tokens == 16
    assert free.text is not None and len(free.text) >= 8
    stop = free.text[4:6]
    assert stop not in free.text[:4]  # so the cut is at position 4
    params = SamplingParams(max_tokens=16, stop=("never appears", stop))
    cut = _run(
        gpt2["base"], [Request(kind="generate", prompt=prompt, params=params, logprobs=True)]
    )[0]
    assert cut.text == free.text[:4]
    assert cut.finish_reason == "stop"
    assert cut.output_tokens is not None and cut.output_tokens < 16
    assert cut.token_logprobs is not None and len(cut.token_logprobs) == cut.output_tokens
    assert all(lp <= 0 for lp in cut.token_logprobs)


def test_token_logprobs_are_the_models_own(hf_models: HFModels, gpt2: dict[str, HFBackend]) -> None:
    model, tok = _load_causal(hf_models.gpt2)
    prompt = "The capital of France is"
    (response,) = _run(
        gpt2["base"],
        [
            Request(
                kind="generate", prompt=prompt, params=SamplingParams(max_tokens=5), logprobs=True
            )
        ],
    )
    ids = tok(prompt, add_special_tokens=False)["input_ids"]
    expected = []
    with torch.no_grad():
        for _ in range(5):
            logprobs = torch.log_softmax(model(input_ids=torch.tensor([ids])).logits[0, -1], dim=-1)
            best = int(logprobs.argmax())
            expected.append(float(logprobs[best]))
            ids.append(best)
    assert response.token_logprobs == pytest.approx(expected, abs=1e-4)


def test_sampling_is_reproducible_from_its_seed(gpt2: dict[str, HFBackend]) -> None:
    params = SamplingParams(temperature=1.0, top_p=0.9, max_tokens=12, seed=7)
    requests = [
        Request(kind="generate", prompt="The dog", params=params, sample=k) for k in (0, 1, 2)
    ]
    first = [r.text for r in _run(gpt2["base"], requests)]
    again = [r.text for r in _run(gpt2["base"], requests)]
    assert first == again
    assert len(set(first)) > 1  # each sample draws with its own seed


# -- classifier -----------------------------------------------------------------------------


def test_classifier_probabilities_match_a_direct_forward_pass(hf_models: HFModels) -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    backend = _open({"cls": _spec(hf_models.classifier, batch_size=2)}, hf_models.gpt2.parent)[
        "cls"
    ]
    assert backend.supports == {"classify"}
    model = AutoModelForSequenceClassification.from_pretrained(hf_models.classifier).eval()
    tok = AutoTokenizer.from_pretrained(hf_models.classifier)
    texts = ["my invoice was charged twice", "the app crashes", "hello"]
    responses = _run(backend, [Request(kind="classify", prompt=t) for t in texts])
    for text, response in zip(texts, responses, strict=True):
        assert response.probabilities is not None
        assert set(response.probabilities) == set(CLASSIFIER_LABELS.values())
        assert sum(response.probabilities.values()) == pytest.approx(1.0, abs=1e-6)
        with torch.no_grad():
            probs = torch.softmax(model(**tok(text, return_tensors="pt")).logits[0], dim=-1)
        for k, label in CLASSIFIER_LABELS.items():
            assert response.probabilities[label] == pytest.approx(float(probs[k]), abs=1e-5)
    (wrong,) = _run(backend, [Request(kind="loglikelihood", prompt="a", continuation="b")])
    assert wrong.error is not None and "cannot answer loglikelihood" in wrong.error
    backend.close()


# -- failures -------------------------------------------------------------------------------


def test_missing_path_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no-such-model"):
        open_hf_backends({"m": _spec(Path("no-such-model"))}, root=tmp_path)


def test_a_failing_batch_answers_its_requests_with_the_error(
    gpt2: dict[str, HFBackend], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = HFBackend._causal_scores

    def flaky(self: HFBackend, pairs: list[Any], *, mode: Any) -> list[Response]:
        calls.append(len(pairs))
        if len(calls) == 2:
            raise RuntimeError("boom")
        return real(self, pairs, mode=mode)

    monkeypatch.setattr(HFBackend, "_causal_scores", flaky)
    responses = _run(gpt2["base"], _ll_requests())  # 20 requests: batches of 8, 8, 4
    assert calls == [8, 8, 4]
    failed = [r for r in responses if not r.ok]
    assert len(failed) == 8
    assert all("RuntimeError: boom" in (r.error or "") for r in failed)


def test_running_out_of_gpu_memory_halves_the_batch(
    gpt2: dict[str, HFBackend], monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes: list[int] = []
    real = HFBackend._causal_scores

    def tight(self: HFBackend, pairs: list[Any], *, mode: Any) -> list[Response]:
        sizes.append(len(pairs))
        if len(pairs) > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")
        return real(self, pairs, mode=mode)

    monkeypatch.setattr(HFBackend, "_causal_scores", tight)
    responses = _run(gpt2["base"], _ll_requests())
    assert all(r.ok for r in responses)
    assert sizes[:3] == [8, 4, 2]
    assert max(sizes[3:]) == 2


def test_missing_libraries_are_a_model_error_with_an_install_hint(
    hf_models: HFModels, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "peft", None)
    with pytest.raises(
        ModelError, match=r'needs torch, transformers and peft: pip install "heldout\[hf\]"'
    ):
        open_hf_backends(
            {"m": _spec(hf_models.gpt2, adapter=str(hf_models.lora))}, root=hf_models.gpt2.parent
        )
    # a model without an adapter does not need peft at all
    backends = open_hf_backends({"m": _spec(hf_models.gpt2)}, root=hf_models.gpt2.parent)
    backends["m"].close()


def test_importing_the_backend_does_not_import_torch() -> None:
    code = "import sys, heldout.models._hf; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
