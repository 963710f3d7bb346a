"""PII detection and masking: the labelled corpus, the checksums, numbering, tables."""

from __future__ import annotations

import json
import string
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest

from heldout import DataError
from heldout.data import (
    PII_KINDS,
    iban_is_valid,
    luhn_is_valid,
    mask_table,
    mask_text,
    pii_preview,
    read_table,
    scan_table,
    scan_text,
    write_table,
)

CORPUS = Path(__file__).with_name("pii_corpus.jsonl")


def _corpus() -> list[dict[str, object]]:
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]


def corpus_scores() -> dict[str, tuple[int, int, int]]:
    """(true positives, false positives, false negatives) per kind, on exact spans."""
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for row in _corpus():
        gold = {(s["kind"], s["start"], s["end"]) for s in row["spans"]}  # type: ignore[attr-defined]
        found = {(m.kind, m.start, m.end) for m in scan_text(str(row["text"]), region="US")}
        tp.update(k[0] for k in gold & found)
        fp.update(k[0] for k in found - gold)
        fn.update(k[0] for k in gold - found)
    return {kind: (tp[kind], fp[kind], fn[kind]) for kind in PII_KINDS}


def test_corpus_is_large_and_labels_every_kind() -> None:
    rows = _corpus()
    assert len(rows) >= 200
    assert len({r["id"] for r in rows}) == len(rows)
    kinds = Counter(s["kind"] for r in rows for s in r["spans"])  # type: ignore[attr-defined]
    assert set(kinds) == set(PII_KINDS)
    assert min(kinds.values()) >= 20, kinds
    assert sum(1 for r in rows if not r["spans"]) >= 50  # look-alikes with no PII
    for r in rows:
        for s in r["spans"]:  # type: ignore[attr-defined]
            assert 0 <= s["start"] < s["end"] <= len(str(r["text"]))


def test_precision_and_recall_per_kind_on_the_corpus() -> None:
    scores = corpus_scores()
    lines = [f"{'kind':16} {'tp':>4} {'fp':>4} {'fn':>4} {'precision':>9} {'recall':>7}"]
    failing = []
    for kind, (tp, fp, fn) in scores.items():
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        lines.append(f"{kind:16} {tp:4} {fp:4} {fn:4} {precision:9.3f} {recall:7.3f}")
        if precision < 0.95 or recall < 0.95:
            failing.append(kind)
    print("\n".join(lines))
    assert not failing, "\n".join(lines)


# Test numbers published by the card networks and payment processors.
VALID_CARDS = [
    "4111111111111111",
    "4012888888881881",
    "4222222222222",
    "5555555555554444",
    "5105105105105100",
    "2223003122003222",
    "378282246310005",
    "371449635398431",
    "6011111111111117",
    "6011000990139424",
    "3530111333300000",
    "3566002020360505",
    "30569309025904",
    "38520000023237",
    "6200000000000005",
]


@pytest.mark.parametrize("number", VALID_CARDS)
def test_luhn_accepts_published_test_cards(number: str) -> None:
    assert luhn_is_valid(number)
    assert [m.kind for m in scan_text(f"card {number} please")] == ["card"]


@pytest.mark.parametrize("number", VALID_CARDS)
def test_luhn_rejects_every_single_digit_change(number: str) -> None:
    # Luhn catches every one-digit error, so each neighbour of a valid number must fail.
    for i, ch in enumerate(number):
        for d in string.digits:
            if d != ch:
                assert not luhn_is_valid(number[:i] + d + number[i + 1 :]), (number, i, d)


def test_luhn_rejects_non_digits_and_adjacent_swaps() -> None:
    assert not luhn_is_valid("4111-1111-1111-1111")
    assert not luhn_is_valid("")
    assert luhn_is_valid("79927398713")  # the textbook example
    assert not luhn_is_valid("79927398731")


# Examples from the IBAN registry (SWIFT) and national bank documentation.
VALID_IBANS = [
    "GB82 WEST 1234 5698 7654 32",
    "GB29NWBK60161331926819",
    "DE89370400440532013000",
    "FR1420041010050500013M02606",
    "NL91ABNA0417164300",
    "ES9121000418450200051332",
    "IT60X0542811101000000123456",
    "BE68539007547034",
    "CH9300762011623852957",
    "AT611904300234573201",
    "PL61109010140000071219812874",
    "NO9386011117947",
    "DK5000400440116243",
    "FI2112345600000785",
    "SE4550000000058398257466",
    "MT84MALT011000012345MTLCAST001S",
]


@pytest.mark.parametrize("iban", VALID_IBANS)
def test_iban_accepts_registry_examples(iban: str) -> None:
    assert iban_is_valid(iban)
    assert [m.kind for m in scan_text(f"IBAN {iban}.")] == ["iban"]


@pytest.mark.parametrize("iban", VALID_IBANS)
def test_iban_rejects_every_single_digit_change(iban: str) -> None:
    # Mod-97 catches every one-digit substitution (a letter for a digit is not guaranteed).
    compact = iban.replace(" ", "")
    for i in range(2, len(compact)):
        if not compact[i].isdigit():
            continue
        for ch in string.digits:
            if ch != compact[i]:
                assert not iban_is_valid(compact[:i] + ch + compact[i + 1 :]), (iban, i, ch)


