"""The ``hf`` backend: local Hugging Face transformers models, optionally with PEFT adapters.

``open_hf_backends`` turns the ``backend: hf`` entries of eval.yaml into live backends.
torch, transformers and peft are imported there, not when this module is imported, so the
CLI starts fast without them.

What each kind of model answers:

* causal language models: ``generate`` and ``loglikelihood``;
* encoder-decoder (seq2seq) models: ``generate`` and ``loglikelihood``;
* sequence classifiers: ``classify`` (a probability per class, named by ``id2label``).

Models that share a folder, kind, device and dtype share one copy of the weights: each
adapter is loaded onto that copy under its own name and switched on only while its own
backend runs; a backend without an adapter runs with every adapter switched off. Backends
are therefore used one at a time, never concurrently.

Opening backends reads no weights: paths, configs, tokenizers and identities (file hashes)
are all a run needs to plan its calls and find the ones already journaled. The weights of a
folder, with every adapter of its backends, are loaded by the first ``run`` of any of them
that has requests to answer, so that a run whose calls are all journaled loads nothing, and
an adapter that does not fit fails before any call of its folder is made.

Log-likelihoods follow lm-evaluation-harness exactly: trailing whitespace of the context
moves onto the continuation, the continuation's tokens are those of
``encode(context + continuation)`` after the first ``len(encode(context))``, an empty
context is replaced by the BOS (else EOS) token, and inputs are truncated from the left to
the model's maximum length; causal models encode text without special tokens, as
lm-evaluation-harness does by default. Two things make scoring multiple-choice items cheap:
only the positions that predict continuation tokens go through the output layer, and
requests of one batch that share a context run it once, each continuation then reusing its
cached keys and values (requests with the same context are batched together). Both are
checked once per model against its own full forward pass and left off where they differ.
Results do not depend on the batch size beyond floating-point rounding (padding is on the
right and masked).

Generation is greedy at temperature 0 and then does not depend on batching either (padding
is on the left, positions follow the attention mask). Sampled outputs draw from a torch
generator seeded per request (``seed + sample``), but can still differ with the batch
size, as the batch changes the floating-point rounding of the logits. A response's
``latency_s`` is the wall time of its batch divided by the batch's size, and its
``token_logprobs`` are the model's own log-probabilities of the generated tokens (before
temperature and top-p). A classifier's response holds ``probabilities`` (a softmax over its
classes) and, as ``text``, the most probable class.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import inspect
import json
import logging
import re
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from heldout._errors import ModelError
from heldout.models._protocol import (
    Backend,
    OnDone,
    Prompt,
    Request,
    RequestKind,
    Response,
    prompt_text,
)
from heldout.spec import HFModelSpec

if TYPE_CHECKING:
    import torch

__all__ = ["HFBackend", "open_hf_backends"]

Kind = Literal["causal", "seq2seq", "classifier"]
_Mode = Literal["full", "fast", "shared"]

_SUPPORTS: dict[Kind, frozenset[RequestKind]] = {
    "causal": frozenset({"generate", "loglikelihood"}),
    "seq2seq": frozenset({"generate", "loglikelihood"}),
    "classifier": frozenset({"classify"}),
}
_INSTALL_HINT = 'needs torch, transformers and peft: pip install "heldout[hf]"'
_TOKENIZER_FILES = frozenset(
    {
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "added_tokens.json",
        "vocab.json",
        "vocab.txt",
        "merges.txt",
        "tokenizer.model",
        "spiece.model",
        "sentencepiece.bpe.model",
        "chat_template.jinja",
        "chat_template.json",
    }
)
# config attributes of models whose logits are more than the output layer's (Gemma 2,
# Cohere, Granite): they are scored through the full forward pass
_LOGIT_POSTPROCESSING = (
    "final_logit_softcapping",
    "logit_scale",
    "logits_scaling",
    "output_multiplier_scale",
)
_ADAPTER_WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")
_HASHES: dict[tuple[tuple[str, int, int], ...], str] = {}
# lm-evaluation-harness's default when neither the config nor the tokenizer names a limit
_DEFAULT_MAX_LENGTH = 2048


def open_hf_backends(specs: Mapping[str, HFModelSpec], *, root: Path) -> dict[str, Backend]:
    """A backend for every ``hf`` model of the spec, sharing weights between models of one folder.

    The weights are not loaded here but by the first ``run`` with requests of any backend
    of the folder, which then loads them with every adapter of that folder's backends; an
    adapter that does not fit the weights (shapes, target modules) is a ``ModelError`` of
    that ``run``, raised before any request is answered.

    Args:
        specs: model name to its spec.
        root: the folder of eval.yaml; relative paths are resolved against it.

    Returns:
        model name to its backend, in the order of ``specs``.

    Raises:
        ModelError: torch, transformers or peft are missing; a folder is missing, holds no
            weight files, or its config or tokenizer cannot be read; an adapter folder is
            not a PEFT adapter, holds no adapter weights or adds virtual tokens; a chat
            template is asked for and the tokenizer has none.

    Example:
        >>> backends = open_hf_backends({"base": spec}, root=Path("."))  # doctest: +SKIP
    """
    if not specs:
        return {}
    _import_hf(list(specs), adapters=any(spec.adapter for spec in specs.values()))
    plans = {name: _plan(name, spec, root=root) for name, spec in specs.items()}
    shared: dict[tuple[Path, Kind, str, str], _Loaded] = {}
    backends: dict[str, Backend] = {}
    with _quiet_loading():
        for name, plan in plans.items():
            key = (plan.path, plan.kind, plan.device, plan.dtype)
            if key not in shared:
                shared[key] = _Loaded.open(name, plan)
            loaded = shared[key]
            adapter = None if plan.adapter is None else loaded.add_adapter(name, plan.adapter)
            backends[name] = HFBackend(name, specs[name], loaded, plan=plan, adapter=adapter)
    return backends


def _import_hf(names: list[str], *, adapters: bool) -> None:
    """Fail early, with the install hint, when a library is missing; peft (seconds to
    import) only when some model has an adapter."""
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401

        if adapters:
            import peft  # noqa: F401
    except ImportError as exc:
        raise ModelError(
            f"models.{names[0]}: backend hf (no module {exc.name!r}) {_INSTALL_HINT}"
        ) from exc


@dataclass(frozen=True)
class _Plan:
    """A spec with its paths, kind, device and dtype resolved."""

    path: Path
    adapter: Path | None
    kind: Kind
    device: str
    dtype: str
    config: Any


def _plan(name: str, spec: HFModelSpec, *, root: Path) -> _Plan:
    import torch
    from transformers import AutoConfig

    path = (root / Path(spec.path).expanduser()).resolve()
    if not path.is_dir():
        raise ModelError(
            f"models.{name}.path: {path} is not a folder. Point it at a model saved with "
            "save_pretrained (config.json, weights and tokenizer)"
        )
    if not _weight_files(path):
        raise ModelError(
            f"models.{name}.path: {path} holds no weight files (*.safetensors or *.bin). "
            "Save the model there with save_pretrained"
        )
    adapter = None
    if spec.adapter is not None:
        adapter = (root / Path(spec.adapter).expanduser()).resolve()
        if not (adapter / "adapter_config.json").is_file():
            raise _adapter_error(
                name,
                adapter,
                path,
                "it is not a PEFT adapter folder (no adapter_config.json). "
                "Save the adapter with PeftModel.save_pretrained",
            )
        if not any((adapter / f).is_file() for f in _ADAPTER_WEIGHTS):
            raise _adapter_error(
                name,
                adapter,
                path,
                f"it holds no adapter weights ({' or '.join(_ADAPTER_WEIGHTS)}). "
                "Save the adapter with PeftModel.save_pretrained",
            )
    try:
        config = AutoConfig.from_pretrained(path)
    except Exception as exc:
        raise ModelError(
            f"models.{name}.path: cannot read the model config in {path}: {exc}"
        ) from exc
    kind: Kind
    if spec.kind != "auto":
        kind = spec.kind
    elif getattr(config, "is_encoder_decoder", False):
        kind = "seq2seq"
    elif any(a.endswith("ForSequenceClassification") for a in config.architectures or ()):
        kind = "classifier"
    else:
        kind = "causal"
    device = spec.device
    if device == "auto":
        if torch.cuda.is_available():
            device = "cuda"
        elif torch.backends.mps.is_available():
            device = "mps"
        else:
            device = "cpu"
    elif device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelError(f"models.{name}.device: {device} asked for, but torch sees no CUDA GPU")
    dtype: str = spec.dtype
    if dtype == "auto":
        cuda_bf16 = device.startswith("cuda") and torch.cuda.is_bf16_supported()
        dtype = "bfloat16" if cuda_bf16 else "float32"
    return _Plan(path=path, adapter=adapter, kind=kind, device=device, dtype=dtype, config=config)


@contextlib.contextmanager
def _quiet_loading() -> Iterator[None]:
    """No progress bars while loading, and no deprecation noise between library versions."""
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        with warnings.catch_warnings():
            # peft 0.21 reads is_gradient_checkpointing, deprecated in transformers 5
            warnings.filterwarnings(
                "ignore", message=".*is_gradient_checkpointing", category=FutureWarning
            )
            yield
    finally:
        if bars:
            hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]


class _DropPaddingNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "recommend passing in an `attention_mask`" not in record.getMessage()


@contextlib.contextmanager
def _no_padding_notice() -> Iterator[None]:
    """Silence transformers' padding notice while generating.

    Encoder-decoder models start decoding from the padding token (T5), which transformers
    takes for padding without a mask; the encoder's padding is masked.
    """
    logger = logging.getLogger("transformers.modeling_utils")
    notice = _DropPaddingNotice()
    logger.addFilter(notice)
    try:
        yield
    finally:
        logger.removeFilter(notice)


def _load_model(plan: _Plan) -> Any:
    """Load the weights of a folder (the one place weights are read, so tests can count)."""
    import torch
    from transformers import (
        AutoModelForCausalLM,
        AutoModelForSeq2SeqLM,
        AutoModelForSequenceClassification,
    )

    auto = {
        "causal": AutoModelForCausalLM,
        "seq2seq": AutoModelForSeq2SeqLM,
        "classifier": AutoModelForSequenceClassification,
    }[plan.kind]
    model = auto.from_pretrained(plan.path, dtype=getattr(torch, plan.dtype))
    return model.to(plan.device).eval()


@dataclass(eq=False)
class _Loaded:
    """The tokenizer of a folder and, once loaded, its weights, shared by its backends.

    Opening reads the tokenizer and each adapter's config only; ``load`` reads the weights
    and puts every adapter added by then onto them, all at once.
    """

    plan: _Plan
    tokenizer: Any
    model: Any = None
    peft: Any = None
    eos: tuple[int, ...] = ()
    # adapter folder to its adapter name, and to the model that added it (for errors)
    adapters: dict[Path, str] = field(default_factory=dict)
    owners: dict[Path, str] = field(default_factory=dict)
    users: int = 0
    modes: dict[str | None, _Mode] = field(default_factory=dict)
    failed: str | None = None  # why loading failed (the message is kept, not the weights)

    @classmethod
    def open(cls, name: str, plan: _Plan) -> _Loaded:
        from transformers import AutoTokenizer

        try:
            tokenizer = AutoTokenizer.from_pretrained(plan.path)
        except Exception as exc:
            raise ModelError(
                f"models.{name}.path: cannot load the tokenizer in {plan.path}: {exc}. "
                "Save it beside the model with tokenizer.save_pretrained"
            ) from exc
        return cls(plan=plan, tokenizer=tokenizer)

    def add_adapter(self, name: str, adapter: Path) -> str:
        """Check ``adapter``'s config and name it (once per folder); ``load`` loads it."""
        if adapter in self.adapters:
            return self.adapters[adapter]
        from peft import PeftConfig

        try:
            config = PeftConfig.from_pretrained(str(adapter))
        except Exception as exc:
            raise _adapter_error(name, adapter, self.plan.path, str(exc)) from exc
        if config.is_prompt_learning:
            raise _adapter_error(
                name,
                adapter,
                self.plan.path,
                f"{config.peft_type} adapters add virtual tokens; only adapters that change "
                "weights (LoRA, IA3, ...) are supported",
            )
        # peft refuses names inside its parameter prefixes ("lora_"): "a" or "lora" would clash
        adapter_name = "adapter_" + re.sub(r"\W", "_", name)
        while adapter_name in self.adapters.values():
            adapter_name += "_"
        self.adapters[adapter] = adapter_name
        self.owners[adapter] = name
        return adapter_name

    def load(self, name: str) -> None:
        """Load the weights and every adapter, unless done (``name``: the model asking).

        Raises:
            ModelError: the weights cannot be loaded or an adapter does not fit them; the
                same error again on every later call, without loading anything.
        """
        if self.model is not None:
            return
        if self.failed is not None:
            raise ModelError(self.failed)
        try:
            with _quiet_loading():
                try:
                    model = _load_model(self.plan)
                except Exception as exc:
                    raise ModelError(
                        f"models.{name}.path: cannot load the {self.plan.kind} model in "
                        f"{self.plan.path}: {exc}"
                    ) from exc
                for adapter, adapter_name in self.adapters.items():
                    self._load_adapter(model, adapter, adapter_name)
        except ModelError as exc:
            self.failed = str(exc)
            self.peft = None
            raise
        tok = self.tokenizer
        generation_config = getattr(model, "generation_config", None)
        gen_eos = getattr(generation_config, "eos_token_id", None)
        eos = gen_eos if gen_eos is not None else tok.eos_token_id
        self.eos = tuple(eos) if isinstance(eos, list) else (() if eos is None else (int(eos),))
        self.model = model

    def _load_adapter(self, model: Any, adapter: Path, adapter_name: str) -> None:
        from peft import PeftModel

        name = self.owners[adapter]
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                if self.peft is None:
                    self.peft = PeftModel.from_pretrained(
                        model,
                        adapter,
                        adapter_name=adapter_name,
                        torch_device=self.plan.device,
                    )
                    missing = [
                        str(w.message) for w in caught if "missing adapter keys" in str(w.message)
                    ]
                else:
                    result = self.peft.load_adapter(
                        adapter, adapter_name=adapter_name, torch_device=self.plan.device
                    )
                    missing = [k for k in result.missing_keys if f".{adapter_name}." in k]
        except Exception as exc:
            raise _adapter_error(
                name, adapter, self.plan.path, f"{type(exc).__name__}: {exc}"
            ) from exc
        for w in caught:
            text = str(w.message)
            if "missing adapter keys" not in text and "is_gradient_checkpointing" not in text:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        if missing:
            raise _adapter_error(name, adapter, self.plan.path, f"weights missing: {missing[0]}")
        self.peft.eval()

    @contextlib.contextmanager
    def active(self, adapter: str | None) -> Iterator[None]:
        """Switch the shared weights to ``adapter`` (``None``: every adapter off)."""
        if self.peft is None:
            yield
        elif adapter is None:
            with self.peft.disable_adapter():
                yield
        else:
            self.peft.set_adapter(adapter)
            yield

    def release(self) -> None:
        self.users -= 1
        if self.users > 0:
            return
        loaded = self.model is not None
        self.model = self.peft = None
        if loaded:
            _empty_cache()


