"""Two stored results side by side: paired on the examples they share, with the same tests
a run uses (:func:`heldout.stats.compare_all`), and the examples B fixed and broke."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from heldout._errors import HeldoutError
from heldout._util._suggest import did_you_mean
from heldout.history._rows import binary_column, rescore, stats_config, unweighted_note
from heldout.run import Run, TaskResult
from heldout.scoring import ScoreRows
from heldout.stats import (
    Difference,
    Estimate,
    StatsConfig,
    adjust_pvalues,
    compare_all,
    estimate_all,
    verdict_for,
)

__all__ = [
    "Comparison",
    "ExampleChange",
    "MetricComparison",
    "Side",
    "compare",
    "compare_runs",
    "open_runs",
]

#: Test named on a difference of two runs that share no example.
UNPAIRED_TEST = "two-sample-normal"


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a model's results in one task of one run."""

    run_id: str
    run_name: str
    task: str
    model: str

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run_id, "name": self.run_name, "task": self.task, "model": self.model}

    @property
    def label(self) -> str:
        return f"{self.run_id[:8]}/{self.model}"


@dataclass(frozen=True)
class MetricComparison:
    """One metric in A and in B, and the difference ``B - A``.

    Attributes:
        metric: the metric's name.
        a: A's estimate on the compared examples.
        b: B's estimate on the compared examples.
        difference: ``B - A`` with its interval, test, corrected p-value and verdict
            (``better`` means B is better than A).
        higher_is_better: the metric's direction.
    """

    metric: str
    a: Estimate
    b: Estimate
    difference: Difference
    higher_is_better: bool

    @property
    def worsening(self) -> float:
        """How much worse B is than A in the metric's units (negative: B is better)."""
        d = self.difference.delta
        return -d if self.higher_is_better else d

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "higher_is_better": self.higher_is_better,
            "a": self.a.to_dict(),
            "b": self.b.to_dict(),
            "difference": self.difference.to_dict(),
        }


@dataclass(frozen=True)
class ExampleChange:
    """An example B scored differently from A on a 0/1 per-example score."""

    id: str
    input: Any
    target: Any
    prediction_a: Any
    prediction_b: Any

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "input": self.input,
            "target": self.target,
            "prediction_a": self.prediction_a,
            "prediction_b": self.prediction_b,
        }


@dataclass(frozen=True)
class Comparison:
    """B against A, metric by metric.

    Attributes:
        a: the reference side.
        b: the side being judged.
        paired: whether the metrics were compared on shared examples (paired tests);
            ``False`` when the two share none (two-sample intervals from each side's own).
        n_shared: examples in both, by id.
        only_a: examples only A scored.
        only_b: examples only B scored.
        metrics: metric name to the comparison, in B's metric order.
        fixed: examples wrong in A and right in B (paired only), by ``change_score``.
        broken: examples right in A and wrong in B.
        change_score: the 0/1 per-example score fixed/broken are judged by, or ``None``.
        left_out: metrics that could not be compared, and why.
        warnings: plain sentences a reader should see beside the numbers.
        alpha: the significance level of the verdicts.
    """

    a: Side
    b: Side
    paired: bool
    n_shared: int
    only_a: int
    only_b: int
    metrics: Mapping[str, MetricComparison]
    fixed: tuple[ExampleChange, ...] = ()
    broken: tuple[ExampleChange, ...] = ()
    change_score: str | None = None
    left_out: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    alpha: float = 0.05

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a.to_dict(),
            "b": self.b.to_dict(),
            "paired": self.paired,
            "n_shared": self.n_shared,
            "only_a": self.only_a,
            "only_b": self.only_b,
            "alpha": self.alpha,
            "metrics": {name: m.to_dict() for name, m in self.metrics.items()},
            "change_score": self.change_score,
            "fixed": [e.to_dict() for e in self.fixed],
            "broken": [e.to_dict() for e in self.broken],
            "left_out": dict(self.left_out),
            "warnings": list(self.warnings),
        }


