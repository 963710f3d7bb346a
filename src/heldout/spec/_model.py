"""The eval.yaml schema: pydantic models, frozen once validated."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from heldout._util._labels import label_text

__all__ = [
    "CompareSpec",
    "DatasetSpec",
    "EvalSpec",
    "ModelSpec",
    "PredictionsModelSpec",
    "PrivacySpec",
    "PythonModelSpec",
    "StatsSpec",
    "TaskSpec",
    "TaskType",
]

TaskType = Literal["classification", "regression", "generation"]


def _as_text(v: Any) -> Any:
    """Labels written as YAML numbers or booleans (``[0, 1]``) are read as text."""
    if isinstance(v, list | tuple):
        return tuple(_as_text(x) for x in v)
    if isinstance(v, bool | int | float):
        return label_text(v)
    return v


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class DatasetSpec(_Strict):
    """Where a task's examples are and which columns play which role."""

    path: str = Field(min_length=1)
    id: str | None = None
    input: str = "input"
    target: str = "target"
    slices: tuple[str, ...] = ()
    cluster: str | None = None
    format: Literal["jsonl", "csv", "parquet"] | None = None


class PredictionsModelSpec(_Strict):
    """A model known only by a file of its predictions.

    ``path`` may contain ``{task}``, replaced by each task's name.
    """

    backend: Literal["predictions"]
    path: str = Field(min_length=1)
    id: str = "id"
    prediction: str = "prediction"
    probabilities: str | dict[str, str] | None = None
    missing: Literal["error", "drop", "wrong"] = "error"
    extra: Literal["error", "ignore"] = "error"
    invalid: Literal["error", "wrong"] = "error"
    format: Literal["jsonl", "csv", "parquet"] | None = None


class PythonModelSpec(_Strict):
    """A model that is a Python function: ``module:function``, called on batches of inputs.

    The function takes a list of inputs and returns one output per input: a label, a
    number or a text, or a mapping ``{"prediction": ..., "probabilities": {label: p}}``.
    Modules beside eval.yaml (or in ``path``) can be imported.
    """

    backend: Literal["python"]
    function: str = Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
    path: str | None = None
    batch_size: int = Field(default=64, ge=1)
    invalid: Literal["error", "wrong"] = "error"


ModelSpec = Annotated[PredictionsModelSpec | PythonModelSpec, Field(discriminator="backend")]


class TaskSpec(_Strict):
    """One task: a dataset, what kind of prediction it asks for, and its metrics."""

    name: str = Field(default="main", min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    type: TaskType
    dataset: DatasetSpec
    labels: tuple[str, ...] | None = None
    positive_label: str | None = None
    metrics: tuple[str, ...] | None = None
    headline: str | None = None

    @field_validator("labels", "positive_label", mode="before")
    @classmethod
    def _labels_as_text(cls, v: Any) -> Any:
        return _as_text(v)

    @model_validator(mode="after")
    def _check_labels(self) -> TaskSpec:
        if self.labels is not None:
            if len(self.labels) < 2:
                raise ValueError("labels must list at least two classes")
            if len(set(self.labels)) != len(self.labels):
                raise ValueError("labels must be unique")
            if self.positive_label is not None and self.positive_label not in self.labels:
                raise ValueError(
                    f'positive_label "{self.positive_label}" is not one of labels {list(self.labels)}'
                )
        if self.type != "classification" and (self.labels or self.positive_label):
            raise ValueError(
                f"labels and positive_label only apply to classification, not {self.type}"
            )
        return self


class CompareSpec(_Strict):
    """Which model is judged against which."""

    candidate: str
    baseline: str


class StatsSpec(_Strict):
    """How intervals and tests are computed."""

    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)
    resamples: int = Field(default=1000, ge=100, le=100_000)
    seed: int = 0
    ci_method: Literal["percentile", "bca"] = "percentile"
    correction: Literal["holm", "bonferroni", "fdr_bh", "none"] = "holm"
    power: float = Field(default=0.8, gt=0.0, lt=1.0)
    min_slice_size: int = Field(default=30, ge=1)


class PrivacySpec(_Strict):
    """What happens to personal data before any model sees it or anything is stored."""

    mask_pii: bool = False
    region: str = Field(default="US", pattern=r"^[A-Z]{2}$")


class _SingleTask(_Strict):
    """The single-task shorthand: ``task:`` beside ``dataset:`` and ``metrics:``."""

    type: TaskType
    labels: tuple[str, ...] | None = None
    positive_label: str | None = None
    headline: str | None = None

    @field_validator("labels", "positive_label", mode="before")
    @classmethod
    def _labels_as_text(cls, v: Any) -> Any:
        return _as_text(v)


class EvalSpec(_Strict):
    """A whole eval.yaml, validated. Single-task shorthand is folded into ``tasks``."""

    name: str = Field(min_length=1)
    description: str | None = None
    models: dict[str, ModelSpec] = Field(min_length=1)
    compare: CompareSpec | None = None
    stats: StatsSpec = StatsSpec()
    privacy: PrivacySpec = PrivacySpec()
    tasks: tuple[TaskSpec, ...] = ()
    dataset: DatasetSpec | None = None
    task: _SingleTask | None = None
    metrics: tuple[str, ...] | None = None
    store: str | None = None
    report: str | None = None

    @model_validator(mode="after")
    def _fold_and_check(self) -> EvalSpec:
        shorthand = self.dataset is not None or self.task is not None or self.metrics is not None
        if shorthand and self.tasks:
            raise ValueError("use either tasks: [...] or dataset:/task:/metrics:, not both")
        if shorthand:
            if self.dataset is None or self.task is None:
                raise ValueError("the single-task form needs both dataset: and task: {type: ...}")
            folded = TaskSpec(
                name="main",
                type=self.task.type,
                dataset=self.dataset,
                labels=self.task.labels,
                positive_label=self.task.positive_label,
                metrics=self.metrics,
                headline=self.task.headline,
            )
            object.__setattr__(self, "tasks", (folded,))
            object.__setattr__(self, "dataset", None)
            object.__setattr__(self, "task", None)
            object.__setattr__(self, "metrics", None)
        if not self.tasks:
            raise ValueError("no task: add tasks: [...] (or dataset: and task:)")
        names = [t.name for t in self.tasks]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"task names must be unique; repeated: {', '.join(dupes)}")
        if self.compare is not None:
            for role in ("candidate", "baseline"):
                ref = getattr(self.compare, role)
                if ref not in self.models:
                    known = ", ".join(self.models)
                    raise ValueError(f'compare.{role} "{ref}" is not a model (models: {known})')
            if self.compare.candidate == self.compare.baseline:
                raise ValueError("compare.candidate and compare.baseline must differ")
        return self
