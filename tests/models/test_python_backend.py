"""The python backend: a function in a module beside eval.yaml, called on batches."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, log_loss
from typer.testing import CliRunner

import heldout
from heldout.cli import app
from tests.conftest import LABELS, Project

runner = CliRunner()

RULES = """
CALLS = []

def predict(inputs):
    CALLS.append(len(inputs))
    out = []
    for text in inputs:
        label = "billing" if "billing" in text else "bug" if "bug" in text else "other"
        rest = [x for x in ("billing", "bug", "other") if x != label]
        out.append({"prediction": label, "probabilities": {label: 0.8, rest[0]: 0.15, rest[1]: 0.05}})
    return out

def labels_only(inputs):
    return ["other" for _ in inputs]

def broken(inputs):
    raise RuntimeError("model weights missing")

def short(inputs):
    return ["other"] * (len(inputs) - 1)

def misspelled(inputs):
    return ["Other" for _ in inputs]
"""


def _use(project: Project, model_yaml: str) -> None:
    import sys

    sys.modules.pop("rules", None)  # each test writes its own rules.py
    (project.root / "rules.py").write_text(RULES, encoding="utf-8")
    spec = project.spec.read_text(encoding="utf-8").replace(
        "  base: {backend: predictions, path: base.jsonl}", f"  base: {model_yaml}"
    )
    project.spec.write_text(spec, encoding="utf-8")


def test_function_beside_the_spec_is_called_in_batches_and_scored(project: Project) -> None:
    _use(project, "{backend: python, function: 'rules:predict', batch_size: 50}")
    run = heldout.evaluate(project.spec, save=False)
    data = pd.read_json(project.data, lines=True)
    expected = [
        "billing" if "billing" in t else "bug" if "bug" in t else "other" for t in data["text"]
    ]
    assert run.metrics["base"]["accuracy"].value == pytest.approx(
        accuracy_score(data["label"], expected), abs=1e-12
    )
    proba = [
        [
            0.8 if lbl == p else (0.15 if lbl == next(x for x in LABELS if x != p) else 0.05)
            for lbl in LABELS
        ]
        for p in expected
    ]
    assert run.metrics["base"]["log_loss"].value == pytest.approx(
        log_loss(data["label"], proba, labels=list(LABELS)), abs=1e-9
    )
    import rules  # type: ignore[import-not-found]

    assert rules.CALLS == [50, 50, 20]
    assert run.comparisons["accuracy"].n == 120


def test_plain_labels_without_probabilities(project: Project) -> None:
    _use(project, "{backend: python, function: 'rules:labels_only'}")
    spec = project.spec.read_text(encoding="utf-8").replace(
        "metrics: [accuracy, macro_f1, roc_auc, log_loss]", "metrics: [accuracy, macro_f1]"
    )
    project.spec.write_text(spec, encoding="utf-8")
    run = heldout.evaluate(project.spec, save=False)
    assert run.metrics["base"]["accuracy"].value == pytest.approx(1 / 3, abs=0.01)


@pytest.mark.parametrize(
    ("function", "pattern"),
    [
        (
            "rules:broken",
            r"models\.base: rules:broken raised RuntimeError: model weights missing \(on the batch starting at example \"T0000\"\)",
        ),
        ("rules:short", r"rules:short returned 63 outputs for 64 inputs"),
        (
            "rules:predcit",
            r"models\.base\.function: rules has no 'predcit' \(did you mean \"predict\"\?\)",
        ),
        ("nosuchmodule:predict", r"cannot import module 'nosuchmodule'"),
        (
            "rules:misspelled",
            r"rules:misspelled output:row 1: prediction \"Other\" is not a label \(did you mean \"other\"\?\)",
        ),
    ],
)
def test_function_faults_are_one_line_errors(project: Project, function: str, pattern: str) -> None:
    import re

    _use(project, f"{{backend: python, function: '{function}'}}")
    result = runner.invoke(app, ["run", str(project.spec), "--no-save", "--no-report"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and re.search(pattern, lines[0]), lines


def test_spec_rejects_a_malformed_function_reference(tmp_path: Path) -> None:
    from heldout import SpecError
    from heldout.spec import spec_from_mapping

    data = {
        "name": "x",
        "models": {"m": {"backend": "python", "function": "rules.predict"}},
        "dataset": {"path": "d.jsonl"},
        "task": {"type": "regression"},
    }
    with pytest.raises(SpecError, match=r"models\.m\.function"):
        spec_from_mapping(data, root=tmp_path)
    data["models"] = {"m": {"backend": "python", "function": "a:b", "batchsize": 3}}
    with pytest.raises(SpecError, match=r'unknown key "batchsize" \(did you mean "batch_size"\?\)'):
        spec_from_mapping(data, root=tmp_path)
    assert json.dumps(data)  # the mapping itself is untouched


def test_each_spec_imports_the_module_beside_it(tmp_path: Path) -> None:
    from heldout.models import load_function

    for folder, answer in (("one", "billing"), ("two", "other")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "samename.py").write_text(
            f"def predict(inputs):\n    return [{answer!r} for _ in inputs]\n"
        )
    first = load_function("samename:predict", root=tmp_path / "one")
    second = load_function("samename:predict", root=tmp_path / "two")
    assert first(["x"]) == ["billing"]
    assert second(["x"]) == ["other"]
