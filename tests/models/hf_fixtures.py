"""Tiny Hugging Face models, tokenizers and adapters built on disk for the ``hf`` backend tests.

Everything is made here from fixed seeds: a byte-level BPE tokenizer trained on a small
corpus, GPT-2 and T5 models with random weights, LoRA adapters. Nothing is downloaded.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

CORPUS = [
    "The capital of France is Paris. The capital of Spain is Madrid.",
    "A cat sat on the mat. The dog ran in the park with a red ball.",
    "Question: what is two plus two? Answer: four.",
    "Question: which colour is the sky? Answer: blue.",
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "Billing issues, bug reports and other tickets are routed to teams.",
    "My invoice was charged twice this month, please refund the payment.",
    "The app crashes when I press the save button on the settings page.",
    "system: you are a helpful model. user: hello there. assistant: hi!",
    "Numbers: 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20.",
]

BOS, EOS, PAD, UNK = "<|bos|>", "<|eos|>", "<|pad|>", "<|unk|>"

#: A minimal chat template: each turn as ``<|role|>content`` on its own line.
CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def build_tokenizer(
    out: Path, *, chat_template: str | None = None, append_eos: bool = False
) -> Any:
    """Train a byte-level BPE tokenizer on :data:`CORPUS` and save it to ``out``.

    Special tokens come first, so ids are fixed: pad 0, eos 1, bos 2, unk 3 (T5's pad and
    eos ids). ``append_eos`` adds ``<|eos|>`` after every encoded text (as T5 does).
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=[PAD, EOS, BOS, UNK],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS, trainer=trainer)
    if append_eos:
        tok.post_processor = processors.TemplateProcessing(
            single=f"$A {EOS}", pair=f"$A {EOS} $B {EOS}", special_tokens=[(EOS, 1)]
        )
    else:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=BOS, eos_token=EOS, pad_token=PAD, unk_token=UNK
    )
    if chat_template is not None:
        fast.chat_template = chat_template
    out.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(out)
    return fast


def build_gpt2(
    out: Path,
    *,
    hidden: int = 64,
    layers: int = 2,
    seed: int = 0,
    chat_template: str | None = None,
    tokenizer: bool = True,
) -> Path:
    """A tiny GPT-2 (random weights, spread wide enough to have clear preferences)."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    tok = build_tokenizer(out, chat_template=chat_template) if tokenizer else None
    config = GPT2Config(
        vocab_size=400 if tok is None else len(tok),
        n_positions=128,
        n_embd=hidden,
        n_layer=layers,
        n_head=2,
        initializer_range=0.2,
        bos_token_id=2,
        eos_token_id=1,
        pad_token_id=0,
    )
    torch.manual_seed(seed)
    GPT2LMHeadModel(config).save_pretrained(out)
    return out


def _lora(model: Any, out: Path, seed: int, targets: list[str], task: str) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=4,
        lora_alpha=8,
        target_modules=targets,
        fan_in_fan_out=True,  # GPT-2 uses Conv1D layers
        init_lora_weights=False,  # random A and B: the adapter changes the outputs
        task_type=task,
    )
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tuned = get_peft_model(model, config)
        tuned.save_pretrained(out)
    return out


def build_lora_adapter(model_dir: Path, out: Path, seed: int = 1) -> Path:
    """A LoRA adapter for the GPT-2 in ``model_dir`` that changes its outputs."""
    from transformers import GPT2LMHeadModel

    model = GPT2LMHeadModel.from_pretrained(model_dir)
    return _lora(model, out, seed, ["c_attn", "c_proj"], "CAUSAL_LM")


def build_bad_adapter(work: Path, out: Path, seed: int = 2) -> Path:
    """A LoRA adapter made for a GPT-2 of another hidden size: it fits no 64-wide model."""
    from transformers import GPT2LMHeadModel

    other = build_gpt2(work, hidden=32, seed=seed, tokenizer=False)
    model = GPT2LMHeadModel.from_pretrained(other)
    return _lora(model, out, seed, ["c_attn"], "CAUSAL_LM")


#: The classifier's classes, by output index.
CLASSIFIER_LABELS = {0: "billing", 1: "bug", 2: "other"}


def build_classifier(out: Path, seed: int = 3) -> Path:
    """A tiny GPT-2 sequence classifier with three named classes."""
    import torch
    from transformers import GPT2Config, GPT2ForSequenceClassification

    tok = build_tokenizer(out)
    config = GPT2Config(
        vocab_size=len(tok),
        n_positions=128,
        n_embd=64,
        n_layer=2,
        n_head=2,
        initializer_range=0.2,
        bos_token_id=2,
        eos_token_id=1,
        pad_token_id=0,
        id2label=dict(CLASSIFIER_LABELS),
        label2id={v: k for k, v in CLASSIFIER_LABELS.items()},
    )
    torch.manual_seed(seed)
    GPT2ForSequenceClassification(config).save_pretrained(out)
    return out


def build_t5(out: Path, seed: int = 4) -> Path:
    """A tiny T5 (encoder-decoder) whose tokenizer ends every text with ``<|eos|>``."""
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    tok = build_tokenizer(out, append_eos=True)
    config = T5Config(
        vocab_size=len(tok),
        d_model=64,
        d_ff=128,
        d_kv=32,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=2,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
        initializer_factor=1.0,
    )
    torch.manual_seed(seed)
    T5ForConditionalGeneration(config).save_pretrained(out)
    return out
