"""Models: where predictions come from.

A predictions file or a Python function gives predictions directly. Live models (an
OpenAI-compatible server, a local Hugging Face model) answer requests through the
:class:`Backend` protocol; :func:`plan_calls` says which requests a task needs and
:func:`read_answers` turns the responses into predictions.
"""

from heldout.models._hf import HFBackend, open_hf_backends
from heldout.models._live import (
    LETTERS,
    Plan,
    check_choices,
    choice_targets,
    continuation,
    option_letters,
    plan_calls,
    read_answers,
    sampling_for,
    task_mode,
)
from heldout.models._openai import OpenAIBackend
from heldout.models._predictions import (
    CallStats,
    Predictions,
    load_predictions,
    predictions_from_table,
)
from heldout.models._protocol import (
    Backend,
    Message,
    OnDone,
    Prompt,
    Request,
    RequestKind,
    Response,
    SamplingParams,
    call_key,
    prompt_text,
)
from heldout.models._python import load_function, run_python_model

__all__ = [
    "LETTERS",
    "Backend",
    "CallStats",
    "HFBackend",
    "Message",
    "OnDone",
    "OpenAIBackend",
    "Plan",
    "Predictions",
    "Prompt",
    "Request",
    "RequestKind",
    "Response",
    "SamplingParams",
    "call_key",
    "check_choices",
    "choice_targets",
    "continuation",
    "load_function",
    "load_predictions",
    "open_hf_backends",
    "option_letters",
    "plan_calls",
    "predictions_from_table",
    "prompt_text",
    "read_answers",
    "run_python_model",
    "sampling_for",
    "task_mode",
]
