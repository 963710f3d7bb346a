"""End to end: eval.yaml with a local model and its LoRA adapter, base and tuned in one load."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import heldout
from heldout.models import _hf
from heldout.store import Store
from tests.models.conftest import HFModels

ITEMS = [
    ("The capital of France is", ["Paris.", "Madrid.", "the mat."], 0),
    ("A cat sat on the", ["mat.", "river bank.", "park."], 0),
    ("Question: what is two plus two? Answer:", ["four.", "blue.", "Paris."], 0),
    ("Question: which colour is the sky? Answer:", ["blue.", "four.", "the dog."], 0),
    ("The quick brown fox jumps over the lazy", ["dog", "ball", "sky"], 0),
    ("The dog ran in the park with a red", ["ball.", "fox.", "Madrid."], 0),
]


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    seen: list[Path] = []
    real = _hf._load_model

    def counting(plan: Any) -> Any:
        seen.append(plan.path)
        return real(plan)

    monkeypatch.setattr(_hf, "_load_model", counting)
    return seen


def _project(tmp_path: Path, models: HFModels) -> Path:
    rows = [
        {"id": f"q{i}", "question": q, "options": options, "answer": answer}
        for i, (q, options, answer) in enumerate(ITEMS)
    ]
    (tmp_path / "mc.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    spec = {
        "name": "local",
        "models": {
            "base": {"backend": "hf", "path": str(models.gpt2), "batch_size": 4},
            "tuned": {
                "backend": "hf",
                "path": str(models.gpt2),
                "adapter": str(models.lora),
                "batch_size": 4,
            },
        },
        "dataset": {
            "path": "mc.jsonl",
            "id": "id",
            "input": "question",
            "target": "answer",
            "choices": "options",
        },
        "task": {
            "type": "multiple_choice",
            "method": "loglikelihood",
            "prompt": {"template": "{{ question }}", "chat": False},
        },
        "store": "runs.db",
    }
    path = tmp_path / "eval.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _direct_loglikelihoods(model_dir: Path, adapter: Path | None) -> list[list[float]]:
    """Each option's summed log-probability from a plain forward pass, for cross-checking."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    if adapter is not None:
        from peft import PeftModel

        with warnings.catch_warnings():
            # peft 0.21 reads a transformers attribute that now warns on every load
            warnings.filterwarnings("ignore", "`is_gradient_checkpointing`", FutureWarning)
            model = PeftModel.from_pretrained(model, adapter)
    model.eval()
    out = []
    with torch.inference_mode():
        for question, options, _ in ITEMS:
            row = []
            context = tok(question)["input_ids"]
            for option in options:
                whole = tok(question + " " + option)["input_ids"]
                ids = torch.tensor([whole])
                logits = model(input_ids=ids).logits[0].log_softmax(-1)
                total = sum(
                    float(logits[pos - 1, whole[pos]]) for pos in range(len(context), len(whole))
                )
                row.append(total)
            out.append(row)
    return out


def test_base_and_tuned_share_one_load_and_match_a_direct_forward_pass(
    tmp_path: Path, hf_models: HFModels, loads: list[Path]
) -> None:
    spec = _project(tmp_path, hf_models)
    run = heldout.evaluate(spec)
    assert loads == [hf_models.gpt2.resolve()]
    examples = run.examples()
    for model, adapter in (("base", None), ("tuned", hf_models.lora)):
        expected = _direct_loglikelihoods(hf_models.gpt2, adapter)
        letters = ["ABC"[int(np.argmax(row))] for row in expected]
        assert list(examples[f"pred:{model}"]) == letters
        hits = [
            int(np.argmax(row)) == answer
            for row, (_, _, answer) in zip(expected, ITEMS, strict=True)
        ]
        assert run.metrics[model]["accuracy"].value == pytest.approx(np.mean(hits))
    assert run.tasks[0].live["tuned"].mode == "loglikelihood"
    with Store.open(f"sqlite:///{tmp_path / 'runs.db'}", create=False) as store:
        journal = store.journal()
        assert journal.count() == 2 * 3 * len(ITEMS)
        identities = {json.dumps(e.identity, sort_keys=True) for e in _entries(store)}
    assert len(identities) == 2  # the adapter is part of the tuned model's identity

    # a rerun answers from the journal: no weights are loaded, no call is made
    loads.clear()
    again = heldout.evaluate(spec)
    assert loads == []
    assert list(again.examples()["pred:tuned"]) == list(examples["pred:tuned"])


def _entries(store: Store) -> list[Any]:
    from sqlalchemy import select

    from heldout.store._schema import CallRow

    with store._engine.connect() as connection:  # reading rows the journal wrote
        return list(connection.execute(select(CallRow.identity)).all())
