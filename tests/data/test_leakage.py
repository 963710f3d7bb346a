"""Train ↔ eval leakage: exact, n-gram (the GPT-3 way) and near-duplicate matches."""

from __future__ import annotations

import random

import numpy as np
import pytest

from heldout.data import LeakageReport, check_leakage, choose_ngram


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(f"w{rng.randrange(100_000)}" for _ in range(n))


def ids(prefix: str, n: int) -> np.ndarray:
    return np.asarray([f"{prefix}{i}" for i in range(n)], dtype=object)


def leakage(eval_texts: list[str], train_texts: list[str], **kwargs: object) -> LeakageReport:
    return check_leakage(
        ids("e", len(eval_texts)),
        np.asarray(eval_texts, dtype=object),
        ids("t", len(train_texts)),
        np.asarray(train_texts, dtype=object),
        **kwargs,  # type: ignore[arg-type]
    )


def corpus(seed: int, n: int = 20, words: int = 30) -> list[str]:
    rng = random.Random(seed)
    return [sentence(rng, words) for _ in range(n)]


def test_disjoint_sets_have_no_leakage() -> None:
    r = leakage(corpus(1), corpus(2))
    assert r.contaminated_ids == ()
    assert r.ngram == 13 and r.ngram_rule == "fixed"


def test_exact_match_after_normalisation_maps_eval_id_to_train_ids() -> None:
    ev, train = corpus(1), corpus(2)
    train[4] = "  " + ev[2].upper() + " "
    train[9] = ev[2]
    r = leakage(ev, train)
    assert [(e.id, e.train_ids, e.overlap) for e in r.exact] == [("e2", ("t4", "t9"), 1.0)]
    assert r.near == ()  # exact matches are not reported again as near-duplicates


def test_a_shared_13_gram_contaminates_but_a_12_gram_does_not() -> None:
    rng = random.Random(3)
    ev, train = corpus(1), corpus(2)
    span = sentence(rng, 13).split()
    ev[5] = f"{sentence(rng, 20)} {' '.join(span)}, {sentence(rng, 20)}"
    train[7] = f"{sentence(rng, 10)} {' '.join(span).upper()}! {sentence(rng, 10)}"
    ev[6] = f"{sentence(rng, 20)} {' '.join(span[:12])} {sentence(rng, 20)}"
    r = leakage(ev, train)
    assert [(e.id, e.train_ids) for e in r.ngram_overlap] == [("e5", ("t7",))]
    # 53 words: 41 13-grams, one of them in train
    assert r.ngram_overlap[0].overlap == pytest.approx(1 / 41)
    assert r.contaminated_ids == ("e5",)
    assert [e.id for e in leakage(ev, train, ngram=12).ngram_overlap] == ["e5", "e6"]


def test_near_duplicate_across_sets_is_flagged_and_a_distant_one_is_not() -> None:
    ev, train = corpus(1, words=40), corpus(2, words=40)
    close = ev[3].split()
    close[20] = "changed"  # one word: Jaccard 35/41
    train[0] = " ".join(close)
    far = ev[8].split()
    for k in range(2, 40, 5):  # eight words: far under 0.8, and no 13-gram in common
        far[k] = f"x{k}"
    train[1] = " ".join(far)
    r = leakage(ev, train)
    assert [(e.id, e.train_ids) for e in r.near] == [("e3", ("t0",))]
    assert r.near[0].overlap == pytest.approx(35 / 41)
    assert "e8" not in r.contaminated_ids


def test_auto_ngram_is_the_5th_percentile_of_eval_lengths_clipped_to_8_13() -> None:
    assert choose_ngram([10] * 100) == 10
    assert choose_ngram([3] * 50 + [40] * 50) == 8
    assert choose_ngram([100] * 10) == 13
    assert choose_ngram(list(range(1, 101))) == 8
    assert choose_ngram(list(range(200, 301))) == 13
    r = leakage(corpus(1, words=10), corpus(2), ngram="auto")
    assert r.ngram == 10 and r.ngram_rule.startswith("auto")


def test_report_serialises_each_check() -> None:
    ev, train = corpus(1), corpus(2)
    train[0] = ev[0]
    doc = leakage(ev, train, train_path="train.jsonl").to_dict()
    assert doc["contaminated_ids"] == ["e0"]
    assert doc["exact"] == [{"id": "e0", "train_ids": ["t0"], "overlap": 1.0}]
    assert doc["ngram_overlap"][0]["id"] == "e0"  # an exact copy shares every 13-gram
    assert set(doc) == {
        "train_path",
        "train_rows",
        "ngram",
        "ngram_rule",
        "near_threshold",
        "contaminated_ids",
        "exact",
        "ngram_overlap",
        "near_duplicates",
    }
