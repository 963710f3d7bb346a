"""A stored run out of heldout: a JSON document, Parquet tables, or an MLflow run."""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from heldout._errors import HeldoutError
from heldout._util._json import json_ready
from heldout.run import Run

__all__ = [
    "ExportFormat",
    "default_tracking_uri",
    "export_json",
    "export_mlflow",
    "export_parquet",
    "metrics_frame",
    "mlflow_key",
    "run_document",
]

ExportFormat = Literal["json", "parquet", "mlflow"]

_MLFLOW_HINT = "pip install 'heldout[mlflow]'"
_KEY_CHARS = re.compile(r"[^/\w.\- :]")


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    # pandas' JSON writer turns numpy scalars, NaN (null) and nested lists into plain JSON
    records: list[dict[str, Any]] = json.loads(
        frame.to_json(orient="records", date_format="iso", default_handler=str)
    )
    return records


def run_document(run: Run) -> dict[str, Any]:
    """The run's JSON document (as ``heldout run --json``) plus ``examples`` per task."""
    document = run.to_dict()
    document["examples"] = {t.name: _records(t.examples) for t in run.tasks}
    out: dict[str, Any] = json_ready(document)
    return out


def _write(path: Path, what: str, write: Any) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(path)
    except OSError as exc:
        raise HeldoutError(
            f"{path}: cannot write {what} ({exc.strerror or exc}). Pass a path you can write "
            "to with -o"
        ) from exc
    return path


def export_json(run: Run, path: Path) -> Path:
    """Write :func:`run_document` to ``path``."""
    text = json.dumps(run_document(run), indent=2, allow_nan=False, ensure_ascii=False) + "\n"
    return _write(Path(path), "the JSON export", lambda p: p.write_text(text, encoding="utf-8"))


def metrics_frame(run: Run) -> pd.DataFrame:
    """Every estimate and paired difference of the run, one row each.

    Columns: ``task``, ``kind`` (``estimate`` or ``difference``), ``model`` (for a
    difference ``candidate-baseline``), ``metric``, ``value`` (the estimate, or the delta),
    ``ci_low``, ``ci_high``, ``n``, ``method`` (interval method or test), ``confidence``,
    ``p_value``, ``p_adjusted`` and ``verdict`` (differences only).
    """
    rows: list[dict[str, Any]] = []
    for task in run.tasks:
        for model, by_metric in task.metrics.items():
            for metric, e in by_metric.items():
                rows.append(
                    {
                        "task": task.name,
                        "kind": "estimate",
                        "model": model,
                        "metric": metric,
                        "value": e.value,
                        "ci_low": e.ci_low,
                        "ci_high": e.ci_high,
                        "n": e.n,
                        "method": e.method,
                        "confidence": e.confidence,
                        "p_value": math.nan,
                        "p_adjusted": math.nan,
                        "verdict": None,
                    }
                )
        for metric, d in task.comparisons.items():
            rows.append(
                {
                    "task": task.name,
                    "kind": "difference",
                    "model": f"{task.candidate}-{task.baseline}",
                    "metric": metric,
                    "value": d.delta,
                    "ci_low": d.ci_low,
                    "ci_high": d.ci_high,
                    "n": d.n,
                    "method": d.test,
                    "confidence": d.confidence,
                    "p_value": d.p_value,
                    "p_adjusted": math.nan if d.p_adjusted is None else d.p_adjusted,
                    "verdict": d.verdict,
                }
            )
    columns = ["task", "kind", "model", "metric", "value", "ci_low", "ci_high", "n", "method"]
    columns += ["confidence", "p_value", "p_adjusted", "verdict"]
    return pd.DataFrame(rows, columns=columns)


def _arrow_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns Arrow cannot type (mixed kinds, dicts) as JSON text per cell."""
    import pyarrow as pa

    out = frame.copy()
    for name in out.columns:
        if not pd.api.types.is_object_dtype(out[name].dtype):
            continue
        try:
            pa.array(out[name].to_numpy(dtype=object), from_pandas=True)
        except (pa.ArrowException, ValueError, TypeError, OverflowError):
            out[name] = [json.dumps(v, default=str) for v in out[name]]
    return out


def export_parquet(run: Run, path: Path) -> tuple[Path, Path]:
    """The examples of every task in one Parquet file (a ``task`` column first) at
    ``path``, and :func:`metrics_frame` beside it as ``<stem>.metrics.parquet``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    frames = [t.examples.assign(task=t.name) for t in run.tasks]
    examples = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    examples = examples[["task", *(c for c in examples.columns if c != "task")]]
    metrics_path = path.with_name(f"{path.stem}.metrics.parquet")
    meta = {b"heldout.run_id": run.id.encode(), b"heldout.name": run.name.encode()}

    def write(frame: pd.DataFrame, target: Path) -> None:
        table = pa.Table.from_pandas(_arrow_ready(frame), preserve_index=False)
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **meta})
        pq.write_table(table, target)

    _write(path, "the examples table", lambda p: write(examples, p))
    _write(metrics_path, "the metrics table", lambda p: write(metrics_frame(run), p))
    return path, metrics_path


def mlflow_key(*parts: str) -> str:
    """A metric or parameter key MLflow accepts: ``task.model.metric``, odd characters
    replaced by ``_``."""
    return ".".join(_KEY_CHARS.sub("_", p) for p in parts)


