"""Reading eval.yaml: YAML with line numbers, pydantic errors turned into one clear line."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from heldout._errors import SpecError
from heldout._util._hashing import canonical_json, sha256_hex
from heldout._util._suggest import did_you_mean
from heldout.spec._model import EvalSpec

__all__ = ["LoadedSpec", "load_spec", "spec_from_mapping"]

_Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class LoadedSpec:
    """A validated spec and where it came from.

    Attributes:
        spec: the validated spec.
        root: the folder relative paths in the spec are resolved against.
        source: the file it was read from (``None`` for a spec built in Python).
        hash: SHA-256 of the spec's canonical JSON form.
    """

    spec: EvalSpec
    root: Path
    source: Path | None
    hash: str
    marks: Mapping[_Loc, tuple[int, int]] = field(default_factory=dict)
    shorthand: bool = False

    def where_in_task(self, index: int, key: str) -> str:
        """``eval.yaml:LINE:COL`` of a key of the ``index``-th task (or just the file name)."""
        loc: _Loc = (key,) if self.shorthand else ("tasks", index, key)
        if self.shorthand and key in (
            "headline",
            "labels",
            "positive_label",
            "prompt",
            "method",
            "verbalizers",
            "sampling",
            "train",
            "exclude",
            "thresholds",
            "judges",
            "assertions",
            "custom_metrics",
        ):
            loc = ("task", key)
        return _where(self.source, loc, dict(self.marks))

    def resolve(self, path: str) -> Path:
        """A path from the spec, resolved against the spec's folder."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else self.root / p

    def as_dict(self) -> dict[str, Any]:
        """The spec as plain JSON-able data (what the store records)."""
        return self.spec.model_dump(
            mode="json", exclude_none=True, exclude={"dataset", "task", "metrics"}
        )


def load_spec(path: str | Path) -> LoadedSpec:
    """Read and validate an eval.yaml.

    Raises:
        SpecError: the file is missing, not YAML, or does not match the schema; the
            message names the file, line and column, and what to change.
    """
    p = Path(path)
    if not p.exists():
        raise SpecError(
            f"{p}: file not found. Pass the path of your eval.yaml (try `heldout quickstart` for an example)"
        )
    if p.is_dir():
        raise SpecError(f"{p}: is a folder, not a file. Pass the path of your eval.yaml")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError(f"{p}: not UTF-8 text (byte {exc.start}). Save the file as UTF-8") from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{p}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(p)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError(f"{where}: invalid YAML: {problem}. Fix the syntax at that spot") from exc
    if data is None:
        raise SpecError(
            f"{p}: file is empty. Write a spec (see `heldout quickstart` for an example)"
        )
    if not isinstance(data, dict):
        raise SpecError(
            f"{p}:1:1: the spec must be a mapping of keys (name:, models:, tasks:...), got {type(data).__name__}"
        )
    marks = _marks(node)
    return _validate(data, source=p, root=p.resolve().parent, marks=marks)


def spec_from_mapping(data: Mapping[str, Any], *, root: Path | None = None) -> LoadedSpec:
    """Validate a spec given as a Python mapping; paths resolve against ``root`` (cwd)."""
    return _validate(dict(data), source=None, root=(root or Path.cwd()).resolve(), marks={})


def _validate(
    data: dict[str, Any], *, source: Path | None, root: Path, marks: dict[_Loc, tuple[int, int]]
) -> LoadedSpec:
    try:
        spec = EvalSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(_describe(exc, source, marks)) from exc
    dumped = spec.model_dump(mode="json", exclude_none=True, exclude={"dataset", "task", "metrics"})
    return LoadedSpec(
        spec=spec,
        root=root,
        source=source,
        hash=sha256_hex(canonical_json(dumped)),
        marks=marks,
        shorthand="tasks" not in data,
    )


