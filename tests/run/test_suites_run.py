"""Forgetting suites in a run: a planted loss of a capability is found, null suites are
not called forgotten, and the verdicts reach JSON, the store, the terminal and the report."""

from __future__ import annotations

import csv
import json
import random
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

import heldout
from heldout._errors import SpecError
from heldout.cli import app
from heldout.report import render_report
from heldout.store import Store

MODELS = """
import json
import random
from pathlib import Path

KEY = json.loads((Path(__file__).parent / "key.json").read_text())
#: the suites where the tuned model lost what it knew
FORGOT = {"mmlu"}


def _answer(questions, tuned):
    out = []
    for q in questions:
        if q not in KEY:
            out.append("yes")
            continue
        suite, letter, n = KEY[q]
        right = 0.45 if tuned and suite in FORGOT else 0.8
        rng = random.Random(q + ("tuned" if tuned else "base"))
        out.append(letter if rng.random() < right else rng.choice("ABCD"[:n]))
    return out


def base(questions):
    return _answer(questions, tuned=False)


def tuned(questions):
    return _answer(questions, tuned=True)
"""


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A main task and five suites in four layouts; the tuned model forgot MMLU only."""
    rng = random.Random(0)
    key: dict[str, tuple[str, str, int]] = {}
    n = 300

    def item(suite: str, i: int, options: int = 4) -> tuple[str, int]:
        question = f"{suite} question {i}: which option is right?"
        answer = rng.randrange(options)
        key[question] = (suite, "ABCD"[answer], options)
        return question, answer

    with (tmp_path / "mmlu.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        for i in range(n):
            q, a = item("mmlu", i)
            writer.writerow([q, "w", "x", "y", "z", "ABCD"[a]])
    arc = []
    for i in range(n):
        q, a = item("arc", i)
        choices = [{"text": t, "label": "ABCD"[k]} for k, t in enumerate("wxyz")]
        arc.append(
            {"id": f"arc{i}", "question": {"stem": q, "choices": choices}, "answerKey": "ABCD"[a]}
        )
    _jsonl(tmp_path / "arc.jsonl", arc)
    hellaswag = []
    for i in range(n):
        q, a = item("hellaswag", i)
        hellaswag.append({"ind": i, "ctx": q, "endings": ["w.", "x.", "y.", "z."], "label": a})
    _jsonl(tmp_path / "hellaswag.jsonl", hellaswag)
    truthful = []
    for i in range(n):
        q, a = item("truthfulqa", i, options=2)
        truthful.append({"question": q, "mc1_targets": {"yes": int(a == 0), "no": int(a == 1)}})
    (tmp_path / "truthfulqa.json").write_text(json.dumps(truthful))
    own = []
    for i in range(n):
        q, a = item("own", i)
        own.append({"qid": f"o{i}", "text": q, "options": ["w", "x", "y", "z"], "gold": a})
    _jsonl(tmp_path / "own.jsonl", own)
    (tmp_path / "key.json").write_text(json.dumps(key))
    (tmp_path / "models.py").write_text(MODELS)
    _jsonl(
        tmp_path / "eval.jsonl",
        [
            {"id": str(i), "text": f"ticket {i}", "label": "yes" if i % 2 else "no"}
            for i in range(60)
        ],
    )
    spec = {
        "name": "forgetting",
        "models": {
            "base": {"backend": "python", "function": "models:base"},
            "tuned": {"backend": "python", "function": "models:tuned"},
        },
        "dataset": {"path": "eval.jsonl", "id": "id", "input": "text", "target": "label"},
        "task": {"type": "classification"},
        "suites": [
            {"name": "mmlu", "path": "mmlu.csv"},
            {"name": "arc", "path": "arc.jsonl", "format": "arc"},
            {"name": "hellaswag", "path": "hellaswag.jsonl"},
            {"name": "truthfulqa", "path": "truthfulqa.json", "tolerance": 0.05},
            {
                "name": "own",
                "dataset": {
                    "path": "own.jsonl",
                    "id": "qid",
                    "input": "text",
                    "target": "gold",
                    "choices": "options",
                },
            },
        ],
        "stats": {"resamples": 200},
        "store": "runs.db",
    }
    (tmp_path / "eval.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return tmp_path / "eval.yaml"


def test_planted_forgetting_is_found_and_null_suites_are_not(project: Path) -> None:
    run = heldout.evaluate(project)
    names = [t.name for t in run.tasks]
    assert names == [
        "main",
        "suite.mmlu",
        "suite.arc",
        "suite.hellaswag",
        "suite.truthfulqa",
        "suite.own",
    ]
    verdicts = {t.name: t.forgetting for t in run.tasks[1:]}
    assert all(v is not None for v in verdicts.values())
    mmlu = verdicts["suite.mmlu"]
    assert mmlu is not None
    assert mmlu.verdict == "forgotten"
    assert mmlu.format == "mmlu" and mmlu.path == "mmlu.csv"
    assert mmlu.difference.delta < -0.2
    for name in ("suite.arc", "suite.hellaswag", "suite.truthfulqa", "suite.own"):
        found = verdicts[name]
        assert found is not None and found.verdict != "forgotten", (name, found)
    assert {v.format for v in verdicts.values() if v is not None} == {
        "mmlu",
        "arc",
        "hellaswag",
        "truthfulqa",
        "heldout",
    }
    assert verdicts["suite.truthfulqa"].tolerance == 0.05  # type: ignore[union-attr]
    # the suite's accuracy is the share of items answered right, per model
    suite = run.task("suite.mmlu")
    key = json.loads((project.parent / "key.json").read_text())
    examples = suite.examples
    right = [key[q][1] == p for q, p in zip(examples["input"], examples["pred:tuned"], strict=True)]
    assert mmlu.candidate.value == pytest.approx(sum(right) / len(right))
    # p-values are corrected across the five suites
    raw = suite.comparisons["accuracy"].p_value
    assert mmlu.difference.p_adjusted is not None and mmlu.difference.p_adjusted >= raw
    document = run.to_dict()["tasks"]["suite.mmlu"]["forgetting"]
    assert document["verdict"] == "forgotten"
    with Store.open(f"sqlite:///{project.parent / 'runs.db'}", create=False) as store:
        again = store.load_run(run.id)
    assert again.task("suite.mmlu").forgetting == mmlu
    page = render_report(again)
    assert "Forgetting: mmlu" in page
    assert "forgotten" in page


def test_suite_comparison_carries_the_p_value_corrected_across_suites(project: Path) -> None:
    run = heldout.evaluate(project)
    for task in run.tasks[1:]:
        assert task.forgetting is not None
        shown = task.comparisons["accuracy"]
        # the accuracy row of the suite and its forgetting verdict read one corrected p-value
        assert shown.p_adjusted == task.forgetting.difference.p_adjusted, task.name
        assert shown.verdict == task.forgetting.difference.verdict, task.name
    from statsmodels.stats.multitest import multipletests

    raw = [t.comparisons["accuracy"].p_value for t in run.tasks[1:]]
    expected = multipletests(raw, method="holm")[1]
    assert [t.comparisons["accuracy"].p_adjusted for t in run.tasks[1:]] == pytest.approx(
        list(expected)
    )


def test_terminal_names_the_forgotten_suite(project: Path) -> None:
    result = CliRunner().invoke(app, ["run", str(project), "--no-report"], env={"COLUMNS": "220"})
    assert result.exit_code == 0, result.output
    lines = [x for x in result.output.splitlines() if x.startswith("forgetting (")]
    assert len(lines) == 5
    assert lines[0].startswith("forgetting (mmlu, n=300): accuracy tuned 0.")
    assert lines[0].endswith("forgotten (tolerance 0.01).")
    assert sum(line.endswith("forgotten (tolerance 0.01).") for line in lines) == 1


def _spec_with(project: Path, **change: Any) -> Path:
    spec = yaml.safe_load(project.read_text())
    spec.update(change)
    project.write_text(yaml.safe_dump(spec, sort_keys=False))
    return project


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        (
            {"suites": [{"name": "x", "path": "mmlu.csv", "format": "mmlu2"}]},
            r"suites\[0\]\.format: .*mmlu.*truthfulqa",
        ),
        ({"suites": [{"name": "x"}]}, r"give either path: .* or dataset:"),
        ({"suites": [{"name": "x", "path": "missing.csv"}]}, r"missing\.csv: suite file not found"),
        (
            {"suites": [{"name": "x", "path": "eval.jsonl"}]},
            r"eval\.jsonl: cannot tell the suite's layout from its keys \(id, label, text\)",
        ),
        (
            {"suites": [{"name": "x", "path": "mmlu.csv", "tolerance": -0.1}]},
            r"suites\[0\]\.tolerance: Input should be greater than or equal to 0",
        ),
    ],
)
def test_bad_suites_are_one_line_errors(
    project: Path, change: dict[str, Any], pattern: str
) -> None:
    spec = _spec_with(project, **change)
    result = CliRunner().invoke(app, ["run", str(spec), "--no-report"])
    assert result.exit_code == 2, result.output
    lines = [x for x in result.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and re.search(pattern, lines[0]), lines


def test_suites_need_a_candidate_and_a_baseline(project: Path) -> None:
    spec = yaml.safe_load(project.read_text())
    spec["models"]["third"] = {"backend": "python", "function": "models:base"}
    project.write_text(yaml.safe_dump(spec, sort_keys=False))
    with pytest.raises(SpecError, match="suites: compare a candidate with a baseline"):
        heldout.evaluate(project, save=False)


@pytest.mark.slow
def test_a_suite_on_tiny_hf_models_scores_options_by_loglikelihood(tmp_path: Path) -> None:
    """GPT-2 base and its LoRA adapter: each suite answer is the option with the highest
    log-likelihood (accuracy) or per byte (accuracy_norm), as a direct forward pass says."""
    import numpy as np
    import torch

    from tests.models import hf_fixtures as fx
    from tests.models.test_hf_backend import _direct_loglikelihood, _load_causal

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        gpt2 = fx.build_gpt2(tmp_path / "gpt2")
        lora = fx.build_lora_adapter(gpt2, tmp_path / "lora", seed=1)
        rng = random.Random(3)
        options = ["Paris.", "Madrid.", "blue.", "four.", "the dog ran in the park.", "a cat."]
        items = []
        for i in range(12):
            picked = rng.sample(options, 3)
            items.append(
                {
                    "id": f"q{i}",
                    "question": f"Question: which one fits number {i}?",
                    "choices": picked,
                    "answer": rng.randrange(3),
                }
            )
        _jsonl(tmp_path / "suite.jsonl", items)
        _jsonl(
            tmp_path / "eval.jsonl",
            [
                {"id": str(i), "text": "The app crashes.", "label": "bug" if i % 2 else "billing"}
                for i in range(4)
            ],
        )
        spec = {
            "name": "hf-suite",
            "models": {
                "base": {"backend": "hf", "path": str(gpt2)},
                "tuned": {"backend": "hf", "path": str(gpt2), "adapter": str(lora)},
            },
            "dataset": {"path": "eval.jsonl", "id": "id", "input": "text", "target": "label"},
            "task": {
                "type": "classification",
                "labels": ["billing", "bug"],
                "method": "loglikelihood",
                "prompt": {"chat": False},
            },
            "suites": [{"name": "tiny", "path": "suite.jsonl"}],
            "stats": {"resamples": 200},
            "store": "runs.db",
        }
        (tmp_path / "eval.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
        run = heldout.evaluate(tmp_path / "eval.yaml")
        suite = run.task("suite.tiny")
        assert suite.forgetting is not None and suite.forgetting.format == "mmlu"
        for model, adapter in (("base", None), ("tuned", lora)):
            net, tok = _load_causal(gpt2, adapter=adapter)
            right, right_norm = [], []
            for item in items:
                context = f"{item['question']}\nAnswer:"
                lls = np.array(
                    [_direct_loglikelihood(net, tok, context, " " + o)[0] for o in item["choices"]]
                )
                lengths = np.array([len((" " + o).encode()) for o in item["choices"]])
                right.append(int(lls.argmax()) == item["answer"])
                right_norm.append(int((lls / lengths).argmax()) == item["answer"])
            metrics = suite.metrics[model]
            assert metrics["accuracy"].value == pytest.approx(np.mean(right))
            assert metrics["accuracy_norm"].value == pytest.approx(np.mean(right_norm))
    finally:
        torch.set_num_threads(threads)