def compare(
    a: Run | str,
    b: Run | str | None = None,
    *,
    task: str | None = None,
    model_a: str | None = None,
    model_b: str | None = None,
    store: str | None = None,
    alpha: float | None = None,
) -> Comparison:
    """Compare run B (or model B) against run A (or model A), paired on shared examples.

    Args:
        a: the reference run, or its ref (id, unique prefix, ``latest``, ``latest:NAME``).
        b: the run judged against it; ``None`` compares two models of run ``a``
            (``model_a`` and ``model_b``, by default the run's baseline and candidate).
        task: the task to compare (default: A's first task).
        model_a: A's model (default: A's candidate, or its only model).
        model_b: B's model (default: B's candidate, or its only model).
        store: SQLAlchemy URL of the store refs are read from.
        alpha: significance level (default: one minus B's confidence setting).

    Returns:
        Per metric A, B and ``B - A``; the examples B fixed and broke.

    Raises:
        HeldoutError: a ref, task, model or metric cannot be found or compared.

    Example:
        >>> c = heldout.compare("3f9a2c", "latest:router")   # doctest: +SKIP
        >>> c.metrics["macro_f1"].difference.verdict                   # doctest: +SKIP
        'better'
    """
    run_a, run_b = open_runs(a, b, store=store)
    if b is None:
        t = run_a.task(task) if task is not None else run_a.tasks[0]
        model_a = model_a or t.baseline
        model_b = model_b or t.candidate
        if model_a is None or model_b is None:
            raise HeldoutError(
                f"run {run_a.id} compares no two models; name them with --model-a and "
                f"--model-b (models: {', '.join(t.models)})"
            )
    return compare_runs(run_a, run_b, task=task, model_a=model_a, model_b=model_b, alpha=alpha)


def open_runs(a: Run | str, b: Run | str | None, *, store: str | None = None) -> tuple[Run, Run]:
    """The two runs (``b`` is ``a`` when ``None``), read from the store where refs."""
    refs = [x for x in (a, b) if isinstance(x, str)]
    loaded: dict[str, Run] = {}
    if refs:
        from heldout.store import Store

        with Store.open(store, create=False) as opened:
            for ref in refs:
                loaded[ref] = opened.load_run(ref)
    run_a = loaded[a] if isinstance(a, str) else a
    run_b = run_a if b is None else (loaded[b] if isinstance(b, str) else b)
    return run_a, run_b


def _task_pair(run_a: Run, run_b: Run, task: str | None) -> tuple[TaskResult, TaskResult]:
    if task is not None:
        return run_a.task(task), run_b.task(task)
    first = run_a.tasks[0]
    if any(t.name == first.name for t in run_b.tasks):
        return first, run_b.task(first.name)
    if len(run_b.tasks) == 1:
        return first, run_b.tasks[0]
    raise HeldoutError(
        f'run {run_b.id} has no task "{first.name}"; pick one with --task '
        f"(tasks: {', '.join(t.name for t in run_b.tasks)})"
    )


def _model(run: Run, task: TaskResult, model: str | None, option: str) -> str:
    if model is not None:
        if model not in task.models:
            raise HeldoutError(
                f'run {run.id} task "{task.name}" has no model "{model}" '
                f"(models: {', '.join(task.models)}); pick one with {option}"
            )
        return model
    if task.candidate is not None:
        return task.candidate
    if len(task.models) == 1:
        return task.models[0]
    raise HeldoutError(
        f'run {run.id} task "{task.name}" has several models and no candidate '
        f"({', '.join(task.models)}); pick one with {option}"
    )


