"""The HTML report of a run: one self-contained file that opens offline.

>>> from heldout.report import write_report
>>> write_report(run, Path("report.html"), notes=run_notes)  # doctest: +SKIP

The page shows, per task, a one-sentence verdict, the comparison table (estimates with
intervals, the paired difference, p-values before and after correction, the test and the
verdict), figures (metrics, differences, confusion matrices, slices), the minimum detectable
effect, examples the candidate fixed or broke, and the run's decision log. It reads the
:class:`~heldout.run.Run` and computes no statistic of its own. ``write_drift_report`` writes
the page of ``heldout monitor --html`` from a drift report and the two tables compared.
"""

from heldout.report._drift_report import render_drift_report, write_drift_report
from heldout.report._html import render_report, write_report

__all__ = ["render_drift_report", "render_report", "write_drift_report", "write_report"]