def _adapter_error(name: str, adapter: Path, base: Path, reason: str) -> ModelError:
    return ModelError(
        f"models.{name}.adapter: {adapter} does not fit the base model {base}: {reason}"
    )


@dataclass(frozen=True)
class _Pair:
    """A log-likelihood request as tokens: model input and continuation targets."""

    tokens: tuple[int, ...]  # causal: context + continuation, truncated; seq2seq: encoder input
    continuation: tuple[int, ...]

    @property
    def context(self) -> tuple[int, ...]:
        """Causal: the tokens before the continuation's (what requests can share)."""
        return self.tokens[: len(self.tokens) - len(self.continuation)]


class HFBackend:
    """A local transformers model (and adapter) answering requests in batches.

    Everything but the weights is ready once it is open (``supports``, ``identity``,
    ``max_length``, ``render``); the weights are loaded by the first ``run`` with requests.

    Attributes:
        name: the model's name in the spec.
        supports: the request kinds it answers.
        identity: what its answers depend on: ``backend``, ``path``, ``kind``, ``dtype``,
            ``weights`` (sha256 of the weight files), ``tokenizer`` (sha256 of the
            tokenizer files) and, with an adapter, ``adapter``, ``adapter_hash`` and
            ``adapter_config``. Public so that a run can record it.
        device: where the model runs.
        max_length: the longest input in tokens; longer inputs lose their beginning.
    """

    def __init__(
        self,
        name: str,
        spec: HFModelSpec,
        loaded: _Loaded,
        *,
        plan: _Plan,
        adapter: str | None,
    ) -> None:
        self.name = name
        self.spec = spec
        self.kind: Kind = plan.kind
        self.supports: frozenset[RequestKind] = _SUPPORTS[plan.kind]
        self.device = plan.device
        self._loaded = loaded
        self._adapter = adapter
        self._closed = False
        tok = loaded.tokenizer
        has_template = getattr(tok, "chat_template", None) is not None
        if spec.chat_template is True and not has_template:
            raise ModelError(
                f"models.{name}.chat_template: the tokenizer in {plan.path} has no chat "
                "template. Add one to tokenizer_config.json, or set chat_template: false to "
                "send messages as 'role: content' text"
            )
        self._chat = has_template and spec.chat_template is not False
        self.max_length = spec.max_length or _model_max_length(plan.config, tok)
        self._pad = _first_id(tok.pad_token_id, tok.eos_token_id, 0)
        self.identity: Mapping[str, Any] = _identity(plan, kind=plan.kind)
        loaded.users += 1

    # -- the protocol -------------------------------------------------------------------

    def run(self, requests: Sequence[Request], on_done: OnDone) -> None:
        """Answer every request, calling ``on_done(i, response)`` with its original index.

        The first call with a request to answer loads the weights of this backend's folder
        with all of its adapters (shared with the folder's other backends).

        Raises:
            ModelError: the backend is closed; the weights cannot be loaded or an adapter
                of the folder does not fit them (before any ``on_done``).
        """
        if self._closed:
            raise ModelError(f"models.{self.name}: the backend is closed")
        by_kind: dict[RequestKind, list[int]] = {}
        unsupported: list[int] = []
        for i, request in enumerate(requests):
            if request.kind in self.supports:
                by_kind.setdefault(request.kind, []).append(i)
            else:
                unsupported.append(i)
        if by_kind:
            self._loaded.load(self.name)
        allowed = ", ".join(sorted(self.supports))
        for i in unsupported:
            error = (
                f"models.{self.name}: a {self.kind} model cannot answer "
                f"{requests[i].kind} requests (it answers {allowed})"
            )
            on_done(i, Response(error=error))
        if not by_kind:
            return
        import torch

        with torch.inference_mode(), self._loaded.active(self._adapter):
            if "loglikelihood" in by_kind:
                self._loglikelihood(requests, by_kind["loglikelihood"], on_done)
            if "classify" in by_kind:
                self._classify(requests, by_kind["classify"], on_done)
            if "generate" in by_kind:
                self._generate(requests, by_kind["generate"], on_done)

    def close(self) -> None:
        """Release this backend's share of the weights (freed when no backend uses them)."""
        if not self._closed:
            self._closed = True
            self._loaded.release()

    def render(self, prompt: Prompt) -> str:
        """The text the model is given for ``prompt``.

        Chat messages go through the tokenizer's chat template (with the generation
        prompt) unless ``chat_template: false`` or the tokenizer has none; then they are
        joined as ``role: content`` lines. Plain text is used as it is.
        """
        if isinstance(prompt, str):
            return prompt
        if not self._chat:
            return prompt_text(prompt)
        messages = [{"role": m.role, "content": m.content} for m in prompt]
        text = self._loaded.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )
        return str(text)

    def _render_each(
        self, requests: Sequence[Request], indices: list[int], on_done: OnDone
    ) -> dict[int, str]:
        """Each prompt's text; a prompt the chat template rejects is answered with the error."""
        texts = {}
        for i in indices:
            try:
                texts[i] = self.render(requests[i].prompt)
            except Exception as exc:
                error = f"models.{self.name}: cannot render the prompt: {type(exc).__name__}: {exc}"
                on_done(i, Response(error=error))
        return texts

    # -- batching -----------------------------------------------------------------------

    def _batches(
        self,
        order: Sequence[int],
        step: Callable[[list[int]], list[Response]],
        on_done: OnDone,
    ) -> None:
        """Run ``step`` on batches of ``order``; a failed batch answers each of its requests
        with the error, except running out of GPU memory, which halves the batch."""
        size = self.spec.batch_size
        start = 0
        while start < len(order):
            chunk = list(order[start : start + size])
            try:
                responses = step(chunk)
            except Exception as exc:
                if _is_out_of_memory(exc) and size > 1:
                    size = max(1, size // 2)
                    _empty_cache()
                    continue
                error = f"models.{self.name}: {type(exc).__name__}: {exc}"
                responses = [Response(error=error) for _ in chunk]
            for i, response in zip(chunk, responses, strict=True):
                on_done(i, response)
            start += len(chunk)

    # -- log-likelihood -----------------------------------------------------------------

    def _loglikelihood(
        self, requests: Sequence[Request], indices: list[int], on_done: OnDone
    ) -> None:
        texts = self._render_each(requests, indices, on_done)
        indices = list(texts)
        encoded = self._encode_pairs([texts[i] for i in indices], [requests[i] for i in indices])
        pairs = dict(zip(indices, encoded, strict=True))
        if self.kind == "causal":
            mode = self._scoring_mode()
            # longest context first (the first batch shows at once whether memory suffices),
            # and requests that share a context side by side, so that they share its pass
            order = sorted(indices, key=lambda i: (-len(pairs[i].context), pairs[i].tokens))

            def step(chunk: list[int]) -> list[Response]:
                return self._causal_scores([pairs[i] for i in chunk], mode=mode)
        else:
            order = sorted(indices, key=lambda i: (-len(pairs[i].tokens), pairs[i].tokens))

            def step(chunk: list[int]) -> list[Response]:
                return self._seq2seq_scores([pairs[i] for i in chunk])

        self._batches(order, step, on_done)

    def _encode_pairs(self, texts: list[str], requests: Sequence[Request]) -> list[_Pair]:
        tok = self._loaded.tokenizer
        contexts, continuations = [], []
        for context, request in zip(texts, requests, strict=True):
            stripped = context.rstrip()
            # lm-evaluation-harness moves the context's trailing whitespace onto the continuation
            continuations.append(context[len(stripped) :] + request.continuation)
            contexts.append(stripped)
        if self.kind == "seq2seq":
            context_ids = tok(contexts)["input_ids"]
            continuation_ids = tok(continuations, add_special_tokens=False)["input_ids"]
            return [
                _Pair(tuple(c[-self.max_length :]), tuple(x))
                for c, x in zip(context_ids, continuation_ids, strict=True)
            ]
        whole = tok(
            [c + x for c, x in zip(contexts, continuations, strict=True)], add_special_tokens=False
        )
        context_ids = tok(contexts, add_special_tokens=False)["input_ids"]
        prefix = _first_id(tok.bos_token_id, tok.eos_token_id, 0)
        empty_continuations = [x for c, x in zip(contexts, continuations, strict=True) if not c]
        empty_ids = iter(
            tok(empty_continuations, add_special_tokens=False)["input_ids"]
            if empty_continuations
            else []
        )
        pairs = []
        tokens: list[int]
        for context, ids, whole_ids in zip(contexts, context_ids, whole["input_ids"], strict=True):
            if context:
                continuation = list(whole_ids[len(ids) :])
                tokens = list(whole_ids)
            else:
                continuation = list(next(empty_ids))
                tokens = [prefix, *continuation]
            # the model sees tokens[:-1]; keep max_length of them, dropping the oldest
            tokens = tokens[-(self.max_length + 1) :]
            continuation = continuation[
                len(continuation) - min(len(continuation), len(tokens) - 1) :
            ]
            pairs.append(_Pair(tuple(tokens), tuple(continuation)))
        return pairs

    def _causal_scores(self, pairs: list[_Pair], *, mode: _Mode) -> list[Response]:
        started = time.perf_counter()
        logits, targets, owner = self._causal_logits(pairs, mode=mode)
        return self._sum_scores(logits, targets, owner, pairs, started)

    def _causal_logits(
        self, pairs: list[_Pair], *, mode: _Mode
    ) -> tuple[torch.Tensor, list[int], list[int]]:
        """The logits that predict each continuation token, its target and its request.

        ``full`` runs the model as it is; ``fast`` runs its body and puts only the positions
        that predict continuation tokens through the output layer; ``shared`` also runs a
        context that several requests of the batch share once, and their continuations
        on top of its cached keys and values.
        """
        if mode == "shared":
            shared = self._shared_logits(pairs)
            if shared is not None:
                return shared
            mode = "fast"
        import torch

        model = self._loaded.model
        inputs = [p.tokens[:-1] for p in pairs]
        ids, mask = self._right_padded(inputs)
        rows: list[int] = []
        cols: list[int] = []
        targets: list[int] = []
        for b, (pair, row) in enumerate(zip(pairs, inputs, strict=True)):
            n = len(pair.continuation)
            rows.extend([b] * n)
            cols.extend(range(len(row) - n, len(row)))
            targets.extend(pair.continuation)
        row_t = torch.tensor(rows, dtype=torch.long, device=ids.device)
        col_t = torch.tensor(cols, dtype=torch.long, device=ids.device)
        if mode == "fast":
            body = getattr(model, model.base_model_prefix)
            hidden = body(input_ids=ids, attention_mask=mask, use_cache=False).last_hidden_state
            logits = model.get_output_embeddings()(hidden[row_t, col_t])
        else:
            logits = model(input_ids=ids, attention_mask=mask, use_cache=False).logits[row_t, col_t]
        return logits, targets, rows

    def _shared_logits(
        self, pairs: list[_Pair]
    ) -> tuple[torch.Tensor, list[int], list[int]] | None:
        """As ``fast``, with each distinct context of the batch run once (``None``: none repeats).

        The contexts go through the body once, right-padded, keeping their keys and values;
        each request's continuation then runs on its context's cache, with the padding
        masked and positions continuing from the context's length.
        """
        import torch

        distinct: dict[tuple[int, ...], int] = {}
        group = [distinct.setdefault(p.context, len(distinct)) for p in pairs]
        if len(distinct) == len(pairs):
            return None
        model = self._loaded.model
        window = getattr(model.config, "sliding_window", None)
        if isinstance(window, int) and max(len(p.tokens) for p in pairs) > window:
            return None  # a sliding-window cache keeps too little of a long context
        body = getattr(model, model.base_model_prefix)
        head = model.get_output_embeddings()
        contexts = list(distinct)
        ids, mask = self._right_padded(contexts)
        out = body(input_ids=ids, attention_mask=mask, use_cache=True)
        device = ids.device
        # each context's last position predicts the first continuation token
        last = torch.tensor([len(c) - 1 for c in contexts], dtype=torch.long, device=device)
        group_t = torch.tensor(group, dtype=torch.long, device=device)
        logits = [head(out.last_hidden_state[group_t, last[group_t]])]
        targets = [p.continuation[0] for p in pairs]
        owner = list(range(len(pairs)))
        rests = [p.continuation[:-1] for p in pairs]  # the rest of each input, after the context
        width = max(len(r) for r in rests)
        if width:
            cache = _output_cache(out)
            cache.reorder_cache(group_t)
            rest_ids, rest_mask = self._right_padded(rests)
            starts = torch.tensor([len(p.context) for p in pairs], dtype=torch.long, device=device)
            positions = starts[:, None] + torch.arange(width, device=device)[None, :]
            hidden = body(
                input_ids=rest_ids,
                attention_mask=torch.cat([mask[group_t], rest_mask], dim=1),
                position_ids=positions,
                use_cache=True,
                **{_cache_argument(body): cache},
            ).last_hidden_state
            rows: list[int] = []
            cols: list[int] = []
            for b, (pair, rest) in enumerate(zip(pairs, rests, strict=True)):
                rows.extend([b] * len(rest))
                cols.extend(range(len(rest)))
                targets.extend(pair.continuation[1:])
            owner.extend(rows)
            row_t = torch.tensor(rows, dtype=torch.long, device=device)
            col_t = torch.tensor(cols, dtype=torch.long, device=device)
            logits.append(head(hidden[row_t, col_t]))
        return torch.cat(logits), targets, owner

    def _seq2seq_scores(self, pairs: list[_Pair]) -> list[Response]:
        import torch

        started = time.perf_counter()
        model = self._loaded.model
        ids, mask = self._right_padded([p.tokens for p in pairs])
        start = model.generation_config.decoder_start_token_id
        if start is None:
            start = model.config.decoder_start_token_id
        decoder, decoder_mask = self._right_padded(
            [(int(start), *p.continuation[:-1]) for p in pairs]
        )
        logits = model(
            input_ids=ids,
            attention_mask=mask,
            decoder_input_ids=decoder,
            decoder_attention_mask=decoder_mask,
            use_cache=False,
        ).logits
        rows: list[int] = []
        cols: list[int] = []
        targets: list[int] = []
        owner: list[int] = []
        for b, pair in enumerate(pairs):
            n = len(pair.continuation)
            rows.extend([b] * n)
            cols.extend(range(n))
            targets.extend(pair.continuation)
            owner.extend([b] * n)
        row_t = torch.tensor(rows, dtype=torch.long, device=ids.device)
        col_t = torch.tensor(cols, dtype=torch.long, device=ids.device)
        return self._sum_scores(logits[row_t, col_t], targets, owner, pairs, started)

    def _sum_scores(
        self,
        logits: torch.Tensor,
        targets: list[int],
        owner: list[int],
        pairs: list[_Pair],
        started: float,
    ) -> list[Response]:
        import torch

        device = logits.device
        target_t = torch.tensor(targets, dtype=torch.long, device=device)
        owner_t = torch.tensor(owner, dtype=torch.long, device=device)
        logits = logits.float()
        token_logprobs = torch.log_softmax(logits, dim=-1).gather(1, target_t[:, None])[:, 0]
        misses = (logits.argmax(dim=-1) != target_t).to(torch.float32)
        sums = torch.zeros(len(pairs), dtype=torch.float64, device=device)
        sums.index_add_(0, owner_t, token_logprobs.double())
        missed = torch.zeros(len(pairs), dtype=torch.float32, device=device)
        missed.index_add_(0, owner_t, misses)
        latency = (time.perf_counter() - started) / len(pairs)
        return [
            Response(
                logprob=float(total),
                greedy=bool(miss == 0),
                input_tokens=len(pair.tokens),
                latency_s=latency,
            )
            for total, miss, pair in zip(sums.tolist(), missed.tolist(), pairs, strict=True)
        ]

    def _scoring_mode(self) -> _Mode:
        """The cheapest way of scoring that gives this model's own log-likelihoods.

        Checked once per adapter on a few short requests against the model's full forward
        pass: a model that post-processes its logits (soft-capping, scaling) or whose cache
        cannot be reused this way falls back to a mode that matches.
        """
        modes = self._loaded.modes
        if self._adapter not in modes:
            modes[self._adapter] = self._check_modes()
        return modes[self._adapter]

    def _check_modes(self) -> _Mode:
        import torch

        self._loaded.load(self.name)
        model = self._loaded.model
        prefix = getattr(model, "base_model_prefix", "")
        body = getattr(model, prefix, None) if prefix else None
        if body is None or body is model or model.get_output_embeddings() is None:
            return "full"
        if any(getattr(model.config, a, None) for a in _LOGIT_POSTPROCESSING):
            return "full"
        vocab = int(model.config.vocab_size)
        probe = [int(t) for t in torch.arange(1, 10) * 7919 % vocab]
        pairs = [
            _Pair(tuple(probe[:8]), tuple(probe[5:8])),
            _Pair(tuple(probe[:6]), tuple(probe[5:6])),
            _Pair(tuple(probe[:5] + probe[6:9]), tuple(probe[6:9])),
            _Pair(tuple(probe[2:9]), tuple(probe[7:9])),
        ]
        exact = self.identity["dtype"] == "float32"
        rtol, atol = (1e-4, 1e-4) if exact else (1e-2, 5e-2)
        reference, targets, owner = self._causal_logits(pairs, mode="full")
        order = sorted(range(len(targets)), key=lambda k: (owner[k], k))
        for mode in ("shared", "fast"):
            try:
                logits, got_targets, got_owner = self._causal_logits(pairs, mode=mode)
            except Exception:
                continue
            # the same (request, token) rows, whatever order the mode produced them in
            got = sorted(range(len(got_targets)), key=lambda k: (got_owner[k], k))
            same = [got_targets[k] for k in got] == [targets[k] for k in order]
            if same and torch.allclose(
                logits[got].float(), reference[order].float(), rtol=rtol, atol=atol
            ):
                return mode
        return "full"

    # -- classification -----------------------------------------------------------------

    def _classify(self, requests: Sequence[Request], indices: list[int], on_done: OnDone) -> None:
        tok = self._loaded.tokenizer
        texts = [prompt_text(requests[i].prompt) for i in indices]
        encoded = dict(
            zip(
                indices,
                tok(texts, truncation=True, max_length=self.max_length)["input_ids"],
                strict=True,
            )
        )
        order = sorted(indices, key=lambda i: -len(encoded[i]))
        config = self._loaded.model.config
        labels = [str(config.id2label.get(k, k)) for k in range(int(config.num_labels))]

        def step(chunk: list[int]) -> list[Response]:
            import torch

            started = time.perf_counter()
            ids, mask = self._right_padded([encoded[i] for i in chunk])
            logits = self._loaded.model(input_ids=ids, attention_mask=mask).logits
            probabilities = torch.softmax(logits.float(), dim=-1).tolist()
            latency = (time.perf_counter() - started) / len(chunk)
            return [
                Response(
                    probabilities=dict(zip(labels, row, strict=True)),
                    text=labels[max(range(len(row)), key=row.__getitem__)],
                    input_tokens=len(encoded[i]),
                    latency_s=latency,
                )
                for i, row in zip(chunk, probabilities, strict=True)
            ]

        self._batches(order, step, on_done)

    # -- generation ---------------------------------------------------------------------

    def _generate(self, requests: Sequence[Request], indices: list[int], on_done: OnDone) -> None:
        tok = self._loaded.tokenizer
        texts = self._render_each(requests, indices, on_done)
        indices = list(texts)
        encoded: dict[int, list[int]] = {}
        for i, text in texts.items():
            # a chat template writes its own special tokens; plain text follows lm-eval
            templated = self._chat and not isinstance(requests[i].prompt, str)
            add = self.kind == "seq2seq" and not templated
            encoded[i] = list(tok(text, add_special_tokens=add)["input_ids"])
        groups: dict[tuple[int, float | None], list[int]] = {}
        for i in indices:
            params = requests[i].params
            groups.setdefault((params.max_tokens, params.repetition_penalty), []).append(i)
        for (max_tokens, _), members in groups.items():
            keep = (
                self.max_length if self.kind == "seq2seq" else max(1, self.max_length - max_tokens)
            )
            for i in members:
                encoded[i] = encoded[i][-keep:]
            order = sorted(members, key=lambda i: (-len(encoded[i]), encoded[i]))

            def step(chunk: list[int]) -> list[Response]:
                return self._generate_batch(
                    [requests[i] for i in chunk], [encoded[i] for i in chunk]
                )

            self._batches(order, step, on_done)

    def _generate_batch(self, requests: list[Request], prompts: list[list[int]]) -> list[Response]:
        import torch
        from transformers import LogitsProcessorList, StoppingCriteriaList

        started = time.perf_counter()
        tok = self._loaded.tokenizer
        model = self._loaded.model
        params = [r.params.for_sample(r.sample) for r in requests]
        seq2seq = self.kind == "seq2seq"
        if seq2seq:
            ids, mask = self._right_padded(prompts)
        else:
            ids, mask = self._left_padded(prompts)
        start = 1 if seq2seq else ids.shape[1]
        want_logprobs = any(r.logprobs for r in requests)
        kwargs: dict[str, Any] = {
            "max_new_tokens": params[0].max_tokens,
            "do_sample": False,
            "num_beams": 1,
            "pad_token_id": self._pad,
            "eos_token_id": list(self._loaded.eos) or None,
            "return_dict_in_generate": True,
            "output_logits": want_logprobs,
        }
        penalty = params[0].repetition_penalty
        if penalty is not None and penalty != 1.0:
            kwargs["repetition_penalty"] = penalty
        if any(p.temperature > 0 for p in params):
            kwargs["logits_processor"] = LogitsProcessorList([_sampler(params, device=ids.device)])
        stops = [tuple(s for s in p.stop if s) for p in params]
        if any(stops):
            kwargs["stopping_criteria"] = StoppingCriteriaList([_stopper(tok, stops, start=start)])
        with _no_padding_notice():
            out = model.generate(input_ids=ids, attention_mask=mask, **kwargs)
        new = out.sequences[:, start:]
        chosen: list[list[float]] | None = None
        if want_logprobs and out.logits:
            steps = torch.stack(list(out.logits), dim=1).float()
            lp = torch.log_softmax(steps, dim=-1)
            chosen = lp.gather(2, new[:, : steps.shape[1], None])[:, :, 0].tolist()
        latency = (time.perf_counter() - started) / len(requests)
        responses = []
        for b, (request, prompt) in enumerate(zip(requests, prompts, strict=True)):
            tokens = new[b].tolist()
            text, n, reason = self._finish(tokens, stops[b])
            responses.append(
                Response(
                    text=text,
                    input_tokens=len(prompt),
                    output_tokens=n,
                    finish_reason=reason,
                    latency_s=latency,
                    token_logprobs=(
                        tuple(chosen[b][:n]) if request.logprobs and chosen is not None else None
                    ),
                )
            )
        return responses

    def _finish(self, tokens: list[int], stops: tuple[str, ...]) -> tuple[str, int, str]:
        """The text of generated ``tokens``, how many count, and why generation ended."""
        tok = self._loaded.tokenizer
        n, reason = len(tokens), "length"
        for k, t in enumerate(tokens):
            if t in self._loaded.eos:
                n, reason = k + 1, "stop"
                break
        text = str(tok.decode(tokens[:n], skip_special_tokens=True))
        cuts = [(text.find(s), s) for s in stops if s in text]
        if cuts:
            at, stop = min(cuts)
            # count the tokens up to the one that completed the stop string
            for k in range(1, n + 1):
                if stop in str(tok.decode(tokens[:k], skip_special_tokens=True)):
                    n = k
                    break
            text, reason = text[:at], "stop"
        return text, n, reason

    # -- tensors ------------------------------------------------------------------------

    def _right_padded(self, rows: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        import torch

        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), self._pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for b, row in enumerate(rows):
            ids[b, : len(row)] = torch.tensor(row, dtype=torch.long)
            mask[b, : len(row)] = 1
        return ids.to(self.device), mask.to(self.device)

    def _left_padded(self, rows: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        import torch

        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), self._pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for b, row in enumerate(rows):
            ids[b, width - len(row) :] = torch.tensor(row, dtype=torch.long)
            mask[b, width - len(row) :] = 1
        return ids.to(self.device), mask.to(self.device)


def _sampler(params: Sequence[Any], *, device: torch.device) -> Any:
    """A logits processor that samples each row with its own seeded generator.

    It runs last, after the repetition penalty, and leaves only the drawn token possible,
    so that greedy decoding picks it; rows at temperature 0 stay greedy.
    """
    import torch
    from transformers import LogitsProcessor

    generators: list[torch.Generator | None] = []
    for p in params:
        if p.temperature <= 0:
            generators.append(None)
            continue
        generator = torch.Generator(device=device)
        if p.seed is None:
            generator.seed()
        else:
            generator.manual_seed(int(p.seed))
        generators.append(generator)

    class _Sample(LogitsProcessor):  # type: ignore[misc]
        def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
            out = scores.clone()
            for b, (p, generator) in enumerate(zip(params, generators, strict=True)):
                if generator is None:
                    continue
                logits = scores[b].float() / p.temperature
                if p.top_p is not None and p.top_p < 1.0:
                    ordered, where = torch.sort(logits, descending=True)
                    probs = torch.softmax(ordered, dim=-1)
                    # drop tokens once the ones before them already reach top_p
                    drop = (torch.cumsum(probs, dim=-1) - probs) >= p.top_p
                    logits[where[drop]] = float("-inf")
                drawn = torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=generator)
                out[b] = float("-inf")
                out[b, drawn] = 0.0
            return out

    return _Sample()


