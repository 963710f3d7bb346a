"""The eval.yaml schema: pydantic models, frozen once validated."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from heldout._util._labels import label_text

__all__ = [
    "PRESETS",
    "AssertionSpec",
    "CompareSpec",
    "DatasetSpec",
    "EvalSpec",
    "FewShotSpec",
    "GateSpec",
    "HFModelSpec",
    "JudgeDagSpec",
    "JudgeEdgeSpec",
    "JudgeNodeSpec",
    "JudgeSpec",
    "ModelSpec",
    "OpenAIModelSpec",
    "PredictionsModelSpec",
    "PriceSpec",
    "PrivacySpec",
    "PromptSpec",
    "PythonModelSpec",
    "SamplingSpec",
    "StatsSpec",
    "SuiteSpec",
    "TaskSpec",
    "TaskType",
    "ThresholdSpec",
    "TrainSpec",
    "UtilityTermSpec",
]

TaskType = Literal["classification", "regression", "generation", "multiple_choice"]


def _as_text(v: Any) -> Any:
    """Labels written as YAML numbers or booleans (``[0, 1]``) are read as text."""
    if isinstance(v, list | tuple):
        return tuple(_as_text(x) for x in v)
    if isinstance(v, bool | int | float):
        return label_text(v)
    return v


def _keys_as_text(v: Any) -> Any:
    if isinstance(v, dict):
        return {label_text(k) if isinstance(k, bool | int | float) else k: x for k, x in v.items()}
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
    weight: str | None = None
    choices: str | None = None
    variant_of: str | None = None
    operation: str | None = None
    format: Literal["jsonl", "csv", "parquet"] | None = None

    @model_validator(mode="after")
    def _stress_columns(self) -> DatasetSpec:
        if (self.variant_of is None) != (self.operation is None):
            raise ValueError(
                "variant_of and operation go together: the columns heldout stress writes "
                "(variant_of: original_id, operation: operation)"
            )
        return self


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


class _Verbatim(_Strict):
    """Texts kept exactly as written: whitespace in stop strings and templates matters."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


class SamplingSpec(_Verbatim):
    """How text is generated; ``samples: K`` draws K outputs per example.

    Set on a task (``sampling:``) and overridden per model; unset fields keep the
    task's value, then these defaults (greedy, 256 new tokens).
    """

    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    max_tokens: int | None = Field(default=None, ge=1, le=1_000_000)
    stop: tuple[str, ...] | None = None
    seed: int | None = None
    repetition_penalty: float | None = Field(default=None, gt=0.0)
    samples: int | None = Field(default=None, ge=1, le=1000)


class PriceSpec(_Strict):
    """Prices per million tokens, in any one currency, for the cost estimate."""

    input: float = Field(ge=0.0)
    output: float = Field(ge=0.0)


#: Named endpoints: the base URL and the environment variable holding the key.
PRESETS: dict[str, tuple[str, str | None]] = {
    "openai": ("https://api.openai.com/v1", "OPENAI_API_KEY"),
    "deepseek": ("https://api.deepseek.com/v1", "DEEPSEEK_API_KEY"),
    "gemini": ("https://generativelanguage.googleapis.com/v1beta/openai", "GEMINI_API_KEY"),
    "together": ("https://api.together.xyz/v1", "TOGETHER_API_KEY"),
    "groq": ("https://api.groq.com/openai/v1", "GROQ_API_KEY"),
    "vllm": ("http://localhost:8000/v1", None),
    "ollama": ("http://localhost:11434/v1", None),
    "llamacpp": ("http://localhost:8080/v1", None),
}


