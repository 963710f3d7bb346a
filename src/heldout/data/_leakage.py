"""Train ↔ eval leakage: exact matches, n-gram overlap and near-duplicates.

The n-gram check follows the contamination study of the GPT-3 paper (Brown et al., 2020,
appendix C): texts are lower-cased and stripped of punctuation, split into words, and an
eval example is contaminated when any of its N-word n-grams appears in the training set.
N is 13 by default. With ``ngram="auto"`` N is the 5th percentile of the eval examples'
lengths in words, rounded down and clipped to 8–13 (the paper's rule), so that short
examples still have n-grams to check. Examples shorter than N words have no N-gram and are
left to the exact and near-duplicate checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from heldout.data._minhash import SHINGLE_WORDS, similar_pairs
from heldout.data._text_norm import contamination_words, normalize_texts, word_ngrams

__all__ = ["LeakageReport", "LeakedExample", "check_leakage", "choose_ngram"]

#: At most this many training ids are kept per contaminated eval example.
MAX_TRAIN_IDS = 20
NGRAM_MIN, NGRAM_MAX = 8, 13


@dataclass(frozen=True)
class LeakedExample:
    """An eval example found in the training set.

    Attributes:
        id: the eval example.
        train_ids: matching training examples, best match first (at most 20).
        overlap: 1.0 for an exact match; the fraction of the example's n-grams found in
            training for n-gram overlap; the best Jaccard similarity for a near-duplicate.
    """

    id: str
    train_ids: tuple[str, ...]
    overlap: float


@dataclass(frozen=True)
class LeakageReport:
    """What :func:`check_leakage` found; each finding lists eval ids in file order."""

    train_path: str
    train_rows: int
    ngram: int
    ngram_rule: str
    near_threshold: float
    exact: tuple[LeakedExample, ...]
    ngram_overlap: tuple[LeakedExample, ...]
    near: tuple[LeakedExample, ...]

    @property
    def contaminated_ids(self) -> tuple[str, ...]:
        """Eval ids flagged by any of the three checks, sorted."""
        found = {e.id for part in (self.exact, self.ngram_overlap, self.near) for e in part}
        return tuple(sorted(found))

    def to_dict(self) -> dict[str, Any]:
        def rows(part: tuple[LeakedExample, ...]) -> list[dict[str, Any]]:
            return [
                {"id": e.id, "train_ids": list(e.train_ids), "overlap": round(e.overlap, 4)}
                for e in part
            ]

        return {
            "train_path": self.train_path,
            "train_rows": self.train_rows,
            "ngram": self.ngram,
            "ngram_rule": self.ngram_rule,
            "near_threshold": self.near_threshold,
            "contaminated_ids": list(self.contaminated_ids),
            "exact": rows(self.exact),
            "ngram_overlap": rows(self.ngram_overlap),
            "near_duplicates": rows(self.near),
        }


def choose_ngram(word_counts: Sequence[int] | NDArray[np.int64]) -> int:
    """N for n-gram overlap: the 5th percentile of word counts, clipped to 8–13.

    Example:
        >>> choose_ngram([10] * 100)
        10
    """
    counts = np.asarray(word_counts, dtype=np.float64)
    if counts.size == 0:
        return NGRAM_MAX
    p5 = int(np.floor(np.percentile(counts, 5)))
    return int(np.clip(p5, NGRAM_MIN, NGRAM_MAX))


def check_leakage(
    eval_ids: NDArray[np.object_],
    eval_inputs: NDArray[Any],
    train_ids: NDArray[np.object_],
    train_inputs: NDArray[Any],
    *,
    train_path: str = "",
    ngram: int | Literal["auto"] = 13,
    near: float = 0.8,
    seed: int = 0,
    eval_norm: pd.Series | None = None,
) -> LeakageReport:
    """Eval examples whose input also appears, whole or in part, in the training set.

    Args:
        eval_ids, eval_inputs: the eval examples.
        train_ids, train_inputs: the training examples.
        train_path: the training file, for the report.
        ngram: N of the n-gram overlap check, or ``"auto"`` (see the module docstring).
        near: the least Jaccard similarity of 3-word shingle sets for a near-duplicate.
        seed: seed of the MinHash permutations.
        eval_norm: ``normalize_texts(eval_inputs)`` when the caller already has it (the
            data checks compute it too), so the eval texts are normalised once.
    """
    if eval_norm is None:
        eval_norm = normalize_texts(eval_inputs)
    train_norm = normalize_texts(train_inputs)
    eval_words = contamination_words(eval_inputs)
    if ngram == "auto":
        counts = word_ngrams(eval_words, 1, partial=False).counts()  # words per example
        n = choose_ngram(counts[counts > 0])
        rule = f"auto: 5th percentile of eval lengths in words, clipped to {NGRAM_MIN}-{NGRAM_MAX}"
    else:
        n, rule = int(ngram), "fixed"
    return LeakageReport(
        train_path=train_path,
        train_rows=len(train_ids),
        ngram=n,
        ngram_rule=rule,
        near_threshold=near,
        exact=_exact(eval_norm, eval_ids, train_norm, train_ids),
        ngram_overlap=_ngram_overlap(
            eval_words, eval_ids, contamination_words(train_inputs), train_ids, n=n
        ),
        near=_near(eval_norm, eval_ids, train_norm, train_ids, threshold=near, seed=seed),
    )


def _exact(
    eval_norm: pd.Series,
    eval_ids: NDArray[np.object_],
    train_norm: pd.Series,
    train_ids: NDArray[np.object_],
) -> tuple[LeakedExample, ...]:
    train = pd.DataFrame({"norm": train_norm, "train": np.arange(len(train_norm))})
    train = train[train["norm"] != ""]
    ev = pd.DataFrame({"norm": eval_norm, "eval": np.arange(len(eval_norm))})
    hits = ev.merge(train, on="norm", how="inner", sort=False).sort_values(
        ["eval", "train"], kind="stable"
    )
    out = []
    for e, group in hits.groupby("eval", sort=True)["train"]:
        ids = tuple(str(train_ids[t]) for t in group.to_numpy()[:MAX_TRAIN_IDS])
        out.append(LeakedExample(str(eval_ids[int(str(e))]), ids, 1.0))
    return tuple(out)


def _ngram_table(words: pd.Series, n: int, *, column: str) -> pd.DataFrame:
    """Distinct (n-gram hash, example position) rows."""
    grams = word_ngrams(words, n, partial=False)
    frame = pd.DataFrame({"gram": grams.hashes, column: grams.owner})
    return frame.drop_duplicates()


def _ngram_overlap(
    eval_words: pd.Series,
    eval_ids: NDArray[np.object_],
    train_words: pd.Series,
    train_ids: NDArray[np.object_],
    *,
    n: int,
) -> tuple[LeakedExample, ...]:
    ev = _ngram_table(eval_words, n, column="eval")
    train = _ngram_table(train_words, n, column="train")
    if ev.empty or train.empty:
        return ()
    total = ev.groupby("eval").size()
    # boilerplate n-grams shared by thousands of training rows: a few of them name the match
    train = train.groupby("gram", sort=False).head(MAX_TRAIN_IDS)
    hits = ev[ev["gram"].isin(train["gram"])]
    if hits.empty:
        return ()
    matched = hits.groupby("eval").size()
    shared = hits.merge(train, on="gram").groupby(["eval", "train"]).size().rename("shared")
    pairs = shared.reset_index().sort_values(
        ["eval", "shared", "train"], ascending=[True, False, True]
    )
    out = []
    for e, group in pairs.groupby("eval", sort=True)["train"]:
        pos = int(str(e))
        ids = tuple(str(train_ids[t]) for t in group.to_numpy()[:MAX_TRAIN_IDS])
        out.append(LeakedExample(str(eval_ids[pos]), ids, float(matched[pos] / total[pos])))
    return tuple(out)


def _near(
    eval_norm: pd.Series,
    eval_ids: NDArray[np.object_],
    train_norm: pd.Series,
    train_ids: NDArray[np.object_],
    *,
    threshold: float,
    seed: int,
) -> tuple[LeakedExample, ...]:
    eval_first = np.flatnonzero(~eval_norm.duplicated().to_numpy() & (eval_norm.to_numpy() != ""))
    train_first = np.flatnonzero(
        ~train_norm.duplicated().to_numpy() & (train_norm.to_numpy() != "")
    )
    texts = eval_norm.iloc[eval_first].tolist() + train_norm.iloc[train_first].tolist()
    shingles = word_ngrams(pd.Series(texts, dtype=object), SHINGLE_WORDS, partial=True)
    pairs = similar_pairs(shingles, threshold=threshold, seed=seed, across=eval_first.size)
    best: dict[int, list[tuple[float, int]]] = {}
    for p in pairs:
        if texts[p.first] == texts[p.second]:
            continue  # an exact match, reported by the exact check
        best.setdefault(p.first, []).append(
            (p.jaccard, int(train_first[p.second - eval_first.size]))
        )
    # every eval example with a flagged normalised input is flagged, not just the first
    codes, _ = pd.factorize(eval_norm)
    first_of_code = {int(codes[e]): k for k, e in enumerate(eval_first)}
    out = []
    for pos in range(len(eval_norm)):
        k = first_of_code.get(int(codes[pos]))
        if k is None or k not in best:
            continue
        matches = sorted(best[k], key=lambda m: (-m[0], m[1]))
        ids = tuple(str(train_ids[t]) for _, t in matches[:MAX_TRAIN_IDS])
        out.append(LeakedExample(str(eval_ids[pos]), ids, matches[0][0]))
    return tuple(out)
