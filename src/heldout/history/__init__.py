"""Stored runs over time: compare two results, gate a run on a baseline, export a run.

:func:`compare` pairs two results on the examples they share and runs the tests a run
uses; :func:`gate` fails a run that got significantly worse than its baseline by more than
a tolerance; the ``export_*`` functions write a run as JSON, Parquet or an MLflow run.

>>> import heldout
>>> c = heldout.compare("3f9a2c", "latest:router")        # doctest: +SKIP
>>> c.metrics["macro_f1"].difference.verdict                         # doctest: +SKIP
'better'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from heldout._util._lazy import lazy_names

if TYPE_CHECKING:
    from heldout.history._compare import (
        Comparison,
        ExampleChange,
        MetricComparison,
        Side,
        compare,
        compare_runs,
    )
    from heldout.history._export import (
        ExportFormat,
        default_tracking_uri,
        export_json,
        export_mlflow,
        export_parquet,
        metrics_frame,
        mlflow_key,
        run_document,
    )
    from heldout.history._gate import GateCheck, GateResult, gate, gates_from_spec, parse_max_drop

__all__ = [
    "Comparison",
    "ExampleChange",
    "ExportFormat",
    "GateCheck",
    "GateResult",
    "MetricComparison",
    "Side",
    "compare",
    "compare_runs",
    "default_tracking_uri",
    "export_json",
    "export_mlflow",
    "export_parquet",
    "gate",
    "gates_from_spec",
    "metrics_frame",
    "mlflow_key",
    "parse_max_drop",
    "run_document",
]

__getattr__, __dir__ = lazy_names(__name__, __file__)
