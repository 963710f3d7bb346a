"""Data: reading datasets and checking them against the spec."""

from __future__ import annotations

from typing import TYPE_CHECKING

from heldout._util._lazy import lazy_names

if TYPE_CHECKING:
    from heldout.data._checks import (
        ClassBalance,
        ColumnSummary,
        DataReport,
        DuplicateGroup,
        LabelConflict,
        LengthOutliers,
        NearDuplicate,
        check_data,
    )
    from heldout.data._dataset import (
        Dataset,
        Example,
        TargetKind,
        check_unique_ids,
        column_ids,
        encode_labels,
        load_dataset,
    )
    from heldout.data._leakage import LeakageReport, LeakedExample, check_leakage, choose_ngram
    from heldout.data._pii import (
        PII_KINDS,
        MaskedTable,
        PiiKind,
        PiiMatch,
        PiiRowFinding,
        PiiScan,
        iban_is_valid,
        luhn_is_valid,
        mask_inputs,
        mask_table,
        mask_text,
        pii_preview,
        scan_table,
        scan_text,
        write_table,
    )
    from heldout.data._read import (
        FileFormat,
        column_values,
        detect_format,
        is_text_column,
        read_table,
        row_location,
    )
    from heldout.data._sample import StratifiedSample, Stratum, stratified_sample
    from heldout.data._split import (
        CrossSplitDuplicate,
        Gap,
        SplitMethod,
        SplitPart,
        SplitPlan,
        SplitResult,
        cross_split_duplicates,
        parse_gap,
        plan_split,
        split_dataset,
    )
    from heldout.data._suites import (
        SUITE_FORMATS,
        SuiteFormat,
        SuiteItems,
        detect_suite_format,
        read_suite,
    )

__all__ = [
    "PII_KINDS",
    "SUITE_FORMATS",
    "ClassBalance",
    "ColumnSummary",
    "CrossSplitDuplicate",
    "DataReport",
    "Dataset",
    "DuplicateGroup",
    "Example",
    "FileFormat",
    "Gap",
    "LabelConflict",
    "LeakageReport",
    "LeakedExample",
    "LengthOutliers",
    "MaskedTable",
    "NearDuplicate",
    "PiiKind",
    "PiiMatch",
    "PiiRowFinding",
    "PiiScan",
    "SplitMethod",
    "SplitPart",
    "SplitPlan",
    "SplitResult",
    "StratifiedSample",
    "Stratum",
    "SuiteFormat",
    "SuiteItems",
    "TargetKind",
    "check_data",
    "check_leakage",
    "check_unique_ids",
    "choose_ngram",
    "column_ids",
    "column_values",
    "cross_split_duplicates",
    "detect_format",
    "detect_suite_format",
    "encode_labels",
    "iban_is_valid",
    "is_text_column",
    "load_dataset",
    "luhn_is_valid",
    "mask_inputs",
    "mask_table",
    "mask_text",
    "parse_gap",
    "pii_preview",
    "plan_split",
    "read_suite",
    "read_table",
    "row_location",
    "scan_table",
    "scan_text",
    "split_dataset",
    "stratified_sample",
    "write_table",
]

__getattr__, __dir__ = lazy_names(__name__, __file__)
