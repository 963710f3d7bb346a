"""Data: reading datasets and checking them against the spec."""

from heldout.data._dataset import (
    Dataset,
    Example,
    TargetKind,
    check_unique_ids,
    column_ids,
    encode_labels,
    load_dataset,
)
from heldout.data._read import (
    FileFormat,
    column_values,
    detect_format,
    is_text_column,
    read_table,
    row_location,
)

__all__ = [
    "Dataset",
    "Example",
    "FileFormat",
    "TargetKind",
    "check_unique_ids",
    "column_ids",
    "column_values",
    "detect_format",
    "encode_labels",
    "is_text_column",
    "load_dataset",
    "read_table",
    "row_location",
]
