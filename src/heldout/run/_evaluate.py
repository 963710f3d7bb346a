"""The pipeline: spec → data → predictions → scores → statistics → a Run (→ the store)."""

from __future__ import annotations

import getpass
import socket
import subprocess
import uuid
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from heldout._errors import DataError, MetricError, ModelError, SpecError
from heldout._util._labels import label_text
from heldout._util._suggest import did_you_mean
from heldout._version import __version__
from heldout.analysis import (
    CalibrationComparison,
    CalibrationReport,
    ConfusionMatrix,
    FairnessComparison,
    FairnessReport,
    RobustnessRow,
    ScoreGapReport,
    calibration,
    calibration_pair,
    confusion_matrix,
    efficiency_estimates,
    fairness,
    fairness_pair,
    robustness,
    score_gap,
    slice_results,
)
from heldout.data import (
    Dataset,
    TargetKind,
    column_values,
    encode_labels,
    load_dataset,
    mask_inputs,
)
from heldout.judges import Judge
from heldout.models import (
    Backend,
    Plan,
    Predictions,
    check_choices,
    choice_targets,
    load_predictions,
    option_letters,
    plan_calls,
    read_answers,
    run_python_model,
    sampling_for,
    task_mode,
)
from heldout.run._analyses import check_thresholds, error_report, threshold_reports
from heldout.run._calls import ProgressSink, is_live, make_calls, open_backends
from heldout.run._data_report import DataSummary, data_summary
from heldout.run._exclude import Exclusion, exclusion_for
from heldout.run._extras import (
    Extras,
    resolve_extras,
    scorer_metrics,
    with_extra_rows,
    with_utility,
)
from heldout.run._judging import (
    JudgedTask,
    judge_columns,
    judge_report,
    judge_tasks,
    resolve_judges,
    with_judge_rows,
)
from heldout.run._prompts import task_prompts
from heldout.run._suites import SuiteRun, finish_suites, prepare_suites
from heldout.run._types import CleanSubset, DatasetInfo, LiveInfo, Run, TaskResult
from heldout.run._weights import read_weights, weighted_metrics
from heldout.scoring import (
    ScoreRows,
    average_samples,
    check_metrics,
    default_metrics,
    score_classification,
    score_generation,
    score_generation_pair,
    score_multiple_choice,
    score_regression,
    within_example_share,
)
from heldout.spec import (
    EvalSpec,
    HFModelSpec,
    LoadedSpec,
    ModelSpec,
    OpenAIModelSpec,
    PredictionsModelSpec,
    PythonModelSpec,
    TaskSpec,
    load_spec,
    spec_from_mapping,
)
from heldout.stats import (
    HeldoutStatsWarning,
    StatsConfig,
    adjust_pvalues,
    compare_all,
    estimate_all,
    mde_for,
    verdict_for,
)

if TYPE_CHECKING:
    from heldout.store import Journal, Store

__all__ = ["evaluate", "prepare"]

_KIND: dict[str, TargetKind] = {
    "classification": "label",
    "multiple_choice": "label",
    "regression": "number",
    "generation": "texts",
}
_HEADLINE = {
    "classification": "macro_f1",
    "multiple_choice": "accuracy",
    "regression": "mae",
    "generation": "chrf",
}


@dataclass(frozen=True, eq=False)
class PreparedTask:
    """A task whose data and predictions are loaded and checked, ready to score."""

    spec: TaskSpec
    dataset: Dataset
    labels: tuple[str, ...]
    predictions: Mapping[str, Predictions]
    keep: NDArray[np.bool_]
    metrics: tuple[str, ...]
    headline: str
    choices: list[list[str]] | None = None
    plans: Mapping[str, Plan] = field(default_factory=dict)
    exclusion: Exclusion | None = None
    variants: Variants | None = None
    weights: NDArray[np.float64] | None = None
    data: DataSummary | None = None
    judges: tuple[Judge, ...] = ()
    judged: JudgedTask | None = None
    extras: Extras | None = None


@dataclass(frozen=True, eq=False)
class Variants:
    """A stress set: which rows are variants of which originals, by which operation.

    ``keep`` are the examples scored with their variants (the task's ``keep`` holds only
    the originals, which every metric is computed on).
    """

    original_of: NDArray[np.object_]
    operation: NDArray[np.object_]
    is_original: NDArray[np.bool_]
    keep: NDArray[np.bool_]