def _stopper(tokenizer: Any, stops: Sequence[tuple[str, ...]], *, start: int) -> Any:
    """A stopping criterion that ends each row once its text holds one of its stop strings."""
    import torch
    from transformers import StoppingCriteria

    class _Stop(StoppingCriteria):  # type: ignore[misc]
        def __call__(
            self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any
        ) -> torch.Tensor:
            done = []
            for b, row_stops in enumerate(stops):
                if not row_stops:
                    done.append(False)
                    continue
                text = str(tokenizer.decode(input_ids[b, start:], skip_special_tokens=True))
                done.append(any(s in text for s in row_stops))
            return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

    return _Stop()


def _output_cache(output: Any) -> Any:
    """The key/value cache of a model output (``cache`` from transformers 5.24 on)."""
    cache = output.get("cache")
    return output.get("past_key_values") if cache is None else cache


def _cache_argument(module: Any) -> str:
    """The name under which a model's forward takes its cache."""
    return "cache" if "cache" in inspect.signature(module.forward).parameters else "past_key_values"


def _first_id(*ids: int | None) -> int:
    return next(int(i) for i in ids if i is not None)


def _model_max_length(config: Any, tokenizer: Any) -> int:
    for attr in (
        "n_positions",
        "max_position_embeddings",
        "n_ctx",
        "seq_length",
        "max_sequence_length",
    ):
        value = getattr(config, attr, None)
        if isinstance(value, int) and value > 0:
            return value
    value = getattr(tokenizer, "model_max_length", None)
    if isinstance(value, int) and 0 < value < 1_000_000:
        return value
    return _DEFAULT_MAX_LENGTH


