"""A fast replica of sacrebleu's default corpus BLEU, used only to steer the demo's drafts.

The demo calibrates its fine-tune's drafts so that their corpus BLEU ties with the base
model's. sacrebleu spends about a millisecond per segment, which would make the demo writer
take seconds; this replica counts n-grams with ``Counter(zip(...))`` and is several times
faster. It follows sacrebleu 2.x exactly for the text the demo writes (13a tokenization,
n-grams up to 4, closest reference length, ``exp`` smoothing), and the demo's tests pin it
to ``sacrebleu.corpus_bleu``. Nothing outside the demo should use it: metrics wrap sacrebleu.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

__all__ = ["References", "corpus_score"]

ORDER = 4
# The mteval-v13a rules as sacrebleu's TokenizerRegexp writes them. Its first rule pads
# every character of [{-~[-` -&(-+:-@/] with spaces; a translation table does that in C.
_PADDED = (
    "".join(
        map(chr, [*range(0x7B, 0x7F), *range(0x5B, 0x61), *range(0x20, 0x27), *range(0x28, 0x2C)])
    )
    + "".join(map(chr, range(0x3A, 0x41)))
    + "/"
)
_PAD = str.maketrans({c: f" {c} " for c in _PADDED})
_RULES = (
    (re.compile(r"([^0-9])([\.,])"), r"\1 \2 "),
    (re.compile(r"([\.,])([^0-9])"), r" \1 \2"),
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),
)

#: Per-segment statistics: hypothesis length, reference length, then matches and totals.
Row = list[int]


def _preprocess(line: str) -> str:
    line = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in line:
        for entity, char in (("&quot;", '"'), ("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">")):
            line = line.replace(entity, char)
    return line


def _pad_and_split(text: str) -> list[str]:
    text = f" {text} ".translate(_PAD)
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text.split()


def _tokens(line: str) -> list[str]:
    """sacrebleu's ``13a`` tokens of one line."""
    return _pad_and_split(_preprocess(line))


class _WordTokens:
    """13a tokens of a line, word by word, each distinct word tokenized once.

    Every 13a rule looks at most one character to either side of a match and only ever
    inserts spaces, and no match that touches a space can stop another match inside a word;
    so a line's tokens are the concatenated tokens of its whitespace-separated words.
    """

    def __init__(self) -> None:
        self._cache: dict[str, list[str]] = {}

    def __call__(self, line: str) -> list[str]:
        out: list[str] = []
        cache = self._cache
        for word in _preprocess(line).split():
            tokens = cache.get(word)
            if tokens is None:
                tokens = cache[word] = _pad_and_split(word)
            out.extend(tokens)
        return out


def _ngrams(tokens: list[str]) -> list[Counter[tuple[str, ...]]]:
    """The counts of each n-gram, one counter per order."""
    return [
        Counter(zip(*(tokens[i:] for i in range(n)), strict=False)) for n in range(1, ORDER + 1)
    ]


def _max_merge(into: list[Counter[tuple[str, ...]]], other: list[Counter[tuple[str, ...]]]) -> None:
    for merged, counts in zip(into, other, strict=True):
        for ngram, count in counts.items():  # keep each n-gram's highest count
            if count > merged[ngram]:
                merged[ngram] = count


class References:
    """Reference n-grams of a corpus, extracted once and matched against many drafts."""

    def __init__(self, references: Sequence[Sequence[str]]) -> None:
        self._tokens = _WordTokens()
        self._ngrams: list[list[Counter[tuple[str, ...]]]] = []
        self._lengths: list[list[int]] = []
        for refs in references:
            tokens = [self._tokens(ref) for ref in refs]
            merged = _ngrams(tokens[0])
            for more in tokens[1:]:
                _max_merge(merged, _ngrams(more))
            self._ngrams.append(merged)
            self._lengths.append([len(t) for t in tokens])

    def rows(self, hypotheses: Sequence[str]) -> list[Row]:
        """The statistics of each hypothesis against its segment's references."""
        out = []
        for hypothesis, ref_ngrams, lengths in zip(
            hypotheses, self._ngrams, self._lengths, strict=True
        ):
            tokens = self._tokens(hypothesis)
            n_tokens = len(tokens)
            # The closest reference length; the shorter one on a tie.
            ref_len = min(lengths, key=lambda length: (abs(length - n_tokens), length))
            correct = []
            for hyp, ref in zip(_ngrams(tokens), ref_ngrams, strict=True):
                common = hyp.keys() & ref.keys()  # clipped matches: the smaller of two counts
                correct.append(
                    sum(map(min, map(hyp.__getitem__, common), map(ref.__getitem__, common)))
                )
            totals = [max(0, n_tokens - n) for n in range(ORDER)]
            out.append([n_tokens, ref_len, *correct, *totals])
        return out


def corpus_score(totals: Sequence[int]) -> float:
    """Corpus BLEU (0-100) from the column sums of :meth:`References.rows`."""
    sys_len, ref_len = totals[0], totals[1]
    correct, total = totals[2 : 2 + ORDER], totals[2 + ORDER :]
    if sys_len == 0 or min(total) == 0:
        return 0.0
    log_precision, smooth = 0.0, 1.0
    for matches, count in zip(correct, total, strict=True):
        if matches == 0:
            smooth *= 2
            log_precision += math.log(100.0 / (smooth * count))
        else:
            log_precision += math.log(100.0 * matches / count)
    penalty = 1.0 if sys_len >= ref_len else math.exp(1.0 - ref_len / sys_len)
    return penalty * math.exp(log_precision / ORDER)
