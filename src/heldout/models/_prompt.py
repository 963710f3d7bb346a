"""Prompts for live models: each example's fields through the spec's Jinja templates.

A prompt is the optional system text, ``k`` few-shot examples (each its question through
``template`` and its answer through ``answer``), then the example's own question. With
``chat: true`` these become messages (system, then user/assistant per shot, then user);
with ``chat: false`` one text, laid out as lm-evaluation-harness does: a shot's answer
follows its question after one space, and parts are separated by a blank line.

Few-shot draws depend only on the seed, the example's id and the pool's ids, never on the
order or number of the other examples, so an example's prompt (and so its cached calls)
survives the dataset being reordered, filtered or extended.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError, nodes
from jinja2.sandbox import SandboxedEnvironment
from numpy.typing import NDArray

from heldout._errors import SpecError
from heldout._util._suggest import did_you_mean
from heldout.models._protocol import Message, Prompt
from heldout.spec._model import PromptSpec

__all__ = ["default_choice_template", "render_prompts"]

_ENV = SandboxedEnvironment(
    undefined=StrictUndefined,
    autoescape=False,
    keep_trailing_newline=False,
    trim_blocks=True,
)

_DEFAULT_CHOICE_TEMPLATE = (
    "{{ input }}\n"
    "{% for choice in choices %}\n"
    "{{ letters[loop.index0] }}. {{ choice }}\n"
    "{% endfor %}\n"
    "Answer with the letter of the correct option."
)

_UNDEFINED_NAME = re.compile(r"^'([^']+)' is undefined$")

# Ring points per pool record: more points even out how often each record is drawn
# (the spread of a record's share falls as 1/sqrt(points)).
_RING_POINTS = 16
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_SHOT_SALT = np.uint64(0x5A17_5EED_0000_0001)
_EXAMPLE_SALT = np.uint64(0x5A17_5EED_0000_0002)
# A ring position is a point's top 44 bits; the low 20 carry the owner while sorting.
_OWNER_MASK = np.uint64((1 << 20) - 1)
_POSITION = np.uint64(((1 << 64) - 1) ^ ((1 << 20) - 1))
_CHUNK = 8192


def default_choice_template() -> str:
    """The multiple-choice template used when the spec gives none.

    The question, then one ``A. choice`` line per option, then an instruction to answer
    with the letter::

        What is 2 + 2?
        A. 3
        B. 4
        Answer with the letter of the correct option.
    """
    return _DEFAULT_CHOICE_TEMPLATE


def render_prompts(
    records: Sequence[Mapping[str, Any]],
    spec: PromptSpec,
    *,
    pool: Sequence[Mapping[str, Any]] | None = None,
    where: str,
    locate: Callable[[int], str],
    locate_pool: Callable[[int], str] | None = None,
) -> list[Prompt]:
    """One prompt per example, in order.

    Args:
        records: per example, every field a template may use (``id``, ``input``,
            ``target``, the file's columns, and for multiple choice ``choices`` and
            ``letters``).
        spec: the task's prompt spec.
        pool: few-shot candidates, records of the same shape; ``None`` draws them from
            ``records``. A candidate with the example's own ``id`` is never drawn for it.
        where: the prompt spec's location (``eval.yaml:12:5``), for template errors.
        locate: the location of example ``i`` (``data.jsonl:17``), for render errors.
        locate_pool: the location of pool record ``i``; without it a separate pool's
            records are named by id.

    Returns:
        Text prompts when ``spec.chat`` is false, else tuples of messages.

    Raises:
        SpecError: a template does not compile or does not render for some example, or
            the pool has fewer than ``k`` candidates for some example.
    """
    template = _Template(spec.template, "prompt.template", where)
    questions = _render_all(template, records, locate)
    system = spec.system
    # Messages are immutable: prompts share the system message and each shot's turns.
    head = () if system is None else (Message("system", system),)
    if spec.few_shot is None:
        if spec.chat:
            return [(*head, Message("user", q)) for q in questions]
        return [q if system is None else f"{system}\n\n{q}" for q in questions]

    answer = _Template(spec.answer, "prompt.answer", where)
    if pool is None:
        shot = _Shots(template, answer, records, locate, questions)
        pool = records
    else:
        named = locate_pool or (lambda i: _pool_name(pool, i))
        shot = _Shots(template, answer, pool, named, None)
    shots = _draw_shots(records, pool, spec.few_shot.k, spec.few_shot.seed, where, locate)

    out: list[Prompt] = []
    for question, drawn in zip(questions, shots, strict=True):
        if spec.chat:
            messages = list(head)
            for j in drawn:
                messages.extend(shot.turns(j))
            messages.append(Message("user", question))
            out.append(tuple(messages))
        else:
            parts = [] if system is None else [system]
            parts.extend(shot.text(j) for j in drawn)
            parts.append(question)
            out.append("\n\n".join(parts))
    return out


def _pool_name(pool: Sequence[Mapping[str, Any]], i: int) -> str:
    return f'few-shot example "{pool[i]["id"]}"'


class _Template:
    """A compiled template. One that only substitutes fields skips Jinja's per-render setup,
    which is most of the cost of rendering it; the text is the same."""

    def __init__(self, source: str, field: str, where: str) -> None:
        self.field = field
        try:
            self._jinja = _ENV.from_string(source)
            self._parts = _substitutions(_ENV.parse(source))
        except TemplateSyntaxError as exc:
            raise SpecError(
                f"{where}: {field}: {exc.message} (template line {exc.lineno}). Fix the template"
            ) from exc
        # A template's globals are a ChainMap over the environment's; rendering copies
        # them into every context, and copying a plain dict is several times faster.
        self._jinja.globals = dict(self._jinja.globals)

    def render(self, record: Mapping[str, Any]) -> str:
        parts = self._parts
        if parts is not None:
            try:
                return "".join(
                    [text if name is None else str(record[name]) for name, text in parts]
                )
            except KeyError:
                pass  # Jinja reports the missing field (or finds a global by that name).
        return self._jinja.render(record)


def _substitutions(ast: nodes.Template) -> tuple[tuple[str | None, str], ...] | None:
    """The template as (field, "") and (None, literal text) parts, when it is only that.

    Jinja outputs ``{{ name }}`` as ``str(value)`` when nothing is escaped or finalised.
    """
    parts: list[tuple[str | None, str]] = []
    for node in ast.body:
        if not isinstance(node, nodes.Output):
            return None
        for child in node.nodes:
            if isinstance(child, nodes.TemplateData):
                parts.append((None, child.data))
            elif isinstance(child, nodes.Name) and child.ctx == "load":
                parts.append((child.name, ""))
            else:
                return None
    return tuple(parts)


def _render_all(
    template: _Template, records: Sequence[Mapping[str, Any]], locate: Callable[[int], str]
) -> list[str]:
    render = template.render
    out: list[str] = []
    try:
        for record in records:
            out.append(render(record))
    except _RENDER_ERRORS as exc:
        failed = len(out)
        raise _render_error(exc, template.field, records[failed], locate(failed)) from exc
    return out


class _Shots:
    """A pool's questions and answers, rendered once each, when first drawn."""

    def __init__(
        self,
        template: _Template,
        answer: _Template,
        pool: Sequence[Mapping[str, Any]],
        locate: Callable[[int], str],
        questions: list[str] | None,
    ) -> None:
        self._template = template
        self._answer = answer
        self._pool = pool
        self._locate = locate
        self._questions: list[str | None] = (
            [None] * len(pool) if questions is None else list(questions)
        )
        self._answers: list[str | None] = [None] * len(pool)
        self._texts: list[str | None] = [None] * len(pool)
        self._turns: list[tuple[Message, Message] | None] = [None] * len(pool)

    def question(self, j: int) -> str:
        text = self._questions[j]
        if text is None:
            text = self._questions[j] = self._render(self._template, j)
        return text

    def answer(self, j: int) -> str:
        text = self._answers[j]
        if text is None:
            text = self._answers[j] = self._render(self._answer, j)
        return text

    def turns(self, j: int) -> tuple[Message, Message]:
        """The shot as chat turns: the question from the user, the answer from the model."""
        turns = self._turns[j]
        if turns is None:
            turns = Message("user", self.question(j)), Message("assistant", self.answer(j))
            self._turns[j] = turns
        return turns

    def text(self, j: int) -> str:
        """The shot as completion text: question, one space, answer."""
        text = self._texts[j]
        if text is None:
            text = self._texts[j] = f"{self.question(j)} {self.answer(j)}"
        return text

    def _render(self, template: _Template, j: int) -> str:
        record = self._pool[j]
        try:
            return template.render(record)
        except _RENDER_ERRORS as exc:
            raise _render_error(exc, template.field, record, self._locate(j)) from exc


