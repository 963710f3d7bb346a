"""Assertions: cheap deterministic checks of each output, scored 1 (pass) or 0 (fail).

An :class:`~heldout.spec.AssertionSpec` is compiled once, before any model is called
(:func:`compile_assertions`): a regex is compiled, a JSON schema read and checked, a
Python check imported, an embedding model's folder and library found, so a bad assertion
fails as a one-line spec error naming it. :func:`assertion_rows` then adds each assertion
to a model's :class:`ScoreRows` as a ``mean`` metric of 0/1 values: its pass rate gets a
Wilson/CLT interval and McNemar's paired test like any other 0/1 metric, and its column
``<assertion>:<model>`` reaches the examples table, slices and fairness.

Edit distance is Levenshtein's, normalised by the longer text's length; it uses
``rapidfuzz`` (C++) when installed and a numpy dynamic programme otherwise
(:func:`levenshtein`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from heldout._errors import SpecError
from heldout.scoring._base import MetricDef, ScoreRows, StatBlock
from heldout.scoring._custom import import_reference
from heldout.spec import AssertionSpec

__all__ = [
    "Assertion",
    "assertion_rows",
    "compile_assertions",
    "levenshtein",
    "normalized_edit_distance",
    "run_assertion",
]

#: ``check(outputs, targets)`` gives one bool per output.
Check = Callable[[Sequence[str], Sequence[Any]], NDArray[np.bool_]]


@dataclass(frozen=True, eq=False)
class Assertion:
    """A compiled assertion.

    Attributes:
        name: the assertion's name; its metric and per-example column.
        kind: which check (``contains``, ``regex``, ``json_schema``, ...).
        params: what it checks, recorded in the metric's signature.
        check: ``check(outputs, targets)`` gives one bool per output.
    """

    name: str
    kind: str
    check: Check
    params: Mapping[str, Any] = field(default_factory=dict)


def levenshtein(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions each cost 1).

    Uses ``rapidfuzz`` when installed; otherwise a numpy dynamic programme, one
    vectorised row per character of ``a`` (insertions along a row are a running minimum).

    Example:
        >>> levenshtein("kitten", "sitting")
        3
    """
    try:
        from rapidfuzz.distance import Levenshtein
    except ImportError:
        return _levenshtein_numpy(a, b)
    return int(Levenshtein.distance(a, b))


def _levenshtein_numpy(a: str, b: str) -> int:
    if not a or not b:
        return max(len(a), len(b))
    codes_b = np.frombuffer(b.encode("utf-32-le"), dtype=np.uint32)
    steps = np.arange(len(b) + 1, dtype=np.int64)
    row = steps.copy()
    for i, ch in enumerate(a, start=1):
        cost = (codes_b != ord(ch)).astype(np.int64)
        tmp = np.empty_like(row)
        tmp[0] = i
        # deletion (from above) or substitution (from the diagonal)
        tmp[1:] = np.minimum(row[1:] + 1, row[:-1] + cost)
        # insertion (from the left): D[j] = min_k<=j tmp[k] + (j - k)
        row = np.minimum.accumulate(tmp - steps) + steps
    return int(row[-1])


def normalized_edit_distance(a: str, b: str) -> float:
    """Levenshtein distance over the longer text's length: 0 equal, 1 nothing shared."""
    longest = max(len(a), len(b))
    return 0.0 if longest == 0 else levenshtein(a, b) / longest


def _references(target: Any) -> list[str]:
    if target is None:
        return []
    if isinstance(target, str):
        return [target]
    if isinstance(target, Sequence | np.ndarray):
        return [str(t) for t in target]
    return [str(target)]


def _fold(text: str, case_sensitive: bool) -> str:
    return text if case_sensitive else text.casefold()


