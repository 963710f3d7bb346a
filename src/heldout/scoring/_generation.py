"""Generation scoring: one or two models' texts against shared references.

All requested metrics of a chunk of examples are computed by one function,
:func:`_score_chunk`, for every model at once, so reference-side work (sacrebleu's
reference n-grams, rouge-score's tokens and stems) is done once per example and shared by
the models, and a prediction identical to the first model's is scored once. Large inputs
are split into chunks scored on all CPU cores by a process pool (``fork`` on Linux, so the
scoring libraries are imported once and the caller's script is not re-run); small inputs,
``workers=1``, or other platforms without an explicit ``workers`` are scored in this
process.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import sys
import warnings
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import NamedTuple, cast

import numpy as np
from numpy.typing import NDArray

from heldout._errors import DataError
from heldout.scoring._base import MetricDef, ScoreRows, StatBlock
from heldout.scoring._registry import check_metrics, metric_info
from heldout.scoring._rouge import ROUGE_METRICS, RougeName, rouge_fmeasures, rouge_params
from heldout.scoring._sacrebleu import (
    SACREBLEU_METRICS,
    extract_statistics,
    sacrebleu_aggregate,
    sacrebleu_params,
)
from heldout.scoring._text import exact_match, token_f1

__all__ = ["ScoredPair", "score_generation", "score_generation_pair"]

F64 = NDArray[np.float64]

#: Below this many examples the pool's start-up costs more than it saves.
PARALLEL_MIN_EXAMPLES = 2_000
#: Chunks per worker: enough for load balancing, few enough to keep per-chunk set-up small.
_CHUNKS_PER_WORKER = 4
_ZERO_ONE = np.array([[0.0], [1.0]])


class ScoredPair(NamedTuple):
    """The score rows of a candidate and a baseline model on the same examples."""

    candidate: ScoreRows
    baseline: ScoreRows


class _Job(NamedTuple):
    metrics: tuple[str, ...]
    predictions: tuple[list[str], ...]  # one list per model
    references: list[tuple[str, ...]]


def score_generation(
    predictions: Sequence[str],
    references: Sequence[Sequence[str]],
    *,
    metrics: Sequence[str],
    model: str,
    workers: int | None = None,
) -> ScoreRows:
    """Score one model's generated texts against one or more references per example.

    Args:
        predictions: one generated text per example.
        references: the reference texts of each example (any number, at least one; a
            bare string counts as one reference).
        metrics: metric names (see :func:`available_metrics`).
        model: the model's name in the spec.
        workers: processes to use; default all CPU cores for large inputs.

    ``exact_match`` and ``token_f1`` (SQuAD normalisation, best reference) and
    ``rouge1/rouge2/rougeL`` (rouge-score F-measure, Porter stemming, best reference) are
    means of per-example columns of the same names; ``bleu``, ``chrf`` and ``ter`` are
    sacrebleu corpus scores on its 0-100 scale, aggregated from per-segment statistics.

    Example:
        >>> from heldout.scoring import metric_value
        >>> rows = score_generation(["The cat sat."], [["the cat sat", "a cat sat"]],
        ...     metrics=["exact_match"], model="tuned")
        >>> metric_value(rows, "exact_match")
        1.0
    """
    return _score_models([predictions], references, metrics, [model], workers)[0]


def score_generation_pair(
    candidate_predictions: Sequence[str],
    baseline_predictions: Sequence[str],
    references: Sequence[Sequence[str]],
    *,
    metrics: Sequence[str],
    candidate: str,
    baseline: str,
    workers: int | None = None,
) -> ScoredPair:
    """Score two models against the same references, sharing the reference-side work.

    Equal to two :func:`score_generation` calls, and faster: references are tokenised
    and their n-grams extracted once for both models.
    """
    rows = _score_models(
        [candidate_predictions, baseline_predictions],
        references,
        metrics,
        [candidate, baseline],
        workers,
    )
    return ScoredPair(rows[0], rows[1])


def _score_models(
    predictions_by_model: Sequence[Sequence[str]],
    references: Sequence[Sequence[str]],
    metrics: Sequence[str],
    models: Sequence[str],
    workers: int | None,
) -> list[ScoreRows]:
    check_metrics("generation", metrics)
    refs = _validated_references(references)
    preds = tuple(
        _validated_predictions(p, len(refs), m)
        for p, m in zip(predictions_by_model, models, strict=True)
    )
    job = _Job(tuple(metrics), preds, refs)
    columns = _run(job, _worker_count(workers, len(refs)), explicit=workers is not None)
    return [_rows(model, columns[k], metrics, refs) for k, model in enumerate(models)]


def _rows(
    model: str, columns: dict[str, F64], metrics: Sequence[str], refs: list[tuple[str, ...]]
) -> ScoreRows:
    blocks: dict[str, StatBlock] = {}
    per_example: dict[str, F64] = {}
    defs: list[MetricDef] = []
    for name in metrics:
        values = columns[name]
        if name in SACREBLEU_METRICS:
            blocks[name] = StatBlock.dense(values)
            higher = metric_info("generation", name).higher_is_better
            aggregate = sacrebleu_aggregate(name)
            params = sacrebleu_params(name, refs)
            defs.append(MetricDef(name, "bootstrap", name, higher, aggregate, False, params))
            continue
        per_example[name] = values
        if name == "exact_match":
            blocks[name] = StatBlock.cells(values.astype(np.int64), 2, _ZERO_ONE)
            params = {"normalization": "squad", "multi_reference": "max"}
            defs.append(MetricDef(name, "mean", name, binary=True, params=params))
        elif name == "token_f1":
            blocks[name] = StatBlock.dense(values)
            params = {"normalization": "squad", "empty": "squad_v2", "multi_reference": "max"}
            defs.append(MetricDef(name, "mean", name, params=params))
        else:
            blocks[name] = StatBlock.dense(values)
            defs.append(MetricDef(name, "mean", name, params=rouge_params(cast(RougeName, name))))
    return ScoreRows(
        model=model, n=len(refs), metrics=tuple(defs), blocks=blocks, per_example=per_example
    )


def _score_chunk(job: _Job) -> list[dict[str, F64]]:
    """Every requested metric's per-example values, for each model of the job.

    An example whose prediction equals the first model's is scored once and copied.
    """
    first = job.predictions[0]
    todo = [np.arange(len(first))] + [
        np.flatnonzero([a != b for a, b in zip(preds, first, strict=True)])
        for preds in job.predictions[1:]
    ]
    values: dict[str, list[F64]] = {}
    for name in job.metrics:
        if name in SACREBLEU_METRICS:
            values[name] = extract_statistics(name, job.references, job.predictions, todo)
        elif name in ("exact_match", "token_f1"):
            fn = exact_match if name == "exact_match" else token_f1
            values[name] = [
                np.array([fn(preds[i], job.references[i]) for i in idx], dtype=np.float64)
                for preds, idx in zip(job.predictions, todo, strict=True)
            ]
    rouge = [m for m in ROUGE_METRICS if m in job.metrics]
    if rouge:
        fmeasures = rouge_fmeasures(rouge, job.references, job.predictions, todo)
        for j, name in enumerate(rouge):
            values[name] = [f[:, j] for f in fmeasures]
    out: list[dict[str, F64]] = []
    for k, idx in enumerate(todo):
        columns = {}
        for name, per_model in values.items():
            column = per_model[0].copy()
            column[idx] = per_model[k]
            columns[name] = column
        out.append(columns)
    return out


def _run(job: _Job, workers: int, explicit: bool) -> list[dict[str, F64]]:
    context = _context(explicit) if workers > 1 else None
    if context is None:
        return _score_chunk(job)
    _import_scorers(job.metrics)  # once here, inherited by forked workers
    n = len(job.references)
    n_chunks = min(n, workers * _CHUNKS_PER_WORKER)
    bounds = np.linspace(0, n, n_chunks + 1).astype(int)
    jobs = [
        _Job(job.metrics, tuple(p[a:b] for p in job.predictions), job.references[a:b])
        for a, b in itertools.pairwise(bounds.tolist())
    ]
    with warnings.catch_warnings():
        # Python >= 3.12 warns on fork() in a process with threads (BLAS pools count).
        # The workers only run pure-Python text scoring on their arguments and return;
        # they take no lock another thread could hold, so the warning does not apply.
        warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            parts = list(pool.map(_score_chunk, jobs))
    return [
        {name: np.concatenate([part[k][name] for part in parts]) for name in parts[0][k]}
        for k in range(len(job.predictions))
    ]


def _context(explicit: bool) -> multiprocessing.context.BaseContext | None:
    """``fork`` on Linux; elsewhere ``spawn`` only when workers were asked for explicitly.

    ``spawn`` (and ``forkserver``) re-run the caller's main script in each worker, which
    breaks scripts without an ``if __name__ == "__main__":`` guard, so it is opt-in.
    """
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn") if explicit else None


def _import_scorers(metrics: Sequence[str]) -> None:
    import sacrebleu.metrics  # noqa: F401

    if any(m in ROUGE_METRICS for m in metrics):
        import rouge_score.rouge_scorer  # noqa: F401


def _worker_count(workers: int | None, n: int) -> int:
    if workers is not None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        return workers
    if n < PARALLEL_MIN_EXAMPLES:
        return 1
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _validated_references(references: Sequence[Sequence[str]]) -> list[tuple[str, ...]]:
    refs = [(r,) if isinstance(r, str) else tuple(r) for r in references]
    if not refs:
        raise DataError("there are no examples to score")
    for i, r in enumerate(refs):
        if not r:
            raise DataError(f"example {i} has no reference text; give at least one reference")
        if not all(isinstance(x, str) for x in r):
            raise DataError(f"example {i}: references must be strings, got {r!r}")
    return refs


def _validated_predictions(predictions: Sequence[str], n: int, model: str) -> list[str]:
    preds = list(predictions)
    if len(preds) != n:
        raise DataError(
            f'model "{model}" has {len(preds)} predictions for {n} examples; '
            "give one prediction per example (an empty string for a missing one)"
        )
    for i, p in enumerate(preds):
        if not isinstance(p, str):
            raise DataError(
                f'model "{model}", example {i}: prediction must be a string, got {p!r}; '
                "use an empty string for a missing prediction"
            )
    return preds
