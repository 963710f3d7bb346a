"""The examples browser: pages and filters agree with the same selection done in pandas."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from heldout.server._diff import Segment, word_diff
from tests.server.dashboard_runs import HOSTILE, Runs


def _ids(client: TestClient, run_id: str, **params: Any) -> list[str]:
    """Every id the API returns for a filter, page after page."""
    ids: list[str] = []
    page = 1
    while True:
        answer = client.get(
            f"/api/runs/{run_id}/examples", params={**params, "page": page, "per_page": 37}
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        ids += [row["id"] for row in body["rows"]]
        if page >= body["pages"]:
            assert body["matching"] == len(ids)
            return ids
        page += 1


def test_pages_cover_every_example_once_in_order(client: TestClient, runs: Runs) -> None:
    frame = runs.binary.tasks[0].examples
    assert _ids(client, runs.binary.id) == frame["id"].tolist()


@pytest.mark.parametrize(
    ("params", "select"),
    [
        ({"slice": "region=south"}, lambda f: f["region"] == "south"),
        ({"right": "tuned"}, lambda f: f["correct:tuned"] == 1),
        (
            {"wrong": "base", "right": "tuned"},
            lambda f: (f["correct:base"] == 0) & (f["correct:tuned"] == 1),
        ),
        (
            {"correct": ["base=0", "tuned=1"]},
            lambda f: (f["correct:base"] == 0) & (f["correct:tuned"] == 1),
        ),
        ({"change": "fixed"}, lambda f: f["correct:tuned"] > f["correct:base"]),
        ({"change": "broken"}, lambda f: f["correct:tuned"] < f["correct:base"]),
        (
            {"change": "same", "slice": "region=east"},
            lambda f: (f["correct:tuned"] == f["correct:base"]) & (f["region"] == "east"),
        ),
        (
            {"score": "confidence:tuned", "low": 0.6, "high": 0.8},
            lambda f: f["confidence:tuned"].between(0.6, 0.8),
        ),
        ({"score": "brier:base", "low": 0.5}, lambda f: f["brier:base"] >= 0.5),
        (
            {"q": "SOUTH PLAN"},
            lambda f: f["input"].str.lower().str.contains("south plan", regex=False),
        ),
        ({"q": "c0012"}, lambda f: f["id"].str.contains("c0012", regex=False)),
    ],
)
def test_filters_match_pandas(
    client: TestClient, runs: Runs, params: dict[str, Any], select: object
) -> None:
    frame = runs.binary.tasks[0].examples
    expected = frame.loc[select(frame), "id"].tolist()  # type: ignore[operator]
    assert expected, "the filter should select something"
    assert _ids(client, runs.binary.id, **params) == expected


def test_generation_fixed_and_broken_use_the_per_example_score(
    client: TestClient, runs: Runs
) -> None:
    frame = runs.drafts.tasks[0].examples
    now, before = frame["token_f1:tuned"], frame["token_f1:base"]
    assert _ids(client, runs.drafts.id, change="fixed") == frame.loc[now > before, "id"].tolist()
    assert _ids(client, runs.drafts.id, change="broken") == frame.loc[now < before, "id"].tolist()
    assert (
        _ids(client, runs.drafts.id, q="modem")
        == frame.loc[
            frame["pred:tuned"].str.contains("modem") | frame["pred:base"].str.contains("modem"),
            "id",
        ].tolist()
    )


def test_a_page_past_the_end_shows_the_last_page(client: TestClient, runs: Runs) -> None:
    body = client.get(
        f"/api/runs/{runs.binary.id}/examples", params={"page": 999, "per_page": 100}
    ).json()
    assert body["page"] == body["pages"] == 6
    assert [r["id"] for r in body["rows"]] == runs.binary.tasks[0].examples["id"].tolist()[500:]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"slice": "planet=mars"}, "slice column (region)"),
        ({"right": "gpt"}, 'model "gpt"'),
        ({"change": "sideways"}, '"fixed", "broken" or "same"'),
        ({"score": "pred:tuned", "low": 1}, "not a per-example score"),
        ({"task": "nope"}, 'no task "nope"'),
    ],
)
def test_bad_filters_are_400_with_one_line(
    client: TestClient, runs: Runs, params: dict[str, Any], message: str
) -> None:
    answer = client.get(f"/api/runs/{runs.binary.id}/examples", params=params)
    assert answer.status_code == 400
    assert message in answer.json()["error"]
    assert "\n" not in answer.json()["error"]
    page = client.get(f"/runs/{runs.binary.id}/examples", params=params)
    assert page.status_code == 400


def test_per_page_is_bounded(client: TestClient, runs: Runs) -> None:
    answer = client.get(f"/api/runs/{runs.binary.id}/examples", params={"per_page": 5000})
    assert answer.status_code == 422


def test_examples_page_shows_outputs_side_by_side_with_word_differences(
    client: TestClient, runs: Runs
) -> None:
    frame = runs.drafts.tasks[0].examples
    row = frame.index[frame["id"] == "d002"][0]
    page = client.get(f"/runs/{runs.drafts.id}/examples", params={"q": "d002"})
    assert page.status_code == 200
    assert f'id="example-{row}"' in page.text
    # base "restart the router and wait 2 minutes" vs tuned "reset the modem then wait 2 minutes"
    assert "<ins>reset</ins>" in page.text and "<ins>modem then</ins>" in page.text
    assert frame.loc[row, "pred:base"] in page.text


def test_the_diff_marks_changed_words_and_keeps_text() -> None:
    old, new = word_diff("the cat sat on the mat", "the dog sat on a mat")
    assert "".join(s.text for s in old) == "the cat sat on the mat"
    assert "".join(s.text for s in new) == "the dog sat on a mat"
    assert [s for s in new if s.kind == "added"] == [Segment("dog", "added"), Segment("a", "added")]
    assert [s.text for s in old if s.kind == "removed"] == ["cat", "the"]


def test_markup_in_inputs_and_outputs_is_escaped(client: TestClient, runs: Runs) -> None:
    page = client.get(f"/runs/{runs.drafts.id}/examples", params={"q": "d000"})
    assert HOSTILE not in page.text
    assert "&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt;" in page.text
    page = client.get(f"/runs/{runs.binary.id}/examples", params={"q": "c0003"})
    assert HOSTILE not in page.text and "&lt;script&gt;" in page.text
    listed = client.get(f"/runs/{runs.binary.id}/examples", params={"q": "<script>"}).text
    assert "c0003" in listed and HOSTILE not in listed


def test_examples_page_links_keep_the_filters(client: TestClient, runs: Runs) -> None:
    page = client.get(
        f"/runs/{runs.binary.id}/examples", params={"slice": "region=north", "per_page": 10}
    )
    assert "slice=region%3Dnorth" in page.text and "page=2" in page.text
    frame = runs.binary.tasks[0].examples
    north = frame[frame["region"] == "north"]
    assert f"{len(north):,} of {len(frame):,} examples match" in page.text
    assert np.isin(north["id"].head(10), pd.Series(page.text.split("<code>"))).size == 10


def test_right_or_wrong_filters_are_offered_only_where_the_run_stores_correctness(
    client: TestClient, runs: Runs
) -> None:
    binary = client.get(f"/runs/{runs.binary.id}/examples").text
    assert binary.count('<select name="correct">') == 2
    drafts = client.get(f"/runs/{runs.drafts.id}/examples").text
    assert '<select name="correct">' not in drafts
    assert 'value="fixed"' in drafts  # fixed/broken by token_f1
