"""Text normalisation shared by the data checks: one spelling per text, vectorised.

Two forms are used. ``normalize_texts`` keeps words and punctuation but folds case,
whitespace and Unicode compatibility forms (NFKC), so ``"Ｒefund  please"`` and
``"refund please"`` are the same input. ``contamination_words`` follows the GPT-3 paper's
contamination study: lower-cased, punctuation stripped, split into words.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

__all__ = [
    "Grams",
    "as_text",
    "contamination_words",
    "normalize_texts",
    "text_lengths",
    "word_ngrams",
]


def as_text(value: Any) -> str:
    """A value as text: strings as they are, missing as ``""``, anything else as JSON."""
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _series(values: NDArray[Any] | list[Any]) -> pd.Series:
    return pd.Series([as_text(v) for v in values], dtype=object)


def normalize_texts(values: NDArray[Any] | list[Any]) -> pd.Series:
    """NFKC, case-folded, whitespace collapsed to single spaces and stripped.

    Example:
        >>> list(normalize_texts(["  Hello\\tWORLD ", "ｈｅｌｌｏ world"]))
        ['hello world', 'hello world']
    """
    s = _series(values)
    return (
        s.str.normalize("NFKC")
        .str.casefold()
        .str.replace(r"\s+", " ", regex=True)
        .str.strip()
        .astype(object)
    )


def contamination_words(values: NDArray[Any] | list[Any]) -> pd.Series:
    """Texts the GPT-3 way: NFKC, lower-cased, punctuation (anything but letters, digits,
    whitespace) replaced by spaces; split them with :func:`word_ngrams`."""
    s = _series(values).str.normalize("NFKC").str.lower()
    return s.str.replace(r"[^\w\s]|_", " ", regex=True).astype(object)


@dataclass(frozen=True)
class Grams:
    """The word n-grams of many texts as 64-bit hashes, in text order.

    Attributes:
        hashes: one hash per n-gram (repeats within a text kept).
        owner: the position of the text each n-gram comes from (non-decreasing).
        texts: how many texts there are.
    """

    hashes: NDArray[np.uint64]
    owner: NDArray[np.int64]
    texts: int

    @cached_property
    def _bounds(self) -> NDArray[np.intp]:
        return np.searchsorted(self.owner, np.arange(self.texts + 1))

    def set_of(self, i: int) -> frozenset[int]:
        """The set of n-gram hashes of text ``i``."""
        lo, hi = self._bounds[i], self._bounds[i + 1]
        return frozenset(self.hashes[lo:hi].tolist())

    def counts(self) -> NDArray[np.int64]:
        """How many n-grams each text has."""
        return np.diff(self._bounds).astype(np.int64)


_MULT = np.random.default_rng(20240601).integers(0, 1 << 63, size=64, dtype=np.uint64) * np.uint64(
    2
) + np.uint64(1)


def word_ngrams(texts: pd.Series | list[str], n: int, *, partial: bool) -> Grams:
    """The ``n``-word n-grams of whitespace-split texts, hashed without building strings.

    Each distinct word is hashed once (pandas' stable hash), and an n-gram's hash is a weighted sum
    of its words' hashes with fixed odd 64-bit weights, so equal word sequences hash equal
    in every run. With ``partial``, a text shorter than ``n`` words (but not empty) is one
    n-gram of all its words; without, it has none.
    """
    if n > _MULT.size:
        raise ValueError(f"n-grams of at most {_MULT.size} words, got {n}")
    values = list(texts) if isinstance(texts, list) else texts.tolist()
    total = len(values)
    # split, flatten and dictionary-encode in Arrow: each distinct word is hashed once
    lists = pc.utf8_split_whitespace(pc.utf8_trim_whitespace(pa.array(values, type=pa.string())))
    flat = pc.list_flatten(lists)
    parents = pc.list_parent_indices(lists)
    nonempty = pc.not_equal(flat, "")
    flat, parents = pc.filter(flat, nonempty), pc.filter(parents, nonempty)
    if len(flat) == 0:
        empty = np.zeros(0, dtype=np.uint64)
        return Grams(empty, np.zeros(0, dtype=np.int64), total)
    encoded = pc.dictionary_encode(flat)
    vocab = np.asarray(encoded.dictionary.to_pylist(), dtype=object)
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    w = pd.util.hash_array(vocab, categorize=False)[codes]
    doc = parents.to_numpy(zero_copy_only=False).astype(np.int64)
    m = w.size
    # positions where an n-gram starts: all n words in the same text …
    pos = np.arange(m)
    end = pos + n - 1
    full = end < m
    full[full] = doc[end[full]] == doc[pos[full]]
    starts = np.flatnonzero(full)
    with np.errstate(over="ignore"):
        h = np.zeros(starts.size, dtype=np.uint64)
        for j in range(n):
            h += w[starts + j] * _MULT[j]
        if partial:
            # … or the first word of a text shorter than n words: one n-gram of all of it
            lengths = np.bincount(doc, minlength=total)
            first = np.r_[True, doc[1:] != doc[:-1]]
            short = np.flatnonzero(first & (lengths[doc] < n))
            hs = np.zeros(short.size, dtype=np.uint64)
            for j in range(n):
                at = np.minimum(short + j, m - 1)
                ok = (short + j < m) & (doc[at] == doc[short])
                hs[ok] += w[at[ok]] * _MULT[j]
            starts = np.concatenate([starts, short])
            h = np.concatenate([h, hs])
            order = np.argsort(starts, kind="stable")
            starts, h = starts[order], h[order]
    return Grams(h, doc[starts], total)


def text_lengths(values: NDArray[Any] | list[Any]) -> NDArray[np.int64]:
    """Length in characters of each value's text (missing is 0)."""
    return np.asarray(_series(values).str.len().to_numpy(), dtype=np.int64)
