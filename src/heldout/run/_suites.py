"""Forgetting suites: general-capability sets run as multiple-choice tasks of the run.

Each suite in ``suites:`` becomes a task named ``suite.<name>`` of type
``multiple_choice`` (scored by log-likelihood for live models), evaluated on the run's
candidate and baseline only. Its accuracy difference gets a forgetting verdict (see
:mod:`heldout.analysis._forgetting`), with the p-values corrected across the suites.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from heldout.analysis import Forgetting, forgetting
from heldout.data import read_suite
from heldout.spec import CompareSpec, DatasetSpec, LoadedSpec, PromptSpec, SuiteSpec, TaskSpec
from heldout.stats import StatsConfig, adjust_pvalues, verdict_for

if TYPE_CHECKING:
    from heldout.models import Backend
    from heldout.run._evaluate import PreparedTask
    from heldout.run._types import TaskResult

__all__ = ["SUITE_METRIC", "SuiteRun", "finish_suites", "prepare_suites", "suite_task_name"]

#: The metric a suite is judged on.
SUITE_METRIC = "accuracy"


@dataclass(frozen=True, eq=False)
class SuiteRun:
    """A suite ready to score: its spec, the run's spec narrowed to it, the prepared task."""

    spec: SuiteSpec
    format: str
    loaded: LoadedSpec
    prepared: PreparedTask


def suite_task_name(suite: SuiteSpec) -> str:
    return f"suite.{suite.name}"


def prepare_suites(
    loaded: LoadedSpec, backends: Mapping[str, Backend], candidate: str, baseline: str
) -> list[SuiteRun]:
    """Read every suite and prepare it as a multiple-choice task of the candidate and the
    baseline (files in a known layout are converted to a heldout dataset first)."""
    from heldout.run._evaluate import prepare

    runs: list[SuiteRun] = []
    if not loaded.spec.suites:
        return runs
    models = {name: loaded.spec.models[name] for name in (baseline, candidate)}
    pair = {name: backends[name] for name in models if name in backends}
    with tempfile.TemporaryDirectory(prefix="heldout-suite-") as folder:
        for suite in loaded.spec.suites:
            task, fmt = _suite_task(loaded, suite, Path(folder))
            narrowed = replace(
                loaded,
                spec=loaded.spec.model_copy(
                    update={
                        "tasks": (task,),
                        "models": models,
                        "compare": CompareSpec(candidate=candidate, baseline=baseline),
                    }
                ),
                shorthand=False,
            )
            runs.append(
                SuiteRun(
                    spec=suite,
                    format=fmt,
                    loaded=narrowed,
                    prepared=prepare(narrowed, task, backends=pair),
                )
            )
    return runs


def _suite_task(loaded: LoadedSpec, suite: SuiteSpec, folder: Path) -> tuple[TaskSpec, str]:
    name = suite_task_name(suite)
    if suite.dataset is not None:
        template = "{{ input }}\nAnswer:"
        dataset = suite.dataset
        fmt = "heldout"
    else:
        assert suite.path is not None
        items = read_suite(loaded.resolve(suite.path), suite.format, limit=suite.limit)
        path = folder / f"{suite.name}.jsonl"
        with path.open("w", encoding="utf-8") as handle:
            for record in items.records():
                handle.write(json.dumps(record) + "\n")
        # HellaSwag's endings continue the context itself; the others answer a question
        template = "{{ question }}" if items.format == "hellaswag" else "{{ question }}\nAnswer:"
        dataset = DatasetSpec(
            path=str(path), id="id", input="question", target="answer", choices="choices"
        )
        fmt = items.format
    task = TaskSpec(
        name=name,
        type="multiple_choice",
        dataset=dataset,
        method="loglikelihood",
        prompt=PromptSpec(template=template, chat=False),
    )
    return task, fmt


def finish_suites(
    runs: Sequence[SuiteRun], results: Sequence[TaskResult], config: StatsConfig
) -> tuple[TaskResult, ...]:
    """Each suite's result with its forgetting verdict; accuracy p-values corrected across
    the suites."""
    if not runs:
        return ()
    diffs = [r.comparisons[SUITE_METRIC] for r in results]
    adjusted = adjust_pvalues([d.p_value for d in diffs], config.correction)
    out = []
    for run, result, diff, p_adj in zip(runs, results, diffs, adjusted, strict=True):
        p = float(p_adj)
        verdict_of_diff = verdict_for(diff.delta, p, alpha=config.alpha, higher_is_better=True)
        diff = replace(diff, p_adjusted=p, verdict=verdict_of_diff)
        assert result.candidate is not None and result.baseline is not None
        path = run.spec.path if run.spec.path is not None else run.spec.dataset.path  # type: ignore[union-attr]
        verdict = Forgetting(
            suite=run.spec.name,
            format=run.format,
            path=path,
            metric=SUITE_METRIC,
            candidate=result.metrics[result.candidate][SUITE_METRIC],
            baseline=result.metrics[result.baseline][SUITE_METRIC],
            difference=diff,
            tolerance=run.spec.tolerance,
            verdict=forgetting(diff, tolerance=run.spec.tolerance, alpha=1 - config.confidence),
        )
        # the accuracy row shows the p-value corrected across the suites, as the verdict does
        comparisons = {**result.comparisons, SUITE_METRIC: diff}
        out.append(
            replace(
                result,
                dataset=replace(result.dataset, path=path),
                comparisons=comparisons,
                forgetting=verdict,
            )
        )
    return tuple(out)
