"""Reading a judge's answer: a JSON object, tolerant of code fences and prose around it.

A judge is asked for one JSON object (``{"score": 4, "reason": "..."}``, or a
``choice``/``verdict``/``winner`` instead of a score). Models wrap it in fences or add a
sentence before it; the first balanced ``{...}`` that parses is taken. An answer with no
such object, or whose field is missing or out of range, is malformed: the caller asks once
more with a repair prompt and then records a judge error.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Malformed",
    "ScoreReading",
    "extract_json",
    "read_label",
    "read_score",
    "weighted_score",
]

#: Tokens under this probability are left out of the probability-weighted score.
MIN_TOKEN_PROBABILITY = 0.01


class Malformed(ValueError):
    """A judge's answer that cannot be read; the message says what was wrong."""


@dataclass(frozen=True)
class ScoreReading:
    """A score read from a judge's answer.

    Attributes:
        raw: the score on the judge's scale: the parsed integer, or the
            probability-weighted mean over the score tokens.
        parsed: the integer the judge wrote.
        reason: the judge's justification.
        weighted: whether ``raw`` is the probability-weighted mean.
    """

    raw: float
    parsed: int
    reason: str
    weighted: bool


def extract_json(text: str) -> dict[str, Any]:
    """The first JSON object in ``text`` (inside fences or prose), as a dict.

    Raises:
        Malformed: there is no parseable JSON object.
    """
    for start in [m.start() for m in re.finditer(r"\{", text)]:
        depth = 0
        in_string = False
        escaped = False
        for end in range(start, len(text)):
            ch = text[end]
            if in_string:
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif ch == '"':
                    in_string = False
                continue
            if ch == '"':
                in_string = True
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    try:
                        value = json.loads(text[start : end + 1])
                    except json.JSONDecodeError:
                        break
                    if isinstance(value, dict):
                        return value
                    break
    raise Malformed("no JSON object in the answer")


def _reason(obj: dict[str, Any]) -> str:
    reason = obj.get("reason", obj.get("reasoning", ""))
    return reason if isinstance(reason, str) else json.dumps(reason)


def read_score(
    text: str,
    *,
    low: int,
    high: int,
    top_logprobs: Sequence[Sequence[tuple[str, float]]] | None = None,
) -> ScoreReading:
    """The score of a ``{"score": N, "reason": ...}`` answer on the scale ``low..high``.

    With ``top_logprobs`` (the generated tokens, each followed by its alternatives) the
    score is the probability-weighted mean of the scale's values over the alternatives at
    the score's token (see :func:`weighted_score`); otherwise the parsed integer.

    Raises:
        Malformed: no JSON object, no integer ``score``, or a score outside the scale.
    """
    obj = extract_json(text)
    value = obj.get("score")
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise Malformed(f'"score" is {value!r}, not an integer from {low} to {high}')
    if not low <= value <= high:
        raise Malformed(f'"score" is {value}, outside the scale {low} to {high}')
    reason = _reason(obj)
    if top_logprobs:
        weighted = weighted_score(text, top_logprobs, low=low, high=high)
        if weighted is not None:
            return ScoreReading(raw=weighted, parsed=value, reason=reason, weighted=True)
    return ScoreReading(raw=float(value), parsed=value, reason=reason, weighted=False)


def weighted_score(
    text: str,
    top_logprobs: Sequence[Sequence[tuple[str, float]]],
    *,
    low: int,
    high: int,
) -> float | None:
    """The probability-weighted score: ``sum(p_k * k) / sum(p_k)`` over the scale's values.

    The token that wrote the score's value is found in the generated tokens; of the
    alternatives listed there, those that are a value of the scale with probability at
    least 0.01 are kept and their probabilities renormalised. ``None`` when the score is not
    one token of its own (a two-digit value split in two) or no alternative qualifies.
    """
    tokens = [position[0][0] for position in top_logprobs if position]
    if len(tokens) != len(top_logprobs):
        return None
    match = re.search(r'"score"\s*:\s*"?(-?\d+)', "".join(tokens))
    if match is None:
        return None
    start, end = match.span(1)
    offset = 0
    for token, position in zip(tokens, top_logprobs, strict=True):
        token_end = offset + len(token)
        if offset <= start < token_end:
            if token.strip() != match.group(1) or token_end < end:
                return None
            total = 0.0
            mass = 0.0
            seen: set[int] = set()
            for alternative, logprob in position:
                stripped = alternative.strip()
                if not re.fullmatch(r"-?\d+", stripped):
                    continue
                k = int(stripped)
                p = math.exp(logprob)
                if k in seen or not low <= k <= high or p < MIN_TOKEN_PROBABILITY:
                    continue
                seen.add(k)
                total += p * k
                mass += p
            return None if mass == 0.0 else total / mass
        offset = token_end
    return None


def read_label(text: str, *, key: str, allowed: Sequence[str]) -> tuple[str, str]:
    """The ``key`` field of a JSON answer (a choice, verdict or winner) and the reason.

    Matching ignores case and surrounding space; the label is returned as ``allowed``
    spells it.

    Raises:
        Malformed: no JSON object, no such field, or a value not in ``allowed``.
    """
    obj = extract_json(text)
    value = obj.get(key)
    if isinstance(value, bool):
        value = "yes" if value else "no"
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        raise Malformed(f'"{key}" is missing (expected one of {", ".join(allowed)})')
    wanted = value.strip().lower()
    for label in allowed:
        if label.lower() == wanted:
            return label, _reason(obj)
    raise Malformed(f'"{key}" is {value!r}, not one of {", ".join(allowed)}')
