"""The data report: each finding on small hand-made data."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from heldout import DataError
from heldout.data import DataReport, check_data
from heldout.data._minhash import candidate_pairs, jaccard, similar_pairs
from heldout.data._text_norm import normalize_texts, word_ngrams

PATH = Path("eval.jsonl")


def sentence(rng: random.Random, n: int = 30) -> str:
    """Words from a large made-up vocabulary, so two sentences share (almost) no shingle."""
    return " ".join(f"w{rng.randrange(100_000)}" for _ in range(n))


def filler(n: int, seed: int = 0) -> list[dict[str, object]]:
    rng = random.Random(seed)
    return [
        {
            "id": f"f{i}",
            "input": sentence(rng, rng.randint(25, 35)),
            "target": "a" if i % 2 else "b",
        }
        for i in range(n)
    ]


def report(rows: list[dict[str, object]], **kwargs: object) -> DataReport:
    table = pa.Table.from_pylist(rows)
    options: dict[str, object] = {"id": "id", "input": "input", "target": "target"}
    options.update(kwargs)
    return check_data(table, path=PATH, **options)  # type: ignore[arg-type]


def test_clean_data_has_no_finding() -> None:
    r = report(filler(40))
    counts = r.findings()
    assert counts["duplicates"] == counts["near-duplicates"] == counts["conflicts"] == 0
    assert r.rows == 40
    assert r.balance is not None and dict(r.balance.counts) == {"a": 20, "b": 20}


def test_exact_duplicates_ignore_case_whitespace_and_unicode_width() -> None:
    rows = filler(20)
    rows += [
        {"id": "d1", "input": "Refund my order please", "target": "a"},
        {"id": "d2", "input": "  refund   MY\torder please ", "target": "a"},
        {"id": "d3", "input": "Ｒｅｆｕｎｄ my order please", "target": "a"},
        {"id": "d4", "input": "Refund my orders please", "target": "a"},
    ]
    r = report(rows)
    assert [g.ids for g in r.duplicates] == [("d1", "d2", "d3")]


def test_normalisation_folds_case_space_and_compatibility_forms() -> None:
    assert list(normalize_texts(["  Ｈｅｌｌｏ\n WORLD ", None, {"b": 1}])) == [
        "hello world",
        "",
        '{"b": 1}',
    ]


def test_near_duplicate_with_one_word_changed_is_reported_with_its_jaccard() -> None:
    rows = filler(30)
    rows[3]["input"] = sentence(random.Random(1), 40)  # 38 shingles: one word changes 3
    words = str(rows[3]["input"]).split()
    words[len(words) // 2] = "changed"
    rows.append({"id": "near", "input": " ".join(words), "target": "a"})
    r = report(rows)
    assert [(p.first, p.second) for p in r.near_duplicates] == [("f3", "near")]
    assert r.near_duplicates[0].jaccard == pytest.approx(35 / 41)


def test_near_duplicate_under_the_threshold_is_not_reported() -> None:
    rows = filler(30)
    words = str(rows[3]["input"]).split()
    for k in (3, 10, 17, 24):  # four words apart: 12 of ~28 shingles change
        words[k] = f"changed{k}"
    rows.append({"id": "far", "input": " ".join(words), "target": "a"})
    assert report(rows).near_duplicates == ()
    # one word changed is ~0.8; a stricter threshold leaves it out too
    rows[5]["input"] = sentence(random.Random(2), 40)
    words = str(rows[5]["input"]).split()
    words[12] = "changed"
    rows.append({"id": "one", "input": " ".join(words), "target": "a"})
    assert report(rows, near=0.9).near_duplicates == ()
    assert len(report(rows, near=0.7).near_duplicates) == 1


def test_exact_duplicates_are_not_reported_again_as_near_duplicates() -> None:
    rows = filler(10)
    rows.append({"id": "copy", "input": str(rows[0]["input"]).upper(), "target": "b"})
    r = report(rows)
    assert len(r.duplicates) == 1
    assert r.near_duplicates == ()


def test_jaccard_verification_removes_lsh_false_positives() -> None:
    rng = random.Random(7)
    base = sentence(rng, 40).split()
    other = list(base)
    for k in range(2, 40, 9):  # Jaccard well under 0.8, often still an LSH candidate
        other[k] = f"x{k}"
    texts = normalize_texts([" ".join(base), " ".join(other)])
    shingles = word_ngrams(texts, 3, partial=True)
    score = jaccard(shingles.set_of(0), shingles.set_of(1))
    assert 0.4 < score < 0.8
    seeds = [s for s in range(40) if candidate_pairs(shingles, threshold=0.8, seed=s).size]
    assert seeds, "LSH never proposed the pair: pick a closer one"
    for seed in seeds:
        assert similar_pairs(shingles, threshold=0.8, seed=seed) == []
    assert similar_pairs(shingles, threshold=score, seed=seeds[0])[0].jaccard == score


def test_conflicting_labels_are_grouped_with_their_targets() -> None:
    rows = filler(20)
    rows += [
        {"id": "c1", "input": "My card was charged twice", "target": "a"},
        {"id": "c2", "input": "my card was charged  twice", "target": "b"},
        {"id": "s1", "input": "Same label twice", "target": "a"},
        {"id": "s2", "input": "same label twice", "target": "a"},
    ]
    r = report(rows)
    assert [(c.ids, c.targets) for c in r.conflicts] == [(("c1", "c2"), ("a", "b"))]
    assert len(r.duplicates) == 2


def test_unknown_labels_rare_classes_and_imbalance_ratio() -> None:
    rows = filler(20)
    rows[4]["target"] = "Billing"
    rows[9]["target"] = "Billing"
    rows[11]["target"] = "zzz"
    r = report(rows, labels=("a", "b", "c"), min_count=5)
    assert r.balance is not None
    assert dict(r.balance.unknown) == {"Billing": ("f4", "f9"), "zzz": ("f11",)}
    assert r.balance.rare == ("Billing", "c", "zzz")
    assert r.balance.counts["c"] == 0
    assert r.balance.imbalance_ratio == pytest.approx(9 / 1)  # b 9, zzz 1; c (0) left out
    assert r.findings()["unknown-labels"] == 3


def test_length_outliers_beyond_three_iqr_are_reported() -> None:
    rows = filler(40)
    rows.append({"id": "long", "input": "word " * 2000, "target": "a"})
    rows.append({"id": "short", "input": "hi", "target": "a"})
    r = report(rows)
    assert r.lengths is not None
    assert r.lengths.long == ("long",)
    assert r.lengths.short == ("short",)
    assert r.lengths.high == pytest.approx(r.lengths.q3 + 3 * (r.lengths.q3 - r.lengths.q1))


def test_missing_and_empty_values_are_counted_per_column() -> None:
    rows = filler(10)
    rows[1]["input"] = "   "
    rows[2]["input"] = None
    rows[0]["note"] = "x"
    r = report(rows)
    cols = {c.name: (c.missing, c.empty) for c in r.columns}
    assert cols["input"] == (1, 1)
    assert cols["note"] == (9, 0)
    assert cols["id"] == (0, 0)


def test_without_an_id_column_row_numbers_are_the_ids() -> None:
    rows = [{"input": "same text", "target": "a"}, {"input": "other", "target": "a"}]
    rows.append({"input": "Same  text", "target": "b"})
    r = report(rows, id=None)
    assert r.duplicates[0].ids == ("1", "3")
    assert r.conflicts[0].targets == ("a", "b")


def test_numeric_targets_get_no_class_balance_unless_told() -> None:
    rows = [{"id": str(i), "input": f"text {i}", "target": i / 3} for i in range(10)]
    assert report(rows).balance is None
    assert report(rows, classification=True).balance is not None


def test_a_missing_input_column_names_the_columns() -> None:
    with pytest.raises(
        DataError, match=r'column "text" \(input\) not found.*columns are: id, input'
    ):
        report(filler(3), input="text")


def test_report_serialises_every_finding() -> None:
    rows = filler(12)
    rows.append({"id": "dup", "input": str(rows[0]["input"]), "target": "a"})
    doc = report(rows).to_dict()
    assert set(doc) == {
        "path",
        "rows",
        "settings",
        "findings",
        "columns",
        "duplicates",
        "near_duplicates",
        "conflicts",
        "balance",
        "length_outliers",
        "leakage",
    }
    assert doc["duplicates"] == [["f0", "dup"]]
    assert doc["settings"]["num_perm"] == 128
    assert np.isfinite(doc["balance"]["imbalance_ratio"])
