"""The result of an evaluation, and the pipeline that produces it."""

from heldout.analysis import ConfusionMatrix, SliceResult
from heldout.run._evaluate import evaluate, prepare
from heldout.run._types import CleanSubset, DatasetInfo, LiveInfo, Run, TaskResult

__all__ = [
    "CleanSubset",
    "ConfusionMatrix",
    "DatasetInfo",
    "LiveInfo",
    "Run",
    "SliceResult",
    "TaskResult",
    "evaluate",
    "prepare",
]
