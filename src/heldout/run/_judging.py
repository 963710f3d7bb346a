"""LLM judges in the pipeline: resolve before any call, judge through the journal, score.

``resolve_judges`` runs in :func:`~heldout.run.prepare` (a bad decision tree or a judge of
an unknown column fails before the first call). ``judge_tasks`` runs after the models'
calls: it opens each judge model once, freezes G-Eval steps, judges every model's outputs
(every call through the call journal, so a rerun makes none), and attaches the verdicts to
the task. ``with_judge_rows`` then adds each judge's per-example scores to every model's
score rows, so a judge metric gets an estimate, an interval and a paired comparison like
any other; ``judge_report`` and ``judge_columns`` give what the run stores and shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from heldout._errors import ModelError, SpecError
from heldout.data import Dataset, column_values, mask_text
from heldout.judges import (
    Judge,
    JudgeInfo,
    JudgeReport,
    JudgeScores,
    JudgeUsage,
    Material,
    PairwiseInfo,
    PairwiseScores,
    freeze_steps,
    judge_from_spec,
    judge_outputs,
    judge_pairwise,
    validate_against_humans,
    vote_agreement,
)
from heldout.models import Backend, Request, RequestKind, Response
from heldout.run._calls import ProgressSink, make_calls, open_backends
from heldout.scoring import MetricDef, ScoreRows, StatBlock
from heldout.spec import LoadedSpec, ModelSpec, OpenAIModelSpec, PythonModelSpec, TaskSpec
from heldout.stats import Estimate, StatsConfig, mean_interval

if TYPE_CHECKING:
    from heldout.run._evaluate import PreparedTask
    from heldout.store import Journal

__all__ = [
    "JudgedTask",
    "judge_columns",
    "judge_models",
    "judge_report",
    "judge_tasks",
    "resolve_judges",
    "with_judge_rows",
]


@dataclass(frozen=True, eq=False)
class JudgedTask:
    """A task's judges after judging: frozen steps, verdicts per model, usage."""

    judges: tuple[Judge, ...]
    scores: Mapping[str, Mapping[str, JudgeScores]]
    pairwise: Mapping[str, PairwiseScores] = field(default_factory=dict)
    usage: Mapping[str, JudgeUsage] = field(default_factory=dict)
    humans: Mapping[str, NDArray[np.object_]] = field(default_factory=dict)


def judge_models(loaded: LoadedSpec) -> dict[str, ModelSpec]:
    """The models some task's judges name: ``judge_models:`` entries first, then ``models:``."""
    names = {j.model for t in loaded.spec.tasks for j in t.judges}
    out: dict[str, ModelSpec] = {}
    for name in sorted(names):
        out[name] = loaded.spec.judge_models.get(name) or loaded.spec.models[name]
    return out


def resolve_judges(
    loaded: LoadedSpec, task: TaskSpec, index: int, dataset: Dataset
) -> tuple[Judge, ...]:
    """The task's judges, checked: presets filled in, decision trees validated, columns found."""
    if not task.judges:
        return ()
    where = loaded.where_in_task(index, "judges")
    names = [j.name for j in task.judges]
    columns = [] if dataset.table is None else dataset.table.column_names
    judges = []
    for k, spec in enumerate(task.judges):
        here = f"{where}: judges[{k}]"
        for role, column in (("context", spec.context), ("human", spec.human)):
            if column is not None and column not in columns:
                raise SpecError(
                    f'{here}: judge {spec.name}: {role} column "{column}" is not in '
                    f"{dataset.path} (columns: {', '.join(columns)})"
                )
        model = loaded.spec.judge_models.get(spec.model) or loaded.spec.models[spec.model]
        if not isinstance(model, OpenAIModelSpec | PythonModelSpec) and model.backend != "hf":
            raise SpecError(
                f"{here}: judge {spec.name}: model {spec.model} is a {model.backend} model; "
                "a judge must be called (openai, hf or python)"
            )
        judge = judge_from_spec(spec, where=here, metrics=names, has_reference=True)
        if judge.kind == "pairwise" and task.type != "generation":
            raise SpecError(f"{here}: judge {spec.name}: pairwise judges compare generated texts")
        judges.append(judge)
    return tuple(judges)


