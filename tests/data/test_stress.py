"""Stress variants: each operation changes the text, keeps what it must, and is seeded per row."""

from __future__ import annotations

import random
import re
import unicodedata

import pyarrow as pa
import pytest

from heldout._errors import DataError
from heldout.data._stress import (
    OPERATIONS,
    contraction,
    punctuation,
    stress_originals,
    stress_set,
    stress_variants,
    truncate,
    typo,
)

TEXTS = [
    "I don't think the refund will arrive before Friday, can you check?",
    "The app crashes every time I open the settings page",
    'Café "résumé" naïve: it is broken again.',
    "My invoice shows the wrong amount and I am not happy",
    "Please cancel my subscription",
]


def _table(texts: list[str] = TEXTS) -> pa.Table:
    return pa.table(
        {
            "id": [f"t{i}" for i in range(len(texts))],
            "input": texts,
            "label": ["billing" if i % 2 else "bug" for i in range(len(texts))],
        }
    )


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


@pytest.mark.parametrize("op", list(OPERATIONS))
def test_every_operation_changes_the_text_and_is_seeded_per_row(op: str) -> None:
    table = _table()
    first = stress_variants(table, id="id", input="input", ops=[op], seed=3)
    again = stress_variants(table, id="id", input="input", ops=[op], seed=3)
    assert first.equals(again)
    originals = dict(zip(table["id"].to_pylist(), TEXTS, strict=True))
    rows = first.to_pylist()
    assert rows, op
    for row in rows:
        assert row["input"] != originals[row["original_id"]]


def test_a_variant_does_not_depend_on_the_other_rows() -> None:
    ops = ["typo", "case", "whitespace", "unicode", "contraction"]
    whole = stress_variants(_table(), id="id", input="input", ops=ops, seed=7).to_pylist()
    alone = stress_variants(_table().slice(3, 1), id="id", input="input", ops=ops, seed=7)
    assert alone.to_pylist() == [r for r in whole if r["original_id"] == "t3"]
    other_seed = stress_variants(_table(), id="id", input="input", ops=["typo"], seed=8)
    assert other_seed.column("input").to_pylist() != [
        r["input"] for r in whole if r["operation"] == "typo"
    ]


def test_variants_keep_what_each_operation_must_keep() -> None:
    made = stress_set(_table(), id="id", input="input", ops=list(OPERATIONS), seed=0, per_op=3)
    originals = dict(zip(_table()["id"].to_pylist(), TEXTS, strict=True))
    for row in made.variants.to_pylist():
        text, before = row["input"], originals[row["original_id"]]
        if row["operation"] == "unicode":
            assert _nfkc(text) == _nfkc(before)
        if row["operation"] == "case":
            assert text.casefold() == before.casefold()
        if row["operation"] == "whitespace":
            assert text.split() == before.split()
        if row["operation"] == "truncate":
            assert len(text.split()) >= 1
            assert len(text.split()) < len(before.split())
            assert before.startswith(text)
        if row["operation"] == "quotes":
            assert (
                text.replace("\u201c", '"').replace("\u201d", '"').replace("\u2019", "'") == before
            )


def test_typo_edits_a_long_word_and_leaves_short_ones() -> None:
    text = "the big cat sat on the mat by tremendously"
    for seed in range(20):
        out = typo(text, random.Random(seed))
        assert out.split()[:8] == text.split()[:8]
        assert out.split()[8] != "tremendously"
    assert typo("a cat sat", random.Random(0)) == "a cat sat"  # nothing longer than 3 letters


def test_truncate_keeps_at_least_one_word_and_skips_single_words() -> None:
    assert truncate("one two", random.Random(0)) == "one"
    assert truncate("one two three four five six seven eight nine ten", random.Random(0)) == (
        "one two three four five six seven eight"
    )
    assert truncate("alone", random.Random(0)) == "alone"


def test_punctuation_removes_or_adds_the_trailing_mark() -> None:
    assert punctuation("Where is it?!  ", random.Random(0)) == "Where is it  "
    assert re.fullmatch(r"Hello there[.!]", punctuation("Hello there", random.Random(0)))
    assert punctuation("...", random.Random(0)) == "..."


