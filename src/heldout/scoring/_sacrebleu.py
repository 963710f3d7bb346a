"""Corpus BLEU, chrF and TER from sacrebleu's per-segment sufficient statistics.

The per-segment statistics are sacrebleu's own (``Metric._extract_corpus_statistics``,
the extraction its paired significance tests resample); the aggregates re-implement
sacrebleu's corpus formulas on column sums, vectorised over leading axes, and are tested
equal to ``sacrebleu.corpus_bleu/corpus_chrf/corpus_ter(...).score``. Scores keep
sacrebleu's 0-100 scale. Only sacrebleu's default settings are offered; they are
recorded in each metric's ``params``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, cast

import numpy as np
from numpy.typing import NDArray

from heldout.scoring._aggregate import SumsAggregate

__all__ = [
    "SACREBLEU_METRICS",
    "SacrebleuName",
    "extract_statistics",
    "reference_streams",
    "sacrebleu_aggregate",
    "sacrebleu_params",
]

SacrebleuName = Literal["bleu", "chrf", "ter"]
SACREBLEU_METRICS: tuple[SacrebleuName, ...] = ("bleu", "chrf", "ter")

F64 = NDArray[np.float64]

_BLEU_ORDER = 4  # sacrebleu's MAX_NGRAM_ORDER
_CHRF_CHAR_ORDER, _CHRF_WORD_ORDER, _CHRF_BETA = 6, 0, 2
_CHRF_EPS = 1e-16  # sacrebleu's chrF epsilon for an empty side
_WIDTH = {"bleu": 2 + 2 * _BLEU_ORDER, "chrf": 3 * (_CHRF_CHAR_ORDER + _CHRF_WORD_ORDER), "ter": 2}


def _metric(name: SacrebleuName, streams: list[list[str | None]]) -> Any:
    from sacrebleu.metrics.bleu import BLEU
    from sacrebleu.metrics.chrf import CHRF
    from sacrebleu.metrics.ter import TER

    # sacrebleu's annotations say str, but its reference cache skips None (padding for
    # examples with fewer references), as its docstring says.
    refs = cast(Sequence[Sequence[str]], streams)
    if name == "bleu":
        return BLEU(references=refs)
    if name == "chrf":
        return CHRF(references=refs)
    return TER(references=refs)


def reference_streams(references: Sequence[Sequence[str]]) -> list[list[str | None]]:
    """Per-example reference lists to sacrebleu's streams, padded with ``None``."""
    width = max(len(refs) for refs in references)
    return [[refs[k] if k < len(refs) else None for refs in references] for k in range(width)]


def extract_statistics(
    name: SacrebleuName,
    references: Sequence[Sequence[str]],
    hypotheses_by_model: Sequence[Sequence[str]],
    todo_by_model: Sequence[NDArray[np.intp]],
) -> list[F64]:
    """Per-segment statistics, shape ``(len(todo), k)``, of each model's hypotheses.

    Reference n-grams are extracted once (sacrebleu's reference cache) and reused for
    every model; ``todo`` selects the examples to score for each model (the others are
    duplicates of another model's hypotheses and are not scored twice).
    """
    metric = _metric(name, reference_streams(references))
    cache = metric._ref_cache
    out = []
    for hypotheses, todo in zip(hypotheses_by_model, todo_by_model, strict=True):
        if todo.size == 0:
            out.append(np.zeros((0, _WIDTH[name])))
            continue
        metric._ref_cache = [cache[i] for i in todo]
        stats = metric._extract_corpus_statistics([hypotheses[i] for i in todo], None)
        out.append(np.asarray(stats, dtype=np.float64).reshape(todo.size, _WIDTH[name]))
    return out