def evaluate(
    spec: str | Path | LoadedSpec | EvalSpec | Mapping[str, Any],
    *,
    store: Store | str | None = None,
    save: bool = True,
    fresh: bool = False,
    progress: ProgressSink | None = None,
) -> Run:
    """Evaluate every model of a spec on every task, and store the run.

    Everything is read and checked before anything is computed, and the run is written to
    the store in one transaction only once it is complete: a bad input leaves the store
    untouched.

    Args:
        spec: path of an eval.yaml, a loaded spec, an :class:`~heldout.spec.EvalSpec`, or
            the spec as a mapping (relative paths in the last two resolve against the
            working directory).
        store: a :class:`~heldout.store.Store`, an SQLAlchemy URL, or ``None`` for the
            spec's ``store:`` or the default ``.heldout/heldout.db``. Live models'
            calls are journaled there, whether or not the run is saved.
        save: write the run to the store.
        fresh: call live models again even for requests the journal has answered.
        progress: where to report the progress of live models' calls.

    Returns:
        The :class:`Run`, with estimates, comparisons, slices and per-example results.

    Example:
        >>> run = heldout.evaluate("eval.yaml")              # doctest: +SKIP
        >>> run.comparisons["macro_f1"].verdict                # doctest: +SKIP
        'better'
    """
    from heldout.store import Store

    loaded = _load(spec)
    created = datetime.now(UTC)
    live = {name: m for name, m in loaded.spec.models.items() if is_live(m)}
    opened: Store | None = None
    target: Store | None = store if isinstance(store, Store) else None
    backends: dict[str, Backend] = {}
    try:
        if live:
            backends = open_backends(live, root=loaded.root)
        tasks = [prepare(loaded, t, backends=backends) for t in loaded.spec.tasks]
        suites = _suites(loaded, backends)
        if live or any(t.judges for t in tasks):
            if target is None:
                opened = target = Store.open(_store_arg(loaded, store))
            journal = target.journal()
            tasks = [
                _call_live(loaded, t, backends, journal, fresh=fresh, progress=progress)
                for t in tasks
            ]
            suites = [
                replace(
                    s,
                    prepared=_call_live(
                        s.loaded, s.prepared, backends, journal, fresh=fresh, progress=progress
                    ),
                )
                for s in suites
            ]
            tasks = judge_tasks(loaded, tasks, backends, journal, fresh=fresh, progress=progress)
        config = _stats_config(loaded)
        results = tuple(_run_task(loaded, t, config) for t in tasks)
        results += finish_suites(
            suites, [_run_task(s.loaded, s.prepared, config) for s in suites], config
        )
    except BaseException:
        if opened is not None:
            opened.close()
        raise
    finally:
        for backend in backends.values():
            backend.close()
    run = Run(
        id=uuid.uuid4().hex[:12],
        name=loaded.spec.name,
        spec=loaded.as_dict(),
        spec_hash=loaded.hash,
        tasks=results,
        created_at=created,
        finished_at=datetime.now(UTC),
        status="finished",
        heldout_version=__version__,
        git_commit=_git_commit(loaded.root),
        user=_user(),
        host=socket.gethostname(),
        stats={
            "confidence": config.confidence,
            "resamples": config.n_resamples,
            "seed": config.seed,
            "ci_method": config.ci_method,
            "correction": config.correction,
            "power": config.power,
            "min_slice_size": loaded.spec.stats.min_slice_size,
        },
    )
    try:
        if save:
            if target is None:
                opened = target = Store.open(_store_arg(loaded, store))
            target.save_run(run)
    finally:
        if opened is not None:
            opened.close()
    return run


def _suites(loaded: LoadedSpec, backends: Mapping[str, Backend]) -> list[SuiteRun]:
    """The spec's forgetting suites, prepared for the candidate and the baseline."""
    if not loaded.spec.suites:
        return []
    candidate, baseline = _comparison(loaded)
    assert candidate is not None and baseline is not None  # the spec requires a pair
    return prepare_suites(loaded, backends, candidate, baseline)


def _store_arg(loaded: LoadedSpec, store: str | Any | None) -> str | None:
    if isinstance(store, str):
        return store
    return _store_url(loaded) if loaded.spec.store else None


def _load(spec: str | Path | LoadedSpec | EvalSpec | Mapping[str, Any]) -> LoadedSpec:
    if isinstance(spec, LoadedSpec):
        return spec
    if isinstance(spec, str | Path):
        return load_spec(spec)
    if isinstance(spec, EvalSpec):
        return spec_from_mapping(
            spec.model_dump(mode="json", exclude_none=True, exclude={"dataset", "task", "metrics"})
        )
    return spec_from_mapping(spec)


def _store_url(loaded: LoadedSpec) -> str:
    url = loaded.spec.store or ""
    if "://" in url:
        return url
    return f"sqlite:///{loaded.resolve(url)}"


def _stats_config(loaded: LoadedSpec) -> StatsConfig:
    s = loaded.spec.stats
    return StatsConfig(
        confidence=s.confidence,
        n_resamples=s.resamples,
        seed=s.seed,
        ci_method=s.ci_method,
        correction=s.correction,
        power=s.power,
    )


def _comparison(loaded: LoadedSpec) -> tuple[str | None, str | None]:
    spec = loaded.spec
    if spec.compare is not None:
        return spec.compare.candidate, spec.compare.baseline
    names = list(spec.models)
    if len(names) == 2:
        # Two models and no compare: the second is judged against the first, as listed.
        return names[1], names[0]
    return None, None