_RENDER_ERRORS = (TemplateError, TypeError, ValueError, ArithmeticError, LookupError)


def _render_error(
    exc: Exception, field: str, record: Mapping[str, Any], location: str
) -> SpecError:
    if isinstance(exc, UndefinedError):
        return SpecError(_undefined_message(exc, field, record, location))
    return SpecError(f"{location}: {field} fails on this example: {exc}. Fix the template")


def _undefined_message(
    exc: UndefinedError, field: str, record: Mapping[str, Any], location: str
) -> str:
    fields = sorted(str(name) for name in record)
    listed = ", ".join(fields)
    match = _UNDEFINED_NAME.match(exc.message or "")
    if match is None:
        return f"{location}: {field} fails on this example: {exc.message}. Fields: {listed}"
    name = match.group(1)
    hint = did_you_mean(name, fields).strip()
    # did_you_mean gives ' (did you mean "x"?)'; here it continues the sentence.
    suggestion = f"; {hint[1:-1]} " if hint else ". "
    return (
        f"{location}: {field} uses {{{{ {name} }}}}, which this example does not have"
        f"{suggestion}Fields: {listed}"
    )


def _draw_shots(
    records: Sequence[Mapping[str, Any]],
    pool: Sequence[Mapping[str, Any]],
    k: int,
    seed: int,
    where: str,
    locate: Callable[[int], str],
) -> list[list[int]]:
    """Per example, the pool indices of its ``k`` shots, in the order drawn.

    Each pool record owns points on a 64-bit ring, placed by hashing ``(seed, its id)``.
    An example walks a stream of points hashed from ``(seed, its id)``; each point draws
    the record owning the next ring point, skipping the example itself and records
    already drawn. Adding or removing a pool record changes an example's shots only when
    that record was, or now would be, one of them; the order of records never matters.
    """
    example_ids = [str(r["id"]) for r in records]
    pool_ids = [str(r["id"]) for r in pool]
    same_id: dict[str, list[int]] = {}
    for j, pid in enumerate(pool_ids):
        same_id.setdefault(pid, []).append(j)

    no_ids: tuple[int, ...] = ()
    for i, eid in enumerate(example_ids):
        available = len(pool_ids) - len(same_id.get(eid, no_ids))
        if available < k:
            raise SpecError(
                f"{where}: prompt.few_shot.k is {k}, but the few-shot pool has only "
                f"{available} example(s) to draw from for {locate(i)} (an example is never "
                "its own shot). Lower prompt.few_shot.k or give a larger pool with "
                "prompt.few_shot.path"
            )

    example_keys = _keys(example_ids, seed)
    pool_names = _distinct(pool_ids)
    pool_keys = example_keys if pool_names == example_ids else _keys(pool_names, seed)
    ring_points, ring_owners = _ring(_mix64(pool_keys ^ _SHOT_SALT))
    starts = _mix64(example_keys ^ _EXAMPLE_SALT)
    # Per example, the pool index sharing its id (-1: none; -2: several, checked slowly).
    own_index = np.array(
        [_single(same_id.get(eid, no_ids)) for eid in example_ids], dtype=np.intp
    ).reshape(-1, 1)
    # Enough stream points that an example in a large pool rarely needs more.
    first = k + 4
    shots: list[list[int]] = []
    for lo in range(0, len(records), _CHUNK):
        block = starts[lo : lo + _CHUNK]
        owners = _owners(ring_points, ring_owners, block, 0, first)
        # Most examples take their first k draws as they are: no repeats, not themselves.
        head = owners[:, :k]
        ordered = np.sort(head, axis=1)
        plain = (np.diff(ordered, axis=1) != 0).all(axis=1)
        plain &= (head != own_index[lo : lo + _CHUNK]).all(axis=1)
        plain &= own_index[lo : lo + _CHUNK, 0] != -2
        rows = head.tolist()
        for i in np.flatnonzero(~plain).tolist():
            eid = example_ids[lo + i]
            rows[i] = _walk(
                ring_points, ring_owners, block[i], owners[i].tolist(), k, same_id.get(eid, no_ids)
            )
        shots.extend(rows)
    return shots


