"""Custom metrics: a decorator registry and the ``heldout.metrics`` entry-point group.

A custom metric is a function ``fn(y_true, y_pred)`` returning one float per example,
plus an optional aggregate (default: the mean)::

    import heldout

    @heldout.metric("polite", higher_is_better=True, bounds=(0.0, 1.0))
    def polite(y_true, y_pred):
        return [float("please" in p) for p in y_pred]

With the default mean it becomes a ``mean`` metric (CLT interval, Wilson when every value
is 0 or 1; McNemar or the paired t-test); with a custom aggregate a ``bootstrap`` metric
whose resamples redraw the examples and apply the aggregate to the values drawn. Either
way its per-example values are the column ``<name>:<model>``, so slices and fairness see
it. Third-party packages register metrics by naming a module (or a function) in the
``heldout.metrics`` entry-point group; the group is read on the first lookup of a name
that is not registered.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from heldout._errors import MetricError, SpecError
from heldout.scoring._base import MetricDef, ScoreRows, StatBlock

__all__ = [
    "ENTRY_POINT_GROUP",
    "CustomMetric",
    "custom_metric",
    "custom_metric_names",
    "custom_rows",
    "custom_values",
    "import_custom_metrics",
    "metric",
]

ENTRY_POINT_GROUP = "heldout.metrics"

PerExample = Callable[[list[Any], list[Any]], Any]
Reduce = Callable[[NDArray[np.float64]], float]


@dataclass(frozen=True)
class CustomMetric:
    """A registered custom metric.

    Attributes:
        name: the name used in ``metrics:``.
        fn: ``fn(y_true, y_pred)`` gives one float per example.
        higher_is_better: the metric's direction.
        aggregate: per-example values to the metric's value; ``None`` is the mean.
        bounds: the range of the metric's value, ``(low, high)``, when it has one (the
            utility score normalises bounded metrics by it).
    """

    name: str
    fn: PerExample
    higher_is_better: bool = True
    aggregate: Reduce | None = None
    bounds: tuple[float, float] | None = None


_REGISTRY: dict[str, CustomMetric] = {}
_entry_points_read = False


def metric(
    name: str,
    *,
    higher_is_better: bool = True,
    aggregate: Reduce | None = None,
    bounds: tuple[float, float] | None = None,
) -> Callable[[PerExample], PerExample]:
    """Register ``fn(y_true, y_pred) -> one float per example`` as metric ``name``.

    Args:
        name: the name to write in ``metrics:``; registering a name again replaces it.
        higher_is_better: ``False`` for errors and losses.
        aggregate: per-example values (a float array) to the metric's value; the
            default is the mean. A custom aggregate's interval is bootstrapped.
        bounds: ``(low, high)`` range of the value, for the utility score's normalisation.

    Example:
        >>> @metric("shouting", higher_is_better=False, bounds=(0.0, 1.0))
        ... def shouting(y_true, y_pred):
        ...     return [float(p.isupper()) for p in y_pred]
    """
    if not name or ":" in name:
        raise MetricError(f"@heldout.metric: name {name!r} must be non-empty and hold no ':'")
    if bounds is not None and not bounds[0] < bounds[1]:
        raise MetricError(f"@heldout.metric {name!r}: bounds must be (low, high) with low < high")

    def register(fn: PerExample) -> PerExample:
        _REGISTRY[name] = CustomMetric(
            name=name,
            fn=fn,
            higher_is_better=higher_is_better,
            aggregate=aggregate,
            bounds=None if bounds is None else (float(bounds[0]), float(bounds[1])),
        )
        return fn

    return register


def _read_entry_points() -> None:
    global _entry_points_read
    if _entry_points_read:
        return
    _entry_points_read = True
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = ep.load()
        except Exception as exc:
            raise MetricError(
                f'entry point "{ep.name} = {ep.value}" of group {ENTRY_POINT_GROUP} failed to '
                f"load ({type(exc).__name__}: {exc}); fix or uninstall the package providing it"
            ) from exc
        if ep.name not in _REGISTRY and callable(loaded):
            metric(ep.name)(loaded)


def custom_metric(name: str) -> CustomMetric | None:
    """The registered metric ``name`` (reading the entry points first if needed)."""
    if name not in _REGISTRY:
        _read_entry_points()
    return _REGISTRY.get(name)


def custom_metric_names() -> list[str]:
    """Every registered custom metric, entry points included, sorted."""
    _read_entry_points()
    return sorted(_REGISTRY)


def import_custom_metrics(references: Sequence[str], *, root: Path, where: str) -> None:
    """Import the modules of ``custom_metrics: [module, module:function]``.

    Importing a module runs its ``@heldout.metric`` decorators; a ``module:function``
    that is not decorated is registered under the function's name with the defaults.

    Raises:
        SpecError: a module that cannot be imported or a function that is not there.
    """
    for k, ref in enumerate(references):
        fn = import_reference(ref, root=root, here=f"{where}: custom_metrics[{k}]")
        if fn is not None and not any(m.fn is fn for m in _REGISTRY.values()):
            metric(ref.partition(":")[2])(fn)


def import_reference(reference: str, *, root: Path, here: str) -> Callable[..., Any] | None:
    """Import the module of ``module:function`` (from ``root`` first) and return the function.

    Returns ``None`` for a bare ``module``, imported for what its decorators register.

    Raises:
        SpecError: the module cannot be imported, or has no such function.
    """
    module_name, _, attribute = reference.partition(":")
    try:
        module = import_from(module_name, root)
    except ImportError as exc:
        raise SpecError(
            f"{here}: cannot import module {module_name!r} ({exc}); put {module_name}.py "
            "beside eval.yaml or install it"
        ) from exc
    if not attribute:
        return None
    fn = getattr(module, attribute, None)
    if not callable(fn):
        raise SpecError(f"{here}: {module_name} has no function {attribute!r}")
    return fn  # type: ignore[no-any-return]


def import_from(module_name: str, root: Path) -> Any:
    """Import ``module_name`` with ``root`` importable, preferring ``root``'s own copy.

    Two specs in one process (a notebook, a test session) may each keep a ``checks.py``
    beside them; each gets its own, not whichever was imported first.
    """
    import sys

    top = module_name.split(".")[0]
    loaded = sys.modules.get(top)
    own = next((c for c in (root / f"{top}.py", root / top / "__init__.py") if c.is_file()), None)
    if loaded is not None and own is not None:
        where = getattr(loaded, "__file__", None)
        if where is None or Path(where).resolve() != own.resolve():
            for name in [n for n in sys.modules if n == top or n.startswith(f"{top}.")]:
                del sys.modules[name]
    sys.path.insert(0, str(root))
    try:
        return importlib.import_module(module_name)
    finally:
        if str(root) in sys.path:
            sys.path.remove(str(root))


class _CountsAggregate:
    """A custom aggregate under the bootstrap: a resample is how often each example was
    drawn (a one-hot block), so its value is the aggregate of the values drawn."""

    def __init__(self, values: NDArray[np.float64], fn: Reduce) -> None:
        self._values = values
        self._fn = fn

    def __call__(self, counts: NDArray[np.float64]) -> NDArray[np.float64]:
        c = np.asarray(counts, dtype=np.float64)
        flat = c.reshape(-1, c.shape[-1])
        out = np.full(flat.shape[0], np.nan)
        for b, row in enumerate(flat):
            reps = np.rint(row).astype(np.int64)
            if reps.sum() > 0:
                out[b] = float(self._fn(np.repeat(self._values, reps)))
        return out.reshape(c.shape[:-1])


def custom_values(
    m: CustomMetric, y_true: Sequence[Any], y_pred: Sequence[Any]
) -> NDArray[np.float64]:
    """The per-example values of ``m``, checked: one finite float per example."""
    try:
        raw = m.fn(list(y_true), list(y_pred))
        values = np.asarray(list(raw), dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MetricError(
            f'custom metric "{m.name}" must return one float per example ({exc})'
        ) from exc
    if values.shape != (len(y_pred),):
        raise MetricError(
            f'custom metric "{m.name}" returned {values.size} values for {len(y_pred)} '
            "examples; return one float per example"
        )
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise MetricError(
            f'custom metric "{m.name}" returned {values[bad[0]]} for example {int(bad[0])}; '
            "return a finite float for every example"
        )
    return values


def custom_rows(
    rows: ScoreRows,
    metrics: Sequence[CustomMetric],
    y_true: Sequence[Any],
    y_pred: Sequence[Any],
    *,
    more_draws: Sequence[Sequence[Any]] = (),
) -> ScoreRows:
    """A model's score rows with each custom metric added (block and column ``name``).

    ``more_draws`` are the other draws of a model that sampled several predictions per
    example (``y_pred`` is the first): the metric's per-example values are averaged over
    the draws, as :func:`~heldout.scoring.average_samples` does for every other metric.
    """
    draws = [y_pred, *more_draws]
    for m in metrics:
        per_draw = [custom_values(m, y_true, d) for d in draws]
        values = np.mean(per_draw, axis=0)
        params: dict[str, Any] = {"custom": True}
        if m.bounds is not None:
            params["bounds"] = list(m.bounds)
        if len(draws) > 1:
            params["samples"] = len(draws)
            if m.bounds is None and all(np.isin(v, (0.0, 1.0)).all() for v in per_draw):
                # 0/1 on every draw: the average is a rate in [0, 1]
                params["bounds"] = [0.0, 1.0]
        if m.aggregate is None:
            binary = bool(np.isin(values, (0.0, 1.0)).all())
            definition = MetricDef(
                name=m.name,
                kind="mean",
                block=m.name,
                higher_is_better=m.higher_is_better,
                binary=binary,
                params=params,
            )
            block = StatBlock.dense(values)
        else:
            if rows.weights is not None:
                # the bootstrap hands the aggregate how often each example was drawn;
                # sampling weights would turn those counts into weighted sums
                raise MetricError(
                    f'custom metric "{m.name}" has its own aggregate, which cannot use '
                    "dataset.weight; drop the aggregate (the mean is weighted) or the weights"
                )
            params["aggregate"] = getattr(m.aggregate, "__name__", repr(m.aggregate))
            n = values.shape[0]
            definition = MetricDef(
                name=m.name,
                kind="bootstrap",
                block=m.name,
                higher_is_better=m.higher_is_better,
                aggregate=_CountsAggregate(values, m.aggregate),
                params=params,
            )
            block = StatBlock.cells(np.arange(n, dtype=np.int64), n)
        rows = rows.with_metric(definition, block, values, what="custom metric")
    return rows
