"""The ``python`` backend: a model that is a Python function called on batches of inputs.

``function: my_rules:predict`` imports ``my_rules`` (from the spec's folder, ``path:``, or
anything importable) and calls ``predict(inputs)`` with a list of at most ``batch_size``
inputs. It returns one output per input: a label, a number or a text, or a mapping
``{"prediction": ..., "probabilities": {label: p}}``. The outputs are then checked exactly
like a predictions file, so a wrong label or a bad probability is named the same way.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa

from heldout._errors import ModelError
from heldout._util._suggest import did_you_mean
from heldout.data import Dataset, TargetKind
from heldout.models._predictions import Predictions, predictions_from_table
from heldout.spec import PredictionsModelSpec, PythonModelSpec

__all__ = ["load_function", "run_python_model"]


def run_python_model(
    spec: PythonModelSpec,
    *,
    model: str,
    root: Path,
    dataset: Dataset,
    kind: TargetKind,
    labels: tuple[str, ...] = (),
) -> Predictions:
    """Call the model's function on every input of the dataset, in batches.

    Raises:
        ModelError: the function cannot be imported, raises, or returns the wrong number
            of outputs; naming the function and the first example of the failing batch.
        DataError: an output is not a valid prediction (as for a predictions file).
    """
    fn = load_function(spec.function, root=root, extra_path=spec.path, model=model)
    outputs: list[Any] = []
    for start in range(0, len(dataset), spec.batch_size):
        batch = list(dataset.inputs[start : start + spec.batch_size])
        try:
            result = list(fn(batch))
        except Exception as exc:
            raise ModelError(
                f"models.{model}: {spec.function} raised {type(exc).__name__}: {exc} "
                f'(on the batch starting at example "{dataset.ids[start]}")'
            ) from exc
        if len(result) != len(batch):
            raise ModelError(
                f"models.{model}: {spec.function} returned {len(result)} outputs for "
                f'{len(batch)} inputs (batch starting at example "{dataset.ids[start]}"). '
                "Return one output per input, in order"
            )
        outputs.extend(result)
    table = _as_table(dataset, outputs)
    as_file = PredictionsModelSpec(
        backend="predictions", path=spec.function, invalid=spec.invalid, probabilities=None
    )
    return predictions_from_table(
        table,
        as_file,
        model=model,
        path=Path(f"{spec.function} output"),
        fmt="parquet",  # rows are named "row N", as in a file without lines
        dataset=dataset,
        kind=kind,
        labels=labels,
    )


def _as_table(dataset: Dataset, outputs: list[Any]) -> pa.Table:
    predictions = [o.get("prediction") if isinstance(o, Mapping) else o for o in outputs]
    columns: dict[str, Any] = {
        "id": pa.array([str(i) for i in dataset.ids], type=pa.string()),
        "prediction": _column(predictions),
    }
    probabilities = [o.get("probabilities") if isinstance(o, Mapping) else None for o in outputs]
    if any(p is not None for p in probabilities):
        columns["probabilities"] = pa.array([None if p is None else dict(p) for p in probabilities])
    return pa.table(columns)


def _column(values: list[Any]) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # mixed kinds (a number among labels): keep their text, the checks name the row
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def load_function(
    reference: str, *, root: Path, extra_path: str | None = None, model: str = "model"
) -> Callable[[list[Any]], Any]:
    """Import ``module:attribute`` with the spec's folder (and ``extra_path``) importable."""
    module_name, _, attribute = reference.partition(":")
    folders = [root] + ([root / extra_path] if extra_path else [])
    with _importable(folders):
        _forget_if_elsewhere(module_name, folders)
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            raise ModelError(
                f"models.{model}.function: cannot import module {module_name!r} ({exc}). "
                f"Put {module_name}.py beside eval.yaml, set path:, or install it"
            ) from exc
    target: Any = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            names = [n for n in dir(target) if not n.startswith("_")]
            raise ModelError(
                f"models.{model}.function: {module_name} has no {part!r}{did_you_mean(part, names)}"
            )
        target = getattr(target, part)
    if not callable(target):
        raise ModelError(f"models.{model}.function: {reference} is not callable")
    fn: Callable[[list[Any]], Any] = target
    return fn


def _forget_if_elsewhere(module_name: str, folders: list[Path]) -> None:
    """Drop a module imported earlier from another folder when the spec's folder has its own.

    Two specs in one process (a notebook, a test session) may each keep a ``rules.py``
    beside them; each must get its own, not whichever was imported first.
    """
    top = module_name.split(".")[0]
    loaded = sys.modules.get(top)
    if loaded is None:
        return
    here = [f / f"{top}.py" for f in folders] + [f / top / "__init__.py" for f in folders]
    own = next((c.resolve() for c in here if c.is_file()), None)
    if own is None:
        return
    current = getattr(loaded, "__file__", None)
    if current is not None and Path(current).resolve() == own:
        return
    for name in [m for m in sys.modules if m == top or m.startswith(top + ".")]:
        del sys.modules[name]


@contextmanager
def _importable(folders: list[Path]) -> Iterator[None]:
    added = [str(f.resolve()) for f in folders if str(f.resolve()) not in sys.path]
    sys.path[:0] = added
    try:
        yield
    finally:
        for folder in added:
            sys.path.remove(folder)