class _FunctionJudge:
    """A judge that is a Python function: called on a batch of chat prompts.

    The function takes a list of prompts, each a list of ``{"role", "content"}`` messages,
    and returns one answer per prompt: a text, or a mapping with ``text`` and optionally
    ``top_logprobs`` (per generated token, ``[[token, logprob], ...]`` with the generated
    token first).
    """

    supports: frozenset[RequestKind] = frozenset({"generate"})

    def __init__(self, spec: PythonModelSpec, *, name: str, root: Path) -> None:
        from heldout.models import load_function

        self.name = name
        self.identity: Mapping[str, Any] = {"backend": "python", "function": spec.function}
        self._fn = load_function(spec.function, root=root, extra_path=spec.path, model=name)
        self._batch = spec.batch_size

    def run(self, requests: Sequence[Request], on_done: Any) -> None:
        for start in range(0, len(requests), self._batch):
            batch = requests[start : start + self._batch]
            prompts = [
                [{"role": "user", "content": r.prompt}]
                if isinstance(r.prompt, str)
                else [{"role": m.role, "content": m.content} for m in r.prompt]
                for r in batch
            ]
            try:
                answers = list(self._fn(prompts))
            except Exception as exc:
                raise ModelError(
                    f"judge_models.{self.name}: the function raised {type(exc).__name__}: {exc}"
                ) from exc
            if len(answers) != len(batch):
                raise ModelError(
                    f"judge_models.{self.name}: the function returned {len(answers)} answers for "
                    f"{len(batch)} prompts; return one per prompt"
                )
            for k, answer in enumerate(answers):
                on_done(start + k, _function_response(answer))

    def close(self) -> None:
        return None


def _function_response(answer: Any) -> Response:
    if isinstance(answer, Mapping):
        tops = answer.get("top_logprobs")
        return Response(
            text=str(answer.get("text", "")),
            top_logprobs=(
                None
                if tops is None
                else tuple(tuple((str(t), float(lp)) for t, lp in pos) for pos in tops)
            ),
        )
    return Response(text=str(answer))


def _open(loaded: LoadedSpec, shared: Mapping[str, Backend]) -> dict[str, Backend]:
    wanted = judge_models(loaded)
    out: dict[str, Backend] = {}
    live: dict[str, ModelSpec] = {}
    for name, spec in wanted.items():
        if name in shared and name not in loaded.spec.judge_models:
            out[name] = shared[name]
        elif isinstance(spec, PythonModelSpec):
            out[name] = _FunctionJudge(spec, name=name, root=loaded.root)
        else:
            live[name] = spec
    if live:
        out.update(open_backends(live, root=loaded.root))
    return out


def judge_tasks(
    loaded: LoadedSpec,
    tasks: Sequence[PreparedTask],
    backends: Mapping[str, Backend],
    journal: Journal | None,
    *,
    fresh: bool,
    progress: ProgressSink | None,
) -> list[PreparedTask]:
    """Judge every task that has judges; other tasks pass through unchanged."""
    if not any(t.judges for t in tasks):
        return list(tasks)
    opened = _open(loaded, backends)
    try:
        return [
            replace(t, judged=_judge_task(loaded, t, opened, journal, fresh, progress))
            if t.judges
            else t
            for t in tasks
        ]
    finally:
        for name, backend in opened.items():
            if backends.get(name) is not backend:
                backend.close()


class _Calls:
    """Routes judge calls through the journal and keeps every response for the usage."""

    def __init__(
        self,
        backends: Mapping[str, Backend],
        journal: Journal | None,
        fresh: bool,
        progress: ProgressSink | None,
        prefix: str,
    ) -> None:
        self.backends = backends
        self.journal = journal
        self.fresh = fresh
        self.progress = progress
        self.prefix = prefix
        self.responses: dict[str, list[Response]] = {}

    def __call__(self, model: str, requests: Sequence[Request]) -> list[Response]:
        answers = make_calls(
            self.backends[model],
            requests,
            journal=self.journal,
            fresh=self.fresh,
            progress=self.progress,
            label=f"{self.prefix}judge {model}",
        )
        self.responses.setdefault(model, []).extend(answers)
        return answers


