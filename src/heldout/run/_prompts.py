"""A task's prompts for live models: the records templates see, rendered once per task."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from heldout.data import Dataset, TargetKind, column_values, load_dataset
from heldout.models import LETTERS, Prompt, check_choices, choice_targets, prompt_text
from heldout.models._prompt import default_choice_template, render_prompts
from heldout.spec import LoadedSpec, PromptSpec, TaskSpec

__all__ = ["TaskPrompts", "task_prompts"]


@dataclass(frozen=True)
class TaskPrompts:
    """Per example, the prompt as the task's spec asks (``chat``) and as plain text."""

    chat: list[Prompt]
    text: list[str]


def _records(dataset: Dataset, choices: Sequence[Sequence[str]] | None) -> list[dict[str, Any]]:
    records = dataset.records()
    if choices is not None:
        for record, options in zip(records, choices, strict=True):
            letter = str(record["target"])
            record["letter"] = letter
            record["target"] = options[LETTERS.index(letter)]
            record["choices"] = list(options)
            record["letters"] = list(LETTERS[: len(options)])
    return records


def _pool(
    loaded: LoadedSpec, task: TaskSpec, spec: PromptSpec
) -> tuple[list[dict[str, Any]] | None, Dataset | None]:
    if spec.few_shot is None or spec.few_shot.path is None:
        return None, None
    ds = task.dataset
    kinds: dict[str, TargetKind] = {"generation": "texts", "regression": "number"}
    kind = kinds.get(task.type, "label")
    pool = load_dataset(
        loaded.resolve(spec.few_shot.path),
        id=ds.id,
        input=ds.input if "input" in ds.model_fields_set else None,
        target=ds.target,
        target_kind=kind,
        fmt=None,
    )
    choices = None
    if task.type == "multiple_choice":
        column = ds.choices or "choices"
        assert pool.table is not None
        choices = check_choices(column_values(pool.table, column), locate=pool.where, column=column)
        letters = choice_targets(pool.targets, choices, locate=pool.where, column=ds.target)
        pool = replace(pool, targets=letters)
    return _records(pool, choices), pool


def task_prompts(
    loaded: LoadedSpec,
    task: TaskSpec,
    index: int,
    dataset: Dataset,
    choices: Sequence[Sequence[str]] | None,
    *,
    chat: bool,
    text: bool,
) -> TaskPrompts:
    """Render the task's prompts: as its spec asks (when some model generates) and as plain
    text (the context of log-likelihoods and the input of classifiers).

    Multiple choice by generated letter uses :func:`default_choice_template` and answers
    few-shot examples with the letter unless the spec sets its own template and answer.
    """
    spec = task.prompt
    if task.type == "multiple_choice" and task.method == "generate":
        update: dict[str, Any] = {}
        # compared by value: a spec read back from the store marks every field as set
        if spec.template == PromptSpec().template:
            update["template"] = default_choice_template()
        if spec.answer == PromptSpec().answer:
            update["answer"] = "{{ letter }}"
        spec = spec.model_copy(update=update)
    records = _records(dataset, choices)
    pool, pool_ds = _pool(loaded, task, spec)
    where = loaded.where_in_task(index, "prompt")
    locate_pool = None if pool_ds is None else pool_ds.where
    chat_prompts: list[Prompt] = []
    text_prompts: list[str] = []
    if chat:
        chat_prompts = render_prompts(
            records, spec, pool=pool, where=where, locate=dataset.where, locate_pool=locate_pool
        )
    if text:
        plain = spec.model_copy(update={"chat": False})
        rendered = render_prompts(
            records, plain, pool=pool, where=where, locate=dataset.where, locate_pool=locate_pool
        )
        text_prompts = [prompt_text(p) for p in rendered]
    return TaskPrompts(chat=chat_prompts, text=text_prompts)