def compare_runs(
    run_a: Run,
    run_b: Run,
    *,
    task: str | None = None,
    model_a: str | None = None,
    model_b: str | None = None,
    metrics: Sequence[str] | None = None,
    alpha: float | None = None,
) -> Comparison:
    """:func:`compare` on runs already loaded; ``metrics`` restricts the family compared
    (and corrected) together, in its own order."""
    task_a, task_b = _task_pair(run_a, run_b, task)
    name_a = _model(run_a, task_a, model_a, "--model-a")
    name_b = _model(run_b, task_b, model_b, "--model-b")
    if run_a is run_b and task_a is task_b and name_a == name_b:
        raise HeldoutError(f'model A and model B are both "{name_a}"; compare two different models')
    shared = [m for m in task_b.metrics.get(name_b, {}) if m in task_a.metrics.get(name_a, {})]
    if metrics is not None:
        for name in metrics:
            if name not in shared:
                raise HeldoutError(
                    f'no metric "{name}" in both {name_a} and {name_b}'
                    f"{did_you_mean(name, shared)}; metrics: {', '.join(shared) or 'none'}"
                )
        shared = list(metrics)
    if not shared:
        raise HeldoutError(
            f"{name_a} in run {run_a.id} and {name_b} in run {run_b.id} share no metric; "
            "compare runs of the same task"
        )
    config = stats_config(run_b, alpha=alpha)
    side_a = Side(run_a.id, run_a.name, task_a.name, name_a)
    side_b = Side(run_b.id, run_b.name, task_b.name, name_b)
    frame_a, frame_b = task_a.examples, task_b.examples
    ids_a = frame_a["id"].astype(str)
    ids_b = frame_b["id"].astype(str)
    in_b = ids_a.isin(set(ids_b))
    n_shared = int(in_b.sum())
    only_a = len(frame_a) - n_shared
    only_b = int((~ids_b.isin(set(ids_a))).sum())
    warnings: list[str] = [
        note for note in dict.fromkeys(map(unweighted_note, (task_a, task_b))) if note
    ]
    if n_shared == 0:
        warnings.append(
            f"A and B share no example id ({len(frame_a):,} in A, {len(frame_b):,} in B): "
            "the comparison is unpaired, from each side's own interval, and much less "
            "sensitive than a paired one; evaluate both on the same examples"
        )
        res_a = rescore(run_a, task_a, name_a, frame_a, metrics=shared)
        res_b = rescore(run_b, task_b, name_b, frame_b, metrics=shared)
        return _unpaired(
            (side_a, side_b),
            (res_a.rows, res_b.rows),
            (_cluster(frame_a), _cluster(frame_b)),
            {**res_a.left_out, **res_b.left_out},
            config,
            only_a=only_a,
            only_b=only_b,
            warnings=warnings,
        )
    if only_a or only_b:
        warnings.append(
            f"compared on the {n_shared:,} examples both scored; {only_a:,} only in A and "
            f"{only_b:,} only in B are left out"
        )
    paired_a = frame_a[in_b.to_numpy()].reset_index(drop=True)
    position = pd.Series(np.arange(len(frame_b)), index=ids_b.to_numpy())
    paired_b = frame_b.iloc[position.loc[paired_a["id"].astype(str)].to_numpy()].reset_index(
        drop=True
    )
    res_a = rescore(run_a, task_a, name_a, paired_a, metrics=shared)
    res_b = rescore(run_b, task_b, name_b, paired_b, metrics=shared)
    left_out = {**res_a.left_out, **res_b.left_out}
    cluster = _cluster(paired_a)
    rows_a, rows_b = _keep(res_a.rows, left_out), _keep(res_b.rows, left_out)
    if not rows_b.metrics:
        raise HeldoutError(_nothing_left(left_out))
    diffs = compare_all(rows_b, rows_a, cluster=cluster, config=config)
    est_a = estimate_all(rows_a, cluster=cluster, config=config)
    est_b = estimate_all(rows_b, cluster=cluster, config=config)
    compared = {
        m.name: MetricComparison(
            m.name, est_a[m.name], est_b[m.name], diffs[m.name], m.higher_is_better
        )
        for m in rows_b.metrics
        if m.name in diffs
    }
    column = binary_column(rows_a)
    fixed: tuple[ExampleChange, ...] = ()
    broken: tuple[ExampleChange, ...] = ()
    if column is not None and column in rows_b.per_example:
        before, after = rows_a.per_example[column], rows_b.per_example[column]
        fixed = _changes(paired_a, paired_b, name_a, name_b, (before == 0.0) & (after == 1.0))
        broken = _changes(paired_a, paired_b, name_a, name_b, (before == 1.0) & (after == 0.0))
    else:
        column = None
    return Comparison(
        a=side_a,
        b=side_b,
        paired=True,
        n_shared=n_shared,
        only_a=only_a,
        only_b=only_b,
        metrics=compared,
        fixed=fixed,
        broken=broken,
        change_score=column,
        left_out=left_out,
        warnings=tuple(warnings),
        alpha=config.alpha,
    )