def _flat(prefix: str, value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _flat(f"{prefix}.{k}" if prefix else str(k), v)
    elif isinstance(value, list | tuple) and value and all(isinstance(v, Mapping) for v in value):
        for i, v in enumerate(value):
            name = v.get("name", i) if isinstance(v, Mapping) else i
            yield from _flat(f"{prefix}.{name}", v)
    else:
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        yield prefix, text


def _params(run: Run) -> dict[str, str]:
    """Spec settings, models and dataset hashes as MLflow parameters."""
    spec = dict(run.spec)
    params: dict[str, str] = {"heldout.run_id": run.id, "heldout.version": run.heldout_version}
    for key in ("stats", "compare", "models"):
        if spec.get(key) is not None:
            params.update(_flat(key, spec[key]))
    for task_spec in spec.get("tasks", ()):
        name = task_spec.get("name", "main")
        for key in ("type", "metrics", "labels", "headline", "positive_label"):
            if task_spec.get(key) is not None:
                params.update(_flat(f"tasks.{name}.{key}", task_spec[key]))
    for task in run.tasks:
        params[f"tasks.{task.name}.dataset_hash"] = task.dataset.hash
        params[f"tasks.{task.name}.n"] = str(task.dataset.n)
        params[f"tasks.{task.name}.models"] = ",".join(task.models)
    if run.git_commit:
        params["git_commit"] = run.git_commit
    return {mlflow_key(k): v[:6000] for k, v in params.items()}


def _metric_values(run: Run) -> dict[str, float]:
    out: dict[str, float] = {}
    for task in run.tasks:
        for model, by_metric in task.metrics.items():
            for metric, e in by_metric.items():
                key = mlflow_key(task.name, model, metric)
                for suffix, value in (
                    ("", e.value),
                    ("_ci_low", e.ci_low),
                    ("_ci_high", e.ci_high),
                ):
                    if math.isfinite(value):
                        out[key + suffix] = float(value)
        for metric, d in task.comparisons.items():
            key = mlflow_key(task.name, "delta", metric)
            for suffix, value in (("", d.delta), ("_ci_low", d.ci_low), ("_ci_high", d.ci_high)):
                if math.isfinite(value):
                    out[key + suffix] = float(value)
            if d.p_adjusted is not None and math.isfinite(d.p_adjusted):
                out[key + "_p_adjusted"] = float(d.p_adjusted)
    return out


def default_tracking_uri() -> str:
    """``MLFLOW_TRACKING_URI``, else a SQLite tracking store in a local ``mlruns`` folder.

    (MLflow 3 no longer accepts a bare folder of files as a tracking store.)
    """
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    folder = Path("mlruns").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'mlflow.db'}"


def _artifact_location(uri: str) -> str | None:
    """Artifacts beside a local SQLite tracking store, not in the working directory."""
    if uri.startswith("sqlite:///"):
        return (Path(uri.removeprefix("sqlite:///")).parent / "artifacts").resolve().as_uri()
    return None


def export_mlflow(
    run: Run,
    *,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    notes: Sequence[tuple[datetime, str]] = (),
) -> str:
    """Log the run as a new MLflow run; returns the MLflow run id.

    Parameters are the spec's settings, models and dataset hashes; metrics are
    ``<task>.<model>.<metric>`` with ``_ci_low``/``_ci_high`` (and ``<task>.delta.<metric>``
    for the paired difference); the HTML report is an artifact. The experiment is the
    run's name unless ``experiment`` is given.

    Raises:
        HeldoutError: MLflow is not installed, or the tracking server refused the run.
    """
    try:
        from mlflow.entities import Metric, Param, RunTag
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient
    except ImportError as exc:
        raise HeldoutError(f"exporting to MLflow needs MLflow: {_MLFLOW_HINT}") from exc
    from heldout.report import write_report

    uri = tracking_uri or default_tracking_uri()
    name = experiment or run.name
    with warnings.catch_warnings():
        # MLflow's own SQLAlchemy models warn of deprecations the user cannot act on
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            client = MlflowClient(tracking_uri=uri)
            found = client.get_experiment_by_name(name)
            experiment_id = (
                found.experiment_id
                if found
                else client.create_experiment(name, artifact_location=_artifact_location(uri))
            )
            created = client.create_run(
                experiment_id,
                run_name=f"{run.name}-{run.id[:8]}",
                tags={"heldout.run_id": run.id, "heldout.status": run.status},
                start_time=int(run.created_at.timestamp() * 1000),
            )
            run_id = created.info.run_id
            now = int(time.time() * 1000)
            params = [Param(k, v) for k, v in _params(run).items()]
            metrics = [Metric(k, v, now, 0) for k, v in _metric_values(run).items()]
            for start in range(0, max(len(params), len(metrics)), 100):
                client.log_batch(
                    run_id, metrics=metrics[start : start + 100], params=params[start : start + 100]
                )
            if run.user:
                client.log_batch(run_id, tags=[RunTag("heldout.user", run.user)])
            with tempfile.TemporaryDirectory() as folder:
                report = write_report(run, Path(folder) / "report.html", notes=notes)
                client.log_artifact(run_id, str(report))
            client.set_terminated(run_id, end_time=int(run.finished_at.timestamp() * 1000))
        except MlflowException as exc:
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise HeldoutError(f"MLflow at {uri} refused the export: {message}") from exc
    return str(run_id)