class OpenAIModelSpec(_Strict):
    """A model behind an OpenAI-compatible HTTP API (hosted, vLLM, Ollama, llama.cpp, TGI).

    ``preset`` fills in ``base_url`` and ``api_key_env``; either can still be set. The key
    is read from the environment variable named by ``api_key_env`` at run time and is
    never stored or logged.
    """

    backend: Literal["openai"]
    model: str = Field(min_length=1)
    preset: (
        Literal["openai", "deepseek", "gemini", "together", "groq", "vllm", "ollama", "llamacpp"]
        | None
    ) = None
    base_url: str | None = Field(default=None, pattern=r"^https?://")
    api_key_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    headers: dict[str, str] = Field(default_factory=dict)
    endpoint: Literal["chat", "completions"] = "chat"
    timeout: float = Field(default=60.0, gt=0.0)
    concurrency: int = Field(default=16, ge=1, le=4096)
    max_retries: int = Field(default=6, ge=0, le=100)
    max_wait: float = Field(default=120.0, gt=0.0)
    price: PriceSpec | None = None
    sampling: SamplingSpec | None = None
    on_error: Literal["error", "drop", "wrong"] = "drop"

    @model_validator(mode="after")
    def _fill_preset(self) -> OpenAIModelSpec:
        if self.preset is not None:
            url, key = PRESETS[self.preset]
            if self.base_url is None:
                object.__setattr__(self, "base_url", url)
            if self.api_key_env is None and key is not None:
                object.__setattr__(self, "api_key_env", key)
        if self.base_url is None:
            raise ValueError(
                "set base_url: (e.g. http://localhost:8000/v1) or a preset: " + ", ".join(PRESETS)
            )
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        return self


class HFModelSpec(_Strict):
    """A local Hugging Face transformers model, optionally with a PEFT adapter.

    ``path`` is a folder saved with ``save_pretrained`` (model and tokenizer). Models that
    share ``path`` (and dtype/device) load the weights once; an ``adapter`` is switched on
    for its model and off for the others.
    """

    backend: Literal["hf"]
    path: str = Field(min_length=1)
    adapter: str | None = None
    kind: Literal["auto", "causal", "seq2seq", "classifier"] = "auto"
    device: str = Field(default="auto", pattern=r"^(auto|cpu|mps|cuda(:\d+)?)$")
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    batch_size: int = Field(default=16, ge=1, le=4096)
    chat_template: bool | None = None
    max_length: int | None = Field(default=None, ge=8)
    sampling: SamplingSpec | None = None
    on_error: Literal["error", "drop", "wrong"] = "error"


ModelSpec = Annotated[
    PredictionsModelSpec | PythonModelSpec | OpenAIModelSpec | HFModelSpec,
    Field(discriminator="backend"),
]


class TrainSpec(_Strict):
    """The training data of the model under test, for the train↔eval leakage check.

    ``input`` is the training file's text column (default: the task's input column);
    ``ngram`` and ``near`` are those of ``heldout check --train``.
    """

    path: str = Field(min_length=1)
    id: str | None = None
    input: str | None = None
    ngram: Annotated[int, Field(ge=1, le=64)] | Literal["auto"] = 13
    near: float = Field(default=0.8, gt=0.0, le=1.0)


class FewShotSpec(_Strict):
    """Few-shot examples put before each prompt, drawn once with ``seed``.

    From ``path`` (a data file with the task's columns) or, by default, from the eval set
    itself, never including the example being asked.
    """

    k: int = Field(ge=1, le=64)
    seed: int = 0
    path: str | None = None


class PromptSpec(_Verbatim):
    """How an example becomes a prompt, for live models.

    ``template`` is Jinja2 over the example's fields (``{{ input }}``, any column, and for
    multiple choice ``{{ choices }}``); ``answer`` renders a few-shot example's answer.
    ``chat: false`` sends plain text instead of chat messages.
    """

    template: str = "{{ input }}"
    system: str | None = None
    answer: str = "{{ target }}"
    chat: bool = True
    few_shot: FewShotSpec | None = None


