"""The figures: drawn from the stored estimates, with user text escaped for plotly."""

from __future__ import annotations

import json
from typing import Any

from heldout._util._format import NumberFormat, metric_format
from heldout.report._figures import confusion_figure, delta_forest, metric_bars
from heldout.report._plot import SMALL_COLOR, VERDICT_COLORS, plot_text
from heldout.report._slice_figure import SMALL_SLICES, slice_forest
from heldout.run import TaskResult
from tests.report.report_fixtures import classification_task, generation_task
from tests.report.report_html_checks import Document


def _formats(task: TaskResult) -> dict[str, NumberFormat]:
    values: dict[str, list[float]] = {}
    for by_metric in task.metrics.values():
        for metric, e in by_metric.items():
            values.setdefault(metric, []).extend((e.value, e.ci_low, e.ci_high))
    return {metric: metric_format(metric, v) for metric, v in values.items()}


def _spec(figure: Any) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(json.dumps(figure.to_plotly_json()))
    return spec


def test_plot_text_displays_markup_as_literal_characters() -> None:
    assert plot_text("<b>tuned</b> & co") == "&lt;b&gt;tuned&lt;/b&gt; &amp; co"


def test_bars_whiskers_come_from_the_stored_intervals() -> None:
    task = classification_task()
    spec = _spec(metric_bars(task.models, ["accuracy", "macro_f1"], task.metrics, _formats(task)))
    base = next(t for t in spec["data"] if t["name"] == "base")
    accuracy = task.metrics["base"]["accuracy"]
    assert base["x"] == ["accuracy", "macro_f1"]
    assert base["y"][0] == accuracy.value
    assert abs(base["error_y"]["array"][0] - (accuracy.ci_high - accuracy.value)) < 1e-12
    assert abs(base["error_y"]["arrayminus"][0] - (accuracy.value - accuracy.ci_low)) < 1e-12


def test_metrics_on_different_scales_get_their_own_panels() -> None:
    task = generation_task()
    metrics = ["token_f1", "bleu", "exact_match"]
    spec = _spec(metric_bars(task.models, metrics, task.metrics, _formats(task)))
    panels = {(t["xaxis"], tuple(t["x"])) for t in spec["data"]}
    assert panels == {("x", ("token_f1", "exact_match")), ("x2", ("bleu",))}
    assert spec["layout"]["yaxis2"]["title"]["text"] == "score (0–100)"


def test_difference_forest_colours_by_verdict_and_marks_zero() -> None:
    task = classification_task()
    spec = _spec(
        delta_forest(
            list(task.comparisons),
            task.comparisons,
            _formats(task),
            candidate="tuned",
            baseline="base",
            correction="Holm",
        )
    )
    by_name = {t["name"]: t for t in spec["data"]}
    assert set(by_name) == set(VERDICT_COLORS)
    assert by_name["worse"]["y"] == ["recall:billing"]
    assert by_name["worse"]["marker"]["color"] == VERDICT_COLORS["worse"]
    assert by_name["better"]["x"] == [task.comparisons[m].delta for m in ("accuracy", "macro_f1")]
    zero_lines = [s for s in spec["layout"]["shapes"] if s["x0"] == 0 and s["x1"] == 0]
    assert zero_lines


def test_slice_forest_greys_small_slices_and_marks_significant_ones() -> None:
    task = classification_task()
    spec = _spec(
        slice_forest(
            task.slices,
            task.models,
            _formats(task),
            overall=task.comparisons["macro_f1"],
            correction="Holm",
        )
    )
    by_name = {t["name"]: t for t in spec["data"]}
    small = by_name[SMALL_SLICES]
    assert small["marker"]["color"] == SMALL_COLOR
    assert small["y"] == ["tier = enterprise (n=18) ⚑ small", "language = fr (n=12) ⚑ small"]
    assert by_name["better"]["marker"]["symbol"] == ["diamond", "diamond"]
    assert by_name["no significant difference"]["marker"]["symbol"] == ["circle-open"] * 2
    order = spec["layout"]["yaxis"]["categoryarray"]
    assert order[0] == "tier = free (n=201)"  # stored order, never ranked
    lines = {round(s["x0"], 4) for s in spec["layout"]["shapes"]}
    assert lines == {0.0, round(task.comparisons["macro_f1"].delta, 4)}


def test_confusion_matrices_show_counts_and_row_shares() -> None:
    task = classification_task()
    spec = _spec(confusion_figure(task.models, task.confusion))
    heatmaps = spec["data"]
    assert len(heatmaps) == 4
    counts, shares = heatmaps[0], heatmaps[1]
    assert counts["z"] == [list(r) for r in task.confusion["base"].counts]
    assert counts["x"][-1] == "(invalid)"
    for row in shares["z"]:
        assert abs(sum(row) - 1.0) < 1e-9


def test_labels_and_model_names_reach_plotly_escaped() -> None:
    task = classification_task(candidate="<b>tuned</b>", label="<b>urgent</b>")
    spec = _spec(confusion_figure(task.models, task.confusion))
    assert "&lt;b&gt;urgent&lt;/b&gt;" in spec["data"][0]["y"]
    bars = _spec(metric_bars(task.models, ["accuracy"], task.metrics, _formats(task)))
    assert [t["name"] for t in bars["data"]] == ["base", "&lt;b&gt;tuned&lt;/b&gt;"]


def test_embedded_figures_carry_no_raw_markup(hostile_html: str) -> None:
    doc = Document(hostile_html)
    for script in doc.scripts:
        if script.attrs.get("type") == "application/json":
            assert "<b>tuned" not in script.text
            assert "<b>urgent" not in script.text
            assert "</" not in script.text
            text = json.dumps(json.loads(script.text))
            assert "<b>tuned" not in text
