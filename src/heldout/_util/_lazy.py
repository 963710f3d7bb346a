"""Packages whose names are imported on first use (PEP 562).

A package ``__init__`` lists its public names as usual, inside ``if TYPE_CHECKING:`` (so
type checkers and readers see every name and where it comes from), and ends with::

    __getattr__, __dir__ = lazy_names(__name__, __file__)

which reads those imports from the file itself: ``from heldout.data import check_data``
then imports ``heldout.data._checks`` alone instead of every module of the package (and
their pandas, SciPy, phonenumbers...). A command that never touches a module never pays
for it.
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(
    package: str, init_file: str
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, from the names its ``__init__``
    imports under ``if TYPE_CHECKING:`` (``from MODULE import NAME`` statements)."""
    where = _type_checking_imports(_source(package, init_file), init_file)

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # later lookups skip this hook
        return value

    def __dir__() -> list[str]:
        # the exports and the package's own private names, not this file's helpers
        own = {n for n in vars(sys.modules[package]) if n.startswith("_")}
        return sorted(own | set(where))

    return __getattr__, __dir__


def _source(package: str, init_file: str) -> str:
    """The package ``__init__``'s source, from its loader (zip archives included)."""
    spec = getattr(sys.modules.get(package), "__spec__", None)
    loader = getattr(spec, "loader", None)
    get_source = getattr(loader, "get_source", None)
    text = get_source(package) if get_source is not None else None
    if text is None:
        try:
            text = Path(init_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise ImportError(
                f"{package}: its names are read from {init_file}, which cannot be read "
                f"({exc.strerror}); install heldout with its .py sources"
            ) from exc
    return str(text)


def _type_checking_imports(source: str, path: str) -> dict[str, str]:
    tree = ast.parse(source, filename=path)
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom) and statement.module:
                    for alias in statement.names:
                        found[alias.asname or alias.name] = statement.module
    if not found:
        raise ImportError(f"{path}: no `from MODULE import NAME` under `if TYPE_CHECKING:`")
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )
