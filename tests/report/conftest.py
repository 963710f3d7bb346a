"""Fixtures of the report tests: runs, rendered pages and their parsed documents."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from heldout.report import render_report
from heldout.run import Run
from tests.report.report_fixtures import (
    CREATED,
    HOSTILE_INPUT,
    classification_task,
    generation_task,
    make_run,
    single_model_task,
)
from tests.report.report_html_checks import Document


@pytest.fixture(scope="session")
def demo_run() -> Run:
    """Two tasks, one candidate, one baseline: the report's usual input."""
    return make_run((classification_task(), generation_task()))


@pytest.fixture(scope="session")
def demo_notes() -> list[tuple[datetime, str]]:
    return [
        (CREATED + timedelta(days=1), "Shipped tuned behind a flag; recall:billing watched."),
        (CREATED + timedelta(hours=2), "Lowered LR to 1e-5 after step 600 diverged."),
    ]


@pytest.fixture(scope="session")
def demo_html(demo_run: Run, demo_notes: list[tuple[datetime, str]]) -> str:
    return render_report(demo_run, notes=demo_notes)


@pytest.fixture(scope="session")
def demo_doc(demo_html: str) -> Document:
    return Document(demo_html)


@pytest.fixture(scope="session")
def hostile_run() -> Run:
    """Model, label, run name, and inputs written by someone hoping for markup."""
    candidate = "<b>tuned</b>"
    return make_run(
        (
            classification_task(candidate=candidate, label="<b>urgent</b>"),
            generation_task(candidate=candidate),
        ),
        name='<img src=x onerror="alert(2)">',
    )


@pytest.fixture(scope="session")
def hostile_html(hostile_run: Run) -> str:
    return render_report(hostile_run, notes=[(CREATED, HOSTILE_INPUT)])


@pytest.fixture(scope="session")
def single_run() -> Run:
    return make_run((single_model_task(),), name="baseline-only")


@pytest.fixture(scope="session")
def single_html(single_run: Run) -> str:
    return render_report(single_run)
