"""Every page and API route over a store of real runs: what they show, and their errors."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from heldout._util._format import fmt_interval, metric_format
from tests.server.dashboard_runs import HOSTILE_NOTE, Runs


def test_runs_page_lists_every_run_with_its_headline_interval(
    client: TestClient, runs: Runs
) -> None:
    page = client.get("/")
    assert page.status_code == 200
    for run in (runs.binary, runs.binary_again, runs.routing, runs.drafts):
        assert f'data-run="{run.id}"' in page.text
    task = runs.drafts.tasks[0]
    est = task.metrics[task.candidate or ""][task.headline]
    decimals = metric_format(task.headline, [est.value]).decimals
    assert fmt_interval(est.ci_low, est.ci_high, decimals) in page.text
    assert est.method in page.text


def test_runs_are_filtered_by_name_and_sorted_on_the_server(client: TestClient, runs: Runs) -> None:
    page = client.get("/", params={"name": "churn"})
    listed = re.findall(r'data-run="([0-9a-f]+)"', page.text)
    assert set(listed) == {runs.binary.id, runs.binary_again.id}
    oldest_first = client.get("/api/runs", params={"sort": "created", "order": "asc"}).json()
    ids = [r["id"] for r in oldest_first["runs"]]
    assert ids == [runs.binary.id, runs.binary_again.id, runs.routing.id, runs.drafts.id]
    by_name = client.get("/api/runs", params={"sort": "name", "order": "asc"}).json()["runs"]
    assert [r["name"] for r in by_name] == sorted(r["name"] for r in by_name)


def test_an_unknown_sort_key_is_a_400_naming_the_choices(client: TestClient) -> None:
    answer = client.get("/api/runs", params={"sort": "colour"})
    assert answer.status_code == 400
    assert "created, name, status, headline, delta" in answer.json()["error"]


def test_run_page_shows_the_comparison_table_figures_and_notes(
    client: TestClient, runs: Runs
) -> None:
    page = client.get(f"/runs/{runs.binary.id}")
    assert page.status_code == 200
    task = runs.binary.tasks[0]
    for metric, diff in task.comparisons.items():
        assert f">{metric}" in page.text
        assert diff.verdict in page.text
    for figure in ("-metrics", "-deltas", "-confusion", "-slices", "-reliability"):
        assert re.search(rf'data-figure="task-1{figure}"', page.text), figure
    assert 'data-thresholds="task-1"' in page.text
    assert "mara" in page.text and "ship it" in page.text


def test_run_page_of_a_generation_task_has_no_threshold_panel(
    client: TestClient, runs: Runs
) -> None:
    page = client.get(f"/runs/{runs.drafts.id}")
    assert page.status_code == 200
    assert "data-thresholds" not in page.text


def test_a_run_is_found_by_prefix_and_by_latest_name(client: TestClient, runs: Runs) -> None:
    assert client.get(f"/runs/{runs.binary.id[:8]}").status_code == 200
    document = client.get("/api/runs/latest:churn").json()
    assert document["run"]["id"] == runs.binary_again.id


def test_an_unknown_run_is_a_404_page_with_the_store_message(client: TestClient) -> None:
    page = client.get("/runs/ffffffffffff")
    assert page.status_code == 404
    assert "no run" in page.text
    assert client.get("/api/runs/ffffffffffff").status_code == 404


def test_api_run_is_the_documented_json_with_notes(client: TestClient, runs: Runs) -> None:
    document = client.get(f"/api/runs/{runs.binary.id}").json()
    expected = runs.binary.to_dict()
    assert document["run"]["id"] == expected["run"]["id"]
    tuned = document["tasks"][runs.binary.tasks[0].name]["metrics"]["tuned"]["accuracy"]
    assert tuned["value"] == pytest.approx(runs.binary.metrics["tuned"]["accuracy"].value)
    assert [n["text"] for n in document["notes"]] == [HOSTILE_NOTE]


def test_thresholds_api_matches_scikit_learn_roc(client: TestClient, runs: Runs) -> None:
    from sklearn.metrics import roc_auc_score

    curves = client.get(f"/api/runs/{runs.binary.id}/thresholds").json()[runs.binary.tasks[0].name]
    frame = runs.binary.tasks[0].examples
    for curve in curves:
        model = curve["model"]
        said_yes = frame[f"pred:{model}"] == "yes"
        conf = frame[f"confidence:{model}"]
        score = conf.where(said_yes, 1 - conf)
        assert curve["roc_auc"] == pytest.approx(roc_auc_score(frame["target"] == "yes", score))
        assert curve["n"] == len(frame)
        assert curve["thresholds"][0] is None  # +inf: nothing predicted positive


def test_history_page_draws_each_run_with_its_notes(client: TestClient, runs: Runs) -> None:
    page = client.get("/history/churn")
    assert page.status_code == 200
    assert 'data-figure="history"' in page.text
    points = client.get("/api/history/churn").json()
    assert points["metric"] == runs.binary.tasks[0].headline
    by_run = {(p["run_id"], p["model"]): p for p in points["points"]}
    est = runs.binary.metrics["tuned"][points["metric"]]
    point = by_run[(runs.binary.id, "tuned")]
    assert (point["value"], point["ci_low"], point["ci_high"]) == pytest.approx(
        (est.value, est.ci_low, est.ci_high)
    )
    assert point["notes"] == [HOSTILE_NOTE]
    assert by_run[(runs.binary_again.id, "tuned")]["notes"] == ["kept the threshold at 0.5"]
    assert client.get("/history/nobody").status_code == 404


def test_compare_two_models_of_one_run_pairs_them_like_the_run(
    client: TestClient, runs: Runs
) -> None:
    answer = client.get(
        "/api/compare", params={"run": runs.routing.id, "a": "base", "b": "tuned"}
    ).json()
    task = runs.routing.tasks[0]
    assert answer["paired"] is True and answer["n_shared"] == len(task.examples)
    assert "accuracy" in answer["metrics"]
    for metric, compared in answer["metrics"].items():
        diff = task.comparisons[metric]
        found = compared["difference"]
        assert found["delta"] == pytest.approx(diff.delta)
        assert found["test"] == diff.test
    frame = task.examples
    fixed = frame.loc[(frame["correct:base"] == 0) & (frame["correct:tuned"] == 1), "id"]
    broken = frame.loc[(frame["correct:base"] == 1) & (frame["correct:tuned"] == 0), "id"]
    assert [e["id"] for e in answer["fixed"]] == fixed.tolist()
    assert [e["id"] for e in answer["broken"]] == broken.tolist()
    page = client.get("/compare", params={"run": runs.routing.id, "a": "base", "b": "tuned"})
    assert page.status_code == 200
    assert f"Fixed: A wrong, B right ({len(fixed):,})" in page.text


def test_compare_two_runs_of_the_same_predictions_finds_no_difference(
    client: TestClient, runs: Runs
) -> None:
    answer = client.get(
        "/api/compare", params={"a": runs.binary.id, "b": runs.binary_again.id}
    ).json()
    assert answer["a"]["model"] == answer["b"]["model"] == "tuned"
    assert answer["n_shared"] == len(runs.binary.tasks[0].examples)
    for metric in answer["metrics"].values():
        assert metric["difference"]["delta"] == pytest.approx(0.0, abs=1e-12)
        assert metric["difference"]["verdict"] == "no significant difference"
    assert (answer["fixed"], answer["broken"]) == ([], [])
    page = client.get("/compare", params={"a": runs.binary.id, "b": runs.binary_again.id})
    assert page.status_code == 200
    assert client.get("/compare").status_code == 200
    bad = client.get("/api/compare", params={"run": runs.binary.id, "a": "base", "b": "gpt"})
    assert bad.status_code == 400 and 'no model "gpt"' in bad.json()["error"]


def test_openapi_schema_is_served_and_no_page_pulls_from_a_cdn(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "/api/runs/{ref}/examples" in schema["paths"]
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404


def test_static_files_are_served_with_their_types(client: TestClient) -> None:
    plotly = client.get("/static-lib/plotly.min.js")
    assert plotly.status_code == 200 and "javascript" in plotly.headers["content-type"]
    assert client.get("/static/dashboard.js").status_code == 200
    assert client.get("/static-lib/report.css").headers["content-type"].startswith("text/css")
