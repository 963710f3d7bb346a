"""Finding PII in text and replacing it with typed placeholders.

``scan_text`` lists what it finds; ``mask_text`` replaces each find with ``<KIND_N>``,
where the same value gets the same number within one example (``<EMAIL_1>`` twice for one
address, ``<EMAIL_2>`` for another). ``scan_table`` and ``mask_table`` do the same for the
text columns of a dataset, counting per kind. How each kind is recognised, and which span
wins where several overlap, is documented in :mod:`heldout.data._pii_detect`.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from heldout._errors import DataError
from heldout.data._dataset import Dataset
from heldout.data._pii_detect import (
    KINDS,
    PiiKind,
    PiiMatch,
    detect_all,
    iban_is_valid,
    luhn_is_valid,
    resolve_overlaps,
)
from heldout.data._read import FileFormat, column_values, is_text_column

__all__ = [
    "PII_KINDS",
    "MaskedTable",
    "PiiKind",
    "PiiMatch",
    "PiiRowFinding",
    "PiiScan",
    "iban_is_valid",
    "luhn_is_valid",
    "mask_inputs",
    "mask_table",
    "mask_text",
    "pii_preview",
    "scan_table",
    "scan_text",
    "write_table",
]

PII_KINDS: tuple[PiiKind, ...] = KINDS


def _check_region(region: str) -> None:
    import phonenumbers  # imported on first use: the CLI starts without it

    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise DataError(
            f"region {region!r} is not a known phone region. Use a two-letter country code "
            "such as US, GB or DE"
        )


def scan_text(text: str, *, region: str = "US") -> list[PiiMatch]:
    """The PII in ``text``, without overlaps, in reading order.

    Args:
        text: any text.
        region: two-letter country whose national phone formats are recognised
            (international ``+…`` numbers are recognised whatever the region).

    Example:
        >>> scan_text("mail ana@example.com")
        [PiiMatch(kind='email', start=5, end=20, value='ana@example.com')]
    """
    _check_region(region)
    return resolve_overlaps(detect_all(text, region))


_SEPARATORS = re.compile(r"[\s().-]")


def _identity(match: PiiMatch) -> str:
    """The value as numbered: spacing and case do not make a new value."""
    if match.kind in ("email", "ip"):
        return match.value.lower()
    if match.kind in ("phone", "card", "iban", "ssn"):
        return _SEPARATORS.sub("", match.value).upper()
    return match.value


@dataclass
class _Numbering:
    """Placeholder numbers of one example, shared by all its columns."""

    numbers: dict[tuple[str, str], int] = field(default_factory=dict)
    per_kind: Counter[str] = field(default_factory=Counter)

    def placeholder(self, match: PiiMatch) -> str:
        key = (match.kind, _identity(match))
        if key not in self.numbers:
            self.per_kind[match.kind] += 1
            self.numbers[key] = self.per_kind[match.kind]
        return f"<{match.kind.upper()}_{self.numbers[key]}>"


def _mask(text: str, matches: Sequence[PiiMatch], numbering: _Numbering) -> str:
    parts: list[str] = []
    pos = 0
    for match in matches:
        parts.append(text[pos : match.start])
        parts.append(numbering.placeholder(match))
        pos = match.end
    parts.append(text[pos:])
    return "".join(parts)


def mask_text(text: str, *, region: str = "US") -> str:
    """``text`` with each piece of PII replaced by a numbered placeholder.

    Example:
        >>> mask_text("ana@example.com wrote to bo@example.com, cc ana@example.com")
        '<EMAIL_1> wrote to <EMAIL_2>, cc <EMAIL_1>'
    """
    return _mask(text, scan_text(text, region=region), _Numbering())


def pii_preview(value: str) -> str:
    """A value with its middle hidden, safe to print: ``sk-p…f0Gh``, ``411…111``."""
    keep = min(4, len(value) // 5)
    if keep == 0:
        return "*" * len(value)
    return f"{value[:keep]}…{value[-keep:]}"


@dataclass(frozen=True)
class PiiRowFinding:
    """The PII found in one row: its kinds and a partly hidden preview of each value."""

    row: int
    id: str | None
    column: str
    matches: tuple[PiiMatch, ...]

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(sorted({m.kind for m in self.matches}, key=KINDS.index))

    def to_dict(self) -> dict[str, object]:
        return {
            "row": self.row,
            "id": self.id,
            "column": self.column,
            "kinds": list(self.kinds),
            "matches": [
                {"kind": m.kind, "start": m.start, "end": m.end, "preview": pii_preview(m.value)}
                for m in self.matches
            ],
        }


@dataclass(frozen=True)
class PiiScan:
    """What :func:`scan_table` found: counts per kind and the rows that hold PII."""

    rows: int
    columns: tuple[str, ...]
    counts: dict[str, int]
    findings: tuple[PiiRowFinding, ...]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _text_columns(table: pa.Table, columns: Sequence[str] | None, what: str) -> list[str]:
    names = list(table.column_names)
    if not columns:
        chosen = [n for n in names if is_text_column(table, n)]
        if not chosen:
            raise DataError(
                f"{what}: no text columns (columns: {', '.join(names)}). Name one with --column"
            )
        return chosen
    for name in columns:
        if name not in names:
            raise DataError(
                f"{what}: column {name!r} missing (columns: {', '.join(names)}). "
                "Pass one of them to --column"
            )
        if not is_text_column(table, name):
            raise DataError(
                f"{what}: column {name!r} is not text ({table.schema.field(name).type}). "
                "Only text columns can be scanned or masked"
            )
    return list(dict.fromkeys(columns))


def scan_table(
    table: pa.Table,
    columns: Sequence[str] | None = None,
    *,
    region: str = "US",
    id_column: str | None = None,
    what: str = "data",
) -> PiiScan:
    """Scan the chosen text columns (all text columns when ``columns`` is empty)."""
    _check_region(region)
    chosen = _text_columns(table, columns, what)
    ids = None
    if id_column is not None and id_column in table.column_names:
        ids = [None if v is None else str(v) for v in column_values(table, id_column)]
    counts: Counter[str] = Counter()
    findings: list[PiiRowFinding] = []
    for row in range(table.num_rows):
        for name in chosen:
            text = table.column(name)[row].as_py()
            if not text:
                continue
            matches = scan_text(text, region=region)
            if matches:
                counts.update(m.kind for m in matches)
                row_id = None if ids is None else ids[row]
                findings.append(PiiRowFinding(row, row_id, name, tuple(matches)))
    ordered: dict[str, int] = {kind: counts[kind] for kind in KINDS if counts[kind]}
    return PiiScan(table.num_rows, tuple(chosen), ordered, tuple(findings))


@dataclass(frozen=True)
class MaskedTable:
    """The table with PII replaced, and how many values of each kind were replaced."""

    table: pa.Table
    counts: dict[str, int]


def mask_table(
    table: pa.Table,
    columns: Sequence[str] | None = None,
    *,
    region: str = "US",
    what: str = "data",
) -> MaskedTable:
    """Mask the chosen text columns; other columns are kept as they are.

    Placeholder numbers are shared by the columns of one row, so the same address in the
    question and the answer of an example is ``<EMAIL_1>`` in both.
    """
    _check_region(region)
    chosen = _text_columns(table, columns, what)
    counts: Counter[str] = Counter()
    masked: dict[str, list[str | None]] = {name: [] for name in chosen}
    cells = {name: table.column(name).to_pylist() for name in chosen}
    for row in range(table.num_rows):
        numbering = _Numbering()
        for name in chosen:
            text = cells[name][row]
            if not text:
                masked[name].append(text)
                continue
            matches = scan_text(text, region=region)
            counts.update(m.kind for m in matches)
            masked[name].append(_mask(text, matches, numbering))
    for name in chosen:
        index = table.column_names.index(name)
        field_ = table.schema.field(name)
        table = table.set_column(index, field_, pa.array(masked[name], type=field_.type))
    return MaskedTable(table, {kind: counts[kind] for kind in KINDS if counts[kind]})


def write_table(table: pa.Table, path: Path, fmt: FileFormat) -> None:
    """Write ``table`` as JSONL, CSV or Parquet; JSONL keeps nested values as written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "parquet":
            pq.write_table(table, path)
        elif fmt == "csv":
            pa_csv.write_csv(table, path)
        else:
            names = table.column_names
            values = [_json_values(table, n) for n in names]
            with path.open("w", encoding="utf-8") as fh:
                for row in range(table.num_rows):
                    obj = {n: v[row] for n, v in zip(names, values, strict=True)}
                    fh.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
    except OSError as exc:
        raise DataError(
            f"{path}: cannot write the masked data ({exc.strerror}). Pass a file path you can write to"
        ) from exc


def _json_values(table: pa.Table, name: str) -> list[object]:
    """A column's values as read: JSON-text columns of mixed types decoded, ints kept ints."""
    col_type = table.schema.field(name).type
    if pa.types.is_string(col_type) and not is_text_column(table, name):
        return list(column_values(table, name))
    return list(table.column(name).to_pylist())


def mask_inputs(dataset: Dataset, *, region: str = "US") -> Dataset:
    """The dataset with the PII in every text input replaced by placeholders.

    What ``privacy: {mask_pii: true}`` applies before any model sees an input and before
    anything is stored; inputs that are not text are left as they are.
    """
    masked = np.empty(len(dataset), dtype=object)
    for i, value in enumerate(dataset.inputs):
        masked[i] = mask_text(value, region=region) if isinstance(value, str) else value
    return replace(dataset, inputs=masked)
