"""General-capability suites read from local files, as multiple-choice items.

Layouts (``format``):

``mmlu``
    CSV without a header, one question per row: question, the options (usually four:
    A, B, C, D) and the answer letter; or the Hugging Face layout (JSONL or Parquet) with
    ``question``, ``choices`` (a list) and ``answer`` (0-based index or letter).
``arc``
    JSONL with ``question: {stem, choices: [{text, label}]}`` and ``answerKey`` (one of
    the labels, letters or digits), as in AI2's ARC files.
``hellaswag``
    JSONL with ``ctx`` (or ``ctx_a`` and ``ctx_b``), ``endings`` and ``label``.
``truthfulqa``
    TruthfulQA's multiple-choice file: JSON (a list) or JSONL with ``question`` and
    ``mc1_targets: {choice: 0/1}``, exactly one choice labelled 1.

Without ``format`` the layout is recognised from the file's extension and its first
record's keys; a file that fits none fails with the keys found and the layouts known.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from heldout._errors import DataError

__all__ = ["SUITE_FORMATS", "SuiteFormat", "SuiteItems", "detect_suite_format", "read_suite"]

SuiteFormat = Literal["mmlu", "arc", "hellaswag", "truthfulqa"]
SUITE_FORMATS: tuple[str, ...] = get_args(SuiteFormat)
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class SuiteItems:
    """A suite's multiple-choice items, in file order.

    Attributes:
        path: the file read.
        format: its layout.
        ids: item ids (the file's own where it has them, else ``<stem>-<row>``).
        questions: the context each option continues.
        choices: the options of each item.
        answers: 0-based index of each item's correct option.
    """

    path: Path
    format: SuiteFormat
    ids: tuple[str, ...]
    questions: tuple[str, ...]
    choices: tuple[tuple[str, ...], ...]
    answers: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.ids)

    def records(self) -> list[dict[str, Any]]:
        """One ``{id, question, choices, answer}`` dict per item (``answer`` an index)."""
        return [
            {"id": i, "question": q, "choices": list(c), "answer": a}
            for i, q, c, a in zip(self.ids, self.questions, self.choices, self.answers, strict=True)
        ]


def read_suite(
    path: Path, fmt: SuiteFormat | None = None, *, limit: int | None = None
) -> SuiteItems:
    """Read a suite file in one of the known layouts (recognised when ``fmt`` is ``None``).

    Args:
        path: the file.
        fmt: ``mmlu``, ``arc``, ``hellaswag`` or ``truthfulqa``.
        limit: keep only the first ``limit`` items.

    Raises:
        DataError: the file is missing, its layout is unknown, or a record is malformed
            (naming the file, the line and the field).
    """
    if not path.is_file():
        raise DataError(f"{path}: suite file not found. Check the suite's path:")
    fmt = fmt or detect_suite_format(path)
    reader = {
        "mmlu": _mmlu,
        "arc": _arc,
        "hellaswag": _hellaswag,
        "truthfulqa": _truthfulqa,
    }[fmt]
    ids: list[str] = []
    questions: list[str] = []
    choices: list[tuple[str, ...]] = []
    answers: list[int] = []
    for where, item_id, question, options, answer in reader(path):
        if len(options) < 2:
            raise DataError(f"{where}: an item needs at least two options, got {len(options)}")
        if not 0 <= answer < len(options):
            raise DataError(
                f"{where}: the answer points at option {answer}, but there are {len(options)}"
            )
        ids.append(item_id)
        questions.append(question)
        choices.append(tuple(options))
        answers.append(answer)
        if limit is not None and len(ids) >= limit:
            break
    if not ids:
        raise DataError(f"{path}: the suite holds no items")
    if len(set(ids)) != len(ids):
        dupe = next(i for k, i in enumerate(ids) if i in ids[:k])
        raise DataError(f'{path}: item id "{dupe}" appears more than once; ids must be unique')
    return SuiteItems(
        path=path,
        format=fmt,
        ids=tuple(ids),
        questions=tuple(questions),
        choices=tuple(choices),
        answers=tuple(answers),
    )


def detect_suite_format(path: Path) -> SuiteFormat:
    """The layout of a suite file, from its extension and first record."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "mmlu"
    first = next((record for _, record in _records(path)), None)
    if first is None:
        raise DataError(f"{path}: the suite holds no items")
    keys = set(first)
    if "mc1_targets" in keys:
        return "truthfulqa"
    if "endings" in keys:
        return "hellaswag"
    if "answerKey" in keys and isinstance(first.get("question"), Mapping):
        return "arc"
    if {"question", "choices", "answer"} <= keys:
        return "mmlu"
    raise DataError(
        f"{path}: cannot tell the suite's layout from its keys ({', '.join(sorted(keys))}); "
        f"set format: to one of {', '.join(SUITE_FORMATS)}, or give a heldout dataset"
    )


# --- layouts ----------------------------------------------------------------------------

_Item = tuple[str, str, str, list[str], int]


def _records(path: Path) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """``(where, record)`` of a JSON list, JSONL or Parquet file."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        for i, record in enumerate(pq.read_table(path).to_pylist(), start=1):
            yield f"{path}: row {i}", record
        return
    text = path.read_text(encoding="utf-8")
    if suffix == ".json" or text.lstrip().startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from exc
        if not isinstance(data, list):
            raise DataError(f"{path}: expected a JSON list of items, got {type(data).__name__}")
        for i, record in enumerate(data, start=1):
            yield f"{path}: item {i}", _mapping(record, f"{path}: item {i}")
        return
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from exc
        yield f"{path}:{lineno}", _mapping(record, f"{path}:{lineno}")


def _mapping(record: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(record, Mapping):
        raise DataError(f"{where}: expected an object, got {type(record).__name__}")
    return record


def _field(record: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in record:
        raise DataError(f'{where}: field "{key}" missing (fields: {", ".join(map(str, record))})')
    return record[key]


def _index(answer: Any, n: int, where: str, labels: list[str] | None = None) -> int:
    """A 0-based option index from an index, a letter, or one of ``labels``."""
    text = str(answer).strip()
    if labels is not None and text in labels:
        return labels.index(text)
    if text.isdigit():
        return int(text)
    if len(text) == 1 and text.upper() in _LETTERS[:n]:
        return _LETTERS.index(text.upper())
    raise DataError(f'{where}: answer "{answer}" is not an option index or letter (0-{n - 1})')


def _mmlu(path: Path) -> Iterator[_Item]:
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            for lineno, row in enumerate(csv.reader(handle), start=1):
                where = f"{path}:{lineno}"
                if not row:
                    continue
                if len(row) < 4:
                    raise DataError(
                        f"{where}: expected question, options and answer letter (no header), "
                        f"got {len(row)} columns"
                    )
                options = [str(o) for o in row[1:-1]]
                yield (
                    where,
                    f"{path.stem}-{lineno}",
                    row[0],
                    options,
                    _index(row[-1], len(options), where),
                )
        return
    for n, (where, record) in enumerate(_records(path), start=1):
        options = [str(o) for o in _field(record, "choices", where)]
        item_id = str(record.get("id", f"{path.stem}-{n}"))
        yield (
            where,
            item_id,
            str(_field(record, "question", where)),
            options,
            _index(_field(record, "answer", where), len(options), where),
        )


def _arc(path: Path) -> Iterator[_Item]:
    for where, record in _records(path):
        question = _mapping(_field(record, "question", where), f"{where}: question")
        raw = _field(question, "choices", f"{where}: question")
        options = [str(_field(c, "text", where)) for c in raw]
        labels = [str(_field(c, "label", where)) for c in raw]
        key = _field(record, "answerKey", where)
        if str(key) not in labels:
            raise DataError(
                f'{where}: answerKey "{key}" is not one of the choice labels ({", ".join(labels)})'
            )
        yield (
            where,
            str(record.get("id", where)),
            str(_field(question, "stem", f"{where}: question")),
            options,
            labels.index(str(key)),
        )


def _hellaswag(path: Path) -> Iterator[_Item]:
    for where, record in _records(path):
        if "ctx" in record:
            context = str(record["ctx"])
        else:
            context = (
                f"{_field(record, 'ctx_a', where)} {str(record.get('ctx_b', '')).strip()}".strip()
            )
        options = [str(e) for e in _field(record, "endings", where)]
        item_id = record.get("ind", record.get("id", where))
        yield (
            where,
            str(item_id),
            context,
            options,
            _index(_field(record, "label", where), len(options), where),
        )


def _truthfulqa(path: Path) -> Iterator[_Item]:
    for n, (where, record) in enumerate(_records(path), start=1):
        targets = _mapping(_field(record, "mc1_targets", where), f"{where}: mc1_targets")
        options = [str(k) for k in targets]
        correct = [i for i, v in enumerate(targets.values()) if int(v) == 1]
        if len(correct) != 1:
            raise DataError(
                f"{where}: mc1_targets must label exactly one choice 1, got {len(correct)}"
            )
        yield (
            where,
            str(record.get("id", f"{path.stem}-{n}")),
            str(_field(record, "question", where)),
            options,
            correct[0],
        )
