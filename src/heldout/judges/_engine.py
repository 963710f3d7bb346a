"""Judging outputs: batched rounds of calls, a repair prompt once, explicit errors.

The engine never calls a model itself: it hands each round of requests to ``call(model,
requests)`` (the pipeline routes it through the call journal) and reads the answers. A
round holds every example's request at once, so a backend answers them concurrently; a
malformed answer is asked once more with a repair prompt in a second round, and if that
answer cannot be read either the example gets a judge error: counted and shown, its score
left out of the mean (never a NaN averaged in).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Generic, Literal, TypeVar

import numpy as np
from numpy.typing import NDArray

from heldout._errors import SpecError
from heldout.judges._dag import DagGraph, build_dag
from heldout.judges._parse import Malformed, extract_json, read_label, read_score
from heldout.judges._presets import PRESETS
from heldout.judges._prompt import (
    choice_messages,
    dag_judge_messages,
    dag_task_messages,
    pairwise_messages,
    repair_messages,
    score_messages,
    steps_messages,
)
from heldout.models import Message, Request, Response, SamplingParams
from heldout.spec import JudgeNodeSpec, JudgeSpec

__all__ = [
    "Call",
    "Judge",
    "JudgeKind",
    "JudgeScores",
    "Material",
    "PairwiseScores",
    "freeze_steps",
    "judge_from_spec",
    "judge_outputs",
    "judge_pairwise",
]

JudgeKind = Literal["score", "choice", "pairwise", "dag"]

#: Answers ``requests`` with the judge model ``model``, one response per request, in order.
Call = Callable[[str, Sequence[Request]], list[Response]]

T = TypeVar("T")

_DEFAULT_FIELDS = ("input", "output")
#: Judges answer greedily unless told otherwise: the same output gets the same score.
_DEFAULT_PARAMS = SamplingParams(temperature=0.0, max_tokens=512, seed=0)


@dataclass(frozen=True)
class Judge:
    """A judge metric, resolved from its spec: what to ask, on which scale, of which model."""

    name: str
    model: str
    kind: JudgeKind
    criteria: str
    fields: tuple[str, ...]
    steps: tuple[str, ...] | None = None
    rubric: Mapping[str, str] | None = None
    low: int = 1
    high: int = 5
    strict: bool = False
    choices: Mapping[str, float] | None = None
    dag: DagGraph | None = None
    votes: int = 1
    params: SamplingParams = _DEFAULT_PARAMS
    top_logprobs: int = 0
    higher_is_better: bool = True
    human: str | None = None
    human_scale: Literal["ordinal", "nominal"] = "ordinal"
    human_model: str | None = None


def judge_from_spec(
    spec: JudgeSpec, *, where: str, metrics: Sequence[str] = (), has_reference: bool = True
) -> Judge:
    """Resolve a judge's spec (presets filled in, decision tree checked).

    Raises:
        SpecError: a field the data cannot give, or a decision tree that is not valid;
            one line naming the judge or node.
    """
    preset = PRESETS[spec.preset] if spec.preset is not None else None
    criteria = spec.criteria or (preset.criteria if preset else "")
    kind: JudgeKind = "score"
    if spec.dag is not None:
        kind = "dag"
    elif spec.pairwise:
        kind = "pairwise"
    elif spec.choices is not None:
        kind = "choice"
        criteria = criteria or "Grade the output against the reference answer."
    fields = spec.fields or (preset.fields if preset else None)
    if fields is None:
        fields = ("input", "output", "reference") if kind == "choice" else _DEFAULT_FIELDS
    fields = tuple(fields)
    if "context" in fields and spec.context is None:
        raise SpecError(
            f"{where}: judge {spec.name} shows a context: name its column with context: COLUMN"
        )
    if "reference" in fields and not has_reference:
        raise SpecError(
            f"{where}: judge {spec.name} shows the reference, but the task has no target column"
        )
    steps = spec.steps if spec.steps is not None else (preset.steps if preset else None)
    low, high = (0, 1) if spec.strict else (spec.scale or (1, 5))
    dag = None
    if spec.dag is not None:
        others = [m for m in metrics if m != spec.name]
        dag = build_dag(spec.dag, where=f"{where}.dag", metrics=others)
    higher = spec.higher_is_better
    if higher is None:
        higher = preset.higher_is_better if preset else True
    return Judge(
        name=spec.name,
        model=spec.model,
        kind=kind,
        criteria=criteria,
        fields=fields,
        steps=steps,
        rubric=spec.rubric,
        low=int(low),
        high=int(high),
        strict=spec.strict,
        choices=spec.choices,
        dag=dag,
        votes=spec.votes,
        params=SamplingParams(temperature=spec.temperature, max_tokens=spec.max_tokens, seed=0),
        top_logprobs=spec.top_logprobs if spec.logprobs and not spec.strict else 0,
        higher_is_better=higher,
        human=spec.human,
        human_scale=spec.human_scale,
        human_model=spec.human_model,
    )


@dataclass(frozen=True)
class Material:
    """What a judge may show of each example besides the output."""

    inputs: Sequence[str]
    references: Sequence[str | None]
    contexts: Sequence[str | None] | None = None

    def fields(self, i: int, names: Sequence[str], output: str) -> dict[str, str]:
        values: dict[str, str] = {}
        for name in names:
            if name == "input":
                values["input"] = self.inputs[i]
            elif name == "output":
                values["output"] = output
            elif name == "reference":
                values["reference"] = self.references[i] or ""
            elif name == "context":
                values["context"] = "" if self.contexts is None else self.contexts[i] or ""
        return values


@dataclass(frozen=True)
class _Outcome(Generic[T]):
    value: T | None
    error: str | None
    response: Response | None = None


def _requests(judge: Judge, prompts: Sequence[tuple[Message, ...]], sample: int) -> list[Request]:
    return [
        Request(
            kind="generate",
            prompt=p,
            params=judge.params,
            sample=sample,
            top_logprobs=judge.top_logprobs,
        )
        for p in prompts
    ]


def _ask(
    judge: Judge,
    call: Call,
    prompts: Sequence[tuple[Message, ...]],
    read: Callable[[int, Response], T],
    *,
    sample: int = 0,
) -> list[_Outcome[T]]:
    """One round of calls, then one repair round for the answers that could not be read."""
    first = call(judge.model, _requests(judge, prompts, sample))
    outcomes: list[_Outcome[T]] = []
    repairs: dict[int, tuple[Message, ...]] = {}
    for i, response in enumerate(first):
        if response.error is not None:
            outcomes.append(_Outcome(None, f"judge call failed: {response.error}", response))
            continue
        try:
            outcomes.append(_Outcome(read(i, response), None, response))
        except Malformed as exc:
            outcomes.append(_Outcome(None, str(exc), response))
            repairs[i] = repair_messages(prompts[i], response.text or "", str(exc))
    if repairs:
        order = list(repairs)
        second = call(judge.model, _requests(judge, [repairs[i] for i in order], sample))
        for i, response in zip(order, second, strict=True):
            if response.error is not None:
                outcomes[i] = _Outcome(None, f"repair call failed: {response.error}", response)
                continue
            try:
                outcomes[i] = _Outcome(read(i, response), None, response)
            except Malformed as exc:
                outcomes[i] = _Outcome(
                    None, f"malformed answer, also after the repair prompt: {exc}", response
                )
    return outcomes


def freeze_steps(judge: Judge, call: Call) -> Judge:
    """G-Eval's first call: the judge writes 3 to 5 evaluation steps for its criteria.

    Judges with steps (given in the spec, or a preset's) are returned as they are. The
    call goes through ``call`` like any other, so a rerun reads the same steps back.

    Raises:
        SpecError: the judge gave no usable steps (even after the repair prompt): write
            them in the spec as ``steps:``.
    """
    if judge.steps is not None or judge.kind != "score":
        return judge

    def read(_: int, response: Response) -> tuple[str, ...]:
        obj = extract_json(response.text or "")
        steps = obj.get("steps")
        if not isinstance(steps, list) or not all(isinstance(s, str) and s.strip() for s in steps):
            raise Malformed('"steps" is not a list of texts')
        if not 3 <= len(steps) <= 5:
            raise Malformed(f'"steps" has {len(steps)} items, not 3 to 5')
        return tuple(s.strip() for s in steps)

    prompt = steps_messages(judge.criteria, judge.fields, low=judge.low, high=judge.high)
    (outcome,) = _ask(judge, call, [prompt], read)
    if outcome.value is None:
        raise SpecError(
            f"judge {judge.name}: model {judge.model} wrote no usable evaluation steps "
            f"({outcome.error}); write them in the spec as steps: [...]"
        )
    return replace(judge, steps=outcome.value)


@dataclass(frozen=True, eq=False)
class JudgeScores:
    """One judge's verdicts on one model's outputs.

    Attributes:
        scores: per example, the score normalised to [0, 1]; ``nan`` where the judgement
            failed (see ``errors``).
        raw: per example, the score on the judge's scale (the mean over votes).
        parsed: per example and vote, the integer (or choice index) the judge wrote,
            shape ``(n, votes)``; ``nan`` on error.
        reasons: per example, the judge's reason (the first vote's).
        errors: per example, why the judgement failed, or ``None``.
        paths: decision trees: per example, the nodes visited and verdicts taken.
        weighted: per example, whether the score was weighted by token probabilities.
    """

    scores: NDArray[np.float64]
    raw: NDArray[np.float64]
    parsed: NDArray[np.float64]
    reasons: list[str | None]
    errors: list[str | None]
    paths: list[str | None] | None = None
    weighted: NDArray[np.bool_] | None = None

    @property
    def n_errors(self) -> int:
        return sum(e is not None for e in self.errors)


def judge_outputs(
    judge: Judge,
    material: Material,
    outputs: Sequence[str],
    call: Call,
    *,
    metric_scores: Mapping[str, NDArray[np.float64]] | None = None,
) -> JudgeScores:
    """Judge one model's outputs with a ``score``, ``choice`` or ``dag`` judge.

    ``metric_scores`` are the other judges' normalised scores of the same outputs, for
    decision-tree verdicts that lead to another metric.
    """
    if judge.kind == "dag":
        return _judge_dag(judge, material, outputs, call, metric_scores or {})
    n = len(outputs)
    span = judge.high - judge.low
    if judge.kind == "choice":
        assert judge.choices is not None
        labels = list(judge.choices)
        prompts = [
            choice_messages(judge.criteria, labels, material.fields(i, judge.fields, outputs[i]))
            for i in range(n)
        ]

        def read(_: int, response: Response) -> tuple[float, float, str, bool]:
            label, reason = read_label(response.text or "", key="choice", allowed=labels)
            assert judge.choices is not None
            return judge.choices[label], float(labels.index(label)), reason, False

    else:
        assert judge.steps is not None
        prompts = [
            score_messages(
                judge.criteria,
                judge.steps,
                material.fields(i, judge.fields, outputs[i]),
                low=judge.low,
                high=judge.high,
                rubric=judge.rubric,
            )
            for i in range(n)
        ]

        def read(_: int, response: Response) -> tuple[float, float, str, bool]:
            reading = read_score(
                response.text or "",
                low=judge.low,
                high=judge.high,
                top_logprobs=None if judge.strict else response.top_logprobs,
            )
            return reading.raw, float(reading.parsed), reading.reason, reading.weighted

    raw_votes = np.full((n, judge.votes), np.nan)
    parsed = np.full((n, judge.votes), np.nan)
    weighted = np.zeros(n, dtype=bool)
    reasons: list[str | None] = [None] * n
    errors: list[str | None] = [None] * n
    for vote in range(judge.votes):
        for i, outcome in enumerate(_ask(judge, call, prompts, read, sample=vote)):
            if outcome.value is None:
                errors[i] = errors[i] or outcome.error
                continue
            value, code, reason, was_weighted = outcome.value
            raw_votes[i, vote] = value
            parsed[i, vote] = code
            weighted[i] |= was_weighted
            if reasons[i] is None:
                reasons[i] = reason
    failed = np.array([e is not None for e in errors], dtype=bool)
    raw = np.full(n, np.nan)
    ok = ~failed
    if ok.any():
        raw[ok] = raw_votes[ok].mean(axis=1)
    parsed[failed] = np.nan
    scores = raw.copy() if judge.kind == "choice" else (raw - judge.low) / span
    return JudgeScores(
        scores=scores,
        raw=raw,
        parsed=parsed,
        reasons=[None if failed[i] else reasons[i] for i in range(n)],
        errors=errors,
        weighted=weighted & ok,
    )


@dataclass(frozen=True, eq=False)
class PairwiseScores:
    """A pairwise judge's verdicts, candidate against baseline.

    Attributes:
        outcome: per example, 1 (both orders prefer the candidate), 0.5 (they disagree,
            or say tie), 0 (both prefer the baseline); ``nan`` on error.
        first_wins / decisive: over both orders, verdicts that chose the response shown
            first, and verdicts that chose either.
        reasons: per example, the two orders' reasons.
        errors: per example, why a judgement failed, or ``None``.
    """

    outcome: NDArray[np.float64]
    first_wins: int
    decisive: int
    reasons: list[str | None]
    errors: list[str | None]


def judge_pairwise(
    judge: Judge,
    material: Material,
    candidate: Sequence[str],
    baseline: Sequence[str],
    call: Call,
) -> PairwiseScores:
    """Judge candidate against baseline in both orders; disagreeing orders are a tie."""
    n = len(candidate)
    shown = [f for f in judge.fields if f != "output"]

    def prompts(first: Sequence[str], second: Sequence[str]) -> list[tuple[Message, ...]]:
        out = []
        for i in range(n):
            fields = material.fields(i, shown, "")
            fields["response_A"] = first[i]
            fields["response_B"] = second[i]
            out.append(pairwise_messages(judge.criteria, fields))
        return out

    def read(_: int, response: Response) -> tuple[str, str]:
        return read_label(response.text or "", key="winner", allowed=["A", "B", "tie"])

    forward = _ask(judge, call, prompts(candidate, baseline), read)
    backward = _ask(judge, call, prompts(baseline, candidate), read)
    outcome = np.full(n, np.nan)
    reasons: list[str | None] = [None] * n
    errors: list[str | None] = [None] * n
    first_wins = 0
    decisive = 0
    for i, (a, b) in enumerate(zip(forward, backward, strict=True)):
        if a.value is None or b.value is None:
            errors[i] = a.error or b.error
            continue
        (wa, ra), (wb, rb) = a.value, b.value
        first_wins += (wa == "A") + (wb == "A")
        decisive += (wa != "tie") + (wb != "tie")
        # in the second order the candidate is shown as B
        pick_a = {"A": 1.0, "B": 0.0, "tie": 0.5}[wa]
        pick_b = {"A": 0.0, "B": 1.0, "tie": 0.5}[wb]
        outcome[i] = pick_a if pick_a == pick_b else 0.5
        reasons[i] = f"candidate first: {ra} | baseline first: {rb}"
    return PairwiseScores(
        outcome=outcome, first_wins=first_wins, decisive=decisive, reasons=reasons, errors=errors
    )


@dataclass
class _Walk:
    """One example's way through a decision tree."""

    done: dict[str, str]
    path: list[str]
    current: str | None = None
    score: float | None = None
    error: str | None = None
    finished: bool = False