def _bleu(sums: F64) -> F64:
    # sacrebleu.metrics.BLEU.compute_bleu with smooth_method="exp", effective_order=False.
    sys_len, ref_len = sums[..., 0], sums[..., 1]
    correct = sums[..., 2 : 2 + _BLEU_ORDER]
    total = sums[..., 2 + _BLEU_ORDER : 2 + 2 * _BLEU_ORDER]
    safe_sys = np.where(sys_len > 0, sys_len, 1.0)
    bp = np.where(
        sys_len < ref_len, np.where(sys_len > 0, np.exp(1 - ref_len / safe_sys), 0.0), 1.0
    )
    safe_total = np.where(total > 0, total, 1.0)
    no_match = correct == 0
    smooth = np.cumprod(np.where(no_match, 2.0, 1.0), axis=-1)
    precision = np.where(no_match, 100.0 / (smooth * safe_total), 100.0 * correct / safe_total)
    log_sum = np.zeros(sums.shape[:-1])
    for n in range(_BLEU_ORDER):  # summed in sacrebleu's order, so values agree to the ulp
        log_sum = log_sum + np.log(precision[..., n])
    score = bp * np.exp(log_sum / _BLEU_ORDER)
    # No matches at all, or an order with no hypothesis n-grams: sacrebleu's score is 0.
    zero = ~(correct > 0).any(axis=-1) | (total == 0).any(axis=-1)
    return np.where(zero, 0.0, score)


def _chrf(sums: F64) -> F64:
    # sacrebleu.metrics.CHRF._compute_f_score with eps_smoothing=False (effective order).
    factor = float(_CHRF_BETA**2)
    order = _CHRF_CHAR_ORDER + _CHRF_WORD_ORDER
    avg_prec = np.zeros(sums.shape[:-1])
    avg_rec = np.zeros(sums.shape[:-1])
    effective = np.zeros(sums.shape[:-1])
    for i in range(order):
        n_hyp, n_ref, n_match = sums[..., 3 * i], sums[..., 3 * i + 1], sums[..., 3 * i + 2]
        prec = np.where(n_hyp > 0, n_match / np.where(n_hyp > 0, n_hyp, 1.0), _CHRF_EPS)
        rec = np.where(n_ref > 0, n_match / np.where(n_ref > 0, n_ref, 1.0), _CHRF_EPS)
        both = (n_hyp > 0) & (n_ref > 0)
        avg_prec = avg_prec + np.where(both, prec, 0.0)
        avg_rec = avg_rec + np.where(both, rec, 0.0)
        effective = effective + both
    safe_eff = np.where(effective > 0, effective, 1.0)
    avg_prec = np.where(effective > 0, avg_prec / safe_eff, 0.0)
    avg_rec = np.where(effective > 0, avg_rec / safe_eff, 0.0)
    denom = factor * avg_prec + avg_rec
    score = (1 + factor) * avg_prec * avg_rec
    score = score / np.where(denom > 0, denom, 1.0)
    return np.where(avg_prec + avg_rec > 0, 100 * score, 0.0)


def _ter(sums: F64) -> F64:
    edits, ref_len = sums[..., 0], sums[..., 1]
    ratio = edits / np.where(ref_len > 0, ref_len, 1.0)
    return 100 * np.where(ref_len > 0, ratio, np.where(edits > 0, 1.0, 0.0))


def sacrebleu_aggregate(name: SacrebleuName) -> SumsAggregate:
    return SumsAggregate({"bleu": _bleu, "chrf": _chrf, "ter": _ter}[name])


def sacrebleu_params(name: SacrebleuName, references: Sequence[Sequence[str]]) -> dict[str, Any]:
    """The settings of ``name`` as sacrebleu's signature would record them."""
    import sacrebleu

    counts = {len(refs) for refs in references}
    common: dict[str, Any] = {
        "scale": "0-100",
        "nrefs": counts.pop() if len(counts) == 1 else "var",
        "sacrebleu_version": sacrebleu.__version__,
    }
    if name == "bleu":
        return {
            **common,
            "tokenize": "13a",
            "lowercase": False,
            "smooth_method": "exp",
            "max_ngram_order": _BLEU_ORDER,
            "effective_order": False,
        }
    if name == "chrf":
        return {
            **common,
            "char_order": _CHRF_CHAR_ORDER,
            "word_order": _CHRF_WORD_ORDER,
            "beta": _CHRF_BETA,
            "lowercase": False,
            "whitespace": False,
            "eps_smoothing": False,
        }
    return {
        **common,
        "normalized": False,
        "no_punct": False,
        "asian_support": False,
        "case_sensitive": False,
    }
