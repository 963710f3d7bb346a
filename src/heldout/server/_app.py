"""The FastAPI app: server-rendered pages, JSON under ``/api``, static files."""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any

import jinja2
import numpy as np
import pandas as pd
from fastapi import Depends, FastAPI, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from heldout._errors import HeldoutError, StoreError
from heldout._util._format import fmt_datetime
from heldout._version import __version__
from heldout.report._build import build_view
from heldout.report._examples import build_examples
from heldout.report._plot import FigureView
from heldout.report._view import ReportView
from heldout.run import TaskResult
from heldout.server._data import CachedRun, RunCache
from heldout.server._examples import ExamplePage, ExampleQuery, query_examples
from heldout.server._figures import (
    HistoryPoint,
    ThresholdData,
    history_figure,
    reliability_figure,
    threshold_data,
)
from heldout.server._security import FormSigner, security_middleware
from heldout.server._views import SORT_KEYS, CompareView, compare_view, list_rows, sort_rows
from heldout.store import Note, Store

__all__ = ["create_app"]

#: Most runs the runs page and the history page read.
MAX_RUNS = 1_000
_STATIC = Path(str(files("heldout.server") / "static"))


@dataclass(frozen=True)
class TaskExtras:
    """What the dashboard adds to the report's view of a task."""

    name: str
    anchor: str
    reliability: FigureView | None
    thresholds: tuple[ThresholdData, ...]


@dataclass(frozen=True)
class RunPage:
    """Everything the run page draws, built once per run and cached."""

    report: ReportView
    extras: tuple[TaskExtras, ...]


