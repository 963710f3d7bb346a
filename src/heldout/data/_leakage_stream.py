"""Train ↔ eval leakage over a training set streamed in chunks.

:func:`~heldout.data.check_leakage` holds both sides in memory, which a training set of
millions of documents does not fit. :class:`LeakageIndex` indexes the eval side once (its
normalised texts, its distinct N-grams, its MinHash band keys and its shingle sets) and
then takes the training set chunk by chunk: each chunk is normalised, hashed and looked up
against the index, and only the matches are kept. Memory is the eval index plus one chunk,
whatever the training set's size.

The report is the one :func:`~heldout.data.check_leakage` gives on the same data: the same
checks, the same normalisation, hashes, MinHash permutations and banding, the same
ordering of matches and the same cap on boilerplate N-grams (the first 20 training rows
of an N-gram count). One difference: ``check_leakage`` pairs an LSH bucket of more than
200 texts with its first member only, while the index pairs every eval text of a bucket
with the training texts in it (buckets that large are boilerplate, not leakage).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from heldout.data._leakage import (
    MAX_TRAIN_IDS,
    NGRAM_MAX,
    NGRAM_MIN,
    LeakageReport,
    LeakedExample,
    choose_ngram,
)
from heldout.data._minhash import NUM_PERM, SHINGLE_WORDS, _bands, _signatures, jaccard
from heldout.data._text_norm import contamination_words, normalize_texts, word_ngrams

__all__ = ["LeakageIndex", "check_leakage_stream"]


def _band_keys(sig: NDArray[np.uint64], *, bands: int, rows: int, seed: int) -> NDArray[np.uint64]:
    """One key per text and band, shape ``(texts, bands)``, as ``candidate_pairs`` hashes them."""
    mult = np.random.default_rng(seed + 1).integers(1, 1 << 63, size=rows, dtype=np.uint64) | 1
    out = np.empty((sig.shape[0], bands), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for band in range(bands):
            block = sig[:, band * rows : (band + 1) * rows]
            out[:, band] = (block * mult[None, :]).sum(axis=1, dtype=np.uint64)
    return out


class LeakageIndex:
    """The eval side of a leakage check, to stream a training set through.

    Example:
        >>> index = LeakageIndex(np.array(["e1"], dtype=object), ["the cat sat on the mat"], ngram=4)
        >>> index.add(np.array(["t1", "t2"], dtype=object), ["a dog", "so the cat sat on it"])
        >>> [(e.id, e.train_ids) for e in index.report().ngram_overlap]
        [('e1', ('t2',))]
    """

    def __init__(
        self,
        eval_ids: NDArray[np.object_],
        eval_inputs: NDArray[Any] | list[Any],
        *,
        ngram: int | Literal["auto"] = 13,
        near: float = 0.8,
        seed: int = 0,
        eval_norm: pd.Series | None = None,
    ) -> None:
        self._ids = np.asarray(eval_ids, dtype=object)
        norm = normalize_texts(eval_inputs) if eval_norm is None else eval_norm
        self._norm = norm
        words = contamination_words(eval_inputs)
        if ngram == "auto":
            counts = word_ngrams(words, 1, partial=False).counts()
            self.ngram = choose_ngram(counts[counts > 0])
            self.ngram_rule = (
                f"auto: 5th percentile of eval lengths in words, clipped to {NGRAM_MIN}-{NGRAM_MAX}"
            )
        else:
            self.ngram, self.ngram_rule = int(ngram), "fixed"
        self.near_threshold = near
        self._seed = seed
        # exact: normalised text -> eval positions
        nonempty = norm.to_numpy() != ""
        self._exact_of: dict[str, list[int]] = defaultdict(list)
        for pos in np.flatnonzero(nonempty).tolist():
            self._exact_of[str(norm.iat[pos])].append(pos)
        self._exact_keys = pd.Index(list(self._exact_of), dtype=object)
        # n-grams: distinct (gram, eval) rows sorted by gram
        grams = word_ngrams(words, self.ngram, partial=False)
        table = pd.DataFrame({"gram": grams.hashes, "eval": grams.owner}).drop_duplicates()
        self._total = table.groupby("eval").size()
        table = table.sort_values("gram", kind="stable")
        self._gram = table["gram"].to_numpy()
        self._gram_eval = table["eval"].to_numpy()
        self._gram_set = pd.Index(np.unique(self._gram))
        self._gram_seen = np.zeros(self._gram.shape[0], dtype=bool)
        self._gram_rows: Counter[int] = Counter()
        # near-duplicates: the first eval text of each normalised input
        self._first = np.flatnonzero(~norm.duplicated().to_numpy() & nonempty)
        self._first_texts = norm.iloc[self._first].tolist()
        self._shingles = word_ngrams(
            pd.Series(self._first_texts, dtype=object), SHINGLE_WORDS, partial=True
        )
        self._bands, self._rows = _bands(near, NUM_PERM)
        keys = _band_keys(
            _signatures(self._shingles, seed=seed), bands=self._bands, rows=self._rows, seed=seed
        )
        self._band_order = np.argsort(keys, axis=0, kind="stable")
        self._band_keys = np.take_along_axis(keys, self._band_order, axis=0)
        # what the training set matched
        self._train_rows = 0
        self._train_ids: dict[int, str] = {}
        self._train_seen: set[int] = set()
        self._exact: defaultdict[int, list[int]] = defaultdict(list)
        self._shared: Counter[tuple[int, int]] = Counter()
        self._near: defaultdict[int, list[tuple[float, int]]] = defaultdict(list)

    @property
    def train_rows(self) -> int:
        """Training rows added so far."""
        return self._train_rows

    def add(self, train_ids: NDArray[np.object_], train_inputs: NDArray[Any] | list[Any]) -> None:
        """Look one chunk of the training set up against the eval index."""
        ids = np.asarray(train_ids, dtype=object)
        offset = self._train_rows
        self._train_rows += int(ids.shape[0])
        if ids.shape[0] == 0:
            return
        norm = normalize_texts(train_inputs)
        self._add_exact(norm, ids, offset)
        self._add_ngrams(contamination_words(train_inputs), ids, offset)
        self._add_near(norm, ids, offset)

    def _keep_id(self, ids: NDArray[np.object_], offset: int, pos: int) -> int:
        self._train_ids[offset + pos] = str(ids[pos])
        return offset + pos

    def _add_exact(self, norm: pd.Series, ids: NDArray[np.object_], offset: int) -> None:
        hit = norm.isin(self._exact_keys).to_numpy() & (norm.to_numpy() != "")
        for pos in np.flatnonzero(hit).tolist():
            t = self._keep_id(ids, offset, pos)
            for e in self._exact_of[str(norm.iat[pos])]:
                self._exact[int(e)].append(t)

    def _add_ngrams(self, words: pd.Series, ids: NDArray[np.object_], offset: int) -> None:
        grams = word_ngrams(words, self.ngram, partial=False)
        if grams.hashes.size == 0 or self._gram.size == 0:
            return
        # a hash lookup first: almost no training n-gram is an eval n-gram, and binary
        # search over unsorted queries is what profiling showed to cost most here
        found = self._gram_set.get_indexer(grams.hashes) >= 0
        if not found.any():
            return
        hashes = grams.hashes[found]
        chunk = pd.DataFrame(
            {
                "gram": hashes,
                "train": grams.owner[found],
                "lo": np.searchsorted(self._gram, hashes, side="left"),
                "hi": np.searchsorted(self._gram, hashes, side="right"),
            }
        ).drop_duplicates(["gram", "train"])
        for gram, train, start, stop in chunk.itertuples(index=False):
            self._gram_seen[int(start) : int(stop)] = True
            # boilerplate n-grams: only their first training rows name a match
            if self._gram_rows[int(gram)] >= MAX_TRAIN_IDS:
                continue
            self._gram_rows[int(gram)] += 1
            t = self._keep_id(ids, offset, int(train))
            for e in self._gram_eval[int(start) : int(stop)].tolist():
                self._shared[(int(e), t)] += 1

    def _add_near(self, norm: pd.Series, ids: NDArray[np.object_], offset: int) -> None:
        texts = norm.to_numpy()
        firsts = []
        for pos, text in enumerate(texts.tolist()):
            if text == "":
                continue
            key = hash(text)
            if key in self._train_seen:
                continue
            self._train_seen.add(key)
            firsts.append(pos)
        if not firsts or self._first.size == 0:
            return
        chosen = np.asarray(firsts, dtype=np.int64)
        shingles = word_ngrams(pd.Series(texts[chosen], dtype=object), SHINGLE_WORDS, partial=True)
        keys = _band_keys(
            _signatures(shingles, seed=self._seed),
            bands=self._bands,
            rows=self._rows,
            seed=self._seed,
        )
        pairs: set[tuple[int, int]] = set()
        for band in range(self._bands):
            sorted_keys = self._band_keys[:, band]
            lo = np.searchsorted(sorted_keys, keys[:, band], side="left")
            hi = np.searchsorted(sorted_keys, keys[:, band], side="right")
            for j in np.flatnonzero(hi > lo).tolist():
                for k in self._band_order[lo[j] : hi[j], band].tolist():
                    pairs.add((int(k), j))
        for k, j in sorted(pairs):
            if self._first_texts[k] == texts[chosen[j]]:
                continue  # an exact match, reported by the exact check
            score = jaccard(self._shingles.set_of(k), shingles.set_of(j))
            if score >= self.near_threshold:
                t = self._keep_id(ids, offset, int(chosen[j]))
                self._near[k].append((score, t))

    def report(self, *, train_path: str = "") -> LeakageReport:
        """Everything the training rows added so far match, as :func:`check_leakage` says it."""
        return LeakageReport(
            train_path=train_path,
            train_rows=self._train_rows,
            ngram=self.ngram,
            ngram_rule=self.ngram_rule,
            near_threshold=self.near_threshold,
            exact=self._exact_report(),
            ngram_overlap=self._ngram_report(),
            near=self._near_report(),
        )

    def _name(self, trains: Iterable[int]) -> tuple[str, ...]:
        return tuple(self._train_ids[t] for t in list(trains)[:MAX_TRAIN_IDS])

    def _exact_report(self) -> tuple[LeakedExample, ...]:
        return tuple(
            LeakedExample(str(self._ids[e]), self._name(sorted(self._exact[e])), 1.0)
            for e in sorted(self._exact)
        )

    def _ngram_report(self) -> tuple[LeakedExample, ...]:
        if not self._shared:
            return ()
        matched = np.bincount(self._gram_eval[self._gram_seen], minlength=len(self._ids))
        by_eval: defaultdict[int, list[tuple[int, int]]] = defaultdict(list)
        for (e, t), shared in self._shared.items():
            by_eval[e].append((-shared, t))
        out = []
        for e in sorted(by_eval):
            trains = [t for _, t in sorted(by_eval[e])]
            overlap = float(matched[e] / self._total[e])
            out.append(LeakedExample(str(self._ids[e]), self._name(trains), overlap))
        return tuple(out)

    def _near_report(self) -> tuple[LeakedExample, ...]:
        codes, _ = pd.factorize(self._norm)
        first_of_code = {int(codes[e]): k for k, e in enumerate(self._first.tolist())}
        out = []
        for pos in range(len(self._norm)):
            k = first_of_code.get(int(codes[pos]))
            if k is None or k not in self._near:
                continue
            matches = sorted(self._near[k], key=lambda m: (-m[0], m[1]))
            out.append(
                LeakedExample(str(self._ids[pos]), self._name(t for _, t in matches), matches[0][0])
            )
        return tuple(out)


def check_leakage_stream(
    eval_ids: NDArray[np.object_],
    eval_inputs: NDArray[Any] | list[Any],
    train_chunks: Iterable[tuple[NDArray[np.object_], NDArray[Any] | list[Any]]],
    *,
    train_path: str = "",
    ngram: int | Literal["auto"] = 13,
    near: float = 0.8,
    seed: int = 0,
) -> LeakageReport:
    """:func:`~heldout.data.check_leakage` with the training set given as chunks of
    ``(ids, inputs)``, each looked up and dropped before the next is read."""
    index = LeakageIndex(eval_ids, eval_inputs, ngram=ngram, near=near, seed=seed)
    for ids, inputs in train_chunks:
        index.add(ids, inputs)
    return index.report(train_path=train_path)
