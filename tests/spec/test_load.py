from __future__ import annotations

from pathlib import Path

import pytest

from heldout import SpecError
from heldout.spec import load_spec, spec_from_mapping


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "eval.yaml"
    p.write_text(text, encoding="utf-8")
    return p


BASE = """name: x
models:
  base: {backend: predictions, path: a.jsonl}
  tuned: {backend: predictions, path: b.jsonl}
"""


def test_single_task_shorthand_folds_into_tasks(tmp_path: Path) -> None:
    spec = load_spec(
        _write(
            tmp_path, BASE + "dataset: {path: d.jsonl}\ntask: {type: regression}\nmetrics: [mae]\n"
        )
    )
    assert len(spec.spec.tasks) == 1
    task = spec.spec.tasks[0]
    assert (task.name, task.type, task.metrics) == ("main", "regression", ("mae",))
    assert spec.root == tmp_path.resolve()


def test_unknown_key_names_line_column_and_suggestion(tmp_path: Path) -> None:
    text = BASE + "tasks:\n  - type: classification\n    dataset: {path: d.jsonl, slice: [a]}\n"
    with pytest.raises(SpecError) as info:
        load_spec(_write(tmp_path, text))
    msg = str(info.value)
    assert msg.startswith(f"{tmp_path / 'eval.yaml'}:7:")
    assert 'unknown key "slice"' in msg and 'did you mean "slices"' in msg


def test_bad_yaml_points_at_the_problem(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"eval.yaml:3:1: invalid YAML: found character '\\t'"):
        load_spec(_write(tmp_path, "name: x\nmodels:\n\tbase: 1\n"))


def test_unknown_backend_lists_available(tmp_path: Path) -> None:
    text = (
        BASE.replace("backend: predictions, path: a.jsonl", "backend: telepathy")
        + "dataset: {path: d}\ntask: {type: regression}\n"
    )
    with pytest.raises(SpecError, match=r"unknown backend 'telepathy'\. Available: 'predictions'"):
        load_spec(_write(tmp_path, text))


def test_compare_must_name_models(tmp_path: Path) -> None:
    text = (
        BASE
        + "compare: {candidate: tunde, baseline: base}\ndataset: {path: d}\ntask: {type: regression}\n"
    )
    with pytest.raises(SpecError, match=r'compare\.candidate "tunde" is not a model'):
        load_spec(_write(tmp_path, text))


def test_spec_hash_is_stable_and_content_sensitive(tmp_path: Path) -> None:
    a = load_spec(_write(tmp_path, BASE + "dataset: {path: d.jsonl}\ntask: {type: regression}\n"))
    b = load_spec(
        _write(tmp_path, BASE + "dataset: {path: d.jsonl}\ntask: {type: regression}\n# a comment\n")
    )
    c = load_spec(_write(tmp_path, BASE + "dataset: {path: e.jsonl}\ntask: {type: regression}\n"))
    assert a.hash == b.hash != c.hash


def test_missing_file_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="file not found"):
        load_spec(tmp_path / "nope.yaml")
    with pytest.raises(SpecError, match="file is empty"):
        load_spec(_write(tmp_path, ""))


def test_labels_rules() -> None:
    data = {
        "name": "x",
        "models": {"m": {"backend": "predictions", "path": "p.jsonl"}},
        "dataset": {"path": "d.jsonl"},
        "task": {"type": "classification", "labels": ["a", "a"]},
    }
    with pytest.raises(SpecError, match="labels must be unique"):
        spec_from_mapping(data)
    data["task"] = {"type": "classification", "labels": [0, 1], "positive_label": "1"}
    assert spec_from_mapping(data).spec.tasks[0].labels == ("0", "1")
