"""Finding runs: references, listings with their headline results, and notes."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from heldout import StoreError
from heldout.run import TaskResult
from heldout.store import Note, RunSummary, Store
from tests.store.store_runs import BERLIN_SUMMER, classification_task, generation_task, make_run

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def save_three_runs(store: Store) -> Store:
    """``abcd1111`` (router, oldest), ``abcd2222`` (router), ``ef015555`` (summaries, newest)."""
    store.save_run(make_run("abcd1111aaaa", name="router", created_at=T0))
    store.save_run(make_run("abcd2222bbbb", name="router", created_at=T0 + timedelta(hours=1)))
    store.save_run(make_run("ef015555cccc", name="summaries", created_at=T0 + timedelta(hours=2)))
    return store


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A store the lookup tests only read, shared by the module."""
    url = f"sqlite:///{tmp_path_factory.mktemp('lookup') / 'heldout.db'}"
    with Store.open(url) as store:
        yield save_three_runs(store)


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("abcd1111aaaa", "abcd1111aaaa"),
        ("abcd1", "abcd1111aaaa"),
        ("ef01", "ef015555cccc"),
        (" abcd2222 ", "abcd2222bbbb"),
        ("latest", "ef015555cccc"),
        ("latest:router", "abcd2222bbbb"),
        ("latest:summaries", "ef015555cccc"),
    ],
)
def test_resolve_finds_runs_by_id_prefix_and_latest(
    three_runs: Store, ref: str, expected: str
) -> None:
    assert three_runs.resolve(ref) == expected


def test_ambiguous_prefix_lists_the_candidates(three_runs: Store) -> None:
    with pytest.raises(StoreError) as caught:
        three_runs.resolve("abcd")

    message = str(caught.value)
    assert 'run prefix "abcd" is ambiguous' in message
    assert "abcd2222bbbb (router, 2026-05-01 10:00)" in message
    assert "abcd1111aaaa (router, 2026-05-01 09:00)" in message
    assert "give more characters" in message


def test_prefix_is_case_sensitive_and_literal(three_runs: Store) -> None:
    for ref in ("ABCD1", "abc_", "abc%"):
        with pytest.raises(StoreError, match="no run"):
            three_runs.resolve(ref)


@pytest.mark.parametrize(
    ("ref", "pattern"),
    [
        ("0000ffff", r'no run "0000ffff" in sqlite:///.*; list runs with `heldout runs`'),
        ("abc", r'no run "abc" .*at least 4 of its first characters, "latest" or "latest:NAME"'),
        ("", r"no run .*at least 4"),
        ("latest:nope", r'no run named "nope" .*\(names: router, summaries\); list runs with'),
        ("latest:", r'"latest:" needs a run name'),
    ],
)
def test_unknown_references_say_how_to_list_runs(three_runs: Store, ref: str, pattern: str) -> None:
    with pytest.raises(StoreError, match=pattern):
        three_runs.resolve(ref)


def test_latest_in_an_empty_store_says_so(store: Store) -> None:
    with pytest.raises(StoreError, match=r"no runs in .* yet"):
        store.resolve("latest")
    with pytest.raises(StoreError, match=re.escape("(the store has no runs yet)")):
        store.load_run("latest:router")


def test_list_runs_newest_first_with_filter_and_limit(three_runs: Store) -> None:
    assert [r.id for r in three_runs.list_runs()] == [
        "ef015555cccc",
        "abcd2222bbbb",
        "abcd1111aaaa",
    ]
    assert [r.id for r in three_runs.list_runs(name="router")] == ["abcd2222bbbb", "abcd1111aaaa"]
    assert [r.id for r in three_runs.list_runs(limit=1)] == ["ef015555cccc"]
    assert three_runs.list_runs(name="nothing") == []
    with pytest.raises(ValueError, match="limit must be at least 1"):
        three_runs.list_runs(limit=0)


def test_list_orders_by_instant_across_time_zones(store: Store) -> None:
    plus_two = make_run("aaaa0001", created_at=datetime(2026, 5, 1, 11, 30, tzinfo=BERLIN_SUMMER))
    utc = make_run("aaaa0002", created_at=datetime(2026, 5, 1, 10, 0, tzinfo=UTC))
    store.save_run(plus_two)  # 09:30 UTC
    store.save_run(utc)

    assert [r.id for r in store.list_runs()] == ["aaaa0002", "aaaa0001"]
    assert store.list_runs()[1].created_at.isoformat() == "2026-05-01T11:30:00+02:00"


def test_summary_has_the_headline_result_of_every_task(store: Store) -> None:
    run = make_run()
    store.save_run(run)

    (summary,) = store.list_runs()

    assert isinstance(summary, RunSummary)
    assert (summary.id, summary.name, summary.status) == (run.id, run.name, "finished")
    assert summary.created_at == run.created_at and summary.finished_at == run.finished_at
    assert summary.task_names == ("router", "summaries")
    assert summary.models == ("base", "tuned")
    assert (summary.candidate, summary.baseline) == ("tuned", "base")
    router, summaries = summary.tasks
    assert (router.type, router.n, router.headline) == ("classification", 40, "macro_f1")
    assert router.candidate_estimate == run.task("router").metrics["tuned"]["macro_f1"]
    assert router.baseline_estimate == run.task("router").metrics["base"]["macro_f1"]
    assert router.difference == run.task("router").comparisons["macro_f1"]
    assert list(summaries.estimates) == ["tuned", "base"]
    assert summaries.difference == run.task("summaries").comparisons["chrf"]


def test_summary_without_comparison(store: Store) -> None:
    generation = generation_task()
    solo = TaskResult(
        name=generation.name,
        type=generation.type,
        dataset=generation.dataset,
        models=("tuned",),
        metrics={"tuned": generation.metrics["tuned"]},
        comparisons={},
        headline="chrf",
    )
    store.save_run(make_run("solo0001", tasks=(solo, classification_task())))

    (summary,) = store.list_runs()

    first = summary.tasks[0]
    assert first.difference is None and first.candidate_estimate is None
    assert first.estimates["tuned"] == solo.metrics["tuned"]["chrf"]
    assert summary.candidate is None


def test_notes_are_a_log_per_run(store: Store) -> None:
    three_runs = save_three_runs(store)
    first = three_runs.add_note("abcd1", "kept as the baseline", author="mara")
    time.sleep(0.002)
    second = three_runs.add_note("abcd1111aaaa", "LR 2e-5 → 1e-5: less forgetting")
    three_runs.add_note("latest", "not comparable: new label set")

    assert isinstance(first, Note)
    assert (first.run_id, first.author, first.text) == (
        "abcd1111aaaa",
        "mara",
        "kept as the baseline",
    )
    assert first.created_at.tzinfo is not None
    assert abs(first.created_at - datetime.now(UTC)) < timedelta(minutes=1)
    assert three_runs.notes("abcd1111") == [first, second]
    assert second.author is None and second.id > first.id
    assert [n.text for n in three_runs.notes("latest")] == ["not comparable: new label set"]
    assert three_runs.notes("abcd2222") == []


def test_note_needs_text_and_a_known_run(store: Store) -> None:
    three_runs = save_three_runs(store)
    with pytest.raises(StoreError, match="a note needs some text"):
        three_runs.add_note("latest", "   ")
    with pytest.raises(StoreError, match="no run"):
        three_runs.add_note("9999aaaa", "lost")