def _single(indices: Sequence[int]) -> int:
    if not indices:
        return -1
    return indices[0] if len(indices) == 1 else -2


def _walk(
    ring_points: NDArray[np.uint64],
    ring_owners: NDArray[np.intp],
    start: np.uint64,
    row: list[int],
    k: int,
    own: Sequence[int],
) -> list[int]:
    """The first ``k`` distinct owners along the stream from ``start``, skipping ``own``."""
    drawn: list[int] = []
    offset = len(row)
    while True:
        for j in row:
            if j not in drawn and j not in own:
                drawn.append(j)
                if len(drawn) == k:
                    return drawn
        # Small pools revisit the same records: walk further along the stream.
        one = np.array([start], dtype=np.uint64)
        row = _owners(ring_points, ring_owners, one, offset, 4 * k).tolist()[0]
        offset += 4 * k


def _distinct(ids: Sequence[str]) -> list[str]:
    """The ids, a repeated one numbered from its second occurrence so each has its points."""
    seen: dict[str, int] = {}
    out = []
    for pid in ids:
        n = seen[pid] = seen.get(pid, -1) + 1
        out.append(pid if n == 0 else f"{pid}\x1f{n}")
    return out


def _ring(bases: NDArray[np.uint64]) -> tuple[NDArray[np.uint64], NDArray[np.intp]]:
    """The pool's ring positions, ascending, and the pool index owning each.

    A position is the top bits of a point hashed from the record's base key; points that
    share a position are ordered by their full value, so the ring never depends on the
    order of the pool.
    """
    steps = np.arange(1, _RING_POINTS + 1, dtype=np.uint64) * _GOLDEN
    points = _mix64(bases[:, None] + steps[None, :]).ravel()
    owners = np.repeat(np.arange(len(bases), dtype=np.uint64), _RING_POINTS)
    positions = points & _POSITION
    if len(bases) <= _OWNER_MASK:
        # Sorting positions with the owner packed in the low bits is far faster than an
        # argsort, and gives the same ring whenever no two points share a position.
        packed = np.sort(positions | owners)
        ring = packed & _POSITION
        if not (np.diff(ring) == 0).any():
            return ring, (packed & _OWNER_MASK).astype(np.intp)
    order = np.argsort(points)
    return positions[order], owners[order].astype(np.intp)


