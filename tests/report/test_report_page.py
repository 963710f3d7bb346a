"""The page as a file: written whole, offline, escaped, and running only its own scripts."""

from __future__ import annotations

import base64
import hashlib
import importlib.resources
import json
import re
import tomllib
from pathlib import Path

import plotly.offline
import pytest

import heldout.report
from heldout import HeldoutError
from heldout.report import write_report
from heldout.run import Run
from tests.report.report_html_checks import Document, without_scripts

NETWORK_URL = re.compile(
    r"""\b(?:src|href|action|srcset|poster|data)\s*=\s*["']?\s*(?:https?:)?//""", re.I
)
REPO = Path(__file__).resolve().parents[2]


def network_references(page: str) -> list[str]:
    """``src=``/``href=`` (and kin) pointing at a network address, outside script bodies."""
    found = NETWORK_URL.findall(without_scripts(page))
    for tag, name, value in Document(page).attributes:
        linked = name in {"src", "href", "action", "srcset", "poster", "data"} and value
        if linked and re.match(r"\s*(?:https?:)?//", value, re.I):
            found.append(f"<{tag} {name}={value}>")
    return found


def executable_scripts(doc: Document) -> list[str]:
    return [s.text for s in doc.scripts if s.attrs.get("type") in (None, "", "text/javascript")]


def test_public_surface_is_the_run_and_drift_pages() -> None:
    assert heldout.report.__all__ == [
        "render_drift_report",
        "render_report",
        "write_drift_report",
        "write_report",
    ]
    for name in heldout.report.__all__:
        assert callable(getattr(heldout.report, name))


def test_write_report_writes_the_page_and_returns_its_path(tmp_path: Path, demo_run: Run) -> None:
    target = tmp_path / "reports" / "ticket-router.html"
    written = write_report(demo_run, target)
    assert written == target
    text = target.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert text.rstrip().endswith("</html>")
    assert sorted(p.name for p in target.parent.iterdir()) == ["ticket-router.html"]


def test_write_report_names_the_path_it_cannot_write(tmp_path: Path, demo_run: Run) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be", encoding="utf-8")
    with pytest.raises(HeldoutError, match="not-a-folder"):
        write_report(demo_run, blocker / "report.html")


def test_plotly_javascript_is_inlined_exactly_once(demo_html: str) -> None:
    bundle = plotly.offline.get_plotlyjs()
    assert demo_html.count(bundle) == 1
    banner = bundle.lstrip()[:40]
    assert demo_html.count(banner) == 1


def test_page_references_nothing_on_the_network(demo_html: str, demo_doc: Document) -> None:
    assert network_references(demo_html) == []
    assert not {"link", "img", "iframe", "object", "embed", "base"} & set(demo_doc.tags)
    assert "@import" not in without_scripts(demo_html)


def test_network_check_catches_a_remote_reference() -> None:
    page = '<html><body><img src="https://cdn.example.com/x.png"><a href=//evil.test>x</a></body></html>'
    assert len(network_references(page)) == 4


def test_policy_allows_exactly_the_page_scripts(demo_doc: Document) -> None:
    policies = demo_doc.meta("Content-Security-Policy")
    assert len(policies) == 1
    directives = dict(
        (part.split()[0], part.split()[1:]) for part in policies[0].split(";") if part.strip()
    )
    assert directives["default-src"] == ["'none'"]
    scripts = executable_scripts(demo_doc)
    assert len(scripts) == 2
    allowed = {
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode("utf-8")).digest()).decode() + "'"
        for s in scripts
    }
    assert set(directives["script-src"]) == allowed
    assert "'unsafe-inline'" not in directives["script-src"]
    assert not any("http" in source for sources in directives.values() for source in sources)


def test_figures_travel_as_inert_json_data_blocks(demo_doc: Document) -> None:
    targets = [value for _, name, value in demo_doc.attributes if name == "data-figure"]
    blocks = {
        s.attrs["id"]: s.text for s in demo_doc.scripts if s.attrs.get("type") == "application/json"
    }
    assert (
        len(targets) == 6
    )  # route: metrics, deltas, confusion, slices; summarise: metrics, deltas
    assert sorted(targets) == sorted(blocks)
    for text in blocks.values():
        figure = json.loads(text)
        assert figure["data"]
        assert "layout" in figure


def test_untrusted_text_is_escaped_everywhere(hostile_html: str) -> None:
    doc = Document(hostile_html)
    assert "<script>alert(1)" not in hostile_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hostile_html
    assert "<b>tuned</b>" not in hostile_html
    assert "&lt;b&gt;tuned&lt;/b&gt;" in hostile_html
    assert "<b>urgent</b>" not in hostile_html
    assert "<img" not in hostile_html
    # Shown to the reader as the literal text it was.
    assert "<script>alert(1)</script>" in doc.text
    assert "<b>tuned</b> is better than base" in doc.text
    assert not {"b", "img"} & set(doc.tags)
    assert len(executable_scripts(doc)) == 2
    assert all(s.attrs.get("type") in (None, "application/json") for s in doc.scripts)


@pytest.mark.parametrize("page", ["demo_html", "hostile_html", "single_html"])
def test_page_is_well_formed(page: str, request: pytest.FixtureRequest) -> None:
    doc = Document(request.getfixturevalue(page))
    assert doc.errors == []
    assert doc.tags[:3] == ["html", "head", "meta"]


def test_templates_ship_with_the_package() -> None:
    templates = importlib.resources.files("heldout.report").joinpath("templates")
    names = {entry.name for entry in templates.iterdir()}
    assert {"report.html.j2", "task.html.j2", "macros.html.j2", "report.css", "report.js"} <= names
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "report/templates/*" in project["tool"]["setuptools"]["package-data"]["heldout"]
