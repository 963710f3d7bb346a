"""Read a rendered report back with the standard library's HTML parser."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    }
)


@dataclass
class Script:
    attrs: dict[str, str | None]
    text: str = ""


@dataclass
class Table:
    classes: tuple[str, ...]
    rows: list[list[str]] = field(default_factory=list)
    row_classes: list[tuple[str, ...]] = field(default_factory=list)

    def row(self, first_cell_prefix: str) -> list[str]:
        """The body row whose first cell starts with the text given."""
        for cells in self.rows[1:]:
            if cells and cells[0].startswith(first_cell_prefix):
                return cells
        raise AssertionError(
            f"no row starting {first_cell_prefix!r} in {[r[0] for r in self.rows]}"
        )


class Document(HTMLParser):
    """Tags, scripts, attributes, tables and visible text of a page; nesting errors."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.scripts: list[Script] = []
        self.attributes: list[tuple[str, str, str | None]] = []
        self.tags: list[str] = []
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.tables: list[Table] = []
        self.text_parts: list[str] = []
        self._table: Table | None = None
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self.feed(text)
        self.close()
        if self.stack:
            self.errors.append(f"unclosed at end: {self.stack}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.elements.append((tag, dict(attrs)))
        self.attributes.extend((tag, name, value) for name, value in attrs)
        values = dict(attrs)
        if tag == "script":
            self.scripts.append(Script(values))
        if tag == "table":
            self._table = Table(tuple((values.get("class") or "").split()))
            self.tables.append(self._table)
        if tag == "tr" and self._table is not None:
            self._row = []
            self._table.row_classes.append(tuple((values.get("class") or "").split()))
        if tag in ("td", "th") and self._row is not None:
            self._cell = []
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.errors.append(f"self-closed <{tag}/>")
        self.tags.append(tag)
        self.attributes.extend((tag, name, value) for name, value in attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            self.errors.append(f"end tag for void <{tag}>")
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        if tag == "tr" and self._row is not None and self._table is not None:
            self._table.rows.append(self._row)
            self._row = None
        if tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] == "script":
            self.scripts[-1].text += data
            return
        if self.stack and self.stack[-1] == "style":
            return
        self.text_parts.append(data)
        if self._cell is not None:
            self._cell.append(data)

    @property
    def text(self) -> str:
        """The visible text, whitespace collapsed."""
        return " ".join(" ".join(self.text_parts).split())

    def meta(self, http_equiv: str) -> list[str]:
        """The content of every ``<meta http-equiv=...>`` with that name."""
        return [
            attrs.get("content") or ""
            for tag, attrs in self.elements
            if tag == "meta" and (attrs.get("http-equiv") or "").lower() == http_equiv.lower()
        ]

    def tables_with(self, cls: str) -> list[Table]:
        return [t for t in self.tables if cls in t.classes]


def without_scripts(text: str) -> str:
    """The page with the bodies of its script elements removed."""
    return re.sub(r"(<script[^>]*>).*?(</script>)", r"\1\2", text, flags=re.DOTALL | re.IGNORECASE)