def _judge_dag(
    judge: Judge,
    material: Material,
    outputs: Sequence[str],
    call: Call,
    metric_scores: Mapping[str, NDArray[np.float64]],
) -> JudgeScores:
    dag = judge.dag
    assert dag is not None
    n = len(outputs)
    walks = [_Walk(done={}, path=[]) for _ in range(n)]
    before_entry = _pre_entry_tasks(dag)
    while True:
        asks: list[tuple[int, str]] = []
        for i, walk in enumerate(walks):
            if walk.finished:
                continue
            if walk.current is None:
                ready = [
                    t
                    for t in before_entry
                    if t not in walk.done
                    and all(p in walk.done for p in dag.parents.get(t, ()) if p in before_entry)
                ]
                if ready:
                    # independent task nodes go out together, in one concurrent round
                    asks.extend((i, t) for t in ready)
                    continue
                walk.current = dag.entry
            asks.append((i, walk.current))
        if not asks:
            break
        prompts = []
        for i, node_name in asks:
            node = dag.nodes[node_name]
            fields = material.fields(i, node.fields or judge.fields, outputs[i])
            fields.update(walks[i].done)
            if node.task is not None:
                prompts.append(dag_task_messages(node.task, fields))
            else:
                assert node.judge is not None
                prompts.append(
                    dag_judge_messages(node.judge, [e.verdict for e in node.verdicts], fields)
                )

        nodes = [dag.nodes[name] for _, name in asks]

        def read(k: int, response: Response, nodes: list[JudgeNodeSpec] = nodes) -> str:
            return _read_node(nodes[k], response)

        outcomes = _ask(judge, call, prompts, read)
        for (i, node_name), outcome in zip(asks, outcomes, strict=True):
            walk = walks[i]
            if walk.finished:
                continue
            if outcome.value is None:
                walk.error = f"node {node_name}: {outcome.error}"
                walk.path.append(f"{node_name}=error")
                walk.finished = True
                continue
            node = dag.nodes[node_name]
            if node.task is not None:
                walk.done[node_name] = outcome.value
                walk.path.append(node_name)
                if walk.current == node_name:
                    walk.current = node.then
                continue
            verdict = outcome.value
            walk.path.append(f"{node_name}={verdict}")
            edge = next(e for e in node.verdicts if e.verdict == verdict)
            if edge.score is not None:
                walk.score = edge.score
                walk.finished = True
            elif edge.metric is not None:
                value = metric_scores[edge.metric][i]
                if np.isfinite(value):
                    walk.score = float(value)
                    walk.path.append(f"metric {edge.metric}")
                else:
                    walk.error = f"node {node_name}: metric {edge.metric} has no score here"
                walk.finished = True
            else:
                walk.current = edge.next
    scores = np.array([np.nan if w.score is None else w.score for w in walks])
    errors = [w.error for w in walks]
    return JudgeScores(
        scores=scores,
        raw=scores.copy(),
        parsed=scores[:, None].copy(),
        reasons=[None] * n,
        errors=errors,
        paths=[" → ".join(w.path) for w in walks],
        weighted=np.zeros(n, dtype=bool),
    )


def _read_node(node: JudgeNodeSpec, response: Response) -> str:
    """A task node's answer (its text) or a judgement node's verdict."""
    text = (response.text or "").strip()
    if not text:
        raise Malformed("empty answer")
    if node.task is not None:
        return text
    verdict, _ = read_label(text, key="verdict", allowed=[e.verdict for e in node.verdicts])
    return verdict


def _pre_entry_tasks(dag: DagGraph) -> list[str]:
    """The task nodes that run before the entry judgement node: every root's chain."""
    tasks: list[str] = []
    for root in dag.roots:
        name: str | None = root
        while name is not None and dag.is_task(name):
            if name not in tasks:
                tasks.append(name)
            name = dag.nodes[name].then
    return tasks