def prepare(
    loaded: LoadedSpec, task: TaskSpec, *, backends: Mapping[str, Backend] | None = None
) -> PreparedTask:
    """Load and check one task's dataset and every model's predictions for it.

    Live models (in ``backends``) are not called here: their prompts are rendered and
    their calls planned (``PreparedTask.plans``), so a bad template or an unsupported
    method fails before the first call.
    """
    kind = _KIND[task.type]
    ds_spec = task.dataset
    # models that read inputs (live models, Python functions) need the input column even
    # when the spec leaves it at its default; prediction files need none
    reads_inputs = bool(task.judges) or any(
        not isinstance(m, PredictionsModelSpec) for m in loaded.spec.models.values()
    )
    input_col = ds_spec.input if reads_inputs or "input" in ds_spec.model_fields_set else None
    dataset = load_dataset(
        loaded.resolve(ds_spec.path),
        id=ds_spec.id,
        input=input_col,
        target=ds_spec.target,
        target_kind=kind,
        slices=ds_spec.slices,
        cluster=ds_spec.cluster,
        fmt=ds_spec.format,
    )
    if loaded.spec.privacy.mask_pii:
        # before any model sees an input and before anything is stored; the dataset hash
        # still names the file's own content
        dataset = mask_inputs(dataset, region=loaded.spec.privacy.region)
    choices = None
    if task.type == "multiple_choice":
        dataset, choices = _with_choices(dataset, ds_spec.choices or "choices")
        labels = option_letters(choices)
    else:
        labels = _labels(task, dataset) if kind == "label" else ()
    unknown = sorted(set(task.verbalizers or {}) - set(labels))
    if unknown:
        index = loaded.spec.tasks.index(task)
        raise SpecError(
            f'{loaded.where_in_task(index, "verbalizers")}: task "{task.name}": verbalizers name '
            f"{', '.join(unknown)}, which {'is' if len(unknown) == 1 else 'are'} not a label"
            f"{did_you_mean(unknown[0], labels)} (labels: {', '.join(labels)})"
        )
    if task.type == "classification":
        check_thresholds(loaded, loaded.spec.tasks.index(task), labels)
    for name, model in loaded.spec.models.items():
        if kind == "number" and _wrong_possible(model):
            raise SpecError(
                f"models.{name}: missing/invalid/on_error: wrong cannot score a regression prediction "
                f'(task "{task.name}"): there is no "wrong" number. Use drop or fix the file'
            )
    backends = backends or {}
    predictions: dict[str, Predictions] = {}
    for name, model in loaded.spec.models.items():
        if isinstance(model, PythonModelSpec):
            predictions[name] = run_python_model(
                model, model=name, root=loaded.root, dataset=dataset, kind=kind, labels=labels
            )
        elif isinstance(model, PredictionsModelSpec):
            path = loaded.resolve(model.path.replace("{task}", task.name))
            predictions[name] = load_predictions(
                model, model=name, path=path, dataset=dataset, kind=kind, labels=labels
            )
    index = loaded.spec.tasks.index(task)
    resolve_extras(loaded, task, index)
    plans = _plans(loaded, task, index, dataset, labels, choices, backends)
    variants = _variants(dataset, ds_spec.variant_of, ds_spec.operation)
    keep = _keep(loaded, task, predictions, variants)
    # live models give probabilities by log-likelihood or from a classifier head; for
    # multiple choice, "probabilities" means per-option log-likelihoods (accuracy_norm)
    by_likelihood = all(plan.mode in ("loglikelihood", "classify") for plan in plans.values())
    if task.type == "multiple_choice":
        has_proba = not predictions and by_likelihood
    else:
        has_proba = all(p.proba is not None for p in predictions.values()) and by_likelihood
    metrics = _metrics(task, labels, has_proba, where=loaded.where_in_task(index, "metrics"))
    if ds_spec.weight is not None:
        metrics = weighted_metrics(
            metrics,
            chosen=task.metrics is not None,
            task=task.name,
            where=loaded.where_in_task(index, "metrics"),
        )
    headline = task.headline or _default_headline(task, metrics, labels)
    if headline not in metrics:
        raise SpecError(
            f'{loaded.where_in_task(index, "headline")}: task "{task.name}": headline "{headline}" is not among its metrics{did_you_mean(headline, metrics)} '
            f"({', '.join(metrics)}). Add it to metrics: or pick one of those"
        )
    exclusion = exclusion_for(loaded, task, index, dataset)
    extras = resolve_extras(loaded, task, index, metrics)
    return PreparedTask(
        spec=task,
        dataset=dataset,
        labels=labels,
        predictions=predictions,
        keep=keep,
        metrics=metrics,
        headline=headline,
        choices=choices,
        plans=plans,
        exclusion=exclusion,
        judges=resolve_judges(loaded, task, index, dataset),
        extras=extras,
        weights=read_weights(dataset, ds_spec.weight),
        data=data_summary(
            loaded,
            task,
            index,
            dataset,
            labels=labels,
            originals=None if variants is None else variants.is_original,
            leakage=None if exclusion is None else exclusion.leakage,
        )
        if task.data_checks
        else None,
        variants=(
            None if variants is None else replace(variants, keep=_keep(loaded, task, predictions))
        ),
    )


