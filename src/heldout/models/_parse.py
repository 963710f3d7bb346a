"""Reading a generated text as a prediction: a label, a number, or a multiple-choice option.

Each parser returns ``None`` rather than guess when a text names nothing it recognises or
names several things; the caller counts that as an invalid prediction.
"""

from __future__ import annotations

import functools
import math
import re
import string
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["parse_choice", "parse_label", "parse_number"]

# Characters a model puts around an answer: quotes, code ticks, markdown emphasis, brackets.
_WRAPPERS = "\"'`*_()[]{}<>“”‘’«»「」"
_TRAILING = ".,;:!?"

_LABEL_MARKER = re.compile(r"\b(?:label|answer|category|class)\b(?:\s+is\b)?\s*[:=]?", re.I)

_NUMBER = re.compile(
    r"(?<![\w.])(?P<sign>[-+]?)"
    r"(?P<body>(?:\d{1,3}(?:,\d{3})+|\d{1,3}(?: \d{3})+|\d+)(?:\.\d+)?(?!\d)|\.\d+(?!\d))"
    r"(?:[eE](?P<exp>[-+]?\d+))?"
)
_NUMBER_MARKER = re.compile(r"\banswer\b(?:\s+is\b)?|\\boxed\{|[=≈]", re.I)
_BEFORE_NUMBER = re.compile(r"[\s:*_\"'`($€£¥]*")
_NUMBER_LINE_EDGES = "$€£¥%" + _WRAPPERS

_LEADING_LETTER = re.compile(
    r"^[\s*_\"'`]*(?:\((?P<a>[A-Za-z])\)|\[(?P<b>[A-Za-z])\]|(?P<c>[A-Z])(?:[.):\]*]|\s+is\b))"
)
_ANSWER_LETTER = re.compile(
    r"(?i:\banswer|\bcorrect\s+(?:option|choice))(?:\s+is\b)?\s*[:=]?[\s*_\"'`]*"
    r"(?:\((?P<a>[A-Za-z])\)|\[(?P<b>[A-Za-z])\]|(?P<c>[A-Z]))(?!\w)"
)
_BRACKETED_LETTER = re.compile(r"\(([A-Z])\)")


def parse_label(
    text: str, labels: Sequence[str], *, verbalizers: Mapping[str, str] | None = None
) -> str | None:
    """The label a generated text names, or ``None`` when it names none or several.

    Matching ignores case and is tried in this order; the first rule that decides wins:

    1. The whole text, normalised, is a label or a label's verbalizer. Normalising applies
       NFKC, strips whitespace, surrounding quotes, backticks, asterisks, underscores and
       brackets, and trailing ``.,;:!?``, then casefolds (labels and verbalizers too).
    2. The first non-empty line, normalised, is a label or verbalizer.
    3. After the last ``label:``, ``answer:``, ``category:`` or ``class:`` (also
       ``answer is``), the rest of that line is, or starts with, a label or verbalizer.
    4. Exactly one label occurs in the text as a whole word or phrase (itself or its
       verbalizer). An occurrence inside a longer label's occurrence does not count, so
       ``"very positive"`` names only ``very positive`` among ``positive`` and
       ``very positive``.

    Example:
        >>> parse_label("**Positive**.", ["negative", "positive"])
        'positive'
        >>> parse_label("Label: neg", ["pos", "neg"], verbalizers={"neg": "negative"})
        'neg'
        >>> parse_label("positive or negative", ["negative", "positive"]) is None
        True

    Returns:
        The label exactly as given in ``labels``.
    """
    pairs = [(label, label) for label in labels]
    pairs += [(label, text) for label, text in (verbalizers or {}).items() if label in labels]
    forms = _vocabulary(tuple(pairs))
    nfkc = unicodedata.normalize("NFKC", text)
    lines = [line for line in nfkc.splitlines() if line.strip()]
    for candidate in (nfkc, lines[0] if lines else ""):
        found = _exact(candidate, forms)
        if found is not None:
            return found

    for marker in reversed(list(_LABEL_MARKER.finditer(nfkc))):
        rest = nfkc[marker.end() :].split("\n", 1)[0]
        found = _exact(rest, forms)
        if found is None:
            found = _leading(_normalise(rest), forms)
        if found is not None:
            return found

    named = _mentioned(nfkc.casefold(), forms)
    return named[0] if len(named) == 1 else None