def test_iban_rejects_wrong_length_and_unknown_country() -> None:
    assert not iban_is_valid("GB82WEST1234569876543")  # one character short
    assert not iban_is_valid("DE89370400440532013000" + "0")
    assert not iban_is_valid("ZZ82WEST12345698765432")
    assert not iban_is_valid("GBXXWEST12345698765432")


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("123-45-6789", True),
        ("078-05-1120", True),
        ("899-99-9999", True),
        ("000-12-3456", False),
        ("666-12-3456", False),
        ("900-12-3456", False),
        ("999-12-3456", False),
        ("123-00-4567", False),
        ("123-45-0000", False),
        ("123456789", False),  # only the dashed form counts
        ("1123-45-6789", False),
    ],
)
def test_ssn_format_rules(text: str, found: bool) -> None:
    assert bool([m for m in scan_text(f"SSN {text}.") if m.kind == "ssn"]) is found


def test_same_value_gets_the_same_number_within_an_example() -> None:
    text = (
        "ana@example.com wrote to bo@example.com; cc ANA@example.com. "
        "Call (415) 555-0132 or 415-555-0132, or +44 20 7946 0958."
    )
    assert mask_text(text) == (
        "<EMAIL_1> wrote to <EMAIL_2>; cc <EMAIL_1>. Call <PHONE_1> or <PHONE_1>, or <PHONE_2>."
    )


def test_numbering_restarts_for_each_text() -> None:
    assert mask_text("x bo@example.com") == "x <EMAIL_1>"
    assert mask_text("y ana@example.com") == "y <EMAIL_1>"


def test_masking_masked_text_changes_nothing_and_leaves_no_pii() -> None:
    for row in _corpus():
        once = mask_text(str(row["text"]))
        assert mask_text(once) == once
        assert scan_text(once) == []


def test_overlaps_longest_and_most_specific_wins() -> None:
    url = "postgres://app:pw@db.example.com:5432/prod"
    assert [(m.kind, m.value) for m in scan_text(f"use {url}.")] == [("url_credentials", url)]
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
    assert mask_text(f"Authorization: Bearer {jwt}") == "Authorization: Bearer <SECRET_1>"
    # An IBAN's digits can read as a phone number; the longer IBAN span wins.
    assert [m.kind for m in scan_text("to NO9386011117947 today")] == ["iban"]


def test_region_decides_national_phone_formats() -> None:
    text = "call 020 7946 0958 today"
    assert [m.kind for m in scan_text(text, region="GB")] == ["phone"]
    assert scan_text(text, region="US") == []
    assert [m.kind for m in scan_text("call +44 20 7946 0958", region="US")] == ["phone"]
    with pytest.raises(DataError, match="'XX' is not a known phone region"):
        scan_text(text, region="XX")


def test_preview_never_shows_the_whole_value() -> None:
    for value in ("sk-proj-4fJ9kLm2Qx8Rt7Vw1Yz3Ab5Cd6Ef0Gh", "4111111111111111", "8.8.8.8", "ab"):
        shown = pii_preview(value)
        assert value not in shown
        assert len(shown.replace("…", "").replace("*", "")) <= len(value) // 2
    assert pii_preview("4111111111111111") == "411…111"


def test_mask_table_shares_numbers_across_columns_and_keeps_other_columns() -> None:
    table = pa.table(
        {
            "id": ["a", "b"],
            "input": ["mail ana@example.com", "nothing here"],
            "target": ["reply to ana@example.com or bo@example.com", None],
            "score": [1, 2],
        }
    )
    masked = mask_table(table, ["input", "target"])
    assert masked.table.column("input").to_pylist() == ["mail <EMAIL_1>", "nothing here"]
    assert masked.table.column("target").to_pylist() == ["reply to <EMAIL_1> or <EMAIL_2>", None]
    assert masked.table.column("score").to_pylist() == [1, 2]
    assert masked.table.schema == table.schema
    assert masked.counts == {"email": 3}


def test_scan_table_counts_and_names_rows() -> None:
    table = pa.table({"id": ["t1", "t2", "t3"], "text": ["ssn 123-45-6789", "ok", "8.8.8.8"]})
    found = scan_table(table, id_column="id")
    assert found.columns == ("id", "text")
    assert found.counts == {"ssn": 1, "ip": 1}
    assert [(f.row, f.id, f.column, f.kinds) for f in found.findings] == [
        (0, "t1", "text", ("ssn",)),
        (2, "t3", "text", ("ip",)),
    ]
    assert "123-45-6789" not in json.dumps([f.to_dict() for f in found.findings])


def test_scan_table_names_a_missing_or_non_text_column() -> None:
    table = pa.table({"text": ["a"], "n": [1]})
    with pytest.raises(DataError, match=r"column 'body' missing \(columns: text, n\)"):
        scan_table(table, ["body"])
    with pytest.raises(DataError, match="column 'n' is not text"):
        scan_table(table, ["n"])


def test_masked_jsonl_keeps_values_of_other_columns_as_written(tmp_path: Path) -> None:
    source = tmp_path / "d.jsonl"
    source.write_text(
        '{"text": "ip 8.8.8.8", "n": 1, "meta": {"k": [1, 2]}, "mixed": 1}\n'
        '{"text": "none", "n": null, "meta": {"k": []}, "mixed": "one"}\n',
        encoding="utf-8",
    )
    out = tmp_path / "m.jsonl"
    write_table(mask_table(read_table(source), ["text"]).table, out, "jsonl")
    assert [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] == [
        {"text": "ip <IP_1>", "n": 1, "meta": {"k": [1, 2]}, "mixed": 1},
        {"text": "none", "n": None, "meta": {"k": []}, "mixed": "one"},
    ]
