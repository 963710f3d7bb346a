"""Which examples a task sets aside as leaked: from a leakage check, or a saved id list.

``exclude: leaked`` with ``train:`` runs the train↔eval leakage check of ``heldout check
--train`` (exact, n-gram overlap, near-duplicates) on the task's inputs; ``exclude: FILE``
reads ids from a text file (one per line, ``#`` comments) or from the JSON document of
``heldout check --json`` (its contaminated ids). The run then reports every metric on the
clean subset beside the full set.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from heldout._errors import DataError, SpecError
from heldout.data import (
    Dataset,
    LeakageReport,
    check_leakage,
    column_ids,
    column_values,
    detect_format,
    read_table,
)
from heldout.spec import LoadedSpec, TaskSpec

__all__ = ["Exclusion", "exclusion_for", "leakage_report"]


@dataclass(frozen=True, eq=False)
class Exclusion:
    """The examples set aside, and why."""

    mask: NDArray[np.bool_]
    source: str
    unknown: int = 0
    leakage: LeakageReport | None = None


def exclusion_for(
    loaded: LoadedSpec, task: TaskSpec, index: int, dataset: Dataset
) -> Exclusion | None:
    """The task's excluded examples, or ``None`` when it excludes none."""
    if task.exclude is None:
        return None
    if task.exclude == "leaked":
        return _leaked(loaded, task, index, dataset)
    path = loaded.resolve(task.exclude)
    ids = _read_ids(path, where=loaded.where_in_task(index, "exclude"))
    mask = np.isin(dataset.ids.astype(str), np.asarray(sorted(ids), dtype=str))
    unknown = len(ids) - int(mask.sum())
    return Exclusion(mask=mask, source=f"ids in {task.exclude}", unknown=unknown)


def _leaked(loaded: LoadedSpec, task: TaskSpec, index: int, dataset: Dataset) -> Exclusion:
    report = leakage_report(loaded, task, index, dataset)
    leaked = set(report.contaminated_ids)
    mask = np.fromiter((str(i) in leaked for i in dataset.ids), dtype=bool, count=len(dataset))
    train = task.train
    assert train is not None
    source = (
        f"leaked from {train.path}: exact matches, {report.ngram}-gram overlap and "
        f"near-duplicates (Jaccard ≥ {report.near_threshold:g})"
    )
    return Exclusion(mask=mask, source=source, leakage=report)


def leakage_report(
    loaded: LoadedSpec, task: TaskSpec, index: int, dataset: Dataset
) -> LeakageReport:
    """The train↔eval leakage check of the task's inputs against its ``train:`` file."""
    train = task.train
    assert train is not None
    column = train.input or dataset.columns.get("input")
    if column is None:
        raise SpecError(
            f'{loaded.where_in_task(index, "exclude")}: task "{task.name}": exclude: leaked '
            "compares inputs, and the dataset has no input column. Set dataset.input"
        )
    path = loaded.resolve(train.path)
    table = read_table(path, what="training")
    if column not in table.column_names:
        raise DataError(
            f'{path}: column "{column}" (train.input) not found; columns are: '
            f"{', '.join(table.column_names)}. Set train.input to the text column"
        )
    if train.id is not None and train.id not in table.column_names:
        raise DataError(
            f'{path}: column "{train.id}" (train.id) not found; columns are: '
            f"{', '.join(table.column_names)}"
        )
    train_ids = (
        column_ids(table, path=path, fmt=detect_format(path, None), name=train.id)
        if train.id is not None
        else np.asarray([f"row {i + 1}" for i in range(table.num_rows)], dtype=object)
    )
    return check_leakage(
        dataset.ids,
        dataset.inputs,
        train_ids,
        column_values(table, column),
        train_path=str(path),
        ngram=train.ngram,
        near=train.near,
        seed=loaded.spec.stats.seed,
    )


def _read_ids(path: Path, *, where: str) -> set[str]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise SpecError(
            f"{where}: exclude: cannot read {path} ({exc.strerror or exc}). Check the path "
            "(relative paths start at the spec's folder)"
        ) from exc
    if path.suffix.lower() == ".json":
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg}). Give a list of ids, "
                "or the document of heldout check --json"
            ) from exc
        ids = _ids_in(document)
        if ids is None:
            raise DataError(
                f"{path}: no ids found: expected a JSON list of ids or the document of "
                "heldout check --train ... --json (with leakage.contaminated_ids)"
            )
        return ids
    return {line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")}


def _ids_in(document: Any) -> set[str] | None:
    if isinstance(document, list):
        return {str(x) for x in document}
    if isinstance(document, dict):
        if "contaminated_ids" in document:
            return {str(x) for x in document["contaminated_ids"]}
        leakage = document.get("leakage")
        if isinstance(leakage, dict) and "contaminated_ids" in leakage:
            return {str(x) for x in leakage["contaminated_ids"]}
    return None
