"""The pipeline: spec → data → predictions → scores → statistics → a Run (→ the store)."""

from __future__ import annotations

import getpass
import socket
import subprocess
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from heldout._errors import DataError, MetricError, SpecError
from heldout._util._suggest import did_you_mean
from heldout._version import __version__
from heldout.analysis import ConfusionMatrix, confusion_matrix, slice_results
from heldout.data import Dataset, TargetKind, encode_labels, load_dataset, mask_inputs
from heldout.models import Predictions, load_predictions, run_python_model
from heldout.run._types import DatasetInfo, Run, TaskResult
from heldout.scoring import (
    ScoreRows,
    check_metrics,
    default_metrics,
    score_classification,
    score_generation,
    score_generation_pair,
    score_regression,
)
from heldout.spec import (
    EvalSpec,
    LoadedSpec,
    PredictionsModelSpec,
    PythonModelSpec,
    TaskSpec,
    load_spec,
    spec_from_mapping,
)
from heldout.stats import StatsConfig, compare_all, estimate_all, mde_for

if TYPE_CHECKING:
    from heldout.store import Store

__all__ = ["evaluate", "prepare"]

_KIND: dict[str, TargetKind] = {
    "classification": "label",
    "regression": "number",
    "generation": "texts",
}
_HEADLINE = {"classification": "macro_f1", "regression": "mae", "generation": "chrf"}


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


