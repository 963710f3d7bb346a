"""Render a :class:`~heldout.run.Run` as one self-contained HTML file.

The page must open from a file with no network. Plotly's bundled JavaScript is inlined once,
each figure travels as a JSON data block (``<script type="application/json">``, never
executed), and a Content-Security-Policy allows exactly two inline scripts, plotly's bundle
and the small script that draws the figures, by their SHA-256 hashes. Everything from the
run is escaped by Jinja2's autoescaping; the policy is the second wall behind it.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import jinja2
import plotly.offline
from markupsafe import Markup

from heldout._errors import HeldoutError
from heldout._version import __version__
from heldout.report._build import build_view
from heldout.run import Run

__all__ = ["render_report", "write_page", "write_report"]

_TEMPLATE = "report.html.j2"
#: What plotly needs besides its own script: inline styles it writes into the page, and
#: ``data:``/``blob:`` images (heatmaps are drawn as images; the PNG download uses both).
_POLICY = (
    "default-src 'none'; script-src {scripts}; style-src 'unsafe-inline'; "
    "img-src data: blob:; base-uri 'none'; form-action 'none'"
)


@dataclass(frozen=True)
class _InlineScript:
    """A script's text, safe inside ``<script>``, and its CSP source expression."""

    source: Markup
    policy_hash: str


def render_report(run: Run, *, notes: Sequence[tuple[datetime, str]] = ()) -> str:
    """The report of a run as one HTML document that opens offline.

    Args:
        run: the evaluation to show; every number on the page comes from it.
        notes: the decision log, ``(when, text)`` pairs, shown oldest first.

    Returns:
        The whole document, about 5 MB of which plotly's JavaScript is most.

    Example:
        >>> html = render_report(run, notes=[(datetime.now(UTC), "ship tuned")])  # doctest: +SKIP
    """
    view = build_view(run, notes)
    plotly_js = _plotly_script()
    report_js = _report_script()
    scripts = " ".join(f"'{s.policy_hash}'" for s in (plotly_js, report_js))
    template = _environment().get_template(_TEMPLATE)
    return template.render(
        report=view,
        csp=_POLICY.format(scripts=scripts),
        css=Markup(_resource("report.css")),
        plotly_js=plotly_js.source,
        report_js=report_js.source,
        version=__version__,
    )


def write_report(run: Run, path: Path, *, notes: Sequence[tuple[datetime, str]] = ()) -> Path:
    """Write the report of a run to ``path``, creating its folder; returns the path.

    The file is written beside its destination and moved into place, so a reader never
    sees half a report.

    Raises:
        HeldoutError: the file cannot be written.
    """
    return write_page(
        Path(path),
        render_report(run, notes=notes),
        failure="cannot write the report",
        example="-o report.html",
    )


def write_page(path: Path, text: str, *, failure: str, example: str) -> Path:
    """Write an HTML page beside ``path`` and move it into place; returns ``path``.

    Args:
        path: the page's file; its folder is created.
        text: the page.
        failure: the start of the error, e.g. ``cannot write the report``.
        example: a writable path option for the error's hint, e.g. ``-o report.html``.

    Raises:
        HeldoutError: the file cannot be written; nothing is left beside it.
    """
    partial = path.with_name(f".{path.name}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise HeldoutError(
            f"{failure} to {path}: {error.strerror or error}. "
            f"Choose a writable file path, e.g. {example}"
        ) from error
    return path


_LOADER = jinja2.PackageLoader("heldout.report", "templates")


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=_LOADER,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _resource(name: str) -> str:
    source, _, _ = _LOADER.get_source(_environment(), name)
    return source


@functools.cache
def _plotly_script() -> _InlineScript:
    return _inline_script(plotly.offline.get_plotlyjs())


@functools.cache
def _report_script() -> _InlineScript:
    return _inline_script(_resource("report.js"))


def _inline_script(text: str) -> _InlineScript:
    # Inside <script> only "</script" and "<!--" change how HTML reads the text; in JS
    # strings and regular expressions "<\/" and "<\!--" mean the same characters.
    safe = re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE).replace("<!--", "<\\!--")
    # Browsers hash the text as parsed, and HTML parsing turns CR LF into LF.
    safe = safe.replace("\r\n", "\n").replace("\r", "\n")
    digest = base64.b64encode(hashlib.sha256(safe.encode("utf-8")).digest()).decode("ascii")
    return _InlineScript(source=Markup(safe), policy_hash=f"sha256-{digest}")
