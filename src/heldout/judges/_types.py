"""What judging a task gives: per-judge summaries, pairwise rates, validation, usage.

Everything numeric is an :class:`~heldout.stats.Estimate` with its method named; the
per-example scores, reasons and paths live in the task's examples table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from heldout.stats import Estimate

__all__ = ["JudgeInfo", "JudgeReport", "JudgeUsage", "PairwiseInfo", "ValidationInfo"]


def _est(data: Mapping[str, Any] | None) -> Estimate | None:
    return None if data is None else Estimate(**data)


@dataclass(frozen=True)
class PairwiseInfo:
    """The candidate against the baseline, judged in both orders.

    Attributes:
        candidate / baseline: the models compared.
        win / tie / loss: shares of examples where both orders prefer the candidate /
            disagree or say tie / both prefer the baseline.
        first_position: of the decisive verdicts, the share that chose the response shown
            first (0.5 for a judge without position bias).
        n: examples judged in both orders without error.
    """

    candidate: str
    baseline: str
    win: Estimate
    tie: Estimate
    loss: Estimate
    first_position: Estimate | None
    n: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "candidate": self.candidate,
            "baseline": self.baseline,
            "win": self.win.to_dict(),
            "tie": self.tie.to_dict(),
            "loss": self.loss.to_dict(),
            "first_position": None
            if self.first_position is None
            else self.first_position.to_dict(),
            "n": self.n,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PairwiseInfo:
        return cls(
            candidate=data["candidate"],
            baseline=data["baseline"],
            win=Estimate(**data["win"]),
            tie=Estimate(**data["tie"]),
            loss=Estimate(**data["loss"]),
            first_position=_est(data.get("first_position")),
            n=data["n"],
        )


@dataclass(frozen=True)
class ValidationInfo:
    """How well a judge agrees with human labels (``human:``) on one model's outputs.

    Attributes:
        column: the dataset column of human labels.
        model: the model whose outputs the people rated.
        n: examples with both a human label and a judge score.
        accuracy: share of exact agreement.
        kappa: Cohen's kappa (quadratic-weighted on an ordinal scale).
        spearman: Spearman's rank correlation (``None`` for nominal labels).
        weights: ``quadratic`` or ``none``.
        low: whether agreement is low (kappa under 0.4): the judge needs work before its
            scores are trusted.
    """

    column: str
    model: str
    n: int
    accuracy: Estimate
    kappa: Estimate
    spearman: Estimate | None
    weights: str
    low: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "model": self.model,
            "n": self.n,
            "accuracy": self.accuracy.to_dict(),
            "kappa": self.kappa.to_dict(),
            "spearman": None if self.spearman is None else self.spearman.to_dict(),
            "weights": self.weights,
            "low": self.low,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ValidationInfo:
        return cls(
            column=data["column"],
            model=data["model"],
            n=data["n"],
            accuracy=Estimate(**data["accuracy"]),
            kappa=Estimate(**data["kappa"]),
            spearman=_est(data.get("spearman")),
            weights=data["weights"],
            low=data["low"],
        )


@dataclass(frozen=True)
class JudgeInfo:
    """One judge metric of a task.

    Attributes:
        name: the metric's name (its per-example column is ``<name>:<model>``).
        model: the judge model.
        kind: ``score`` (G-Eval or preset), ``choice`` (reference grading), ``pairwise``
            or ``dag``.
        criteria: what is judged.
        steps: the frozen evaluation steps (G-Eval); reuse them verbatim as ``steps:``.
        scale: the integer scale the judge answers on (scores are normalised to [0, 1]).
        strict: 0/1 scoring.
        higher_is_better: the metric's direction.
        votes: judgements per example.
        judged: examples judged, per evaluated model.
        errors: examples whose judgement failed (backend error, or malformed after the
            repair prompt), per evaluated model; left out of the mean, never averaged in.
        weighted: examples scored by the probability-weighted mean over score tokens.
        agreement: with ``votes`` > 1, the mean pairwise agreement between votes, per model.
        pairwise: for ``pairwise`` judges, win / tie / loss and position bias.
        validation: agreement with human labels, when ``human:`` names a column.
    """

    name: str
    model: str
    kind: str
    criteria: str
    steps: tuple[str, ...] = ()
    scale: tuple[int, int] = (1, 5)
    strict: bool = False
    higher_is_better: bool = True
    votes: int = 1
    judged: Mapping[str, int] = field(default_factory=dict)
    errors: Mapping[str, int] = field(default_factory=dict)
    weighted: Mapping[str, int] = field(default_factory=dict)
    agreement: Mapping[str, Estimate] = field(default_factory=dict)
    pairwise: PairwiseInfo | None = None
    validation: ValidationInfo | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "model": self.model,
            "kind": self.kind,
            "criteria": self.criteria,
            "steps": list(self.steps),
            "scale": list(self.scale),
            "strict": self.strict,
            "higher_is_better": self.higher_is_better,
            "votes": self.votes,
            "judged": dict(self.judged),
            "errors": dict(self.errors),
            "weighted": dict(self.weighted),
            "agreement": {m: e.to_dict() for m, e in self.agreement.items()},
            "pairwise": None if self.pairwise is None else self.pairwise.to_dict(),
            "validation": None if self.validation is None else self.validation.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JudgeInfo:
        low, high = data.get("scale", (1, 5))
        return cls(
            name=data["name"],
            model=data["model"],
            kind=data["kind"],
            criteria=data["criteria"],
            steps=tuple(data.get("steps", ())),
            scale=(int(low), int(high)),
            strict=data.get("strict", False),
            higher_is_better=data.get("higher_is_better", True),
            votes=data.get("votes", 1),
            judged=dict(data.get("judged", {})),
            errors=dict(data.get("errors", {})),
            weighted=dict(data.get("weighted", {})),
            agreement={m: Estimate(**e) for m, e in data.get("agreement", {}).items()},
            pairwise=None
            if data.get("pairwise") is None
            else PairwiseInfo.from_dict(data["pairwise"]),
            validation=(
                None
                if data.get("validation") is None
                else ValidationInfo.from_dict(data["validation"])
            ),
        )


@dataclass(frozen=True)
class JudgeUsage:
    """What one judge model's calls cost on a task, apart from the evaluated models'.

    Attributes:
        calls: calls answered (from the journal or made in this run), repairs included.
        failed_calls: calls that failed after every retry.
        input_tokens / output_tokens: token totals, when the backend reports them.
        latency: mean latency per call in seconds, with its interval.
        cost: the calls' cost from the judge model's prices, when priced.
    """

    calls: int
    failed_calls: int = 0
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency: Estimate | None = None
    cost: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "failed_calls": self.failed_calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "latency": None if self.latency is None else self.latency.to_dict(),
            "cost": self.cost,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JudgeUsage:
        values = dict(data)
        values["latency"] = _est(data.get("latency"))
        return cls(**values)


@dataclass(frozen=True)
class JudgeReport:
    """Every judge of a task and what the judge models' calls cost."""

    judges: tuple[JudgeInfo, ...] = ()
    usage: Mapping[str, JudgeUsage] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.judges)

    def judge(self, name: str) -> JudgeInfo:
        for info in self.judges:
            if info.name == name:
                return info
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "judges": [j.to_dict() for j in self.judges],
            "usage": {m: u.to_dict() for m, u in self.usage.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JudgeReport:
        return cls(
            judges=tuple(JudgeInfo.from_dict(j) for j in data.get("judges", ())),
            usage={m: JudgeUsage.from_dict(u) for m, u in data.get("usage", {}).items()},
        )
