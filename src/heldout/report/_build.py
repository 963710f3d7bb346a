"""Build the :class:`ReportView` of a run: run facts, settings, tasks and notes."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from heldout._util._format import fmt_datetime, fmt_duration, fmt_percent
from heldout.report._task import task_view
from heldout.report._view import Fact, NoteView, ReportView
from heldout.run import Run

__all__ = ["build_view"]

_CORRECTIONS = {"holm": "Holm", "bonferroni": "Bonferroni", "fdr_bh": "BH", "none": "unadjusted"}
_STAT_LABELS = {
    "confidence": "confidence level",
    "resamples": "bootstrap resamples",
    "n_resamples": "bootstrap resamples",
    "seed": "seed",
    "ci_method": "bootstrap interval",
    "correction": "multiple-comparison correction",
    "power": "power for the MDE",
    "min_slice_size": "minimum slice size",
}


def build_view(run: Run, notes: Sequence[tuple[datetime, str]]) -> ReportView:
    """Lay out a run (and its decision log) as the report shows it."""
    correction = _correction_label(run.stats)
    status = None
    if run.status != "finished":
        status = f'This run\'s status is "{run.status}": its results may be incomplete.'
    return ReportView(
        title=run.name,
        run_id=run.id,
        facts=_run_facts(run),
        settings=tuple(_setting(k, v) for k, v in run.stats.items()),
        status_warning=status,
        tasks=tuple(
            task_view(task, index, correction, run.stats) for index, task in enumerate(run.tasks)
        ),
        notes=tuple(
            NoteView(time=fmt_datetime(when), iso=when.isoformat(), text=text)
            for when, text in sorted(notes, key=lambda note: note[0].timestamp())
        ),
        spec_json=json.dumps(dict(run.spec), indent=2, sort_keys=False, default=str),
    )


def _run_facts(run: Run) -> tuple[Fact, ...]:
    facts = [
        Fact("run id", run.id),
        Fact("created", fmt_datetime(run.created_at)),
        Fact("duration", fmt_duration(run.finished_at - run.created_at)),
        Fact("status", run.status),
        Fact("heldout version", run.heldout_version or "unknown"),
        Fact("git commit", run.git_commit or "not recorded"),
        Fact("spec hash", run.spec_hash),
    ]
    if run.user or run.host:
        facts.append(Fact("by", "@".join(p for p in (run.user, run.host) if p)))
    return tuple(facts)


def _setting(key: str, value: Any) -> Fact:
    label = _STAT_LABELS.get(key, key.replace("_", " "))
    if key in {"confidence", "power"} and isinstance(value, int | float):
        text = fmt_percent(float(value))
    elif isinstance(value, str):
        text = _correction_label({"correction": value}) if key == "correction" else value
    else:
        text = json.dumps(value, default=str)
    return Fact(label, text, detail=key)


def _correction_label(stats: Mapping[str, Any]) -> str:
    value = str(stats.get("correction", "holm"))
    return _CORRECTIONS.get(value, value)