class Dashboard:
    """The app's state: the store, the cache of decoded runs, the form signer."""

    def __init__(self, store: Store, token: str | None) -> None:
        self.store = store
        self.token = token
        self.runs = RunCache(store)
        self.signer = FormSigner()
        self.templates = _environment()

    def page(
        self, template_name: str, request: Request, status: int = 200, **context: Any
    ) -> HTMLResponse:
        template = self.templates.get_template(template_name)
        html = template.render(
            request=request, version=__version__, store=self.store.url, **context
        )
        return HTMLResponse(html, status_code=status)


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [
                jinja2.PackageLoader("heldout.server", "templates"),
                jinja2.PackageLoader("heldout.report", "templates"),
            ]
        ),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def create_app(store_url: str | None = None, token: str | None = None) -> FastAPI:
    """The dashboard over the store at ``store_url``.

    Args:
        store_url: the store's SQLAlchemy URL; ``None`` is the default store.
        token: when given, every request must carry it (``Authorization: Bearer TOKEN``,
            or a first visit with ``?token=TOKEN`` that sets a cookie).

    Raises:
        StoreError: there is no store at ``store_url``.

    Example:
        >>> import uvicorn                                          # doctest: +SKIP
        >>> uvicorn.run(create_app("sqlite:///.heldout/heldout.db"), port=8765)
    """
    if token is not None and not token.strip():
        raise HeldoutError("the dashboard token is empty; pass a non-empty --token")
    store = Store.open(store_url, create=False)
    dash = Dashboard(store, token)
    app = FastAPI(
        title="heldout dashboard",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.dashboard = dash
    app.middleware("http")(security_middleware(token))
    app.mount("/static", StaticFiles(directory=_STATIC), name="static")
    _errors(app, dash)
    _pages(app, dash)
    _api(app, dash)
    app.router.on_shutdown.append(store.close)
    _load_code(dash)
    return app


def _load_code(dash: Dashboard) -> None:
    """Compile the page templates and load the figure code, as a server loads its code at
    start-up, so a first request does not pay for it. No run is read here."""
    from heldout.report._figure import Figure
    from heldout.report._plot import to_view

    for name in dash.templates.list_templates(filter_func=lambda n: n.endswith(".html.j2")):
        dash.templates.get_template(name)
    to_view(Figure(), id="load", title="", caption="")


# --- errors ---------------------------------------------------------------------------


def _errors(app: FastAPI, dash: Dashboard) -> None:
    @app.exception_handler(HeldoutError)
    async def user_error(request: Request, exc: HeldoutError) -> Response:
        status = 404 if isinstance(exc, StoreError) else 400
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": str(exc)}, status_code=status)
        return dash.page("error.html.j2", request, status=status, message=str(exc))


# --- static resources that live in other packages -------------------------------------


def _plotly_path() -> Path:
    return Path(str(files("plotly") / "package_data" / "plotly.min.js"))


# --- pages ----------------------------------------------------------------------------


def _pages(app: FastAPI, dash: Dashboard) -> None:
    @app.get("/static-lib/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(_plotly_path(), media_type="text/javascript")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> RedirectResponse:
        return RedirectResponse("/static/favicon.svg", status_code=308)

    @app.get("/static-lib/report.css", include_in_schema=False)
    def report_css() -> Response:
        loader = jinja2.PackageLoader("heldout.report", "templates")
        source, _, _ = loader.get_source(_environment(), "report.css")
        return Response(source, media_type="text/css")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def runs_page(
        request: Request,
        name: str = "",
        sort: str = "created",
        order: str = "desc",
        limit: Annotated[int, Query(ge=1, le=MAX_RUNS)] = 200,
    ) -> HTMLResponse:
        rows, names = _run_rows(dash, name, sort, order, limit)
        return dash.page(
            "runs.html.j2",
            request,
            rows=rows,
            names=names,
            name=name,
            sort=sort,
            order=order,
            sort_keys=SORT_KEYS,
        )

    @app.get("/runs/{ref}", response_class=HTMLResponse, include_in_schema=False)
    def run_page(request: Request, ref: str) -> HTMLResponse:
        cached = dash.runs.get(ref)
        notes = dash.store.notes(cached.run.id)
        view = _run_page(cached, notes)
        return dash.page(
            "run.html.j2",
            request,
            run=cached.run,
            report=view.report,
            extras=view.extras,
            notes=notes,
            fmt_datetime=fmt_datetime,
            form_token=dash.signer.issue(f"note:{cached.run.id}"),
            thresholds_json=_threshold_json(view.extras),
        )

    @app.post("/runs/{ref}/notes", include_in_schema=False)
    def add_note(
        ref: str,
        text: Annotated[str, Form()],
        form_token: Annotated[str, Form()],
        author: Annotated[str, Form()] = "",
    ) -> Response:
        run_id = dash.store.resolve(ref)
        if not text.strip():
            raise HeldoutError("a note needs some text: what was decided, and why")
        if not dash.signer.check(f"note:{run_id}", form_token):
            return Response(
                "403: the form has expired or did not come from this dashboard; reload the "
                "run page and send the note again",
                status_code=403,
                media_type="text/plain",
            )
        dash.store.add_note(run_id, text, author=author.strip() or None)
        return RedirectResponse(f"/runs/{run_id}#notes", status_code=303)

    @app.get("/runs/{ref}/examples", response_class=HTMLResponse, include_in_schema=False)
    def examples_page(
        request: Request,
        ref: str,
        query: Annotated[ExampleQuery, _QueryDepends],
    ) -> HTMLResponse:
        cached = dash.runs.get(ref)
        page = query_examples(cached, query)
        return dash.page(
            "examples.html.j2",
            request,
            run=cached.run,
            page=page,
            query=query,
            link=functools.partial(_link, f"/runs/{cached.run.id}/examples", query),
        )

    @app.get("/history/{name}", response_class=HTMLResponse, include_in_schema=False)
    def history_page(request: Request, name: str) -> HTMLResponse:
        metric, points, runs = _history(dash, name)
        figure = history_figure(metric, points) if points else None
        return dash.page(
            "history.html.j2", request, name=name, metric=metric, figure=figure, runs=runs
        )

    @app.get("/compare", response_class=HTMLResponse, include_in_schema=False)
    def compare_page(
        request: Request,
        a: str = "",
        b: str = "",
        run: str = "",
        model: str = "",
        task: str = "",
    ) -> HTMLResponse:
        if not (a and b):
            return dash.page("compare.html.j2", request, view=None, a=a, b=b, run=run)
        view = _comparison(dash, a=a, b=b, run=run, model=model, task=task)
        return dash.page("compare.html.j2", request, view=view, a=a, b=b, run=run)


class _QueryParams:
    """Reads an :class:`ExampleQuery` from the query string (lists repeat their key)."""

    def __call__(
        self,
        task: str = "",
        slice: Annotated[list[str] | None, Query()] = None,
        right: Annotated[list[str] | None, Query()] = None,
        wrong: Annotated[list[str] | None, Query()] = None,
        correct: Annotated[list[str] | None, Query()] = None,
        change: str = "",
        errors: bool = False,
        score: str = "",
        low: str = "",
        high: str = "",
        q: str = "",
        page: Annotated[int, Query(ge=1)] = 1,
        per_page: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> ExampleQuery:
        # The page's form sends "MODEL=1" / "MODEL=0" as correct=; links use right=/wrong=.
        pairs = [v.rpartition("=") for v in correct or () if v]
        return ExampleQuery(
            task=task or None,
            slices=tuple(v for v in slice or () if v),
            right=(*(v for v in right or () if v), *(m for m, _, f in pairs if f == "1")),
            wrong=(*(v for v in wrong or () if v), *(m for m, _, f in pairs if f != "1")),
            change=change,
            errors=errors,
            score=score,
            low=_bound("low", low),
            high=_bound("high", high),
            q=q,
            page=page,
            per_page=per_page,
        )


_QueryDepends = Depends(_QueryParams())


def _bound(name: str, text: str) -> float | None:
    """A score bound of the examples query: the page's form sends an empty field when the
    bound is not set, which means no bound."""
    given = text.strip()
    if not given:
        return None
    try:
        value = float(given)
    except ValueError:
        value = math.nan
    if math.isnan(value):
        raise HeldoutError(
            f'the score bound {name}= must be a number, got "{given}"; leave it empty for no bound'
        )
    return value


def _link(base: str, query: ExampleQuery, **changes: object) -> str:
    from urllib.parse import urlencode

    pairs = query.params(**changes)
    return f"{base}?{urlencode(pairs)}" if pairs else base


def _run_rows(
    dash: Dashboard, name: str, sort: str, order: str, limit: int
) -> tuple[list[Any], list[str]]:
    if order not in ("asc", "desc"):
        raise HeldoutError(f'order must be "asc" or "desc", got "{order}"')
    everything = dash.store.list_runs(limit=MAX_RUNS)
    names = sorted({s.name for s in everything})
    chosen = [s for s in everything if not name or s.name == name][:limit]
    return sort_rows(list_rows(chosen), sort, order == "desc"), names


def _run_page(cached: CachedRun, notes: Sequence[Note]) -> RunPage:
    def build() -> tuple[ReportView, tuple[TaskExtras, ...]]:
        # The report and the threshold curves read only the example columns they use.
        run = dataclasses.replace(
            cached.run, tasks=tuple(_page_task(cached, task) for task in cached.run.tasks)
        )
        report = build_view(run, ())
        extras = tuple(
            TaskExtras(
                name=task.name,
                anchor=view.anchor,
                reliability=reliability_figure(task, view.anchor),
                thresholds=_thresholds(cached, task),
            )
            for task, view in zip(run.tasks, report.tasks, strict=True)
        )
        return report, extras

    report, extras = cached.derived(("run-page",), build)
    return RunPage(report=report, extras=extras)


def _thresholds(cached: CachedRun, task: TaskResult) -> tuple[ThresholdData, ...]:
    """The threshold slider's curves of ``task``: stored ones, or computed once from the
    target, prediction and confidence columns alone."""

    def build() -> tuple[ThresholdData, ...]:
        return threshold_data(task, cached.run.spec, read=cached.parts(task).frame)

    found: tuple[ThresholdData, ...] = cached.derived(("thresholds", task.name), build)
    return found


def _page_task(cached: CachedRun, task: TaskResult) -> TaskResult:
    """``task`` with the example data its report reads: the compared models' per-example
    numbers, and the text (id, input, target, predictions) of the rows its fixed/broken
    tables show; other rows' text is never read."""
    compared = {task.candidate, task.baseline} - {None}
    if not compared:
        return task  # no fixed/broken tables: the report reads no example
    parts = cached.parts(task)
    numbers = [
        str(column)
        for column, dtype in task.examples.dtypes.items()
        if str(column).rpartition(":")[2] in compared and pd.api.types.is_numeric_dtype(dtype)
    ]
    correct = [f"correct:{m}" for m in compared]
    if len(compared) == 2 and all(c in numbers for c in correct):
        numbers = correct  # the tables are chosen on right/wrong alone: read nothing else
    wanted = {"id", "input", "target", *(f"pred:{m}" for m in compared)}
    text = [str(c) for c in task.examples.columns if c in wanted and c not in numbers]
    frame = parts.frame(numbers)
    # The tables choose their rows from the numbers alone; a first pass with each row's
    # position as its id says which rows they show, and only those rows' text is read.
    probe = frame.assign(id=np.arange(len(frame), dtype=np.int64))
    view = build_examples(dataclasses.replace(task, examples=probe))
    shown = sorted({int(row[0]) for table in (view.tables if view else ()) for row in table.rows})
    rows = parts.take(shown, text)
    for column in text:
        cells = np.full(len(frame), None, dtype=object)
        cells[shown] = rows[column].to_numpy(dtype=object)
        frame[column] = pd.Series(cells, index=frame.index, dtype=object)
    return dataclasses.replace(task, examples=frame[[c for c in parts.columns if c in frame]])


def _threshold_json(extras: Sequence[TaskExtras]) -> dict[str, Any]:
    document: dict[str, Any] = _finite(
        {e.anchor: [t.to_dict() for t in e.thresholds] for e in extras if e.thresholds}
    )
    return document


def _history(dash: Dashboard, name: str) -> tuple[str, list[HistoryPoint], list[Any]]:
    summaries = dash.store.list_runs(name=name, limit=MAX_RUNS)
    if not summaries:
        raise StoreError(f'no run named "{name}" in {dash.store.url}; list runs at /')
    metric = summaries[0].tasks[0].headline if summaries[0].tasks else ""
    points = []
    for summary in summaries:
        if not summary.tasks or summary.tasks[0].headline != metric:
            continue
        notes = tuple(n.text for n in dash.store.notes(summary.id))
        for model, est in summary.tasks[0].estimates.items():
            if not math.isfinite(est.value):
                continue
            points.append(
                HistoryPoint(
                    run_id=summary.id,
                    when=summary.created_at,
                    model=model,
                    value=est.value,
                    low=est.ci_low if math.isfinite(est.ci_low) else est.value,
                    high=est.ci_high if math.isfinite(est.ci_high) else est.value,
                    method=est.method,
                    notes=notes,
                )
            )
    return metric, points, list_rows(summaries)


def _comparison(dash: Dashboard, *, a: str, b: str, run: str, model: str, task: str) -> CompareView:
    """B against A: models ``a`` and ``b`` of ``run``, or model ``model`` in runs ``a`` and
    ``b``; computed once by :func:`heldout.history.compare_runs` and kept with run B."""
    from heldout.history import compare_runs

    model_a: str | None
    model_b: str | None
    if run:
        first = second = dash.runs.get(run)
        model_a, model_b = a, b
    else:
        first, second = dash.runs.get(a), dash.runs.get(b)
        model_a = model_b = model or None
    key = ("compare", first.run.id, task, model_a or "", model_b or "")

    def build() -> CompareView:
        found = compare_runs(
            first.full_run(),
            second.full_run(),
            task=task or None,
            model_a=model_a,
            model_b=model_b,
        )
        return compare_view(found)

    view: CompareView = second.derived(key, build)
    return view


# --- JSON API -------------------------------------------------------------------------


def _api(app: FastAPI, dash: Dashboard) -> None:
    @app.get("/api/runs")
    def api_runs(
        name: str = "",
        sort: str = "created",
        order: str = "desc",
        limit: Annotated[int, Query(ge=1, le=MAX_RUNS)] = 200,
    ) -> JSONResponse:
        """Stored runs with their headline estimate, filtered by name and sorted."""
        rows, _ = _run_rows(dash, name, sort, order, limit)
        return _json({"runs": [r.to_dict() for r in rows]})

    @app.get("/api/runs/{ref}")
    def api_run(ref: str) -> JSONResponse:
        """A run's documented JSON document (``heldout run --json``) and its notes."""
        cached = dash.runs.get(ref)
        document = cached.run.to_dict()
        document["notes"] = [_note(n) for n in dash.store.notes(cached.run.id)]
        return _json(document)

    @app.get("/api/runs/{ref}/examples")
    def api_examples(ref: str, query: Annotated[ExampleQuery, _QueryDepends]) -> JSONResponse:
        """One page of a task's examples, filtered (same parameters as the page)."""
        page: ExamplePage = query_examples(dash.runs.get(ref), query)
        return _json(page.to_dict())

    @app.get("/api/runs/{ref}/thresholds")
    def api_thresholds(ref: str) -> JSONResponse:
        """ROC and PR points per binary task and model, as the threshold slider uses them."""
        cached = dash.runs.get(ref)
        found = {task.name: _thresholds(cached, task) for task in cached.run.tasks}
        return _json({name: [t.to_dict() for t in found[name]] for name in found if found[name]})

    @app.get("/api/runs/{ref}/notes")
    def api_notes(ref: str) -> JSONResponse:
        """The run's decision log, oldest first."""
        return _json({"notes": [_note(n) for n in dash.store.notes(ref)]})

    @app.get("/api/history/{name}")
    def api_history(name: str) -> JSONResponse:
        """The headline estimate of every run of ``name``, per model, with notes."""
        metric, points, _ = _history(dash, name)
        return _json(
            {
                "metric": metric,
                "points": [
                    {
                        "run_id": p.run_id,
                        "created_at": p.when.isoformat(),
                        "model": p.model,
                        "value": p.value,
                        "ci_low": p.low,
                        "ci_high": p.high,
                        "method": p.method,
                        "notes": list(p.notes),
                    }
                    for p in points
                ],
            }
        )

    @app.get("/api/compare")
    def api_compare(a: str, b: str, run: str = "", model: str = "", task: str = "") -> JSONResponse:
        """B against A: two models of one run (``run=``), or one model in two runs."""
        view = _comparison(dash, a=a, b=b, run=run, model=model, task=task)
        return _json(view.to_dict())


def _note(note: Note) -> dict[str, Any]:
    return {
        "id": note.id,
        "created_at": note.created_at.isoformat(),
        "author": note.author,
        "text": note.text,
    }


def _json(document: Any) -> JSONResponse:
    return JSONResponse(_finite(document))


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