def _is_out_of_memory(exc: BaseException) -> bool:
    import torch

    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower()


def _empty_cache() -> None:
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


# -- identity -----------------------------------------------------------------------------


def _weight_files(folder: Path) -> list[Path]:
    """The weight files of a model folder, in name order."""
    return [
        p
        for p in sorted(folder.iterdir())
        if p.is_file() and p.suffix in (".safetensors", ".bin") and p.name != "training_args.bin"
    ]


def _identity(plan: _Plan, *, kind: Kind) -> dict[str, Any]:
    files = sorted(p for p in plan.path.iterdir() if p.is_file())
    tokenizer = [p for p in files if p.name in _TOKENIZER_FILES]
    identity: dict[str, Any] = {
        "backend": "hf",
        "path": str(plan.path),
        "kind": kind,
        "dtype": plan.dtype,
        "weights": _sha256(_weight_files(plan.path)),
        "tokenizer": _sha256(tokenizer),
    }
    if plan.adapter is not None:
        config_file = plan.adapter / "adapter_config.json"
        weight_files = (p for p in plan.adapter.iterdir() if p.suffix in (".safetensors", ".bin"))
        adapter_files = [config_file, *sorted(weight_files)]
        identity["adapter"] = str(plan.adapter)
        identity["adapter_hash"] = _sha256(adapter_files)
        identity["adapter_config"] = json.loads(config_file.read_text(encoding="utf-8"))
    return identity


def _sha256(files: Sequence[Path]) -> str:
    """sha256 over the files' contents in the order given, remembered while they are unchanged."""
    key = tuple((str(p), st.st_size, st.st_mtime_ns) for p in files for st in (p.stat(),))
    if key not in _HASHES:
        digest = hashlib.sha256()
        for p in files:
            with p.open("rb") as fh:
                while chunk := fh.read(1 << 20):
                    digest.update(chunk)
        _HASHES[key] = digest.hexdigest()
    return _HASHES[key]