class ThresholdSpec(_Strict):
    """The decision threshold to choose on a classifier's probabilities.

    Exactly one target: ``recall``/``precision`` to reach (in (0, 1)), ``f_beta`` to
    maximise (its beta), or ``costs`` to minimise (``{fn: 10, fp: 1}``, optionally
    ``tp``, ``tn``). ``positive`` names the class (default: the task's positive_label,
    or the second of two labels).
    """

    positive: str | None = None
    recall: float | None = None
    precision: float | None = None
    f_beta: float | None = None
    costs: dict[Literal["tp", "fp", "fn", "tn"], float] | None = None

    @field_validator("positive", mode="before")
    @classmethod
    def _positive_as_text(cls, v: Any) -> Any:
        return _as_text(v)

    @model_validator(mode="after")
    def _one_target(self) -> ThresholdSpec:
        given = [
            k for k in ("recall", "precision", "f_beta", "costs") if getattr(self, k) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "thresholds: give exactly one target: recall, precision, f_beta or costs "
                f"(got {', '.join(given) or 'none'}), e.g. {{recall: 0.9}}"
            )
        for key in ("recall", "precision"):
            value = getattr(self, key)
            if value is not None and not 0.0 < value < 1.0:
                raise ValueError(f"thresholds.{key} must lie strictly between 0 and 1, got {value}")
        if self.f_beta is not None and not self.f_beta > 0.0:
            raise ValueError(f"thresholds.f_beta must be positive, got {self.f_beta}")
        if self.costs is not None:
            negative = {k: v for k, v in self.costs.items() if not v >= 0.0}
            if negative:
                raise ValueError(f"thresholds.costs must be non-negative numbers, got {negative}")
            if not {"fn", "fp"} <= set(self.costs):
                raise ValueError(
                    "thresholds.costs needs fn and fp (and optionally tp, tn), e.g. {fn: 10, fp: 1}"
                )
        return self


class JudgeEdgeSpec(_Verbatim):
    """One verdict of a decision-tree judgement node and where it leads: a ``score`` in
    [0, 1], the ``next`` node, or another judge ``metric`` of the task (its score)."""

    verdict: str = Field(min_length=1)
    score: float | None = Field(default=None, ge=0.0, le=1.0)
    next: str | None = None
    metric: str | None = None

    @field_validator("verdict", mode="before")
    @classmethod
    def _verdict_as_text(cls, v: Any) -> Any:
        if isinstance(v, bool):
            return "yes" if v else "no"  # YAML reads a bare yes/no as a boolean
        return _as_text(v)

    @model_validator(mode="after")
    def _one_target(self) -> JudgeEdgeSpec:
        given = [k for k in ("score", "next", "metric") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f'verdict "{self.verdict}" must lead to exactly one of score, next or metric '
                f"(got {', '.join(given) or 'none'})"
            )
        return self


class JudgeNodeSpec(_Verbatim):
    """A decision-tree node: a ``task`` (an instruction whose answer later nodes see,
    ``then:`` the node after it) or a judgement (``judge:`` a question, ``type: binary``
    with verdicts yes and no, or ``type: choice`` with any verdicts)."""

    task: str | None = None
    judge: str | None = None
    type: Literal["binary", "choice"] = "binary"
    verdicts: tuple[JudgeEdgeSpec, ...] = ()
    then: str | None = None
    fields: tuple[Literal["input", "output", "reference", "context"], ...] | None = None

    @model_validator(mode="after")
    def _task_or_judge(self) -> JudgeNodeSpec:
        if (self.task is None) == (self.judge is None):
            raise ValueError("a node is either a task: (an instruction) or a judge: (a question)")
        if self.task is not None and self.verdicts:
            raise ValueError("a task node has no verdicts: it leads on with then:")
        if self.judge is not None and self.then is not None:
            raise ValueError("a judgement node leads on through its verdicts, not then:")
        return self


class JudgeDagSpec(_Verbatim):
    """A decision-tree metric: named nodes; checked as a graph before any call."""

    nodes: dict[str, JudgeNodeSpec] = Field(min_length=1)