def _per_output(fn: Callable[[str], bool]) -> Check:
    def check(outputs: Sequence[str], targets: Sequence[Any]) -> NDArray[np.bool_]:
        return np.fromiter((fn(o) for o in outputs), dtype=bool, count=len(outputs))

    return check


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _python_check(reference: str, *, root: Path, here: str) -> Check:
    fn = import_reference(reference, root=root, here=here)
    if fn is None:
        raise SpecError(f"{here}: {reference} has no function ''")

    def check(outputs: Sequence[str], targets: Sequence[Any]) -> NDArray[np.bool_]:
        result = list(fn(list(outputs), list(targets)))
        if len(result) != len(outputs):
            raise SpecError(
                f"{here}: {reference} returned {len(result)} values for {len(outputs)} "
                "outputs; return one bool per output"
            )
        return np.array([bool(x) for x in result], dtype=bool)

    return check


def _schema_check(path: str, *, root: Path, here: str) -> Check:
    try:
        import jsonschema  # type: ignore[import-untyped]
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise SpecError(f'{here}: json_schema needs jsonschema; pip install "jsonschema"') from exc
    file = Path(path) if Path(path).is_absolute() else root / path
    try:
        schema = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(f"{here}: cannot read schema {file} ({exc.strerror})") from exc
    except ValueError as exc:
        raise SpecError(f"{here}: schema {file} is not JSON ({exc})") from exc
    cls = jsonschema.validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise SpecError(
            f"{here}: schema {file} is not a valid JSON schema ({exc.message})"
        ) from exc
    validator = cls(schema)

    def valid(text: str) -> bool:
        try:
            value = json.loads(text)
        except ValueError:
            return False
        return bool(validator.is_valid(value))

    return _per_output(valid)


def _embedding_check(model: str, minimum: float, *, root: Path, here: str) -> Check:
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise SpecError(
            f"{here}: embedding_similarity needs sentence-transformers; "
            'pip install "sentence-transformers"'
        ) from exc
    folder = Path(model) if Path(model).is_absolute() else root / model
    if not folder.is_dir():
        raise SpecError(
            f"{here}: embedding model folder {folder} not found; give a local "
            "sentence-transformers model folder"
        )
    encoder = SentenceTransformer(str(folder), device="cpu")

    def check(outputs: Sequence[str], targets: Sequence[Any]) -> NDArray[np.bool_]:
        refs = [_references(t) for t in targets]
        flat = [r for rs in refs for r in rs]
        out = np.asarray(encoder.encode(list(outputs), normalize_embeddings=True))
        ref = np.asarray(encoder.encode(flat, normalize_embeddings=True)) if flat else out[:0]
        passed = np.zeros(len(outputs), dtype=bool)
        start = 0
        for i, rs in enumerate(refs):
            if rs:
                sims = ref[start : start + len(rs)] @ out[i]
                passed[i] = float(sims.max()) >= minimum
            start += len(rs)
        return passed

    return check


def _compile(spec: AssertionSpec, *, root: Path, here: str) -> Assertion:
    kind = spec.kind
    case = spec.case_sensitive
    params: dict[str, Any] = {"kind": kind}
    check: Check
    if kind == "equals":
        assert spec.equals is not None
        wanted = _fold(spec.equals, case)
        params["equals"] = spec.equals
        check = _per_output(lambda o: _fold(o, case) == wanted)
    elif kind in ("contains", "not_contains"):
        words = spec.contains if kind == "contains" else spec.not_contains
        assert words is not None
        folded = [_fold(w, case) for w in words]
        params.update(texts=list(words), mode=spec.mode)
        pick = any if spec.mode == "any" else all
        if kind == "contains":
            check = _per_output(lambda o: pick(w in _fold(o, case) for w in folded))
        else:
            # not_contains, mode any: fails when any text occurs; all: fails only when all do
            check = _per_output(lambda o: not pick(w in _fold(o, case) for w in folded))
    elif kind == "regex":
        assert spec.regex is not None
        try:
            pattern = re.compile(spec.regex, 0 if case else re.IGNORECASE)
        except re.error as exc:
            raise SpecError(f"{here}: invalid regex {spec.regex!r}: {exc}") from exc
        params["regex"] = spec.regex
        check = _per_output(lambda o: pattern.search(o) is not None)
    elif kind == "starts_with":
        assert spec.starts_with is not None
        prefix = _fold(spec.starts_with, case)
        params["starts_with"] = spec.starts_with
        check = _per_output(lambda o: _fold(o, case).startswith(prefix))
    elif kind == "is_json":
        check = _per_output(_is_json)
    elif kind == "json_schema":
        assert spec.json_schema is not None
        params["json_schema"] = spec.json_schema
        check = _schema_check(spec.json_schema, root=root, here=here)
    elif kind == "length":
        bounds = {
            "min_chars": spec.min_chars,
            "max_chars": spec.max_chars,
            "min_words": spec.min_words,
            "max_words": spec.max_words,
        }
        params.update({k: v for k, v in bounds.items() if v is not None})
        check = _per_output(lambda o: _within(o, bounds))
    elif kind == "edit_distance":
        assert spec.edit_distance is not None
        limit, ed_case = spec.edit_distance.max, spec.edit_distance.case_sensitive
        params.update(max=limit, case_sensitive=ed_case)

        def close(outputs: Sequence[str], targets: Sequence[Any]) -> NDArray[np.bool_]:
            return np.array(
                [
                    any(
                        normalized_edit_distance(_fold(o, ed_case), _fold(r, ed_case)) <= limit
                        for r in _references(t)
                    )
                    for o, t in zip(outputs, targets, strict=True)
                ],
                dtype=bool,
            )

        check = close
    elif kind == "embedding_similarity":
        emb = spec.embedding_similarity
        assert emb is not None
        params.update(min=emb.min, model=emb.model)
        check = _embedding_check(emb.model, emb.min, root=root, here=here)
    else:
        assert spec.python is not None
        params["python"] = spec.python
        check = _python_check(spec.python, root=root, here=here)
    return Assertion(name=spec.name, kind=kind, check=check, params=params)