def _texts(values: Sequence[Any], mask: bool, region: str) -> list[str]:
    out = []
    for v in values:
        if isinstance(v, list | tuple):
            text = "\n".join(str(x) for x in v)
        else:
            text = "" if v is None else str(v)
        out.append(mask_text(text, region=region) if mask and text else text)
    return out


def _judge_task(
    loaded: LoadedSpec,
    prepared: PreparedTask,
    backends: Mapping[str, Backend],
    journal: Journal | None,
    fresh: bool,
    progress: ProgressSink | None,
) -> JudgedTask:
    keep = prepared.keep
    dataset = prepared.dataset
    privacy = loaded.spec.privacy
    mask = privacy.mask_pii
    prefix = "" if len(loaded.spec.tasks) == 1 else f"{prepared.spec.name} · "
    calls = _Calls(backends, journal, fresh, progress, prefix)
    table = dataset.table
    contexts: dict[str, list[str | None]] = {}
    humans: dict[str, NDArray[np.object_]] = {}
    for spec in prepared.spec.judges:
        if spec.context is not None and table is not None:
            contexts[spec.name] = list(
                _texts(list(column_values(table, spec.context)[keep]), mask, privacy.region)
            )
        if spec.human is not None and table is not None:
            humans[spec.name] = column_values(table, spec.human)[keep]
    # inputs were masked when the dataset was read; outputs and references are masked here,
    # before any judge sees them
    inputs = _texts(list(dataset.inputs[keep]), False, privacy.region)
    references: list[str | None] = list(_texts(list(dataset.targets[keep]), mask, privacy.region))
    outputs = {
        name: _texts(list(pred.values[keep]), mask, privacy.region)
        for name, pred in prepared.predictions.items()
    }
    judges = tuple(freeze_steps(j, calls) for j in prepared.judges)
    scores: dict[str, dict[str, JudgeScores]] = {}
    pairwise: dict[str, PairwiseScores] = {}
    from heldout.run._evaluate import _comparison

    candidate, baseline = _comparison(loaded)
    # judges a decision tree may lead to are scored first
    order = sorted(judges, key=lambda j: j.kind == "dag")
    for judge in order:
        material = Material(inputs, references, contexts.get(judge.name))
        if judge.kind == "pairwise":
            if candidate is None or baseline is None:
                raise SpecError(
                    f'task "{prepared.spec.name}": pairwise judge {judge.name} needs a candidate '
                    "and a baseline: set compare: {candidate: ..., baseline: ...}"
                )
            pairwise[judge.name] = judge_pairwise(
                judge, material, outputs[candidate], outputs[baseline], calls
            )
            continue
        scores[judge.name] = {
            name: judge_outputs(
                judge,
                material,
                texts,
                calls,
                metric_scores={k: v[name].scores for k, v in scores.items()},
            )
            for name, texts in outputs.items()
        }
    _refuse_total_failure(prepared.spec.name, judges, scores, pairwise)
    return JudgedTask(
        judges=judges,
        scores=scores,
        pairwise=pairwise,
        usage=_usage(loaded, calls.responses),
        humans=humans,
    )


def _refuse_total_failure(
    task: str,
    judges: Sequence[Judge],
    scores: Mapping[str, Mapping[str, JudgeScores]],
    pairwise: Mapping[str, PairwiseScores],
) -> None:
    """A judge that failed on every output has no score to report: say so, loudly."""
    for judge in judges:
        results: list[tuple[str, list[str | None]]] = [
            (name, s.errors) for name, s in scores.get(judge.name, {}).items()
        ]
        if judge.name in pairwise:
            results.append(("the pairs", pairwise[judge.name].errors))
        for name, errors in results:
            if errors and all(e is not None for e in errors):
                raise ModelError(
                    f'task "{task}": judge {judge.name} (model {judge.model}) failed on every '
                    f"output of {name} ({errors[0]}). Check that the judge model can answer in "
                    "JSON; failed calls are retried on a rerun"
                )