def _keep(
    loaded: LoadedSpec,
    task: TaskSpec,
    predictions: Mapping[str, Predictions],
    variants: Variants | None = None,
) -> NDArray[np.bool_]:
    """The examples every model has a prediction for (all, unless some are dropped), and
    of a stress set only the originals (variants are scored for robustness)."""
    n = next(iter(predictions.values())).present.shape[0] if predictions else None
    if n is None:
        return np.ones(0, dtype=bool)
    keep = np.ones(n, dtype=bool) if variants is None else variants.is_original.copy()
    for name, pred in predictions.items():
        if _drops(loaded.spec.models[name]):
            keep &= pred.present
        if not pred.present.any() and pred.errors is not None:
            first = next(e for e in pred.errors if e is not None)
            raise ModelError(
                f'models.{name}: every call failed on task "{task.name}" ({first}). Check that '
                "the server is up and the model name and base_url are right; rerun to retry"
            )
    if not keep.any():
        raise DataError(
            f'task "{task.name}": no example has a prediction from every model (missing: drop left nothing). '
            "Check that the predictions files use the dataset's ids"
        )
    return keep


def _variants(dataset: Dataset, variant_of: str | None, operation: str | None) -> Variants | None:
    """Read a stress set's provenance columns (see ``heldout stress``)."""
    if variant_of is None or operation is None:
        return None
    names = [] if dataset.table is None else dataset.table.column_names
    for role, column in (("variant_of", variant_of), ("operation", operation)):
        if column not in names:
            raise DataError(
                f'{dataset.path}: column "{column}" (dataset.{role}) not found{did_you_mean(column, names)}; '
                f"columns are: {', '.join(names)}. heldout stress writes original_id and operation"
            )
    assert dataset.table is not None
    original_of = np.asarray(
        ["" if v is None else label_text(v) for v in column_values(dataset.table, variant_of)],
        dtype=object,
    )
    ops = np.asarray(
        ["original" if v is None else str(v) for v in column_values(dataset.table, operation)],
        dtype=object,
    )
    ids = dataset.ids.astype(str)
    is_original = (ops == "original") | (original_of == "") | (original_of == ids)
    if not is_original.any():
        raise DataError(
            f"{dataset.path}: every row is a variant (column {operation}); a stress run needs the "
            "originals too: write them with heldout stress --with-originals"
        )
    return Variants(
        original_of=np.where(is_original, ids, original_of).astype(object),
        operation=np.where(is_original, "original", ops).astype(object),
        is_original=is_original,
        keep=np.ones(len(dataset), dtype=bool),
    )


def _with_choices(dataset: Dataset, column: str) -> tuple[Dataset, list[list[str]]]:
    """The dataset with targets as option letters, and every example's options."""
    names = [] if dataset.table is None else dataset.table.column_names
    if column not in names:
        raise DataError(
            f'{dataset.path}: column "{column}" (dataset.choices) not found{did_you_mean(column, names)}; '
            f"columns are: {', '.join(names)}. Set dataset.choices to the column of options"
        )
    assert dataset.table is not None
    raw = column_values(dataset.table, column)
    choices = check_choices(raw, locate=dataset.where, column=column)
    letters = choice_targets(
        dataset.targets, choices, locate=dataset.where, column=dataset.columns["target"] or "target"
    )
    return replace(dataset, targets=letters), choices


def _plans(
    loaded: LoadedSpec,
    task: TaskSpec,
    index: int,
    dataset: Dataset,
    labels: tuple[str, ...],
    choices: list[list[str]] | None,
    backends: Mapping[str, Backend],
) -> dict[str, Plan]:
    live = {n: m for n, m in loaded.spec.models.items() if is_live(m)}
    if not live or not backends:
        # checking a spec (heldout validate) opens no model: the templates are still
        # rendered, so a bad one fails here
        if live:
            task_prompts(loaded, task, index, dataset, choices, chat=True, text=True)
        return {}
    modes = {n: task_mode(task, n, backends[n].supports) for n in live}
    prompts = task_prompts(
        loaded,
        task,
        index,
        dataset,
        choices,
        chat=any(m == "generate" for m in modes.values()),
        text=any(m != "generate" for m in modes.values()),
    )
    plans: dict[str, Plan] = {}
    for name, model in live.items():
        assert isinstance(model, OpenAIModelSpec | HFModelSpec)
        params, samples = sampling_for(task.sampling, model.sampling)
        plans[name] = plan_calls(
            task,
            model=name,
            supports=backends[name].supports,
            prompts=prompts.chat,
            text_prompts=prompts.text,
            labels=labels,
            choices=choices,
            params=params,
            samples=samples,
        )
    return plans