def test_contraction_toggles_both_ways_and_keeps_the_case() -> None:
    assert contraction("Don't go", random.Random(0)) == "Do not go"
    assert contraction("I am sure", random.Random(0)) == "I'm sure"
    assert contraction("Yes, I am.", random.Random(0)) == "Yes, I am."  # not at a clause end
    assert contraction("IT IS NOT", random.Random(0)) in {"IT'S NOT", "IT ISN'T"}


def test_unchangeable_texts_are_skipped_and_counted() -> None:
    table = pa.table({"id": ["a", "b"], "input": ["ok", None]})
    made = stress_set(table, id="id", input="input", ops=["truncate", "case"], seed=0, per_op=2)
    assert made.made == {"truncate": 0, "case": 2}  # "OK" and "Ok"
    assert made.skipped == {"truncate": 4, "case": 2}


def test_provenance_columns_and_ids() -> None:
    table = _table().append_column("score", pa.array([1, 2, 3, 4, 5]))
    made = stress_set(table, id="id", input="input", ops=["case", "typo"], seed=5, per_op=2)
    v = made.variants
    assert v.column_names == ["id", "input", "label", "score", "original_id", "operation", "seed"]
    first = v.to_pylist()[0]
    assert first["id"] == "t0~case~0"
    assert (first["original_id"], first["operation"], first["seed"]) == ("t0", "case", 5)
    assert (first["label"], first["score"]) == ("bug", 1)
    assert len(set(v["id"].to_pylist())) == v.num_rows
    originals = stress_originals(table, id="id")
    assert originals["original_id"].to_pylist() == originals["id"].to_pylist()
    assert set(originals["operation"].to_pylist()) == {"original"}
    assert pa.concat_tables([originals, v]).num_rows == table.num_rows + v.num_rows


def test_without_an_id_column_row_numbers_become_the_ids() -> None:
    table = pa.table({"input": ["hello there", "good bye"], "n": [7, 8]})
    v = stress_variants(table, id=None, input="input", ops=["case"], seed=0)
    assert v.column_names[0] == "id"
    assert v["original_id"].to_pylist() == ["1", "2"]
    numbers = pa.table({"id": [10, 11], "input": ["hello there", "good bye"]})
    assert stress_variants(numbers, id="id", input="input", ops=["case"], seed=0)[
        "original_id"
    ].to_pylist() == ["10", "11"]


def test_bad_input_is_one_clear_error() -> None:
    table = _table()
    with pytest.raises(
        DataError,
        match=r"unknown stress operation 'tpyo' \(did you mean \"typo\"\?\)\. Pick from: typo, case",
    ):
        stress_variants(table, id="id", input="input", ops=["tpyo"], seed=0)
    with pytest.raises(DataError, match=r'column "text" \(input\) not found'):
        stress_variants(table, id="id", input="text", ops=["typo"], seed=0)
    with pytest.raises(DataError, match=r'column "label" \(input\) holds int64, not text'):
        stress_variants(
            table.set_column(2, "label", pa.array([1] * 5)),
            id="id",
            input="label",
            ops=["typo"],
            seed=0,
        )
    dup = table.set_column(0, "id", pa.array(["a", "b", "a", "c", "d"]))
    with pytest.raises(DataError, match=r'row 3: duplicate id "a" \(first on .*row 1\)'):
        stress_variants(dup, id="id", input="input", ops=["typo"], seed=0)
    stressed = stress_originals(table, id="id")
    with pytest.raises(DataError, match=r'already has a column "original_id"'):
        stress_variants(stressed, id="id", input="input", ops=["typo"], seed=0)


@pytest.mark.parametrize("op", ["unicode", "case", "whitespace"])
def test_normalising_operations_fold_back_for_many_seeds(op: str) -> None:
    text = 'Straße, CAFÉ e\u0301 ﬁ "Ｒefund"\tnow: 42 € — ok?\u00a0Yes'
    fold = {
        "unicode": _nfkc,
        "case": lambda t: unicodedata.normalize("NFKC", t).casefold(),
        "whitespace": lambda t: " ".join(t.split()),
    }[op]
    for seed in range(200):
        out = OPERATIONS[op](text, random.Random(seed))
        assert out != text
        assert fold(out) == fold(text), (seed, out)