def _nothing_left(left_out: Mapping[str, str]) -> str:
    reasons = "; ".join(f"{k}: {v}" for k, v in left_out.items())
    return f"no metric can be compared from the stored examples ({reasons})"


def _keep(rows: ScoreRows, left_out: Mapping[str, str]) -> ScoreRows:
    """The rows without the metrics either side could not score."""
    kept = tuple(m for m in rows.metrics if m.name not in left_out)
    return ScoreRows(
        model=rows.model,
        n=rows.n,
        metrics=kept,
        blocks=rows.blocks,
        rankings=rows.rankings,
        per_example=rows.per_example,
    )


def _cluster(frame: pd.DataFrame) -> NDArray[Any] | None:
    if "cluster" not in frame.columns:
        return None
    return frame["cluster"].to_numpy(dtype=object)


def _plain(value: Any) -> Any:
    """A cell as a JSON-ready Python value."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _changes(
    frame_a: pd.DataFrame,
    frame_b: pd.DataFrame,
    model_a: str,
    model_b: str,
    mask: NDArray[np.bool_],
) -> tuple[ExampleChange, ...]:
    idx = np.flatnonzero(mask)
    has_input = "input" in frame_a.columns
    return tuple(
        ExampleChange(
            id=str(frame_a["id"].iat[i]),
            input=_plain(frame_a["input"].iat[i]) if has_input else None,
            target=_plain(frame_a["target"].iat[i]),
            prediction_a=_plain(frame_a[f"pred:{model_a}"].iat[i]),
            prediction_b=_plain(frame_b[f"pred:{model_b}"].iat[i]),
        )
        for i in idx.tolist()
    )


def _unpaired(
    sides: tuple[Side, Side],
    rows: tuple[ScoreRows, ScoreRows],
    clusters: tuple[NDArray[Any] | None, NDArray[Any] | None],
    left_out: Mapping[str, str],
    config: StatsConfig,
    *,
    only_a: int,
    only_b: int,
    warnings: list[str],
) -> Comparison:
    """Independent samples: ``B - A`` with the standard errors read off each side's own
    interval, combined as ``sqrt(se_a² + se_b²)`` (normal approximation)."""
    rows_a, rows_b = _keep(rows[0], left_out), _keep(rows[1], left_out)
    if not rows_b.metrics:
        raise HeldoutError(_nothing_left(left_out))
    est_a = estimate_all(rows_a, cluster=clusters[0], config=config)
    est_b = estimate_all(rows_b, cluster=clusters[1], config=config)
    z = NormalDist().inv_cdf(0.5 + config.confidence / 2.0)
    raw: list[tuple[str, bool, Difference]] = []
    for m in rows_b.metrics:
        ea, eb = est_a[m.name], est_b[m.name]
        se = math.hypot((ea.ci_high - ea.ci_low) / (2 * z), (eb.ci_high - eb.ci_low) / (2 * z))
        delta = eb.value - ea.value
        if se > 0.0 and math.isfinite(se):
            p = 2.0 * (1.0 - NormalDist().cdf(abs(delta) / se))
        else:
            p = float("nan")
        d = Difference(
            delta=delta,
            ci_low=delta - z * se,
            ci_high=delta + z * se,
            p_value=p,
            test=UNPAIRED_TEST,
            n=min(ea.n, eb.n),
            confidence=config.confidence,
        )
        raw.append((m.name, m.higher_is_better, d))
    adjusted = adjust_pvalues([d.p_value for _, _, d in raw], config.correction).tolist()
    compared: dict[str, MetricComparison] = {}
    for (name, higher, d), p_adj in zip(raw, adjusted, strict=True):
        verdict = verdict_for(d.delta, p_adj, alpha=config.alpha, higher_is_better=higher)
        final = Difference(**{**d.to_dict(), "p_adjusted": p_adj, "verdict": verdict})
        compared[name] = MetricComparison(name, est_a[name], est_b[name], final, higher)
    return Comparison(
        a=sides[0],
        b=sides[1],
        paired=False,
        n_shared=0,
        only_a=only_a,
        only_b=only_b,
        metrics=compared,
        left_out=left_out,
        warnings=tuple(warnings),
        alpha=config.alpha,
    )