def _call_live(
    loaded: LoadedSpec,
    prepared: PreparedTask,
    backends: Mapping[str, Backend],
    journal: Journal | None,
    *,
    fresh: bool,
    progress: ProgressSink | None,
) -> PreparedTask:
    """Make the planned calls of every live model and read their answers."""
    if not prepared.plans:
        return prepared
    task = prepared.spec
    predictions = dict(prepared.predictions)
    # every model's calls first, so one model's failures never cost another's answers
    answered = {
        name: make_calls(
            backends[name],
            plan.requests,
            journal=journal,
            fresh=fresh,
            progress=progress,
            label=name if len(loaded.spec.tasks) == 1 else f"{task.name} · {name}",
        )
        for name, plan in prepared.plans.items()
    }
    for name, plan in prepared.plans.items():
        model = loaded.spec.models[name]
        assert isinstance(model, OpenAIModelSpec | HFModelSpec)
        predictions[name] = read_answers(
            plan,
            answered[name],
            task,
            labels=prepared.labels,
            choices=prepared.choices,
            on_error=model.on_error,
            price=model.price if isinstance(model, OpenAIModelSpec) else None,
            source=Path(f"{name} ({model.backend})"),
        )
    ordered = {name: predictions[name] for name in loaded.spec.models}
    keep = _keep(loaded, task, ordered, prepared.variants)
    variants = prepared.variants
    if variants is not None:
        variants = replace(variants, keep=_keep(loaded, task, ordered))
    return replace(prepared, predictions=ordered, keep=keep, variants=variants)


def _drops(model: ModelSpec) -> bool:
    """Whether a model's absent predictions leave their examples out of every model's scores."""
    if isinstance(model, PredictionsModelSpec):
        return model.missing == "drop"
    # a live model's examples are absent only when dropped (a failed call with
    # on_error: drop, or a regression answer with no number in it)
    return is_live(model)


def _wrong_possible(model: ModelSpec) -> bool:
    if isinstance(model, PredictionsModelSpec):
        return model.missing == "wrong" or model.invalid == "wrong"
    if isinstance(model, PythonModelSpec):
        return model.invalid == "wrong"
    return model.on_error == "wrong"


def _labels(task: TaskSpec, dataset: Dataset) -> tuple[str, ...]:
    found = pd.unique(pd.Series(dataset.targets, dtype=object))
    if task.labels is None:
        labels = tuple(sorted(str(v) for v in found))
        if len(labels) < 2:
            raise DataError(
                f"{dataset.path}: every target is {labels[0]!r}; classification needs at least two classes. "
                "List the classes in labels: or check the target column"
            )
        return labels
    unknown = np.flatnonzero(encode_labels(dataset.targets, task.labels) < 0)
    if unknown.size:
        i = int(unknown[0])
        value = str(dataset.targets[i])
        raise DataError(
            f'{dataset.where(i)}: target "{value}" is not one of the labels{did_you_mean(value, task.labels)} '
            f"({', '.join(task.labels)}; {unknown.size} such row{'s' if unknown.size > 1 else ''}). "
            "Add it to labels: or fix the row"
        )
    return task.labels


def _metrics(
    task: TaskSpec, labels: tuple[str, ...], has_proba: bool, *, where: str
) -> tuple[str, ...]:
    if task.metrics is None:
        return tuple(default_metrics(task.type, labels=labels, has_proba=has_proba))
    try:
        check_metrics(task.type, list(task.metrics), labels=labels, has_proba=has_proba)
    except MetricError as exc:
        raise MetricError(f'{where}: task "{task.name}": {exc}') from exc
    return task.metrics


def _default_headline(task: TaskSpec, metrics: tuple[str, ...], labels: tuple[str, ...]) -> str:
    preferred = "f1" if task.type == "classification" and len(labels) == 2 else _HEADLINE[task.type]
    return preferred if preferred in metrics else metrics[0]


def _label_codes(prepared: PreparedTask) -> tuple[NDArray[np.int64], dict[str, NDArray[np.int64]]]:
    """Targets and each model's predictions as indices into the labels (-1: not a label)."""
    keep = prepared.keep
    y = encode_labels(prepared.dataset.targets[keep], prepared.labels)
    return y, {
        name: encode_labels(p.values[keep], prepared.labels)
        for name, p in prepared.predictions.items()
    }


def _draws(pred: Predictions) -> list[NDArray[Any]]:
    """The values of each draw of a model (one draw unless it sampled several)."""
    if pred.draws is None:
        return [pred.values]
    return [values for values, _ in pred.draws]


def _score_values(
    prepared: PreparedTask, name: str, values: NDArray[Any], y: NDArray[np.int64] | None
) -> ScoreRows:
    """One model's predictions (one draw) scored on the kept examples."""
    task, keep = prepared.spec, prepared.keep
    pred = prepared.predictions[name]
    metrics = scorer_metrics(prepared)
    kept = values[keep]
    if task.type == "classification":
        assert y is not None
        return score_classification(
            y,
            encode_labels(kept, prepared.labels),
            labels=prepared.labels,
            metrics=metrics,
            model=name,
            proba=None if pred.proba is None else pred.proba[keep],
            positive_label=task.positive_label,
        )
    if task.type == "multiple_choice":
        assert y is not None
        norm = pred.choice_norm
        return score_multiple_choice(
            y,
            encode_labels(kept, prepared.labels),
            metrics=metrics,
            model=name,
            y_pred_norm=None if norm is None else encode_labels(norm[keep], prepared.labels),
        )
    if task.type == "regression":
        return score_regression(
            prepared.dataset.targets[keep].astype(np.float64),
            kept.astype(np.float64),
            metrics=metrics,
            model=name,
        )
    refs = list(prepared.dataset.targets[keep])
    texts = ["" if v is None else str(v) for v in kept]
    return score_generation(texts, refs, metrics=metrics, model=name)