def evaluate(
    spec: str | Path | LoadedSpec | EvalSpec | Mapping[str, Any],
    *,
    store: Store | str | None = None,
    save: bool = True,
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
            spec's ``store:`` or the default ``.heldout/heldout.db``.
        save: write the run to the store.

    Returns:
        The :class:`Run`, with estimates, comparisons, slices and per-example results.

    Example:
        >>> run = heldout.evaluate("eval.yaml")              # doctest: +SKIP
        >>> run.comparisons["macro_f1"].verdict                # doctest: +SKIP
        'better'
    """
    loaded = _load(spec)
    created = datetime.now(UTC)
    tasks = [prepare(loaded, t) for t in loaded.spec.tasks]
    config = _stats_config(loaded)
    results = tuple(_run_task(loaded, t, config) for t in tasks)
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
    if save:
        from heldout.store import Store

        if isinstance(store, Store):
            store.save_run(run)
        else:
            url = store or (_store_url(loaded) if loaded.spec.store else None)
            with Store.open(url) as opened:
                opened.save_run(run)
    return run


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


def prepare(loaded: LoadedSpec, task: TaskSpec) -> PreparedTask:
    """Load and check one task's dataset and every model's predictions for it."""
    kind = _KIND[task.type]
    ds_spec = task.dataset
    input_col = ds_spec.input if "input" in ds_spec.model_fields_set else None
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
    labels = _labels(task, dataset) if kind == "label" else ()
    for name, model in loaded.spec.models.items():
        if kind == "number" and (_missing(model) == "wrong" or model.invalid == "wrong"):
            raise SpecError(
                f"models.{name}: missing/invalid: wrong cannot score a regression prediction "
                f'(task "{task.name}"): there is no "wrong" number. Use missing: drop or fix the file'
            )
    predictions: dict[str, Predictions] = {}
    for name, model in loaded.spec.models.items():
        if isinstance(model, PythonModelSpec):
            predictions[name] = run_python_model(
                model, model=name, root=loaded.root, dataset=dataset, kind=kind, labels=labels
            )
            continue
        path = loaded.resolve(model.path.replace("{task}", task.name))
        predictions[name] = load_predictions(
            model, model=name, path=path, dataset=dataset, kind=kind, labels=labels
        )
    keep = np.ones(len(dataset), dtype=bool)
    for name, model in loaded.spec.models.items():
        if _missing(model) == "drop":
            keep &= predictions[name].present
    if not keep.any():
        raise DataError(
            f'task "{task.name}": no example has a prediction from every model (missing: drop left nothing). '
            "Check that the predictions files use the dataset's ids"
        )
    has_proba = all(p.proba is not None for p in predictions.values())
    index = loaded.spec.tasks.index(task)
    metrics = _metrics(task, labels, has_proba, where=loaded.where_in_task(index, "metrics"))
    headline = task.headline or _default_headline(task, metrics, labels)
    if headline not in metrics:
        raise SpecError(
            f'{loaded.where_in_task(index, "headline")}: task "{task.name}": headline "{headline}" is not among its metrics{did_you_mean(headline, metrics)} '
            f"({', '.join(metrics)}). Add it to metrics: or pick one of those"
        )
    return PreparedTask(
        spec=task,
        dataset=dataset,
        labels=labels,
        predictions=predictions,
        keep=keep,
        metrics=metrics,
        headline=headline,
    )


def _missing(model: PredictionsModelSpec | PythonModelSpec) -> str:
    """How a model treats examples it has no prediction for (a function answers them all)."""
    return model.missing if isinstance(model, PredictionsModelSpec) else "error"


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


def _score(
    prepared: PreparedTask,
    candidate: str | None,
    baseline: str | None,
    codes: tuple[NDArray[np.int64], dict[str, NDArray[np.int64]]] | None,
) -> dict[str, ScoreRows]:
    task, keep = prepared.spec, prepared.keep
    ds = prepared.dataset
    metrics = list(prepared.metrics)
    rows: dict[str, ScoreRows] = {}
    if codes is not None:
        y, predicted = codes
        positive = task.positive_label
        for name, pred in prepared.predictions.items():
            proba = None if pred.proba is None else pred.proba[keep]
            rows[name] = score_classification(
                y,
                predicted[name],
                labels=prepared.labels,
                metrics=metrics,
                model=name,
                proba=proba,
                positive_label=positive,
            )
    elif task.type == "regression":
        y_num = ds.targets[keep].astype(np.float64)
        for name, pred in prepared.predictions.items():
            rows[name] = score_regression(
                y_num, pred.values[keep].astype(np.float64), metrics=metrics, model=name
            )
    else:
        refs = list(ds.targets[keep])
        texts = {
            name: ["" if v is None else str(v) for v in pred.values[keep]]
            for name, pred in prepared.predictions.items()
        }
        pending = list(texts)
        if candidate is not None and baseline is not None:
            rows[candidate], rows[baseline] = score_generation_pair(
                texts[candidate],
                texts[baseline],
                refs,
                metrics=metrics,
                candidate=candidate,
                baseline=baseline,
            )
            pending = [m for m in pending if m not in (candidate, baseline)]
        for name in pending:
            rows[name] = score_generation(texts[name], refs, metrics=metrics, model=name)
    return {name: rows[name] for name in prepared.predictions}


def _run_task(loaded: LoadedSpec, prepared: PreparedTask, config: StatsConfig) -> TaskResult:
    candidate, baseline = _comparison(loaded)
    keep = prepared.keep
    ds = prepared.dataset
    clusters = None if ds.clusters is None else ds.clusters[keep]
    codes = _label_codes(prepared) if prepared.spec.type == "classification" else None
    rows = _score(prepared, candidate, baseline, codes)
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
    # only `missing: drop` leaves examples out; `missing: wrong` scores them as wrong
    dropped = {
        name: int((~pred.present).sum())
        for name, pred in prepared.predictions.items()
        if not pred.present.all() and _missing(loaded.spec.models[name]) == "drop"
    }
    ds_spec = prepared.spec.dataset
    return TaskResult(
        name=prepared.spec.name,
        type=prepared.spec.type,
        dataset=DatasetInfo(
            path=ds_spec.path,
            hash=ds.hash,
            n=len(ds),
            columns=dict(ds.columns),
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
        examples=_examples(prepared, rows),
        dropped=dropped,
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