class JudgeSpec(_Verbatim):
    """An LLM-judge metric of a task; its score becomes the per-example column ``name``.

    The kind follows from what is given: ``dag:`` a decision tree, ``pairwise: true`` the
    candidate against the baseline, ``choices:`` reference grading into labelled scores,
    otherwise a G-Eval score from a ``preset`` or ``criteria`` (and frozen ``steps``).
    ``model`` names an entry of ``judge_models:`` or ``models:``.
    """

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    model: str = Field(min_length=1)
    preset: (
        Literal[
            "relevance",
            "coherence",
            "conciseness",
            "correctness",
            "faithfulness",
            "instruction_following",
            "harmfulness",
        ]
        | None
    ) = None
    criteria: str | None = None
    steps: tuple[str, ...] | None = None
    rubric: dict[str, str] | None = None
    fields: tuple[Literal["input", "output", "reference", "context"], ...] | None = None
    context: str | None = None
    scale: tuple[int, int] | None = None
    strict: bool = False
    choices: dict[str, float] | None = None
    pairwise: bool = False
    dag: JudgeDagSpec | None = None
    votes: int = Field(default=1, ge=1, le=20)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(default=512, ge=1)
    logprobs: bool = True
    top_logprobs: int = Field(default=20, ge=1, le=20)
    human: str | None = None
    human_scale: Literal["ordinal", "nominal"] = "ordinal"
    human_model: str | None = None
    higher_is_better: bool | None = None

    @field_validator("rubric", "choices", mode="before")
    @classmethod
    def _keys_text(cls, v: Any) -> Any:
        return _keys_as_text(v)

    @model_validator(mode="after")
    def _one_kind(self) -> JudgeSpec:
        kinds = [
            k
            for k, on in (
                ("dag", self.dag is not None),
                ("pairwise", self.pairwise),
                ("choices", self.choices is not None),
            )
            if on
        ]
        if len(kinds) > 1:
            raise ValueError(
                f"judge {self.name}: give one of dag, pairwise, choices (got {', '.join(kinds)})"
            )
        if not kinds and self.preset is None and self.criteria is None:
            raise ValueError(
                f"judge {self.name}: give a preset (relevance, coherence, ...), criteria:, "
                "choices:, pairwise: true or dag:"
            )
        if self.scale is not None and not self.scale[0] < self.scale[1]:
            raise ValueError(f"judge {self.name}: scale must be [low, high] with low < high")
        if self.strict and self.scale is not None and tuple(self.scale) != (0, 1):
            raise ValueError(f"judge {self.name}: strict: true scores 0 or 1; drop scale:")
        if self.choices is not None:
            if len(self.choices) < 2:
                raise ValueError(f"judge {self.name}: choices needs at least two labels")
            bad = {k: v for k, v in self.choices.items() if not 0.0 <= v <= 1.0}
            if bad:
                raise ValueError(f"judge {self.name}: choice scores must lie in [0, 1], got {bad}")
        return self


class EditDistanceSpec(_Strict):
    """``edit_distance: {max: 0.2}``: Levenshtein distance to the target over the longer
    length at most ``max``."""

    max: float = Field(ge=0.0, le=1.0)
    case_sensitive: bool = True


class EmbeddingSimilaritySpec(_Strict):
    """``embedding_similarity: {min: 0.8, model: ./models/minilm}``: cosine similarity of
    the output's and the target's embeddings (a local sentence-transformers folder)."""

    min: float = Field(ge=-1.0, le=1.0)
    model: str = Field(min_length=1)


_ASSERTION_KINDS = (
    "equals",
    "contains",
    "not_contains",
    "regex",
    "starts_with",
    "is_json",
    "json_schema",
    "length",
    "edit_distance",
    "embedding_similarity",
    "python",
)