def _score(
    prepared: PreparedTask, candidate: str | None, baseline: str | None
) -> tuple[dict[str, ScoreRows], dict[str, float]]:
    """Every model's scores (averaged over its draws) and, for models that drew several
    samples, the within-example share of the headline score's variance."""
    task, keep = prepared.spec, prepared.keep
    y = None
    if task.type in ("classification", "multiple_choice"):
        y = encode_labels(prepared.dataset.targets[keep], prepared.labels)
    rows: dict[str, ScoreRows] = {}
    shares: dict[str, float] = {}
    preds = prepared.predictions
    single = {name for name, pred in preds.items() if pred.draws is None}
    if (
        task.type == "generation"
        and candidate in single
        and baseline in single
        and candidate is not None
        and baseline is not None
    ):
        # the pair shares its reference statistics: scored together, once
        refs = list(prepared.dataset.targets[keep])
        texts = {
            name: ["" if v is None else str(v) for v in preds[name].values[keep]]
            for name in (candidate, baseline)
        }
        rows[candidate], rows[baseline] = score_generation_pair(
            texts[candidate],
            texts[baseline],
            refs,
            metrics=scorer_metrics(prepared),
            candidate=candidate,
            baseline=baseline,
        )
    for name, pred in preds.items():
        if name in rows:
            continue
        draws = [_score_values(prepared, name, values, y) for values in _draws(pred)]
        rows[name] = average_samples(draws)
        if len(draws) > 1:
            column = _headline_column(draws[0], prepared.headline)
            if column is not None:
                shares[name] = within_example_share([d.per_example[column] for d in draws])
    return {name: rows[name] for name in preds}, shares


def _headline_column(rows: ScoreRows, headline: str) -> str | None:
    """The per-example column that carries the headline metric (``correct``, ``chrf``...)."""
    for metric in rows.metrics:
        if metric.name == headline and metric.block in rows.per_example:
            return metric.block
    if "correct" in rows.per_example:
        return "correct"
    # a corpus-level headline (BLEU, chrF) has no per-example value: the spec's first
    # per-example metric where higher is better stands in, never a lower-is-better one
    for metric in rows.metrics:
        if metric.higher_is_better and metric.block in rows.per_example:
            return metric.block
    return None


def _run_task(loaded: LoadedSpec, prepared: PreparedTask, config: StatsConfig) -> TaskResult:
    candidate, baseline = _comparison(loaded)
    keep = prepared.keep
    ds = prepared.dataset
    clusters = None if ds.clusters is None else ds.clusters[keep]
    codes = _label_codes(prepared) if prepared.spec.type == "classification" else None
    rows, shares = _score(prepared, candidate, baseline)
    rows = with_judge_rows(rows, prepared.judged)
    rows = with_extra_rows(rows, prepared)
    if prepared.weights is not None:
        # every metric, comparison, slice and clean subset estimates the population
        rows = {name: replace(r, weights=prepared.weights[keep]) for name, r in rows.items()}
    metrics = {name: estimate_all(r, cluster=clusters, config=config) for name, r in rows.items()}
    comparisons = {}
    mde = None
    if candidate is not None and baseline is not None:
        comparisons = compare_all(rows[candidate], rows[baseline], cluster=clusters, config=config)
        mde = mde_for(
            rows[candidate],
            rows[baseline],
            prepared.headline,
            cluster=clusters,
            config=config,
            family=len(comparisons),
        )
    metrics, comparisons, utility = with_utility(
        prepared,
        rows,
        metrics,
        comparisons,
        candidate=candidate,
        baseline=baseline,
        clusters=clusters,
        config=config,
    )
    slices = slice_results(
        rows,
        {col: values[keep] for col, values in ds.slices.items()},
        metric=prepared.headline,
        candidate=candidate,
        baseline=baseline,
        clusters=clusters,
        config=config,
        min_size=loaded.spec.stats.min_slice_size,
    )
    confusion: dict[str, ConfusionMatrix] = {}
    if codes is not None:
        y, predicted = codes
        for name, model_codes in predicted.items():
            confusion[name] = confusion_matrix(y, model_codes, prepared.labels)
    # only `missing: drop` (and a live model's dropped answers) leave examples out;
    # `missing: wrong` scores them as wrong
    dropped = {
        name: int((~pred.present).sum())
        for name, pred in prepared.predictions.items()
        if not pred.present.all() and _drops(loaded.spec.models[name])
    }
    live = {name: _live_info(prepared, name, shares.get(name), config) for name in prepared.plans}
    ds_spec = prepared.spec.dataset
    return TaskResult(
        name=prepared.spec.name,
        type=prepared.spec.type,
        dataset=DatasetInfo(
            path=ds_spec.path,
            hash=ds.hash,
            n=len(ds),
            columns={**ds.columns, **({"weight": ds_spec.weight} if ds_spec.weight else {})},
            slices=tuple(ds.slices),
        ),
        models=tuple(rows),
        metrics=metrics,
        comparisons=comparisons,
        headline=prepared.headline,
        candidate=candidate,
        baseline=baseline,
        mde=mde,
        slices=slices,
        confusion=confusion,
        examples=judge_columns(_examples(prepared, rows), prepared.judged),
        dropped=dropped,
        live=live,
        clean=_clean(prepared, rows, clusters, candidate, baseline, config),
        robustness=_robustness(prepared, candidate, baseline, config),
        data=prepared.data,
        errors=error_report(
            prepared,
            rows,
            confusion,
            score=_headline_column(next(iter(rows.values())), prepared.headline) if rows else None,
            candidate=candidate,
            baseline=baseline,
            clusters=clusters,
            config=config,
            min_size=loaded.spec.stats.min_slice_size,
        ),
        thresholds=threshold_reports(prepared, config),
        judges=judge_report(
            prepared.judged,
            candidate=candidate,
            baseline=baseline,
            config=config,
            human_model=next(iter(loaded.spec.models)),
            weights=None if prepared.weights is None else prepared.weights[keep],
            clusters=clusters,
        ),
        utility=utility,
        **_calibration(prepared, candidate, baseline, config),
        **_fairness(prepared, rows, candidate, baseline, config, loaded.spec.stats.min_slice_size),
    )