def _usage(loaded: LoadedSpec, responses: Mapping[str, list[Response]]) -> dict[str, JudgeUsage]:
    out: dict[str, JudgeUsage] = {}
    for model, answered in responses.items():
        spec = loaded.spec.judge_models.get(model) or loaded.spec.models.get(model)
        tokens_in = [r.input_tokens for r in answered if r.input_tokens is not None]
        tokens_out = [r.output_tokens for r in answered if r.output_tokens is not None]
        latencies = np.array([r.latency_s for r in answered if r.latency_s is not None])
        latency = None
        if latencies.size >= 2:
            latency = mean_interval(latencies, binary=False)
        cost = None
        if isinstance(spec, OpenAIModelSpec) and spec.price is not None:
            cost = (sum(tokens_in) * spec.price.input + sum(tokens_out) * spec.price.output) / 1e6
        out[model] = JudgeUsage(
            calls=len(answered),
            failed_calls=sum(r.error is not None for r in answered),
            input_tokens=sum(tokens_in) if tokens_in else None,
            output_tokens=sum(tokens_out) if tokens_out else None,
            latency=latency,
            cost=cost,
        )
    return out


def _ratio(sums: NDArray[np.float64]) -> NDArray[np.float64]:
    with np.errstate(divide="ignore", invalid="ignore"):
        out: NDArray[np.float64] = sums[..., 0] / sums[..., 1]
    return out


def with_judge_rows(
    rows: Mapping[str, ScoreRows], judged: JudgedTask | None
) -> dict[str, ScoreRows]:
    """Every model's score rows with a metric per (non-pairwise) judge.

    Without judge errors the metric is the mean of the per-example scores (CLT interval,
    Wilson for strict 0/1 judges). When some judgement failed, for any model, the metric is
    the mean over the examples judged, ``sum(score) / count`` from the block
    ``[score, judged]``, and its interval and paired test come from the bootstrap: the
    failed examples are left out and counted, never averaged in as a number.
    """
    out = dict(rows)
    if judged is None:
        return out
    for judge in judged.judges:
        by_model = judged.scores.get(judge.name)
        if by_model is None:
            continue
        failed = any(s.n_errors for s in by_model.values())
        for name, r in list(out.items()):
            scores = by_model[name].scores
            params = {"judge": judge.model, "kind": judge.kind, "scale": [judge.low, judge.high]}
            if failed:
                ok = np.isfinite(scores)
                block = StatBlock.dense(np.column_stack([np.where(ok, scores, 0.0), ok]))
                metric = MetricDef(
                    name=judge.name,
                    kind="bootstrap",
                    block=judge.name,
                    higher_is_better=judge.higher_is_better,
                    aggregate=_ratio,
                    params=params,
                )
            else:
                block = StatBlock.dense(scores)
                metric = MetricDef(
                    name=judge.name,
                    kind="mean",
                    block=judge.name,
                    higher_is_better=judge.higher_is_better,
                    binary=judge.strict,
                    params=params,
                )
            out[name] = r.with_metric(metric, block, scores, what="judge")
    return out


def judge_columns(frame: pd.DataFrame, judged: JudgedTask | None) -> pd.DataFrame:
    """The examples table with each judge's reason, error and path per model.

    The scores themselves are already there as ``<judge>:<model>``.
    """
    if judged is None:
        return frame
    for judge_name, by_model in judged.scores.items():
        for name, s in by_model.items():
            frame[f"reason:{judge_name}:{name}"] = pd.Series(s.reasons, dtype=object)
            if s.n_errors:
                frame[f"judge_error:{judge_name}:{name}"] = pd.Series(s.errors, dtype=object)
            if s.paths is not None:
                frame[f"path:{judge_name}:{name}"] = pd.Series(s.paths, dtype=object)
    for judge_name, p in judged.pairwise.items():
        frame[f"{judge_name}:pairwise"] = p.outcome
        frame[f"reason:{judge_name}:pairwise"] = pd.Series(p.reasons, dtype=object)
        if any(e is not None for e in p.errors):
            frame[f"judge_error:{judge_name}:pairwise"] = pd.Series(p.errors, dtype=object)
    return frame


def _rate(hits: NDArray[np.bool_], confidence: float) -> Estimate:
    return mean_interval(hits.astype(np.float64), confidence=confidence, binary=True)