def _owners(
    ring_points: NDArray[np.uint64],
    ring_owners: NDArray[np.intp],
    starts: NDArray[np.uint64],
    offset: int,
    count: int,
) -> NDArray[np.intp]:
    """Per start, the owners drawn by stream points ``offset .. offset + count - 1``."""
    steps = np.arange(offset + 1, offset + count + 1, dtype=np.uint64) * _GOLDEN
    stream = _mix64(starts[:, None] + steps[None, :]).ravel() & _POSITION
    # Searching in sorted order walks the ring once instead of jumping across memory.
    order = np.argsort(stream)
    pos = np.empty(len(stream), dtype=np.intp)
    pos[order] = np.searchsorted(ring_points, stream[order], side="left")
    pos[pos == len(ring_points)] = 0
    return ring_owners[pos].reshape(len(starts), count)


def _keys(names: Sequence[str], seed: int) -> NDArray[np.uint64]:
    """A 64-bit key per id: the first 8 bytes of sha256 of ``"{seed}\\x1f{id}"``."""
    sha256 = hashlib.sha256
    blob = b"".join(sha256(f"{seed}\x1f{name}".encode()).digest()[:8] for name in names)
    return np.frombuffer(blob, dtype="<u8").astype(np.uint64)


def _mix64(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """The splitmix64 finaliser, elementwise (uint64 arithmetic wraps)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))
