"""What the page says: verdicts, the comparison table, slices, examples, the decision log."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from heldout._util._format import fmt_interval, fmt_number, fmt_p, fmt_signed, metric_format
from heldout.report import render_report
from heldout.run import Run, TaskResult
from heldout.stats import Difference
from tests.report.report_fixtures import (
    HOSTILE_INPUT,
    classification_task,
    generation_task,
    make_run,
)
from tests.report.report_html_checks import Document


def _doc(run: Run) -> Document:
    return Document(render_report(run))


def test_every_metric_appears_with_its_formatted_numbers(demo_run: Run, demo_doc: Document) -> None:
    tables = demo_doc.tables_with("metrics")
    assert len(tables) == len(demo_run.tasks)
    for task, table in zip(demo_run.tasks, tables, strict=True):
        assert len(table.rows) == 1 + len(task.comparisons)
        for metric, diff in task.comparisons.items():
            row = table.row(metric)
            estimates = [task.metrics[m][metric] for m in (task.baseline, task.candidate) if m]
            decimals = metric_format(
                metric, [x for e in estimates for x in (e.value, e.ci_low, e.ci_high)]
            ).decimals
            for cell, e in zip(row[1:3], estimates, strict=True):
                assert fmt_number(e.value, decimals) in cell
                assert fmt_interval(e.ci_low, e.ci_high, decimals) in cell
                assert e.method in cell
            assert fmt_signed(diff.delta, decimals) in row[3]
            assert fmt_interval(diff.ci_low, diff.ci_high, decimals, signed=True) in row[3]
            assert row[4:] == [fmt_p(diff.p_value), fmt_p(diff.p_adjusted), diff.test, diff.verdict]


def test_table_numbers_read_as_written_by_hand(demo_doc: Document) -> None:
    route, summarise = demo_doc.tables_with("metrics")
    assert route.rows[0][:4] == ["metric", "base baseline [CI]", "tuned candidate [CI]", "Δ [CI]"]
    assert route.rows[0][4:] == ["p", "p (Holm)", "test", "verdict"]
    assert route.row("accuracy") == [
        "accuracy",
        "0.767 [0.724, 0.806] wilson",
        "0.812 [0.771, 0.848] wilson",
        "+0.045 [+0.020, +0.070] mcnemar-chi2",
        "<0.001",
        "<0.001",
        "mcnemar-chi2",
        "better",
    ]
    assert route.row("recall:billing")[3:] == [
        "-0.062 [-0.101, -0.023] mcnemar-exact",
        "0.002",
        "0.004",
        "mcnemar-exact",
        "worse",
    ]
    assert route.row("precision:billing")[4:] == [
        "0.681",
        "0.681",
        "mcnemar-exact",
        "no significant difference",
    ]
    # sacrebleu-scale scores get two decimals
    assert summarise.row("bleu")[1:4] == [
        "27.31 [24.90, 29.77] bootstrap-percentile",
        "31.42 [29.87, 33.01] bootstrap-percentile",
        "+4.11 [+1.98, +6.25] paired-bootstrap",
    ]


def test_headline_metric_comes_first_and_is_marked(demo_doc: Document) -> None:
    route, summarise = demo_doc.tables_with("metrics")
    assert route.rows[1][0] == "macro_f1 headline"
    assert summarise.rows[1][0] == "token_f1 headline"


def test_verdicts_are_colour_coded_by_class(demo_doc: Document) -> None:
    route = demo_doc.tables_with("metrics")[0]
    classes = dict(zip((r[0] for r in route.rows[1:]), route.row_classes[1:], strict=True))
    assert classes["accuracy"] == ("better",)
    assert classes["recall:billing"] == ("worse",)
    assert classes["precision:billing"] == ("none",)


def test_each_task_is_summarised_in_one_sentence(demo_doc: Document) -> None:
    text = demo_doc.text
    assert (
        "tuned is better than base on 2 of 4 metrics, worse on 1; no significant difference on 1."
        in text
    )
    assert (
        "tuned is better than base on 1 of 3 metrics, worse on 1; no significant difference on 1."
        in text
    )
    assert (
        "Headline macro_f1: tuned 0.812, base 0.761; Δ +0.051 [+0.024, +0.078], "
        "p (Holm) <0.001: better." in text
    )
    assert (
        "Headline token_f1: tuned 0.556, base 0.548; Δ +0.008 [-0.030, +0.046], "
        "p (Holm) 0.684: no significant difference." in text
    )


def test_no_difference_is_said_plainly() -> None:
    task = generation_task()
    flat = {
        name: replace(d, verdict="no significant difference", p_adjusted=0.5)
        for name, d in task.comparisons.items()
    }
    doc = _doc(make_run((replace(task, comparisons=flat),)))
    assert "No significant difference between tuned and base on any of the 3 metrics." in doc.text


def test_minimum_detectable_effect_is_stated(demo_doc: Document) -> None:
    assert (
        "With 400 paired examples this eval can detect a difference of 0.043 in macro_f1 "
        "at 80% power" in demo_doc.text
    )
    assert "difference of 0.071 in token_f1 at 80% power" in demo_doc.text


def test_header_lists_run_dataset_and_settings(demo_doc: Document) -> None:
    text = demo_doc.text
    for expected in (
        "ticket-router",
        "r-20260301-140207-5f3a",
        "2026-03-01 14:02:07 UTC",
        "heldout version 0.1.0",
        "git commit 2417dab",
        "data/eval.jsonl",
        "9f2c4e1ab37d5c60",
        "examples 400",
        "tuned (candidate) vs base (baseline)",
        "confidence level 95%",
        "bootstrap resamples 1000",
        "multiple-comparison correction Holm",
        "minimum slice size 30",
    ):
        assert expected in text


def test_small_slices_are_flagged_and_greyed(demo_doc: Document) -> None:
    (table,) = demo_doc.tables_with("slices")
    flagged = []
    for cells, classes in zip(table.rows[1:], table.row_classes[1:], strict=True):
        assert ("⚑ small" in cells[1]) is ("small" in classes)
        if "small" in classes:
            flagged.append((cells[0], cells[1]))
    assert flagged == [("tier", "enterprise ⚑ small"), ("language", "fr ⚑ small")]
    assert "Slices under 30 examples are flagged" in demo_doc.text


def test_fixed_and_broken_examples_list_at_most_twenty_each(
    demo_run: Run, demo_doc: Document
) -> None:
    frame = demo_run.tasks[0].examples
    fixed = int(((frame["correct:base"] == 0) & (frame["correct:tuned"] == 1)).sum())
    broken = int(((frame["correct:base"] == 1) & (frame["correct:tuned"] == 0)).sum())
    assert fixed > 20
    assert f"20 of {fixed} examples where base was wrong and tuned right." in demo_doc.text
    shown_broken = min(broken, 20)
    fixed_table, broken_table = demo_doc.tables_with("examples")[:2]
    assert fixed_table.rows[0] == ["id", "input", "target", "base prediction", "tuned prediction"]
    assert len(fixed_table.rows) == 1 + 20
    assert len(broken_table.rows) == 1 + shown_broken
    assert fixed_table.rows[1][:2] == ["t0000", HOSTILE_INPUT]
    for row in broken_table.rows[1:]:
        example = frame[frame["id"] == row[0]].iloc[0]
        assert (example["correct:base"], example["correct:tuned"]) == (1, 0)


def test_generation_examples_show_the_largest_token_f1_drops(
    demo_run: Run, demo_doc: Document
) -> None:
    frame = demo_run.tasks[1].examples
    change = frame["token_f1:tuned"] - frame["token_f1:base"]
    expected = frame.loc[change[change < 0].sort_values().index[:20], "id"].tolist()
    (table,) = demo_doc.tables_with("examples")[2:]
    assert table.rows[0][-3:] == ["token_f1 base", "token_f1 tuned", "change"]
    assert [r[0] for r in table.rows[1:]] == expected
    assert all(r[-1].startswith("-") for r in table.rows[1:])
    assert "Largest drops in token_f1" in demo_doc.text


def test_examples_are_skipped_with_a_reason_when_columns_are_missing() -> None:
    task = classification_task()
    bare = task.examples[["id", "input", "target"]]
    without_scores = _doc(make_run((replace(task, examples=bare),)))
    assert "No per-example scores stored for both tuned and base" in without_scores.text
    assert without_scores.tables_with("examples") == []
    empty = _doc(make_run((replace(task, examples=pd.DataFrame()),)))
    assert "No per-example results were stored for this task." in empty.text


def test_single_model_run_without_comparison_renders(single_html: str) -> None:
    doc = Document(single_html)
    assert doc.errors == []
    (table,) = doc.tables_with("metrics")
    assert table.rows[0] == ["metric", "base [CI]"]
    assert table.row("accuracy") == ["accuracy headline", "0.764 [0.708, 0.812] wilson"]
    assert "base measured on 2 metrics; this task compares no models." in doc.text
    assert "Headline accuracy: base 0.764." in doc.text
    assert "With 250 examples this eval can detect a difference of 0.075 in accuracy" in doc.text
    (slices,) = doc.tables_with("slices")
    assert slices.rows[2][1] == "enterprise ⚑ small"
    assert doc.tables_with("examples") == []
    assert "Δ" not in " ".join(table.rows[0] + slices.rows[0])


def test_decision_log_lists_notes_oldest_first(demo_doc: Document) -> None:
    text = demo_doc.text
    lowered = text.index("Lowered LR to 1e-5 after step 600 diverged.")
    shipped = text.index("Shipped tuned behind a flag; recall:billing watched.")
    assert lowered < shipped
    assert "Decision log" in text


def test_notes_section_is_absent_without_notes(single_html: str) -> None:
    assert "Decision log" not in Document(single_html).text


def test_dropped_examples_and_unfinished_runs_are_called_out() -> None:
    task = replace(classification_task(), dropped={"base": 3, "tuned": 0})
    run = replace(make_run((task,)), status="failed")
    text = _doc(run).text
    assert "3 examples left out for base: its prediction was missing." in text
    assert "left out for tuned" not in text
    assert 'This run\'s status is "failed": its results may be incomplete.' in text


@pytest.mark.parametrize("correction", ["bonferroni", "fdr_bh"])
def test_adjusted_p_column_names_the_correction(correction: str) -> None:
    run = make_run((classification_task(),))
    run = replace(run, stats={**run.stats, "correction": correction})
    header = _doc(run).tables_with("metrics")[0].rows[0]
    label = {"bonferroni": "Bonferroni", "fdr_bh": "BH"}[correction]
    assert f"p ({label})" in header


def test_metric_missing_for_a_model_shows_a_dash() -> None:
    task = classification_task()
    metrics = {m: dict(v) for m, v in task.metrics.items()}
    del metrics["base"]["accuracy"]
    comparisons: dict[str, Difference] = dict(task.comparisons)
    del comparisons["accuracy"]
    partial: TaskResult = replace(task, metrics=metrics, comparisons=comparisons)
    row = _doc(make_run((partial,))).tables_with("metrics")[0].row("accuracy")
    assert row[1] == "—"
    assert row[-1] == "not compared"
