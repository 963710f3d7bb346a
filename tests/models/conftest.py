"""Fixtures for the model backend tests: tiny Hugging Face models built once per session."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class HFModels:
    """Folders of the tiny models, tokenizers and adapters (see ``hf_fixtures``)."""

    gpt2: Path  # tokenizer with a chat template
    gpt2_plain: Path  # same weights, tokenizer without a chat template
    lora: Path
    lora2: Path
    bad_adapter: Path
    classifier: Path
    t5: Path


@pytest.fixture(scope="session")
def hf_models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HFModels]:
    # make test installs the hf extra: a missing library is a failure here, not a skip
    import torch

    from tests.models import hf_fixtures as fx

    # models this small run fastest on one thread (and do not stall when cores are busy)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("hf")
    gpt2 = fx.build_gpt2(root / "gpt2", chat_template=fx.CHAT_TEMPLATE)
    yield HFModels(
        gpt2=gpt2,
        gpt2_plain=fx.build_gpt2(root / "gpt2-plain"),
        lora=fx.build_lora_adapter(gpt2, root / "lora", seed=1),
        lora2=fx.build_lora_adapter(gpt2, root / "lora2", seed=5),
        bad_adapter=fx.build_bad_adapter(root / "gpt2-narrow", root / "bad-adapter"),
        classifier=fx.build_classifier(root / "classifier"),
        t5=fx.build_t5(root / "t5"),
    )
    torch.set_num_threads(threads)
