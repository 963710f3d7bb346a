"""Near-duplicate search: MinHash signatures, LSH banding, exact Jaccard verification.

The banding parameters (bands × rows per band) are the ones datasketch's ``MinHashLSH``
picks for the threshold with false negatives weighted 0.95 and false positives 0.05: at
threshold 0.8 that is 16 bands of 8 rows, which proposes a pair of Jaccard 0.8 with
probability 0.95 (0.99 at 0.85). The
signatures and the bands are computed with numpy over all texts at once rather than one
datasketch ``MinHash`` object per text, which is what makes 100,000 rows take seconds. LSH
only proposes candidates: every pair reported has its exact Jaccard similarity computed on
the shingle sets, and pairs under the threshold are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from numpy.typing import NDArray

from heldout.data._text_norm import Grams

__all__ = ["NUM_PERM", "SHINGLE_WORDS", "Pair", "candidate_pairs", "jaccard", "similar_pairs"]

#: Permutations per MinHash signature.
NUM_PERM = 128
#: Words per shingle.
SHINGLE_WORDS = 3

_MAX_HASH = np.uint64((1 << 32) - 1)
_CHUNK = 4_096  # shingles hashed at once: 4 MiB of hashes stays in cache, 3× faster than 64k
_WEIGHTS = (0.05, 0.95)  # false-positive vs false-negative weight for the banding
_MAX_BUCKET = 200  # a bigger bucket is paired to its first member only, not all-pairs
_QUADRATURE = 64  # Gauss–Legendre nodes for the banding integrals


@dataclass(frozen=True)
class Pair:
    """Two texts (by position) and the exact Jaccard similarity of their shingle sets."""

    first: int
    second: int
    jaccard: float


@cache
def _bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """Bands and rows per band minimising the weighted false-positive and false-negative
    probability mass, as datasketch's ``MinHashLSH`` chooses them.

    The integrals datasketch takes with ``scipy.integrate.quad`` are taken here with
    Gauss–Legendre quadrature over every ``(b, r)`` with ``b * r <= num_perm`` at once
    (tests/data/test_minhash_bands.py checks the choice against datasketch): importing
    datasketch costs seconds, more than the data checks of a small set.
    """
    # Weighted towards recall: a missed pair is lost, a false candidate costs one Jaccard.
    nodes, weights = np.polynomial.legendre.leggauss(_QUADRATURE)
    pairs = np.array(
        [(b, r) for b in range(1, num_perm + 1) for r in range(1, num_perm // b + 1)],
        dtype=np.float64,
    )
    b, r = pairs[:, :1], pairs[:, 1:]

    def mass(lo: float, hi: float, *, below: bool) -> NDArray[np.float64]:
        s = (hi - lo) / 2.0 * nodes[None, :] + (hi + lo) / 2.0
        candidate = 1.0 - (1.0 - s**r) ** b
        values = candidate if below else 1.0 - candidate
        return np.asarray((hi - lo) / 2.0 * (values @ weights), dtype=np.float64)

    error = _WEIGHTS[0] * mass(0.0, threshold, below=True) + _WEIGHTS[1] * mass(
        threshold, 1.0, below=False
    )
    best = int(np.argmin(error))  # first minimum: datasketch's loop order (b, then r)
    return int(pairs[best, 0]), int(pairs[best, 1])


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    """|a ∩ b| / |a ∪ b| (0 for two empty sets)."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def _signatures(grams: Grams, *, seed: int) -> NDArray[np.uint64]:
    """One row of ``NUM_PERM`` minimum hashes per text (all ones for a text with no shingles)."""
    rng = np.random.default_rng(seed)
    # multiply-shift hashing (a odd, arithmetic mod 2**64, keep the top 32 bits): a
    # universal family that needs no modulo, which is most of the cost at 10⁷ shingles
    a = rng.integers(0, 1 << 63, size=NUM_PERM, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    b = rng.integers(0, 1 << 63, size=NUM_PERM, dtype=np.uint64)
    sig = np.full((grams.texts, NUM_PERM), _MAX_HASH, dtype=np.uint64)
    hashes, owner = grams.hashes, grams.owner
    if hashes.size == 0:
        return sig
    buf = np.empty((min(_CHUNK, hashes.size), NUM_PERM), dtype=np.uint64)
    for start in range(0, hashes.size, _CHUNK):
        h = hashes[start : start + _CHUNK]
        rows = owner[start : start + _CHUNK]
        perm = buf[: h.size]
        np.multiply(h[:, None], a[None, :], out=perm)
        np.add(perm, b[None, :], out=perm)
        np.right_shift(perm, np.uint64(32), out=perm)
        # owner is sorted: reduce each text's run of shingles to its minimum
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        mins = np.minimum.reduceat(perm, starts, axis=0)
        who = rows[starts]
        sig[who] = np.minimum(sig[who], mins)
    return sig


def candidate_pairs(grams: Grams, *, threshold: float, seed: int) -> NDArray[np.int64]:
    """Pairs ``(i, j)``, ``i < j``, that share at least one LSH band (unverified)."""
    if grams.texts < 2:
        return np.zeros((0, 2), dtype=np.int64)
    bands, rows = _bands(threshold, NUM_PERM)
    sig = _signatures(grams, seed=seed)
    keep = np.flatnonzero(grams.counts() > 0)
    mult = np.random.default_rng(seed + 1).integers(1, 1 << 63, size=rows, dtype=np.uint64) | 1
    found: list[NDArray[np.int64]] = []
    for band in range(bands):
        block = sig[keep, band * rows : (band + 1) * rows]
        with np.errstate(over="ignore"):
            key = (block * mult[None, :]).sum(axis=1, dtype=np.uint64)
        order = np.argsort(key, kind="stable")
        sorted_key = key[order]
        edges = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1], True])
        sizes = np.diff(edges)
        for g in np.flatnonzero(sizes > 1).tolist():
            lo, hi = int(edges[g]), int(edges[g + 1])
            members = np.sort(keep[order[lo:hi]])
            if hi - lo > _MAX_BUCKET:
                found.append(np.column_stack([np.full(members.size - 1, members[0]), members[1:]]))
            else:
                i, j = np.triu_indices(members.size, k=1)
                found.append(np.column_stack([members[i], members[j]]))
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.concatenate(found).astype(np.int64)
    return np.unique(pairs, axis=0)


def similar_pairs(
    shingles: Grams,
    *,
    threshold: float,
    seed: int,
    across: int | None = None,
) -> list[Pair]:
    """Pairs of texts whose shingle sets have Jaccard similarity ``>= threshold``.

    Args:
        shingles: the texts' shingles (word n-grams).
        threshold: the least Jaccard similarity reported (also the LSH threshold).
        seed: seed of the MinHash permutations.
        across: when given, texts ``[:across]`` and ``[across:]`` are two collections and
            only pairs with one text in each are reported (``first < across <= second``).
    """
    cands = candidate_pairs(shingles, threshold=threshold, seed=seed)
    if across is not None and cands.size:
        cands = cands[(cands[:, 0] < across) & (cands[:, 1] >= across)]
    out = []
    for i, j in cands.tolist():
        score = jaccard(shingles.set_of(i), shingles.set_of(j))
        if score >= threshold:
            out.append(Pair(i, j, score))
    return out
