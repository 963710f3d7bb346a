"""SQuAD-style answer normalisation, exact match and token F1.

Normalisation follows the official SQuAD evaluation script: lowercase, drop ASCII
punctuation, drop the articles a/an/the, collapse whitespace. Token F1 follows SQuAD v2:
when either side normalises to no tokens, F1 is 1 if both do, else 0.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

__all__ = ["exact_match", "normalize_answer", "token_f1"]

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalize_answer(text: str) -> str:
    """Lowercase, strip punctuation and articles, and collapse whitespace (SQuAD)."""
    text = text.lower().translate(_PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _f1(prediction: list[str], reference: list[str]) -> float:
    if not prediction or not reference:
        return float(prediction == reference)
    same = sum((Counter(prediction) & Counter(reference)).values())
    if same == 0:
        return 0.0
    precision = same / len(prediction)
    recall = same / len(reference)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, references: Sequence[str]) -> float:
    """1.0 if the normalised prediction equals any normalised reference, else 0.0."""
    norm = normalize_answer(prediction)
    return float(any(norm == normalize_answer(ref) for ref in references))


def token_f1(prediction: str, references: Sequence[str]) -> float:
    """The best bag-of-tokens F1 of the normalised prediction against any reference."""
    tokens = normalize_answer(prediction).split()
    return max(_f1(tokens, normalize_answer(ref).split()) for ref in references)