def parse_number(text: str) -> float | None:
    """The number a generated text gives, or ``None`` when it gives none.

    Numbers may carry a sign, thousands separators (``1,234.5``, ``1 234``), a decimal
    part, an exponent (``3.2e4``), a currency sign before them or ``%`` after them
    (``42%`` reads as ``42.0``). The number chosen is, in order:

    1. the first non-empty line when that line is just a number (``"42"``, ``"$12.50"``);
    2. else the number right after the last answer marker that is followed by one:
       ``answer``, ``answer is``, ``=``, ``≈`` or ``\\boxed{`` (``"the answer is 7."``,
       ``"6 * 7 = 42"``);
    3. else the last number in the text.

    ``nan``, ``inf`` and values that overflow a float give ``None``.

    Example:
        >>> parse_number("Total: 3 boxes of 4, so 3 * 4 = 12.")
        12.0
        >>> parse_number("1,234.5")
        1234.5
    """
    norm = unicodedata.normalize("NFKC", text).replace("−", "-")
    lines = [line for line in norm.splitlines() if line.strip()]
    if lines:
        first = lines[0].strip().strip(_NUMBER_LINE_EDGES).rstrip(_TRAILING).strip()
        whole = _NUMBER.fullmatch(first)
        if whole is not None:
            return _number_value(whole)

    for marker in reversed(list(_NUMBER_MARKER.finditer(norm))):
        start = _BEFORE_NUMBER.match(norm, marker.end())
        found = _NUMBER.match(norm, start.end() if start else marker.end())
        if found is not None:
            return _number_value(found)

    numbers = list(_NUMBER.finditer(norm))
    return _number_value(numbers[-1]) if numbers else None


def parse_choice(text: str, n_choices: int, *, choices: Sequence[str] | None = None) -> int | None:
    """The index of the option a generated text chooses, or ``None``.

    Options are lettered ``A``, ``B``, ... Tried in this order; the first rule that
    decides wins:

    1. The text (or its first non-empty line), stripped of quotes, asterisks, brackets and
       trailing punctuation, is one letter: ``"B"``, ``"(B)"``, ``"**B.**"``, and here
       only also lowercase ``"b"``.
    2. The first line starts with an uppercase letter followed by ``.``, ``)``, ``:``,
       ``]``, ``*`` or `` is`` (``"B. Paris"``, ``"**B** Paris"``, ``"B is correct"``), or
       with a bracketed letter (``"(B) Paris"``, ``"(b) Paris"``).
    3. The last ``answer``, ``answer is``, ``answer:``, ``correct option is`` or
       ``correct choice is`` is followed by an uppercase (or bracketed) letter:
       ``"The answer is B because..."``.
    4. With ``choices``: the text or its first line, normalised as in
       :func:`parse_label`, equals exactly one choice's text.
    5. With ``choices``: exactly one choice's text occurs in the text as a whole word or
       phrase (an occurrence inside a longer choice's occurrence does not count).
    6. Exactly one distinct letter appears in parentheses, ``"(C)"``, anywhere.

    A letter beyond ``n_choices`` (``"E"`` of four options) is no choice; later rules
    may still decide.

    Example:
        >>> parse_choice("The answer is (B).", 4)
        1
        >>> parse_choice("Paris", 3, choices=["London", "Paris", "Rome"])
        1

    Raises:
        ValueError: ``n_choices`` is below 1, or ``choices`` has another length.
    """
    if n_choices < 1:
        raise ValueError(f"n_choices must be at least 1, got {n_choices}")
    if choices is not None and len(choices) != n_choices:
        raise ValueError(f"{len(choices)} choices given for n_choices={n_choices}")
    letters = string.ascii_uppercase[:n_choices]
    nfkc = unicodedata.normalize("NFKC", text)
    lines = [line for line in nfkc.splitlines() if line.strip()]
    first = lines[0] if lines else ""

    said: list[str] = []
    for candidate in (nfkc, first):
        alone = _strip(candidate)
        if len(alone) == 1 and alone.isascii() and alone.isalpha():
            said.append(alone.upper())
    lead = _LEADING_LETTER.match(first)
    if lead is not None:
        said.append(_letter(lead).upper())
    marked = list(_ANSWER_LETTER.finditer(nfkc))
    if marked:
        said.append(_letter(marked[-1]).upper())
    for letter in said:
        if letter in letters:
            return letters.index(letter)

    if choices is not None:
        forms = _vocabulary(tuple((str(i), choice) for i, choice in enumerate(choices)))
        for candidate in (nfkc, first):
            found = _exact(candidate, forms)
            if found is not None:
                return int(found)
        named = _mentioned(nfkc.casefold(), forms)
        if len(named) == 1:
            return int(named[0])

    bracketed = {m.group(1) for m in _BRACKETED_LETTER.finditer(nfkc)}
    if len(bracketed) == 1 and (letter := bracketed.pop()) in letters:
        return letters.index(letter)
    return None


