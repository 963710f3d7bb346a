"""Suite readers: MMLU (CSV and HF layout), ARC, HellaSwag and TruthfulQA-MC files become
the same multiple-choice items; the layout is recognised, and bad files fail on one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from heldout._errors import DataError
from heldout.data import detect_suite_format, read_suite


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_mmlu_csv_without_header(tmp_path: Path) -> None:
    path = tmp_path / "anatomy_test.csv"
    path.write_text('What is 2+2?,3,4,5,6,B\n"Which, with a comma?",a,b,c,d,D\n', encoding="utf-8")
    items = read_suite(path)
    assert items.format == "mmlu"
    assert items.ids == ("anatomy_test-1", "anatomy_test-2")
    assert items.questions == ("What is 2+2?", "Which, with a comma?")
    assert items.choices[0] == ("3", "4", "5", "6")
    assert items.answers == (1, 3)


def test_mmlu_hf_layout_in_jsonl_and_parquet(tmp_path: Path) -> None:
    rows = [
        {"question": "q1", "choices": ["a", "b", "c", "d"], "answer": 2},
        {"question": "q2", "choices": ["a", "b", "c", "d"], "answer": 0},
    ]
    from_jsonl = read_suite(_jsonl(tmp_path / "mmlu.jsonl", rows))
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "mmlu.parquet")
    from_parquet = read_suite(tmp_path / "mmlu.parquet")
    for items in (from_jsonl, from_parquet):
        assert items.format == "mmlu"
        assert items.answers == (2, 0)
        assert items.choices[1] == ("a", "b", "c", "d")


def test_arc_with_letter_and_digit_labels(tmp_path: Path) -> None:
    rows = [
        {
            "id": "Mercury_1",
            "question": {
                "stem": "Which is a mammal?",
                "choices": [{"text": "shark", "label": "A"}, {"text": "whale", "label": "B"}],
            },
            "answerKey": "B",
        },
        {
            "id": "Mercury_2",
            "question": {
                "stem": "Pick three",
                "choices": [{"text": t, "label": str(i)} for i, t in enumerate("xyz", start=1)],
            },
            "answerKey": "3",
        },
    ]
    items = read_suite(_jsonl(tmp_path / "arc.jsonl", rows))
    assert items.format == "arc"
    assert items.ids == ("Mercury_1", "Mercury_2")
    assert items.questions[0] == "Which is a mammal?"
    assert items.answers == (1, 2)


def test_hellaswag_context_and_endings(tmp_path: Path) -> None:
    rows = [
        {
            "ind": 4,
            "ctx": "A man is",
            "endings": ["running.", "a cat.", "blue.", "up."],
            "label": "0",
        },
        {"ind": 7, "ctx_a": "She opens", "ctx_b": "the", "endings": ["door.", "sky."], "label": 1},
    ]
    items = read_suite(_jsonl(tmp_path / "hs.jsonl", rows))
    assert items.format == "hellaswag"
    assert items.ids == ("4", "7")
    assert items.questions == ("A man is", "She opens the")
    assert items.answers == (0, 1)


def test_truthfulqa_json_list(tmp_path: Path) -> None:
    data = [
        {"question": "Is the earth flat?", "mc1_targets": {"No.": 1, "Yes.": 0, "Maybe.": 0}},
        {"question": "Do bats see?", "mc1_targets": {"No, never.": 0, "Yes.": 1}},
    ]
    path = tmp_path / "mc_task.json"
    path.write_text(json.dumps(data))
    items = read_suite(path)
    assert items.format == "truthfulqa"
    assert items.choices[0] == ("No.", "Yes.", "Maybe.")
    assert items.answers == (0, 1)
    assert items.ids == ("mc_task-1", "mc_task-2")


def test_limit_keeps_the_first_items(tmp_path: Path) -> None:
    rows = [{"question": f"q{i}", "choices": ["a", "b"], "answer": i % 2} for i in range(10)]
    items = read_suite(_jsonl(tmp_path / "s.jsonl", rows), limit=3)
    assert items.questions == ("q0", "q1", "q2")


def test_an_unknown_layout_names_the_keys_and_the_layouts(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "odd.jsonl", [{"prompt": "x", "options": ["a", "b"]}])
    with pytest.raises(DataError) as caught:
        detect_suite_format(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert "options, prompt" in message and "mmlu, arc, hellaswag, truthfulqa" in message


@pytest.mark.parametrize(
    ("name", "content", "fmt", "pattern"),
    [
        ("bad.csv", "q,a,b,c,d,E\n", None, r"bad\.csv:1: answer \"E\" is not an option"),
        ("short.csv", "q,a,B\n", None, r"short\.csv:1: expected question, options and answer"),
        (
            "arc.jsonl",
            '{"question": {"stem": "s", "choices": [{"text": "t", "label": "A"}, {"text": "u", "label": "B"}]}, "answerKey": "C"}\n',
            "arc",
            r'arc\.jsonl:1: answerKey "C" is not one of the choice labels \(A, B\)',
        ),
        (
            "tqa.jsonl",
            '{"question": "q", "mc1_targets": {"a": 1, "b": 1}}\n',
            "truthfulqa",
            r"tqa\.jsonl:1: mc1_targets must label exactly one choice 1, got 2",
        ),
        (
            "hs.jsonl",
            '{"ctx": "c", "label": 0}\n',
            "hellaswag",
            r'hs\.jsonl:1: field "endings" missing \(fields: ctx, label\)',
        ),
        ("broken.jsonl", '{"question": \n', "mmlu", r"broken\.jsonl:1: not valid JSON"),
        (
            "range.jsonl",
            '{"question": "q", "choices": ["a", "b"], "answer": 5}\n',
            None,
            r"range\.jsonl:1: the answer points at option 5, but there are 2",
        ),
    ],
)
def test_malformed_files_fail_on_one_line_naming_the_place(
    tmp_path: Path, name: str, content: str, fmt: Any, pattern: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(DataError, match=pattern) as caught:
        read_suite(path, fmt)
    assert "\n" not in str(caught.value)


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    rows = [{"id": "x", "question": "q", "choices": ["a", "b"], "answer": 0}] * 2
    with pytest.raises(DataError, match='item id "x" appears more than once'):
        read_suite(_jsonl(tmp_path / "d.jsonl", rows))
