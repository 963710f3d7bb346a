"""The evaluation spec: eval.yaml, validated."""

from heldout.spec._load import LoadedSpec, load_spec, spec_from_mapping
from heldout.spec._model import (
    CompareSpec,
    DatasetSpec,
    EvalSpec,
    ModelSpec,
    PredictionsModelSpec,
    PrivacySpec,
    PythonModelSpec,
    StatsSpec,
    TaskSpec,
    TaskType,
)

__all__ = [
    "CompareSpec",
    "DatasetSpec",
    "EvalSpec",
    "LoadedSpec",
    "ModelSpec",
    "PredictionsModelSpec",
    "PrivacySpec",
    "PythonModelSpec",
    "StatsSpec",
    "TaskSpec",
    "TaskType",
    "load_spec",
    "spec_from_mapping",
]