def _letter(match: re.Match[str]) -> str:
    return match.group("a") or match.group("b") or match.group("c")


def _strip(text: str) -> str:
    """``text`` without surrounding whitespace, wrappers and trailing punctuation."""
    previous = None
    while text != previous:
        previous = text
        text = text.strip().strip(_WRAPPERS).rstrip(_TRAILING)
    return text


def _normalise(text: str) -> str:
    return _strip(unicodedata.normalize("NFKC", text)).casefold()


@dataclass(frozen=True)
class _Vocabulary:
    """What names each label: its normalised forms and their whole-word patterns."""

    forms: Mapping[str, tuple[str, ...]]
    longest_first: tuple[str, ...]
    patterns: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...]

    def get(self, norm: str) -> tuple[str, ...]:
        return self.forms.get(norm, ())


@functools.lru_cache(maxsize=256)
def _vocabulary(pairs: tuple[tuple[str, str], ...]) -> _Vocabulary:
    """Normalised text to the labels it names (several when labels differ only in case)."""
    forms: dict[str, tuple[str, ...]] = {}
    for label, text in pairs:
        norm = _normalise(text) or unicodedata.normalize("NFKC", text).strip().casefold()
        if norm and label not in forms.get(norm, ()):
            forms[norm] = (*forms.get(norm, ()), label)
    patterns = tuple(
        (re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, form.split())) + r"(?!\w)"), named)
        for form, named in forms.items()
    )
    return _Vocabulary(forms, tuple(sorted(forms, key=len, reverse=True)), patterns)


def _exact(text: str, vocabulary: _Vocabulary) -> str | None:
    named = vocabulary.get(_normalise(text))
    if len(named) == 1:
        return named[0]
    # Labels that differ only in case: the one written exactly, if any.
    stripped = _strip(unicodedata.normalize("NFKC", text))
    return stripped if stripped in named else None


def _leading(norm: str, vocabulary: _Vocabulary) -> str | None:
    """The label whose longest form starts ``norm`` as a whole word."""
    for form in vocabulary.longest_first:
        if norm.startswith(form) and _boundary(norm, len(form)):
            named = vocabulary.get(form)
            return named[0] if len(named) == 1 else None
    return None


def _boundary(text: str, at: int) -> bool:
    return at >= len(text) or not (text[at].isalnum() or text[at] == "_")


def _mentioned(folded: str, vocabulary: _Vocabulary) -> list[str]:
    """The distinct labels named in ``folded`` as whole words, longer phrases winning."""
    spans: list[tuple[int, int, str]] = []
    for pattern, named in vocabulary.patterns:
        for match in pattern.finditer(folded):
            spans.extend((match.start(), match.end(), label) for label in named)
    kept: list[str] = []
    for start, end, label in spans:
        inside = any(
            s <= start and end <= e and (e - s) > (end - start) and other != label
            for s, e, other in spans
        )
        if not inside and label not in kept:
            kept.append(label)
    return kept


def _number_value(match: re.Match[str]) -> float | None:
    body = match.group("body").replace(",", "").replace(" ", "")
    exponent = match.group("exp")
    value = float(match.group("sign") + body + (f"e{exponent}" if exponent else ""))
    return value if math.isfinite(value) else None
