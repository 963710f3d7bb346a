"""Stress variants: label-preserving rewrites of each input, with their provenance.

Each operation is a pure function ``(text, rng) -> text`` that keeps what a typical
classification or generation input means: a typo, a change of case, extra whitespace,
Unicode look-alikes, typographic quotes, the last words cut, trailing punctuation, an
English contraction. Its random generator is seeded from ``(seed, example id, operation,
variant number)`` alone, so a variant never changes when other rows are added, removed or
edited. An operation that cannot change a text (no word long enough for a typo, one word to
truncate) leaves it as it is; that variant is skipped and counted.

A variant keeps every column of its original, with the input rewritten, a new unique id
(``{original_id}~{operation}~{k}``) and three provenance columns: ``original_id``,
``operation`` and ``seed``. :func:`stress_originals` gives the originals the same columns
(``operation`` ``"original"``), so originals and variants can share one file.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from heldout._errors import DataError
from heldout._util._labels import label_text
from heldout._util._suggest import did_you_mean
from heldout.data._read import FileFormat, column_values, is_text_column, row_location

__all__ = [
    "OPERATIONS",
    "ORIGINAL",
    "PROVENANCE",
    "Operation",
    "StressSet",
    "resolve_operations",
    "stress_originals",
    "stress_set",
    "stress_variants",
]

Operation = Callable[[str, random.Random], str]

#: The ``operation`` of an original row.
ORIGINAL = "original"
#: Columns a stress set adds to the data's own.
PROVENANCE = ("original_id", "operation", "seed")
#: Tries per variant before it is skipped: an operation may draw an edit it already made.
_ATTEMPTS = 8
_ID = "id"  # the id column written when the data has none
_DETERMINISTIC = frozenset({"quotes", "truncate"})  # they draw nothing from their rng

_WORD = re.compile(r"[^\W\d_]+")  # a run of letters
_TOKEN = re.compile(r"\S+")
_GAP = re.compile(r"\s+")


# --- typo -----------------------------------------------------------------------------

_KEYS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEIGHBOURS: dict[str, str] = {}
for _r, _row in enumerate(_KEYS):
    for _c, _key in enumerate(_row):
        near = [_row[j] for j in (_c - 1, _c + 1) if 0 <= j < len(_row)]
        for other in (_r - 1, _r + 1):
            if 0 <= other < len(_KEYS):
                near += [_KEYS[other][j] for j in (_c - 1, _c) if 0 <= j < len(_KEYS[other])]
        _NEIGHBOURS[_key] = "".join(near)


def typo(text: str, rng: random.Random) -> str:
    """Misspell about 3% of the letters of the words longer than 3 letters (at least one).

    An edit swaps a letter with the next, drops it, doubles it, or replaces it by a
    neighbouring key (QWERTY); at most one edit per word and never on its first letter, so
    the word stays readable.
    """
    words = [m for m in _WORD.finditer(text) if len(m.group()) > 3]
    if not words:
        return text
    letters = sum(len(m.group()) for m in words)
    edits = min(len(words), max(1, round(0.03 * letters)))
    out = text
    for w in sorted(rng.sample(range(len(words)), edits), reverse=True):
        m = words[w]
        out = out[: m.start()] + _misspell(m.group(), rng) + out[m.end() :]
    return out


def _misspell(word: str, rng: random.Random) -> str:
    j = rng.randrange(1, len(word))
    c = word[j]
    kinds = ["drop", "double"]
    if j + 1 < len(word) and c.lower() != word[j + 1].lower():
        kinds.append("swap")
    if c.lower() in _NEIGHBOURS:
        kinds.append("key")
    kind = rng.choice(kinds)
    if kind == "drop":
        return word[:j] + word[j + 1 :]
    if kind == "double":
        return word[:j] + c + word[j:]
    if kind == "swap":
        return word[:j] + word[j + 1] + c + word[j + 2 :]
    new = rng.choice(_NEIGHBOURS[c.lower()])
    return word[:j] + (new.upper() if c.isupper() else new) + word[j + 1 :]


# --- case, whitespace, unicode, quotes ---------------------------------------------------


def case(text: str, rng: random.Random) -> str:
    """The text in upper case, lower case or title case (one drawn among those that differ)."""
    options = list(
        dict.fromkeys(v for v in (text.upper(), text.lower(), _title(text)) if v != text)
    )
    return rng.choice(options) if options else text


def _title(text: str) -> str:
    # str.title() would write "Don'T": capitalise the first letter of each word instead
    return _TOKEN.sub(
        lambda m: _WORD.sub(lambda c: c.group().capitalize(), m.group().lower(), 1), text
    )


_GAPS = ("  ", "   ", "\t", " \t", "\n", " \n", "\n\n")


def whitespace(text: str, rng: random.Random) -> str:
    """Replace about a quarter of the gaps between words (at least one) by extra spaces,
    tabs or newlines; a single word gets a trailing space."""
    if not text.strip():
        return text
    body = text.strip()
    start = text.index(body[0])
    gaps = list(_GAP.finditer(body))
    if not gaps:
        return text + rng.choice((" ", "  ", "\n"))
    out = body
    count = max(1, round(0.25 * len(gaps)))
    for g in sorted(rng.sample(range(len(gaps)), count), reverse=True):
        m = gaps[g]
        new = rng.choice([s for s in _GAPS if s != m.group()])
        out = out[: m.start()] + new + out[m.end() :]
    return text[:start] + out + text[start + len(body) :]


def _lookalike(c: str) -> str | None:
    """A character NFKC turns back into ``c``, or ``None``."""
    if "!" <= c <= "~":
        return chr(ord(c) + 0xFEE0)  # fullwidth form
    if c == " ":
        return "\u00a0"  # no-break space
    decomposed = unicodedata.normalize("NFD", c)
    return decomposed if decomposed != c else None  # é as e + combining acute


def unicode(text: str, rng: random.Random) -> str:
    """Replace about 15% of the characters that have one (at least one) by a look-alike that
    NFKC maps back: fullwidth letters, digits and punctuation, no-break spaces, accented
    letters decomposed into letter + combining accent.

    ``unicodedata.normalize("NFKC", variant).casefold()`` equals the same of the original.
    """
    chars = list(text)
    swaps = {i: alt for i, c in enumerate(chars) if (alt := _lookalike(c)) is not None}
    if not swaps:
        return text
    positions = sorted(swaps)
    for i in rng.sample(positions, max(1, round(0.15 * len(positions)))):
        chars[i] = swaps[i]
    return "".join(chars)


_OPENS_AFTER = " \t\n([{<-\u2014\u00a0"
_CURLY = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


def quotes(text: str, rng: random.Random) -> str:
    """Straight quotes and apostrophes made typographic (‘’ “”), or typographic ones made
    straight. NFKC keeps curly quotes, so these variants are not NFKC-equal to the original."""
    if "'" not in text and '"' not in text:
        return text.translate(_CURLY)
    out = []
    for i, c in enumerate(text):
        opening = i == 0 or text[i - 1] in _OPENS_AFTER
        if c == "'":
            out.append("\u2018" if opening else "\u2019")
        elif c == '"':
            out.append("\u201c" if opening else "\u201d")
        else:
            out.append(c)
    return "".join(out)


# --- truncate, punctuation, contraction -------------------------------------------------


def truncate(text: str, rng: random.Random) -> str:
    """Drop the last ~20% of the words (at least one), keeping at least one word."""
    words = list(_TOKEN.finditer(text))
    if len(words) < 2:
        return text
    keep = max(1, len(words) - max(1, round(0.2 * len(words))))
    return text[: words[keep - 1].end()]


_TRAILING = re.compile(r"[.!?;:,\u2026]+$")


def punctuation(text: str, rng: random.Random) -> str:
    """Remove the trailing punctuation, or add a full stop or exclamation mark when there is
    none."""
    body = text.rstrip()
    tail = text[len(body) :]
    if not body:
        return text
    m = _TRAILING.search(body)
    if m is None:
        return body + rng.choice((".", "!")) + tail
    kept = body[: m.start()].rstrip()
    return kept + tail if kept else text


# Expanding 's and 'd is ambiguous (it is / it has; would / had): those are only contracted.
_EXPAND = {
    "don't": "do not",
    "doesn't": "does not",
    "didn't": "did not",
    "isn't": "is not",
    "aren't": "are not",
    "wasn't": "was not",
    "weren't": "were not",
    "haven't": "have not",
    "hasn't": "has not",
    "hadn't": "had not",
    "won't": "will not",
    "wouldn't": "would not",
    "can't": "cannot",
    "couldn't": "could not",
    "shouldn't": "should not",
    "mustn't": "must not",
    "i'm": "i am",
    "you're": "you are",
    "we're": "we are",
    "they're": "they are",
    "i've": "i have",
    "you've": "you have",
    "we've": "we have",
    "they've": "they have",
    "i'll": "i will",
    "you'll": "you will",
    "we'll": "we will",
    "they'll": "they will",
    "he'll": "he will",
    "she'll": "she will",
}
_NEGATIONS = {v: k for k, v in _EXPAND.items() if k.endswith("n't")} | {"can not": "can't"}
# "I am" cannot be contracted at the end of a clause ("yes, I am"): only before a word;
# "I have" is left alone ("I have a dog" is not "I've a dog" everywhere).
_BEFORE_WORD = {v: k for k, v in _EXPAND.items() if not k.endswith(("n't", "'ve"))} | {
    "it is": "it's",
    "that is": "that's",
    "there is": "there's",
    "he is": "he's",
    "she is": "she's",
}
_SWAP = {**_EXPAND, **_NEGATIONS, **_BEFORE_WORD}


def _phrase(key: str) -> str:
    return r"\s+".join(re.escape(w).replace("'", "['\u2019]") for w in key.split())


_CONTRACTION = re.compile(
    "|".join(
        rf"\b{_phrase(k)}\b" + (r"(?=\s+[^\W\d_])" if k in _BEFORE_WORD else "")
        for k in sorted(_SWAP, key=len, reverse=True)
    ),
    re.IGNORECASE,
)


def contraction(text: str, rng: random.Random) -> str:
    """Toggle English contractions (don't ↔ do not, I'm ↔ I am, it is → it's, …): about
    half of those found, at least one, keeping the case of the first letter."""
    found = list(_CONTRACTION.finditer(text))
    if not found:
        return text
    chosen = [m for m in found if rng.random() < 0.5] or [rng.choice(found)]
    out = text
    for m in reversed(chosen):
        src = m.group()
        key = " ".join(src.lower().replace("\u2019", "'").split())
        out = out[: m.start()] + _same_case(src, _SWAP[key]) + out[m.end() :]
    return out


def _same_case(src: str, new: str) -> str:
    letters = [c for c in src if c.isalpha()]
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return new.upper()
    if src[0].isupper():
        new = new[0].upper() + new[1:]
    # the pronoun I stays a capital: "i am" -> "I am", "i'm" -> "I'm"
    return re.sub(r"\bi\b", "I", new)


#: The operations by name, in the order the CLI lists them.
OPERATIONS: Mapping[str, Operation] = {
    "typo": typo,
    "case": case,
    "whitespace": whitespace,
    "unicode": unicode,
    "quotes": quotes,
    "truncate": truncate,
    "punctuation": punctuation,
    "contraction": contraction,
}


# --- the table of variants --------------------------------------------------------------


@dataclass(frozen=True)
class StressSet:
    """The variants of a table and what each operation made.

    Attributes:
        variants: the variant rows: every column of the data, the input rewritten, a new
            unique id, and ``original_id``, ``operation``, ``seed``.
        made: variants made per operation.
        skipped: variants per operation that the operation could not make (the text had
            nothing it changes, or was missing).
        id: the id column of ``variants`` (``id`` when the data has none).
    """

    variants: pa.Table
    made: Mapping[str, int]
    skipped: Mapping[str, int]
    id: str


def resolve_operations(ops: Sequence[str]) -> tuple[str, ...]:
    """The operation names, checked and with repeats dropped.

    Raises:
        DataError: a name is not an operation (with the closest one and the list).
    """
    names = tuple(dict.fromkeys(o.strip() for o in ops if o.strip()))
    if not names:
        raise DataError(f"no stress operation given. Pick from: {', '.join(OPERATIONS)}")
    for name in names:
        if name not in OPERATIONS:
            raise DataError(
                f"unknown stress operation {name!r}{did_you_mean(name, OPERATIONS)}. "
                f"Pick from: {', '.join(OPERATIONS)}"
            )
    return names


def stress_set(
    table: pa.Table,
    *,
    id: str | None,
    input: str,
    ops: Sequence[str],
    seed: int,
    per_op: int = 1,
    path: Path | None = None,
    fmt: FileFormat | None = None,
) -> StressSet:
    """Make ``per_op`` variants of every row's input for each operation.

    Args:
        table: the rows, as :func:`heldout.data.read_table` returns them.
        id: column of example ids; ``None`` uses 1-based row numbers, written to ``id``.
        input: the text column to rewrite.
        ops: operation names (:data:`OPERATIONS`).
        seed: seed of every operation's random choices.
        per_op: variants per row and operation; those equal to the original or to an
            earlier variant are redrawn, then skipped.
        path: the file the table came from, for messages (with ``fmt``, naming the line).
        fmt: the file's format.

    Returns:
        The variants, in row order, then operation order, and the counts per operation.

    Raises:
        DataError: an unknown operation, a missing or non-text column, a missing or
            repeated id, or data that already has the provenance columns.

    Example:
        >>> t = pa.table({"id": ["a"], "input": ["Do not refund it"]})
        >>> s = stress_set(t, id="id", input="input", ops=["truncate"], seed=0)
        >>> s.variants.to_pylist()[0]["input"], s.variants.to_pylist()[0]["id"]
        ('Do not refund', 'a~truncate~0')
    """
    names = resolve_operations(ops)
    if per_op < 1:
        raise DataError(f"per_op must be at least 1, got {per_op}")
    where = str(path) if path is not None else "the data"
    _check_columns(table, id=id, input=input, where=where)
    ids = _example_ids(table, id, path=path, fmt=fmt)
    texts = column_values(table, input)
    made = dict.fromkeys(names, 0)
    skipped = dict.fromkeys(names, 0)
    rows: list[int] = []
    new_texts: list[str] = []
    new_ids: list[str] = []
    of: list[str] = []
    operation: list[str] = []
    for i, text in enumerate(texts):
        for op in names:
            seen = {text}
            for k in range(per_op):
                variant = _variant(op, text, seed, ids[i], k, seen)
                if variant is None:
                    skipped[op] += 1
                    continue
                seen.add(variant)
                made[op] += 1
                rows.append(i)
                new_texts.append(variant)
                new_ids.append(f"{ids[i]}~{op}~{k}")
                of.append(ids[i])
                operation.append(op)
    taken = set(ids.tolist())
    clash = next((v for v in new_ids if v in taken), None)
    if clash is not None:
        raise DataError(
            f'{where}: the variant id "{clash}" is already an id in the data. '
            "Stress the original file, not a stress set"
        )
    out = table.take(pa.array(rows, type=pa.int64()))
    col = table.column_names.index(input)
    out = out.set_column(col, input, pa.array(new_texts, type=table.schema.field(input).type))
    out = _with_provenance(
        out, id, pa.array(new_ids, pa.string()), of, operation, [seed] * len(rows)
    )
    return StressSet(variants=out, made=made, skipped=skipped, id=id or _ID)


def stress_variants(
    table: pa.Table,
    *,
    id: str | None,
    input: str,
    ops: Sequence[str],
    seed: int,
    per_op: int = 1,
) -> pa.Table:
    """The variant rows of :func:`stress_set` only (the originals are not included)."""
    return stress_set(table, id=id, input=input, ops=ops, seed=seed, per_op=per_op).variants


def stress_originals(
    table: pa.Table,
    *,
    id: str | None,
    path: Path | None = None,
    fmt: FileFormat | None = None,
) -> pa.Table:
    """The original rows with the provenance columns of a stress set.

    Each gets ``original_id`` equal to its own id, ``operation`` ``"original"`` and a null
    ``seed``; ids are written as text, so the table concatenates with the variants of
    :func:`stress_set` made with the same ``id``.
    """
    _check_columns(table, id=id, input=None, where=str(path) if path else "the data")
    ids = _example_ids(table, id, path=path, fmt=fmt)
    n = table.num_rows
    return _with_provenance(
        table, id, pa.array(ids, pa.string()), list(ids), [ORIGINAL] * n, [None] * n
    )


def _variant(
    op: str, text: object, seed: int, example: str, k: int, seen: set[object]
) -> str | None:
    if not isinstance(text, str):
        return None
    fn = OPERATIONS[op]
    for attempt in range(_ATTEMPTS):
        out = fn(text, _rng(seed, example, op, k, attempt))
        if out not in seen:
            return out
        if out == text or op in _DETERMINISTIC:
            break  # the operation has nothing to change here; another draw changes nothing
    return None


def _rng(seed: int, example: str, op: str, k: int, attempt: int) -> random.Random:
    key = json.dumps([seed, example, op, k, attempt]).encode()
    return random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))


def _check_columns(table: pa.Table, *, id: str | None, input: str | None, where: str) -> None:
    names = table.column_names
    for role, name in (("input", input), ("id", id)):
        if name is not None and name not in names:
            raise DataError(
                f'{where}: column "{name}" ({role}) not found{did_you_mean(name, names)}; '
                f"columns are: {', '.join(names)}. Pass --{role} naming one"
            )
    if input is not None and not is_text_column(table, input):
        raise DataError(
            f'{where}: column "{input}" (input) holds {table.schema.field(input).type}, not '
            "text. Stress variants rewrite text: pass --input naming a text column"
        )
    taken = [c for c in (*PROVENANCE, *([] if id else [_ID])) if c in names]
    if taken:
        raise DataError(
            f'{where}: the data already has a column "{taken[0]}"'
            + (" (pass --id id to use it as the id)" if taken[0] == _ID else " (a stress set?)")
            + ". Stress the original file, or rename the column"
        )


def _example_ids(
    table: pa.Table, id: str | None, *, path: Path | None, fmt: FileFormat | None
) -> NDArray[np.object_]:
    def at(row: int) -> str:
        if path is not None and fmt is not None:
            return row_location(path, fmt, row)
        return f"{path or 'the data'}: row {row + 1}"

    if id is None:
        return np.asarray([str(i + 1) for i in range(table.num_rows)], dtype=object)
    values = column_values(table, id)
    out = np.empty(len(values), dtype=object)
    first: dict[str, int] = {}
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and np.isnan(v)) or v == "":
            raise DataError(f'{at(i)}: id column "{id}" is empty. Give every row an id')
        text = label_text(v)
        if text in first:
            raise DataError(
                f'{at(i)}: duplicate id "{text}" (first on {at(first[text])}). Make ids unique'
            )
        first[text] = i
        out[i] = text
    return out


def _with_provenance(
    table: pa.Table,
    id: str | None,
    ids: pa.Array,
    original_id: list[str],
    operation: list[str],
    seed: list[int | None],
) -> pa.Table:
    if id is None:
        table = table.add_column(0, _ID, ids)
    else:
        table = table.set_column(table.column_names.index(id), id, ids)
    table = table.append_column("original_id", pa.array(original_id, pa.string()))
    table = table.append_column("operation", pa.array(operation, pa.string()))
    table = table.append_column("seed", pa.array(seed, pa.int64()))
    meta = dict(table.schema.metadata or {})
    mixed_key = b"heldout.json_columns"
    if id is not None and mixed_key in meta:
        # the id column is now plain text, no longer JSON text of mixed types
        mixed = [c for c in json.loads(meta[mixed_key]) if c != id]
        meta[mixed_key] = json.dumps(mixed).encode()
        table = table.replace_schema_metadata(meta)
    return table