def _within(text: str, bounds: Mapping[str, int | None]) -> bool:
    chars, words = len(text), len(text.split())
    checks = (
        (bounds["min_chars"], chars, True),
        (bounds["max_chars"], chars, False),
        (bounds["min_words"], words, True),
        (bounds["max_words"], words, False),
    )
    return all(
        limit is None or (value >= limit if is_min else value <= limit)
        for limit, value, is_min in checks
    )


def compile_assertions(
    specs: Sequence[AssertionSpec], *, root: Path, where: str = "assertions"
) -> tuple[Assertion, ...]:
    """Compile a task's assertions, failing with a one-line spec error on a bad one.

    Args:
        specs: the task's ``assertions:``.
        root: the folder schema files, Python modules and embedding models resolve against.
        where: ``eval.yaml:LINE:COL`` of the ``assertions:`` key, for messages.

    Raises:
        SpecError: an invalid regex, a missing or invalid schema, a Python check that
            cannot be imported, an embedding model that cannot be loaded.
    """
    return tuple(
        _compile(spec, root=root, here=f"{where}: assertions[{k}] ({spec.name})")
        for k, spec in enumerate(specs)
    )


def run_assertion(
    assertion: Assertion, outputs: Sequence[str], targets: Sequence[Any]
) -> NDArray[np.float64]:
    """One 0/1 value per output: 1 where it passes."""
    return assertion.check(outputs, targets).astype(np.float64)


def assertion_rows(
    rows: ScoreRows,
    assertions: Sequence[Assertion],
    outputs: Sequence[str],
    targets: Sequence[Any],
    *,
    more_draws: Sequence[Sequence[str]] = (),
) -> ScoreRows:
    """A model's score rows with one ``mean`` metric per assertion added: its pass rate.

    ``more_draws`` are the other draws of a model that sampled several outputs per example
    (``outputs`` is the first): each draw is checked and the 0/1 results are averaged per
    example, as :func:`~heldout.scoring.average_samples` does for every other metric.
    """
    draws = [outputs, *more_draws]
    for a in assertions:
        values = np.mean([run_assertion(a, d, targets) for d in draws], axis=0)
        params = dict(a.params)
        if len(draws) > 1:
            # a share of passing draws: no longer 0/1, still a rate in [0, 1]
            params.update(samples=len(draws), bounds=[0.0, 1.0])
        binary = len(draws) == 1
        rows = rows.with_metric(
            MetricDef(name=a.name, kind="mean", block=a.name, binary=binary, params=params),
            StatBlock.dense(values),
            values,
            what="assertion",
        )
    return rows
