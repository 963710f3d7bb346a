"""Assertions, custom metrics and the utility score in the pipeline.

``resolve_extras`` runs in :func:`~heldout.run.prepare`, before any model is called: it
imports the task's ``custom_metrics:`` modules (so ``metrics:`` can name what they
register), compiles its ``assertions:`` and checks the names ``utility:`` combines.
``with_extra_rows`` adds each assertion (0/1 per example) and each custom metric to every
model's score rows, so they get an estimate, an interval, a paired test, a column
``<name>:<model>`` and slices like any metric. ``with_utility`` combines the metrics of
``utility:`` into ``utility`` with a joint bootstrap (:mod:`heldout.stats._utility`) and
adds it to the estimates and the comparisons, correcting the p-values again with it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from numpy.typing import NDArray

from heldout._errors import SpecError
from heldout._util._suggest import did_you_mean
from heldout.scoring import (
    Assertion,
    CustomMetric,
    ScoreRows,
    assertion_rows,
    builtin_metrics,
    compile_assertions,
    custom_metric,
    custom_rows,
    import_custom_metrics,
)
from heldout.spec import LoadedSpec, TaskSpec
from heldout.stats import Difference, Estimate, StatsConfig, adjust_pvalues, verdict_for
from heldout.stats._utility import UtilityResult, utility_score, utility_terms

if TYPE_CHECKING:
    from heldout.run._evaluate import PreparedTask

__all__ = ["Extras", "resolve_extras", "scorer_metrics", "with_extra_rows", "with_utility"]

UTILITY = "utility"


@dataclass(frozen=True, eq=False)
class Extras:
    """A task's assertions, custom metrics and utility weights, resolved."""

    assertions: tuple[Assertion, ...] = ()
    custom: tuple[CustomMetric, ...] = ()
    utility: Mapping[str, tuple[float, float | None]] | None = None
    where_utility: str = "utility"


def resolve_extras(
    loaded: LoadedSpec, task: TaskSpec, index: int, metrics: tuple[str, ...] | None = None
) -> Extras:
    """Import custom metric modules, compile assertions; with ``metrics`` (the task's
    metric names) also check the custom metrics and the utility's names.

    Called twice by ``prepare``: without ``metrics`` before the metric names are checked
    (the modules must be imported first), then with them.
    """
    if task.custom_metrics and metrics is None:
        import_custom_metrics(
            task.custom_metrics,
            root=loaded.root,
            where=loaded.where_in_task(index, "custom_metrics"),
        )
    if metrics is None:
        return Extras()
    names = set(builtin_metrics(task.type, metrics))
    custom = tuple(
        m for name in metrics if name not in names and (m := custom_metric(name)) is not None
    )
    assertions = compile_assertions(
        task.assertions, root=loaded.root, where=loaded.where_in_task(index, "assertions")
    )
    taken = set(metrics) & {a.name for a in assertions}
    if taken:
        raise SpecError(
            f'{loaded.where_in_task(index, "assertions")}: task "{task.name}": assertion '
            f"{sorted(taken)[0]} has the name of a metric; rename it"
        )
    utility = None
    where_utility = loaded.where_in_task(index, "utility")
    if task.utility is not None:
        if task.dataset.weight is not None:
            raise SpecError(
                f"{where_utility}: utility: combines unweighted metrics and this task sets "
                "dataset.weight; drop one of them"
            )
        known = [*metrics, *(a.name for a in assertions), *(j.name for j in task.judges)]
        if UTILITY in known:
            raise SpecError(f'{where_utility}: a metric is named "utility"; rename it')
        for name in task.utility:
            if name not in known:
                raise SpecError(
                    f'{where_utility}: metric "{name}" is not computed by task "{task.name}"'
                    f"{did_you_mean(name, known)} (metrics: {', '.join(known)}); add it to "
                    "metrics: or drop it from utility:"
                )
        utility = {name: (t.weight, t.scale) for name, t in task.utility.items()}
    return Extras(
        assertions=assertions, custom=custom, utility=utility, where_utility=where_utility
    )


def scorer_metrics(prepared: PreparedTask) -> list[str]:
    """The metric names the task type's own scorer computes (custom ones left out)."""
    return builtin_metrics(prepared.spec.type, prepared.metrics)


def _texts(values: NDArray[Any]) -> list[str]:
    return ["" if v is None else str(v) for v in values]


def with_extra_rows(rows: Mapping[str, ScoreRows], prepared: PreparedTask) -> dict[str, ScoreRows]:
    """Every model's score rows with its assertions and custom metrics added."""
    out = dict(rows)
    extras = prepared.extras
    if extras is None or not (extras.assertions or extras.custom):
        return out
    keep = prepared.keep
    targets = list(prepared.dataset.targets[keep])
    for name, r in rows.items():
        pred = prepared.predictions[name]
        values = pred.values[keep]
        # a model that sampled several outputs is checked on every draw, as it is scored
        more = [] if pred.draws is None else [v[keep] for v, _ in pred.draws[1:]]
        if extras.custom:
            r = custom_rows(
                r, extras.custom, targets, list(values), more_draws=[list(v) for v in more]
            )
        if extras.assertions:
            r = assertion_rows(
                r, extras.assertions, _texts(values), targets, more_draws=[_texts(v) for v in more]
            )
        out[name] = r
    return out


def with_utility(
    prepared: PreparedTask,
    rows: Mapping[str, ScoreRows],
    metrics: Mapping[str, Mapping[str, Estimate]],
    comparisons: Mapping[str, Difference],
    *,
    candidate: str | None,
    baseline: str | None,
    clusters: NDArray[Any] | None,
    config: StatsConfig,
) -> tuple[dict[str, dict[str, Estimate]], dict[str, Difference], UtilityResult | None]:
    """The estimates and comparisons with ``utility`` added (p-values corrected again)."""
    extras = prepared.extras
    out_metrics = {m: dict(by) for m, by in metrics.items()}
    out_comparisons = dict(comparisons)
    if extras is None or extras.utility is None or not rows:
        return out_metrics, out_comparisons, None
    first = next(iter(rows.values()))
    terms = utility_terms(extras.utility, first, where=extras.where_utility)
    result = utility_score(
        rows, terms, candidate=candidate, baseline=baseline, cluster=clusters, config=config
    )
    for model, estimate in result.estimates.items():
        out_metrics[model][UTILITY] = estimate
    if result.difference is not None and candidate is not None:
        out_comparisons[UTILITY] = result.difference
        out_comparisons = _corrected(out_comparisons, rows[candidate], config)
    return out_metrics, out_comparisons, result


def _corrected(
    comparisons: dict[str, Difference], candidate: ScoreRows, config: StatsConfig
) -> dict[str, Difference]:
    names = list(comparisons)
    adjusted = adjust_pvalues([comparisons[n].p_value for n in names], config.correction)
    out = {}
    for name, p in zip(names, adjusted, strict=True):
        d = comparisons[name]
        higher = True if name == UTILITY else candidate.metric(name).higher_is_better
        verdict = verdict_for(d.delta, float(p), alpha=config.alpha, higher_is_better=higher)
        out[name] = dataclasses.replace(d, p_adjusted=float(p), verdict=verdict)
    return out
