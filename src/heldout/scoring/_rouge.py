"""ROUGE F-measures per example, from rouge-score, with tokenisation done once.

Scores come from ``rouge_score.rouge_scorer.RougeScorer.score_multi`` (best F-measure over
the references). The scorer gets a tokenizer that memoises rouge-score's own
``tokenize.tokenize`` per text and the Porter stemmer per word, so references shared by
two models, and words repeated across the corpus, are processed once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

__all__ = ["ROUGE_METRICS", "RougeName", "rouge_fmeasures", "rouge_params"]

RougeName = Literal["rouge1", "rouge2", "rougeL"]
ROUGE_METRICS: tuple[RougeName, ...] = ("rouge1", "rouge2", "rougeL")

#: rouge-score's default is no stemming; ROUGE papers and most reports stem.
USE_STEMMER = True


@functools.lru_cache(maxsize=1)
def _porter_stem() -> Callable[[str], str]:
    """NLTK's Porter stemmer, as rouge-score builds it, memoised per word for the process."""
    from nltk.stem import porter  # type: ignore[import-untyped]

    stem: Callable[[str], str] = porter.PorterStemmer().stem
    return functools.lru_cache(maxsize=2**18)(stem)


class _MemoStemmer:
    def stem(self, word: str) -> str:
        return _porter_stem()(word)


class _MemoTokenizer:
    """rouge-score's default tokenisation, memoised per text."""

    def __init__(self, use_stemmer: bool) -> None:
        self._stemmer = _MemoStemmer() if use_stemmer else None
        self._cache: dict[str, list[str]] = {}

    def tokenize(self, text: str) -> list[str]:
        from rouge_score import tokenize

        hit = self._cache.get(text)
        if hit is None:
            hit = self._cache[text] = tokenize.tokenize(text, self._stemmer)
        return hit


def rouge_fmeasures(
    names: Sequence[RougeName],
    references: Sequence[Sequence[str]],
    predictions_by_model: Sequence[Sequence[str]],
    todo_by_model: Sequence[NDArray[np.intp]],
    *,
    use_stemmer: bool = USE_STEMMER,
) -> list[NDArray[np.float64]]:
    """F-measures, shape ``(len(todo), len(names))``, of each model's selected examples."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(list(names), tokenizer=_MemoTokenizer(use_stemmer))
    out = []
    for predictions, todo in zip(predictions_by_model, todo_by_model, strict=True):
        values = np.empty((todo.size, len(names)))
        for row, i in enumerate(todo):
            best = scorer.score_multi(list(references[i]), predictions[i])
            values[row] = [best[name].fmeasure for name in names]
        out.append(values)
    return out


def rouge_params(name: RougeName, use_stemmer: bool = USE_STEMMER) -> dict[str, Any]:
    return {
        "rouge_type": name,
        "score": "fmeasure",
        "use_stemmer": use_stemmer,
        "multi_reference": "max fmeasure (RougeScorer.score_multi)",
    }