class AssertionSpec(_Verbatim):
    """A deterministic check of each output; passing scores 1, failing 0.

    Exactly one check per assertion: ``equals`` (a text), ``contains`` / ``not_contains``
    (texts, ``mode: any | all``), ``regex`` (searched), ``starts_with``, ``is_json: true``,
    ``json_schema`` (a schema file), length bounds (``min_chars``, ``max_chars``,
    ``min_words``, ``max_words``), ``edit_distance`` or ``embedding_similarity`` to the
    target, or ``python: module:function`` returning one bool per output.
    ``case_sensitive: false`` compares text checks case-insensitively.
    """

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    equals: str | None = None
    contains: tuple[str, ...] | None = None
    not_contains: tuple[str, ...] | None = None
    mode: Literal["any", "all"] = "any"
    case_sensitive: bool = True
    regex: str | None = None
    starts_with: str | None = None
    is_json: bool = False
    json_schema: str | None = None
    min_chars: int | None = Field(default=None, ge=0)
    max_chars: int | None = Field(default=None, ge=0)
    min_words: int | None = Field(default=None, ge=0)
    max_words: int | None = Field(default=None, ge=0)
    edit_distance: EditDistanceSpec | None = None
    embedding_similarity: EmbeddingSimilaritySpec | None = None
    python: str | None = Field(default=None, pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")

    @field_validator("contains", "not_contains", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return (v,) if isinstance(v, str) else v

    @property
    def kind(self) -> str:
        """Which check this is (``length`` for the length bounds)."""
        return self._kinds()[0]

    def _kinds(self) -> list[str]:
        lengths = (self.min_chars, self.max_chars, self.min_words, self.max_words)
        given = {
            "equals": self.equals is not None,
            "contains": self.contains is not None,
            "not_contains": self.not_contains is not None,
            "regex": self.regex is not None,
            "starts_with": self.starts_with is not None,
            "is_json": self.is_json,
            "json_schema": self.json_schema is not None,
            "length": any(x is not None for x in lengths),
            "edit_distance": self.edit_distance is not None,
            "embedding_similarity": self.embedding_similarity is not None,
            "python": self.python is not None,
        }
        return [k for k in _ASSERTION_KINDS if given[k]]

    @model_validator(mode="after")
    def _one_check(self) -> AssertionSpec:
        kinds = self._kinds()
        if len(kinds) != 1:
            got = ", ".join(kinds) if kinds else "none"
            raise ValueError(
                f"assertion {self.name}: give exactly one check ({', '.join(_ASSERTION_KINDS)}); "
                f"got {got}"
            )
        for words in (self.contains, self.not_contains):
            if words is not None and not words:
                raise ValueError(f"assertion {self.name}: list at least one text to look for")
        for low, high, unit in (
            (self.min_chars, self.max_chars, "chars"),
            (self.min_words, self.max_words, "words"),
        ):
            if low is not None and high is not None and low > high:
                raise ValueError(f"assertion {self.name}: min_{unit} {low} > max_{unit} {high}")
        return self


class UtilityTermSpec(_Strict):
    """One metric of a utility score: its weight and, for unbounded metrics, ``scale``
    (the value that normalises to 1; values are clipped to [0, scale])."""

    weight: float = Field(gt=0.0)
    scale: float | None = Field(default=None, gt=0.0)


def _utility_terms(v: Any) -> Any:
    """``{metric: 0.6}`` is short for ``{metric: {weight: 0.6}}``."""
    if isinstance(v, dict):
        return {
            k: {"weight": x} if isinstance(x, int | float) and not isinstance(x, bool) else x
            for k, x in v.items()
        }
    return v


class TaskSpec(_Strict):
    """One task: a dataset, what kind of prediction it asks for, and its metrics."""

    name: str = Field(default="main", min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    type: TaskType
    dataset: DatasetSpec
    labels: tuple[str, ...] | None = None
    positive_label: str | None = None
    metrics: tuple[str, ...] | None = None
    headline: str | None = None
    prompt: PromptSpec = PromptSpec()
    method: Literal["generate", "loglikelihood"] = "generate"
    verbalizers: dict[str, str] | None = None
    sampling: SamplingSpec | None = None
    train: TrainSpec | None = None
    exclude: str | None = Field(default=None, min_length=1)
    data_checks: bool = True
    thresholds: ThresholdSpec | None = None
    judges: tuple[JudgeSpec, ...] = ()
    assertions: tuple[AssertionSpec, ...] = ()
    custom_metrics: tuple[str, ...] = ()
    utility: dict[str, UtilityTermSpec] | None = None

    @field_validator("labels", "positive_label", mode="before")
    @classmethod
    def _labels_as_text(cls, v: Any) -> Any:
        return _as_text(v)

    @field_validator("verbalizers", mode="before")
    @classmethod
    def _verbalizer_keys_as_text(cls, v: Any) -> Any:
        return _keys_as_text(v)

    @field_validator("utility", mode="before")
    @classmethod
    def _utility_weights(cls, v: Any) -> Any:
        return _utility_terms(v)

    @field_validator("train", mode="before")
    @classmethod
    def _train_path(cls, v: Any) -> Any:
        return {"path": v} if isinstance(v, str) else v

    @model_validator(mode="after")
    def _check_labels(self) -> TaskSpec:
        if self.exclude == "leaked" and self.train is None:
            raise ValueError(
                "exclude: leaked needs train: (the training data to look for leaked examples "
                "in), or give exclude: a file of ids"
            )
        if self.type == "multiple_choice" and self.dataset.choices is None:
            raise ValueError(
                "a multiple_choice task needs dataset.choices: the column of answer options"
            )
        if self.method == "loglikelihood" and self.type in ("regression", "generation"):
            raise ValueError(
                f"method: loglikelihood scores fixed answers; a {self.type} task generates. "
                "Use method: generate"
            )
        if self.verbalizers is not None and self.labels is not None:
            unknown = sorted(set(self.verbalizers) - set(self.labels))
            if unknown:
                raise ValueError(
                    f"verbalizers name labels that are not in labels: {', '.join(unknown)}"
                )
        if self.labels is not None:
            if len(self.labels) < 2:
                raise ValueError("labels must list at least two classes")
            if len(set(self.labels)) != len(self.labels):
                raise ValueError("labels must be unique")
            if self.positive_label is not None and self.positive_label not in self.labels:
                raise ValueError(
                    f'positive_label "{self.positive_label}" is not one of labels {list(self.labels)}'
                )
        if self.thresholds is not None and self.type != "classification":
            raise ValueError(f"thresholds only apply to classification, not {self.type}")
        if self.type != "classification" and (self.labels or self.positive_label):
            raise ValueError(
                f"labels and positive_label only apply to classification, not {self.type}"
            )
        return self


class SuiteSpec(_Strict):
    """A general-capability suite evaluated on the candidate and the baseline.

    ``path`` is a multiple-choice file in a known layout (``format``: ``mmlu``, ``arc``,
    ``hellaswag``, ``truthfulqa``; recognised when left out), or ``dataset`` a heldout
    dataset with a ``choices`` column. ``tolerance`` is the accuracy loss allowed before
    the suite counts as forgotten; ``limit`` keeps the first items only.
    """

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    path: str | None = Field(default=None, min_length=1)
    format: Literal["mmlu", "arc", "hellaswag", "truthfulqa"] | None = None
    dataset: DatasetSpec | None = None
    tolerance: float = Field(default=0.01, ge=0.0, lt=1.0)
    limit: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _one_source(self) -> SuiteSpec:
        if (self.path is None) == (self.dataset is None):
            raise ValueError(
                f"suite {self.name}: give either path: (a suite file) or dataset: (a heldout "
                "dataset with choices:), not both or neither"
            )
        if self.dataset is not None and self.dataset.choices is None:
            raise ValueError(
                f"suite {self.name}: dataset needs choices: the column of answer options"
            )
        if self.dataset is not None and self.format is not None:
            raise ValueError(f"suite {self.name}: format: applies to path:, not dataset:")
        return self


class CompareSpec(_Strict):
    """Which model is judged against which."""

    candidate: str
    baseline: str


class GateSpec(_Strict):
    """One regression gate: ``heldout gate`` fails when ``metric`` got worse by more than
    ``max_drop`` (in the metric's units), significantly."""

    metric: str = Field(min_length=1)
    max_drop: float = Field(ge=0.0)


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
    prompt: PromptSpec = PromptSpec()
    method: Literal["generate", "loglikelihood"] = "generate"
    verbalizers: dict[str, str] | None = None
    sampling: SamplingSpec | None = None
    train: TrainSpec | str | None = None
    exclude: str | None = None
    data_checks: bool = True
    thresholds: ThresholdSpec | None = None
    judges: tuple[JudgeSpec, ...] = ()
    assertions: tuple[AssertionSpec, ...] = ()
    custom_metrics: tuple[str, ...] = ()

    @field_validator("labels", "positive_label", mode="before")
    @classmethod
    def _labels_as_text(cls, v: Any) -> Any:
        return _as_text(v)

    @field_validator("verbalizers", mode="before")
    @classmethod
    def _verbalizer_keys_as_text(cls, v: Any) -> Any:
        return _keys_as_text(v)


class EvalSpec(_Strict):
    """A whole eval.yaml, validated. Single-task shorthand is folded into ``tasks``."""

    name: str = Field(min_length=1)
    description: str | None = None
    models: dict[str, ModelSpec] = Field(min_length=1)
    judge_models: dict[str, ModelSpec] = Field(default_factory=dict)
    compare: CompareSpec | None = None
    stats: StatsSpec = StatsSpec()
    privacy: PrivacySpec = PrivacySpec()
    tasks: tuple[TaskSpec, ...] = ()
    dataset: DatasetSpec | None = None
    task: _SingleTask | None = None
    metrics: tuple[str, ...] | None = None
    store: str | None = None
    report: str | None = None
    suites: tuple[SuiteSpec, ...] = ()
    gates: tuple[GateSpec, ...] | None = None
    utility: dict[str, UtilityTermSpec] | None = None

    @field_validator("utility", mode="before")
    @classmethod
    def _utility_weights(cls, v: Any) -> Any:
        return _utility_terms(v)

    @model_validator(mode="after")
    def _fold_and_check(self) -> EvalSpec:
        shorthand = self.dataset is not None or self.task is not None or self.metrics is not None
        if self.utility is not None and not shorthand:
            raise ValueError(
                "utility: at the top level belongs to the single-task form; with tasks: [...] "
                "put utility: inside the task"
            )
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
                prompt=self.task.prompt,
                method=self.task.method,
                verbalizers=self.task.verbalizers,
                sampling=self.task.sampling,
                train=(
                    TrainSpec(path=self.task.train)
                    if isinstance(self.task.train, str)
                    else self.task.train
                ),
                exclude=self.task.exclude,
                data_checks=self.task.data_checks,
                thresholds=self.task.thresholds,
                judges=self.task.judges,
                assertions=self.task.assertions,
                custom_metrics=self.task.custom_metrics,
                utility=self.utility,
            )
            object.__setattr__(self, "tasks", (folded,))
            object.__setattr__(self, "utility", None)
            object.__setattr__(self, "dataset", None)
            object.__setattr__(self, "task", None)
            object.__setattr__(self, "metrics", None)
        if not self.tasks:
            raise ValueError("no task: add tasks: [...] (or dataset: and task:)")
        names = [t.name for t in self.tasks]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"task names must be unique; repeated: {', '.join(dupes)}")
        for t in self.tasks:
            judge_names = [j.name for j in t.judges]
            repeated = sorted({n for n in judge_names if judge_names.count(n) > 1})
            if repeated:
                raise ValueError(
                    f'task "{t.name}": judge names must be unique; repeated: {", ".join(repeated)}'
                )
            extra_names = judge_names + [a.name for a in t.assertions]
            clash = sorted({n for n in extra_names if extra_names.count(n) > 1})
            if clash:
                raise ValueError(
                    f'task "{t.name}": judge and assertion names must be unique; repeated: '
                    f"{', '.join(clash)}"
                )
            for j in t.judges:
                if j.model not in self.judge_models and j.model not in self.models:
                    known = ", ".join([*self.judge_models, *self.models])
                    raise ValueError(
                        f'task "{t.name}": judge {j.name}: model "{j.model}" is not in judge_models: '
                        f"or models: (known: {known})"
                    )
        if self.suites:
            if self.compare is None and len(self.models) != 2:
                raise ValueError(
                    "suites: compare a candidate with a baseline: add compare: {candidate: ..., "
                    "baseline: ...} (or list exactly two models)"
                )
            suite_names = [f"suite.{s.name}" for s in self.suites]
            clash = sorted({n for n in suite_names if suite_names.count(n) > 1 or n in names})
            if clash:
                raise ValueError(
                    f"suites: names must be unique and not a task's; repeated: {', '.join(clash)}"
                )
        if self.compare is not None:
            for role in ("candidate", "baseline"):
                ref = getattr(self.compare, role)
                if ref not in self.models:
                    known = ", ".join(self.models)
                    raise ValueError(f'compare.{role} "{ref}" is not a model (models: {known})')
            if self.compare.candidate == self.compare.baseline:
                raise ValueError("compare.candidate and compare.baseline must differ")
        return self