def _fairness(
    prepared: PreparedTask,
    rows: Mapping[str, ScoreRows],
    candidate: str | None,
    baseline: str | None,
    config: StatsConfig,
    min_size: int,
) -> dict[str, Any]:
    """Gaps between the groups of every slice column, per model, and the candidate's change.

    A group with no positives (or no negatives) has no TPR (or FPR); the report records it
    as undefined, so the warning that would say so is not repeated for every slice here.
    """
    slices = prepared.dataset.slices
    if not slices:
        return {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HeldoutStatsWarning)
        return _fairness_reports(prepared, rows, candidate, baseline, config, min_size)


def _fairness_reports(
    prepared: PreparedTask,
    rows: Mapping[str, ScoreRows],
    candidate: str | None,
    baseline: str | None,
    config: StatsConfig,
    min_size: int,
) -> dict[str, Any]:
    slices = prepared.dataset.slices
    keep = prepared.keep
    task = prepared.spec
    reports: dict[str, dict[str, FairnessReport | ScoreGapReport]] = {}
    comparisons: dict[str, FairnessComparison] = {}
    for column, values in slices.items():
        groups = values[keep]
        if len(set(groups)) < 2:
            continue
        by_model: dict[str, FairnessReport | ScoreGapReport] = {}
        if task.type == "classification":
            y = encode_labels(prepared.dataset.targets[keep], prepared.labels)
            codes = {
                name: encode_labels(p.values[keep], prepared.labels)
                for name, p in prepared.predictions.items()
            }
            for name, predicted in codes.items():
                by_model[name] = fairness(
                    y,
                    predicted,
                    groups,
                    labels=prepared.labels,
                    positive_label=task.positive_label,
                    config=config,
                    min_group_size=min_size,
                )
            if candidate is not None and baseline is not None:
                comparisons[column] = fairness_pair(
                    y,
                    codes[candidate],
                    codes[baseline],
                    groups,
                    labels=prepared.labels,
                    positive_label=task.positive_label,
                    config=config,
                )
        else:
            first = next(iter(rows.values()))
            score = _headline_column(first, prepared.headline)
            if score is None:
                continue
            for name, r in rows.items():
                by_model[name] = score_gap(
                    r.per_example[score], groups, config=config, min_group_size=min_size
                )
        reports[column] = by_model
    return {"fairness": reports, "fairness_comparison": comparisons}


def _calibration(
    prepared: PreparedTask, candidate: str | None, baseline: str | None, config: StatsConfig
) -> dict[str, Any]:
    """Each model's calibration, and the candidate's against the baseline's, for
    classification with probabilities."""
    preds = prepared.predictions
    if prepared.spec.type != "classification" or any(p.proba is None for p in preds.values()):
        return {}
    keep = prepared.keep
    y = encode_labels(prepared.dataset.targets[keep], prepared.labels)
    labels, positive = prepared.labels, prepared.spec.positive_label
    reports: dict[str, CalibrationReport] = {}
    for name, pred in preds.items():
        assert pred.proba is not None
        reports[name] = calibration(
            y, pred.proba[keep], labels=labels, positive_label=positive, config=config
        )
    comparison: CalibrationComparison | None = None
    if candidate is not None and baseline is not None:
        cand, base = preds[candidate].proba, preds[baseline].proba
        assert cand is not None and base is not None
        comparison = calibration_pair(
            y, cand[keep], base[keep], labels=labels, positive_label=positive, config=config
        )
    return {"calibration": reports, "calibration_comparison": comparison}