def _example_rate(
    hits: NDArray[np.bool_],
    confidence: float,
    weights: NDArray[np.float64] | None,
    cluster: NDArray[Any] | None,
) -> Estimate:
    """A share of examples, estimating the population's like every metric of the run:
    weighted by the sampling weights, with clusters resampled whole."""
    x = hits.astype(np.float64)
    if weights is not None:
        from heldout.stats._weighted import weighted_mean_interval

        return weighted_mean_interval(
            x, weights, cluster=cluster, confidence=confidence, binary=True
        )
    return mean_interval(x, cluster=cluster, confidence=confidence, binary=True)


def judge_report(
    judged: JudgedTask | None,
    *,
    candidate: str | None,
    baseline: str | None,
    config: StatsConfig,
    human_model: str | None,
    weights: NDArray[np.float64] | None = None,
    clusters: NDArray[Any] | None = None,
) -> JudgeReport | None:
    """What the run stores and shows about its judges.

    ``weights`` and ``clusters`` (of the kept examples) make the pairwise win, tie and
    loss rates population estimates like the run's metrics; the position bias is a share
    of the judge's verdicts and stays unweighted.
    """
    if judged is None:
        return None
    infos = []
    for judge in judged.judges:
        by_model = judged.scores.get(judge.name, {})
        agreement = {}
        for name, s in by_model.items():
            est = vote_agreement(s.parsed, confidence=config.confidence)
            if est is not None:
                agreement[name] = est
        pair_info = None
        p = judged.pairwise.get(judge.name)
        if p is not None and candidate is not None and baseline is not None:
            ok = np.isfinite(p.outcome)
            o = p.outcome[ok]
            first = None
            if p.decisive:
                hits = np.zeros(p.decisive, dtype=bool)
                hits[: p.first_wins] = True
                first = _rate(hits, config.confidence)
            if o.size:
                w = None if weights is None else weights[ok]
                c = None if clusters is None else clusters[ok]
                pair_info = PairwiseInfo(
                    candidate=candidate,
                    baseline=baseline,
                    win=_example_rate(o == 1.0, config.confidence, w, c),
                    tie=_example_rate(o == 0.5, config.confidence, w, c),
                    loss=_example_rate(o == 0.0, config.confidence, w, c),
                    first_position=first,
                    n=int(ok.sum()),
                )
        validation = None
        human = judged.humans.get(judge.name)
        wanted = judge.human_model or human_model
        target = wanted if wanted in by_model else next(iter(by_model), None)
        if human is not None and target is not None:
            s = by_model[target]
            judged_values = s.parsed[:, 0]
            labels = list(human)
            scale: list[float] | None = list(range(judge.low, judge.high + 1))
            if judge.kind == "choice" and judge.choices is not None:
                names = list(judge.choices)
                labels = [names.index(str(v)) if str(v) in names else None for v in human]
                scale = list(range(len(names)))
            elif judge.kind == "dag":
                judged_values = s.scores
                scale = None
            validation = validate_against_humans(
                labels,
                judged_values,
                column=str(judge.human),
                model=target,
                scale=scale,
                nominal=judge.human_scale == "nominal",
                config=config,
            )
        infos.append(
            JudgeInfo(
                name=judge.name,
                model=judge.model,
                kind=judge.kind,
                criteria=judge.criteria,
                steps=tuple(judge.steps or ()),
                scale=(judge.low, judge.high),
                strict=judge.strict,
                higher_is_better=judge.higher_is_better,
                votes=judge.votes,
                judged={m: int(np.isfinite(s.scores).sum()) for m, s in by_model.items()}
                if by_model
                else ({} if p is None else {"pairwise": int(np.isfinite(p.outcome).sum())}),
                errors={m: s.n_errors for m, s in by_model.items()}
                if by_model
                else ({} if p is None else {"pairwise": sum(e is not None for e in p.errors)}),
                weighted={
                    m: int(s.weighted.sum()) for m, s in by_model.items() if s.weighted is not None
                },
                agreement=agreement,
                pairwise=pair_info,
                validation=validation,
            )
        )
    return JudgeReport(judges=tuple(infos), usage=dict(judged.usage))
