"""Word-level differences between two model outputs, as segments the template escapes."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["Segment", "word_diff"]

#: Past this many words per side the outputs are shown without a diff: SequenceMatcher is
#: quadratic in the worst case, and a page must stay fast.
MAX_WORDS = 2_000

_TOKENS = re.compile(r"^\s+|\S+\s*")


@dataclass(frozen=True)
class Segment:
    """A run of text; ``kind`` is ``same``, ``removed`` (only in the reference) or
    ``added`` (only in the output shown)."""

    text: str
    kind: Literal["same", "removed", "added"]


def word_diff(reference: str, other: str) -> tuple[tuple[Segment, ...], tuple[Segment, ...]]:
    """Both texts split into segments: words only ``reference`` has are ``removed`` in the
    first, words only ``other`` has are ``added`` in the second. Whitespace is kept and
    belongs to the word before it, so a change of spacing alone counts as a change.

    >>> old, new = word_diff("the cat sat", "the dog sat")
    >>> [s.kind for s in new if s.text.strip()]
    ['same', 'added', 'same']
    """
    left, right = _TOKENS.findall(reference), _TOKENS.findall(other)
    if len(left) > 2 * MAX_WORDS or len(right) > 2 * MAX_WORDS or reference == other:
        return (Segment(reference, "same"),), (Segment(other, "same"),)
    matcher = difflib.SequenceMatcher(a=left, b=right, autojunk=False)
    old: list[Segment] = []
    new: list[Segment] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            _add(old, "".join(left[i1:i2]), "same")
            _add(new, "".join(right[j1:j2]), "same")
            continue
        _add(old, "".join(left[i1:i2]), "removed")
        _add(new, "".join(right[j1:j2]), "added")
    return tuple(old), tuple(new)


def _add(segments: list[Segment], text: str, kind: Literal["same", "removed", "added"]) -> None:
    if not text:
        return
    if kind != "same":
        # Whitespace after a changed word is layout, not a change: keep it unmarked.
        core = text.rstrip()
        if core != text:
            _add(segments, core, kind)
            _add(segments, text[len(core) :], "same")
            return
    if segments and segments[-1].kind == kind:
        segments[-1] = Segment(segments[-1].text + text, kind)
    else:
        segments.append(Segment(text, kind))