def _robustness(
    prepared: PreparedTask, candidate: str | None, baseline: str | None, config: StatsConfig
) -> tuple[RobustnessRow, ...]:
    """Per stress operation and model: the paired change of the headline's per-example
    score from each original to its variants, and the flip rate."""
    variants = prepared.variants
    if variants is None:
        return ()
    keep = variants.keep
    scored, _ = _score(replace(prepared, keep=keep), candidate, baseline)
    column = _headline_column(next(iter(scored.values())), prepared.headline)
    if column is None:
        return ()
    rows = robustness(
        {name: r.per_example[column] for name, r in scored.items()},
        example_ids=prepared.dataset.ids[keep].astype(str),
        original_of=variants.original_of[keep],
        operation=variants.operation[keep],
        confidence=config.confidence,
        candidate=candidate,
        baseline=baseline,
    )
    compared = [i for i, r in enumerate(rows) if r.versus_baseline is not None]
    if not compared:
        return tuple(rows)
    raw = [rows[i].versus_baseline.p_value for i in compared]  # type: ignore[union-attr]
    adjusted = adjust_pvalues(raw, config.correction)
    out = list(rows)
    for i, p_adj in zip(compared, adjusted, strict=True):
        diff = rows[i].versus_baseline
        assert diff is not None
        verdict = verdict_for(
            diff.delta, float(p_adj), alpha=1 - config.confidence, higher_is_better=True
        )
        out[i] = replace(
            rows[i], versus_baseline=replace(diff, p_adjusted=float(p_adj), verdict=verdict)
        )
    return tuple(out)


def _clean(
    prepared: PreparedTask,
    rows: Mapping[str, ScoreRows],
    clusters: NDArray[Any] | None,
    candidate: str | None,
    baseline: str | None,
    config: StatsConfig,
) -> CleanSubset | None:
    """Every metric again on the examples the spec does not exclude."""
    exclusion = prepared.exclusion
    if exclusion is None:
        return None
    excluded = exclusion.mask[prepared.keep]
    clean = ~excluded
    if not clean.any():
        raise DataError(
            f'task "{prepared.spec.name}": every example is excluded ({exclusion.source}); '
            "there is no clean subset to score"
        )
    subset = {name: r.subset(clean) for name, r in rows.items()}
    sub_clusters = None if clusters is None else clusters[clean]
    metrics = {
        name: estimate_all(r, cluster=sub_clusters, config=config) for name, r in subset.items()
    }
    comparisons = {}
    if candidate is not None and baseline is not None:
        comparisons = compare_all(
            subset[candidate], subset[baseline], cluster=sub_clusters, config=config
        )
    ids = prepared.dataset.ids[prepared.keep][excluded]
    return CleanSubset(
        source=exclusion.source,
        excluded=tuple(str(i) for i in ids),
        n=int(clean.sum()),
        metrics=metrics,
        comparisons=comparisons,
        unknown=exclusion.unknown,
    )


def _live_info(
    prepared: PreparedTask, name: str, share: float | None, config: StatsConfig
) -> LiveInfo:
    plan = prepared.plans[name]
    pred = prepared.predictions[name]
    calls = pred.calls
    efficiency = {} if calls is None else efficiency_estimates(calls, confidence=config.confidence)
    cost_total = None
    if calls is not None and calls.cost is not None and np.isfinite(calls.cost).any():
        cost_total = float(np.nansum(calls.cost))
    return LiveInfo(
        mode=plan.mode,
        calls=0 if calls is None else calls.calls,
        failed_calls=0 if calls is None else calls.failed,
        failed_examples=0 if pred.errors is None else int(sum(e is not None for e in pred.errors)),
        samples=plan.samples,
        within_share=None if share is None or not np.isfinite(share) else share,
        efficiency=efficiency,
        cost_total=cost_total,
    )


def _examples(prepared: PreparedTask, rows: Mapping[str, ScoreRows]) -> pd.DataFrame:
    keep = prepared.keep
    frame = prepared.dataset.to_frame()
    if not keep.all():
        frame = frame[keep].reset_index(drop=True)
    for name, pred in prepared.predictions.items():
        frame[f"pred:{name}"] = pd.Series(pred.values[keep], dtype=object)
        if pred.proba is not None:
            frame[f"confidence:{name}"] = pred.proba[keep].max(axis=1)
        if pred.errors is not None:
            frame[f"error:{name}"] = pd.Series(pred.errors[keep], dtype=object)
        if pred.calls is not None:
            for column in ("input_tokens", "output_tokens"):
                values = getattr(pred.calls, column)[keep]
                if np.isfinite(values).any():
                    frame[f"{column}:{name}"] = values
        for col, values in rows[name].per_example.items():
            frame[f"{col}:{name}"] = values
    return frame


def _git_commit(root: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None
