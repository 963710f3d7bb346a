"""The ``predictions`` backend: a model known only by a file of its outputs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from heldout._errors import DataError
from heldout._util._labels import label_text
from heldout._util._suggest import did_you_mean
from heldout.data import (
    Dataset,
    FileFormat,
    TargetKind,
    check_unique_ids,
    column_ids,
    column_values,
    detect_format,
    encode_labels,
    read_table,
    row_location,
)
from heldout.spec import PredictionsModelSpec

__all__ = ["CallStats", "Predictions", "load_predictions", "predictions_from_table"]

_SUM_TOLERANCE = 1e-3


@dataclass(frozen=True, eq=False)
class Predictions:
    """One model's predictions, aligned with the dataset's examples.

    Attributes:
        model: the model's name in the spec.
        source: the file they came from.
        present: whether the model has a prediction for each example (``False`` only
            with ``missing: drop`` or ``missing: wrong``).
        values: per example, the predicted label (``str``), number (``float``) or text;
            ``None`` where absent or invalid.
        valid: whether each value is a usable prediction (a known label, a number).
        proba: class probabilities aligned with the task's labels, shape ``(n, C)``,
            or ``None``.
        draws: for a live model asked for ``samples: K`` (K > 1), the values of every
            draw (``values`` is the first) and whether each is valid.
        choice_norm: multiple choice by log-likelihood: the option chosen by
            log-likelihood per byte (``accuracy_norm``), as a label.
        calls: latency and token counts of the calls a live model answered.
        errors: per example, why its call failed (``None`` where it did not).
    """

    model: str
    source: Path
    present: NDArray[np.bool_]
    values: NDArray[Any]
    valid: NDArray[np.bool_]
    proba: NDArray[np.float64] | None
    draws: tuple[tuple[NDArray[Any], NDArray[np.bool_]], ...] | None = None
    choice_norm: NDArray[Any] | None = None
    calls: CallStats | None = None
    errors: NDArray[np.object_] | None = None


@dataclass(frozen=True, eq=False)
class CallStats:
    """What a live model's calls cost.

    Attributes:
        latency_s: wall time of every successful call, in seconds.
        input_tokens / output_tokens: per example, summed over its calls (NaN where
            the backend did not say).
        cost: per example, from the model's per-token prices (``None`` without prices).
        example_latency_s: per example, the summed latency of its successful calls.
        calls: how many calls the model answered (from the journal or fresh).
        failed: how many of them failed after every retry.
    """

    latency_s: NDArray[np.float64]
    input_tokens: NDArray[np.float64]
    output_tokens: NDArray[np.float64]
    cost: NDArray[np.float64] | None = None
    example_latency_s: NDArray[np.float64] | None = None
    calls: int = 0
    failed: int = 0


def load_predictions(
    spec: PredictionsModelSpec,
    *,
    model: str,
    path: Path,
    dataset: Dataset,
    kind: TargetKind,
    labels: tuple[str, ...] = (),
) -> Predictions:
    """Read a predictions file and align it with the dataset by example id.

    Raises:
        DataError: missing/extra/duplicate ids, invalid predictions or probabilities,
            naming the file and line and the spec option that changes the behaviour.
    """
    table = read_table(path, fmt=spec.format, what="predictions")
    fmt = detect_format(path, spec.format)
    return predictions_from_table(
        table, spec, model=model, path=path, fmt=fmt, dataset=dataset, kind=kind, labels=labels
    )


def predictions_from_table(
    table: pa.Table,
    spec: PredictionsModelSpec,
    *,
    model: str,
    path: Path,
    fmt: FileFormat,
    dataset: Dataset,
    kind: TargetKind,
    labels: tuple[str, ...] = (),
) -> Predictions:
    """Check a table of predictions (read from a file, or returned by a model) and align
    it with the dataset; ``path`` and ``fmt`` only name rows in messages."""
    names = table.column_names
    for role, col in (("id", spec.id), ("prediction", spec.prediction)):
        if col not in names:
            hint = did_you_mean(col, names)
            raise DataError(
                f'{path}: column "{col}" not found{hint}; columns are: {", ".join(names)}. '
                f"Set models.{model}.{role} to the column holding the {role}"
            )
    ids = column_ids(table, path=path, fmt=fmt, name=spec.id)
    index = pd.Index(ids, dtype=object)
    if not index.is_unique:
        check_unique_ids(ids, path=path, fmt=fmt, col=spec.id)  # raises, naming the lines

    position = index.get_indexer(dataset.index)
    present = position >= 0
    if present.all() and len(ids) == len(dataset):
        known = np.ones(len(ids), dtype=bool)  # unique ids, all matched: a bijection
    else:
        known = dataset.index.get_indexer(index) >= 0
    if not known.all() and spec.extra == "error":
        first = int(np.flatnonzero(~known)[0])
        count = int((~known).sum())
        raise DataError(
            f'{row_location(path, fmt, first)}: id "{ids[first]}" is not in the dataset {dataset.path} '
            f"({count} such row{'s' if count > 1 else ''}). Remove them, or set models.{model}.extra: ignore"
        )
    if not present.all() and spec.missing == "error":
        absent = dataset.ids[~present]
        shown = ", ".join(str(x) for x in absent[:3]) + (", ..." if absent.size > 3 else "")
        raise DataError(
            f"{path}: {absent.size} of {len(dataset)} dataset examples have no prediction ({shown}). "
            f"Add them, or set models.{model}.missing: drop (score the examples every model has) "
            "or missing: wrong (score them as wrong)"
        )

    values, valid = _values(
        table, spec.prediction, kind, labels, path=path, fmt=fmt, spec=spec, model=model
    )
    proba = None
    if kind == "label":
        try:
            proba = _probabilities(table, spec, labels, path=path, fmt=fmt, model=model)
        except DataError as exc:
            if str(exc).startswith(str(path)) or str(exc).startswith("models."):
                raise
            raise DataError(f"{path}: {exc}") from exc

    take = np.where(present, position, 0)
    aligned = values[take]
    aligned_valid = valid[take] & present
    aligned[~present] = None
    aligned_proba = None
    if proba is not None:
        aligned_proba = proba[take]
        aligned_proba[~present] = 1.0 / len(labels)
    return Predictions(
        model=model,
        source=path,
        present=present,
        values=aligned,
        valid=aligned_valid,
        proba=aligned_proba,
    )


def _values(
    table: pa.Table,
    column: str,
    kind: TargetKind,
    labels: tuple[str, ...],
    *,
    path: Path,
    fmt: Any,
    spec: PredictionsModelSpec,
    model: str,
) -> tuple[NDArray[Any], NDArray[np.bool_]]:
    raw = table.column(column)
    values = column_values(table, column)
    null = (
        pd.isna(values) if kind != "texts" else np.asarray([v is None for v in values], dtype=bool)
    )
    if kind == "number":
        numbers = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=np.float64)
        if not (pa.types.is_integer(raw.type) or pa.types.is_floating(raw.type)):
            # true/false are not numbers, whatever pandas would make of them
            numbers[[isinstance(v, bool | np.bool_) for v in values]] = np.nan
        bad = np.flatnonzero(~np.isfinite(numbers))
        if bad.size:
            i = int(bad[0])
            raise DataError(
                f"{row_location(path, fmt, i)}: prediction {values[i]!r} is not a finite number "
                f"({bad.size} such row{'s' if bad.size > 1 else ''}). Regression predictions must be numbers"
            )
        return numbers.astype(object), np.ones(numbers.shape[0], dtype=bool)
    if kind == "texts":
        nontext = np.asarray([v is not None and not isinstance(v, str) for v in values], dtype=bool)
        bad = np.flatnonzero(null | nontext)
        if bad.size and spec.invalid == "error":
            i = int(bad[0])
            raise DataError(
                f"{row_location(path, fmt, i)}: prediction is {values[i]!r}, not a text "
                f"({bad.size} such row{'s' if bad.size > 1 else ''}). Fix it, or set models.{model}.invalid: wrong "
                "(scored as an empty output)"
            )
        values[bad] = ""
        return values, ~(null | nontext)
    if not (pa.types.is_string(raw.type) or pa.types.is_large_string(raw.type)):
        values = np.asarray(
            [None if n else label_text(v) for v, n in zip(values, null, strict=True)], dtype=object
        )
    valid = ~null & (encode_labels(values, labels) >= 0)
    bad = np.flatnonzero(~valid)
    if bad.size and spec.invalid == "error":
        i = int(bad[0])
        what = "is empty" if null[i] else f'"{values[i]}" is not a label'
        hint = "" if null[i] else did_you_mean(str(values[i]), labels)
        raise DataError(
            f"{row_location(path, fmt, i)}: prediction {what}{hint} (labels: {', '.join(labels)}; "
            f"{bad.size} such row{'s' if bad.size > 1 else ''}). Fix it, or set models.{model}.invalid: wrong "
            "(scored as wrong)"
        )
    return values, valid


def _probabilities(
    table: pa.Table,
    spec: PredictionsModelSpec,
    labels: tuple[str, ...],
    *,
    path: Path,
    fmt: Any,
    model: str,
) -> NDArray[np.float64] | None:
    source = spec.probabilities
    if source is None:
        if "probabilities" not in table.column_names:
            return None
        source = "probabilities"
    n, c = table.num_rows, len(labels)
    if isinstance(source, dict):
        unknown = [k for k in source if k not in labels]
        if unknown:
            raise DataError(
                f'models.{model}.probabilities: "{unknown[0]}" is not a label (labels: {", ".join(labels)})'
            )
        for col in source.values():
            if col not in table.column_names:
                raise DataError(
                    f'{path}: probability column "{col}" not found{did_you_mean(col, table.column_names)}'
                )
        if len(source) == 1 and c == 2:
            ((label, col),) = source.items()
            p = _floats(table.column(col))
            proba = np.empty((n, 2))
            k = labels.index(label)
            proba[:, k], proba[:, 1 - k] = p, 1.0 - p
        elif len(source) == c:
            proba = np.column_stack([_floats(table.column(source[label])) for label in labels])
        else:
            raise DataError(
                f"models.{model}.probabilities maps {len(source)} labels; map every label to a column "
                "(or, for binary tasks, just one)"
            )
    else:
        if source not in table.column_names:
            raise DataError(
                f'{path}: probability column "{source}" not found{did_you_mean(source, table.column_names)}'
            )
        proba = _from_column(
            table.column(source).combine_chunks(), labels, path=path, fmt=fmt, name=source
        )
    _check_proba(proba, path=path, fmt=fmt)
    normalised: NDArray[np.float64] = proba / proba.sum(axis=1, keepdims=True)
    return normalised


def _floats(col: pa.ChunkedArray | pa.Array) -> NDArray[np.float64]:
    try:
        return np.asarray(
            pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise DataError(
            f"probabilities must be numbers, found {col.type} values ({str(exc).splitlines()[0]}). "
            "Write each probability as a number"
        ) from exc


def _map_as_struct(col: pa.Array, labels: tuple[str, ...], *, path: Path, name: str) -> pa.Array:
    """An Arrow ``map<label, p>`` column (as Parquet writes dicts) as a struct of labels."""
    keys = np.asarray(col.keys.to_numpy(zero_copy_only=False), dtype=object)
    unknown = sorted({str(k) for k in keys} - set(labels))
    if unknown:
        raise DataError(
            f'{path}: column "{name}" has probabilities for "{unknown[0]}", which is not a label '
            f"(labels: {', '.join(labels)}). Use the task's labels as keys"
        )
    offsets = np.asarray(col.offsets.to_numpy(zero_copy_only=False), dtype=np.int64)
    row = np.repeat(np.arange(len(col)), np.diff(offsets))
    items = _floats(col.items)
    fields = []
    for label in labels:
        values = np.full(len(col), np.nan)
        present = np.zeros(len(col), dtype=bool)
        hit = keys == label
        values[row[hit]] = items[hit]
        present[row[hit]] = True
        fields.append(pa.array(values, mask=~present))
    return pa.StructArray.from_arrays(fields, names=list(labels))


def _from_column(
    col: pa.Array, labels: tuple[str, ...], *, path: Path, fmt: Any, name: str
) -> NDArray[np.float64]:
    n, c = len(col), len(labels)
    if pa.types.is_map(col.type):
        col = _map_as_struct(col, labels, path=path, name=name)
    if pa.types.is_struct(col.type):
        fields = [col.type.field(i).name for i in range(col.type.num_fields)]
        extra = [f for f in fields if f not in labels]
        if extra:
            raise DataError(
                f'{path}: column "{name}" has probabilities for "{extra[0]}", which is not a label '
                f"(labels: {', '.join(labels)}). Use the task's labels as keys"
            )
        out = np.full((n, c), np.nan)
        absent = np.ones((n, c), dtype=bool)
        for k, label in enumerate(labels):
            if label in fields:
                values = col.field(label)
                out[:, k] = _floats(values)
                absent[:, k] = np.asarray(
                    values.is_null().to_numpy(zero_copy_only=False), dtype=bool
                )
        holes = np.flatnonzero(absent.any(axis=1))
        if holes.size:
            i = int(holes[0])
            k = int(np.flatnonzero(absent[i])[0])
            raise DataError(
                f'{row_location(path, fmt, i)}: "{name}" has no number for label "{labels[k]}". '
                "Give a probability for every label"
            )
        return out
    if (
        pa.types.is_list(col.type)
        or pa.types.is_large_list(col.type)
        or pa.types.is_fixed_size_list(col.type)
    ):
        lengths = pc.list_value_length(col).to_numpy(zero_copy_only=False)
        wrong = np.flatnonzero(lengths != c)
        if wrong.size:
            i = int(wrong[0])
            raise DataError(
                f'{row_location(path, fmt, i)}: "{name}" lists {lengths[i]} probabilities; the task has {c} labels. '
                "List one probability per label, in the order of labels:"
            )
        return _floats(pc.list_flatten(col)).reshape(n, c)
    raise DataError(
        f'{path}: column "{name}" must hold a map {{label: probability}} or a list in label order, '
        f"not {col.type}. Or map labels to columns: probabilities: {{label: column}}"
    )


def _check_proba(proba: NDArray[np.float64], *, path: Path, fmt: Any) -> None:
    bad = ~np.isfinite(proba).all(axis=1)
    bad |= ((proba < -1e-9) | (proba > 1 + 1e-9)).any(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{row_location(path, fmt, i)}: probabilities {proba[i].round(4).tolist()} are not all numbers in [0, 1]. "
            "Fix or remove that row"
        )
    sums = proba.sum(axis=1)
    off = np.abs(sums - 1.0) > _SUM_TOLERANCE
    if off.any():
        i = int(np.flatnonzero(off)[0])
        raise DataError(
            f"{row_location(path, fmt, i)}: probabilities sum to {sums[i]:.4f}, not 1 "
            f"({int(off.sum())} such row{'s' if off.sum() > 1 else ''}). Write normalised probabilities"
        )