def _describe(exc: ValidationError, source: Path | None, marks: dict[_Loc, tuple[int, int]]) -> str:
    errors = exc.errors()
    err = errors[0]
    loc = _clean_loc(err["loc"])
    if not loc and err["type"] == "value_error":
        # a whole-spec check names its key first ("compare.candidate ..."): point there
        named = tuple(str(err["msg"]).removeprefix("Value error, ").split(" ", 1)[0].split("."))
        if named in marks:
            loc = named
    where = _where(source, loc, marks)
    dotted = _dotted(loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else "?"
        parent = _dotted(loc[:-1]) or "top level"
        backend = next((str(x) for x in err["loc"] if x in _BACKENDS), None)
        allowed = _allowed_keys(loc[:-1], backend)
        hint = did_you_mean(key, allowed)
        listing = f" Allowed: {', '.join(allowed)}." if allowed else ""
        msg = f'{parent}: unknown key "{key}"{hint}.{listing}'
    elif kind == "missing":
        msg = f"{dotted}: required key is missing. Add it"
    elif kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        msg = (
            f"{dotted}.backend: unknown backend {ctx.get('tag', '')!r}. "
            f"Available: {ctx.get('expected_tags', '')}"
        )
    elif kind == "union_tag_not_found":
        msg = f"{dotted}: missing backend: key (available: {', '.join(_BACKENDS)})"
    else:
        text = err["msg"].removeprefix("Value error, ")
        received = err.get("input")
        shown = (
            "" if isinstance(received, dict | list) or received is None else f" (got {received!r})"
        )
        msg = (
            f"{text}{shown}"
            if text.startswith(dotted) and dotted
            else f"{dotted or 'spec'}: {text}{shown}"
        )
    more = (
        f" (+{len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
        if len(errors) > 1
        else ""
    )
    return f"{where}: {msg}{more}"


_BACKENDS = ("predictions", "python", "openai", "hf")


def _clean_loc(loc: tuple[int | str, ...]) -> _Loc:
    # pydantic puts the discriminator's tag ("predictions") into the location; drop it.
    return tuple(x for x in loc if x not in _BACKENDS)


def _dotted(loc: _Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _where(source: Path | None, loc: _Loc, marks: dict[_Loc, tuple[int, int]]) -> str:
    name = str(source) if source is not None else "spec"
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in marks:
            line, col = marks[loc[:cut]]
            return f"{name}:{line}:{col}"
    return name


def _allowed_keys(loc: _Loc, backend: str | None = None) -> list[str]:
    from heldout.spec._model import (
        CompareSpec,
        DatasetSpec,
        FewShotSpec,
        HFModelSpec,
        OpenAIModelSpec,
        PredictionsModelSpec,
        PriceSpec,
        PrivacySpec,
        PromptSpec,
        PythonModelSpec,
        SamplingSpec,
        StatsSpec,
        TaskSpec,
        TrainSpec,
    )

    by_parent: dict[str, type[Any]] = {
        "": EvalSpec,
        "dataset": DatasetSpec,
        "stats": StatsSpec,
        "compare": CompareSpec,
        "privacy": PrivacySpec,
        "task": TaskSpec,
        "prompt": PromptSpec,
        "few_shot": FewShotSpec,
        "sampling": SamplingSpec,
        "price": PriceSpec,
        "train": TrainSpec,
    }
    by_backend: dict[str | None, type[Any]] = {
        "python": PythonModelSpec,
        "openai": OpenAIModelSpec,
        "hf": HFModelSpec,
    }
    names = [p for p in loc if isinstance(p, str)]
    if not names:
        model: type[Any] = EvalSpec
    elif names[0] == "models" and len(names) == 2:
        model = by_backend.get(backend, PredictionsModelSpec)
    elif names[-1] in by_parent and names[-1] not in ("", "dataset", "task"):
        model = by_parent[names[-1]]
    elif names[0] == "tasks":
        model = DatasetSpec if names[-1] == "dataset" else TaskSpec
    else:
        model = by_parent.get(names[-1], EvalSpec)
    fields: dict[str, Any] = model.model_fields
    return [f for f in fields if not f.startswith("_")]


def _marks(node: yaml.Node | None) -> dict[_Loc, tuple[int, int]]:
    """Line and column (1-based) of every key and value in the YAML tree."""
    out: dict[_Loc, tuple[int, int]] = {}

    def walk(n: yaml.Node, loc: _Loc) -> None:
        out.setdefault(loc, (n.start_mark.line + 1, n.start_mark.column + 1))
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                key = k.value
                out[(*loc, key)] = (k.start_mark.line + 1, k.start_mark.column + 1)
                walk(v, (*loc, key))
                # point a value error at the value itself
                out[(*loc, key)] = (v.start_mark.line + 1, v.start_mark.column + 1)
                if isinstance(v, yaml.MappingNode | yaml.SequenceNode):
                    out[(*loc, key)] = (k.start_mark.line + 1, k.start_mark.column + 1)
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                walk(item, (*loc, i))

    if node is not None:
        walk(node, ())
    return out
