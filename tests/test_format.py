"""How numbers read: decimals per metric scale, signs, intervals, p-values, times."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from heldout._util._format import (
    fmt_datetime,
    fmt_duration,
    fmt_interval,
    fmt_number,
    fmt_p,
    fmt_percent,
    fmt_signed,
    lower_is_better,
    metric_format,
)


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (0.0, "<0.001"),
        (0.00093, "<0.001"),
        (0.001, "0.001"),
        (0.0421, "0.042"),
        (0.6812, "0.681"),
        (1.0, "1.000"),
        (1.0000000002, "1.000"),
        (None, "—"),
        (math.nan, "n/a"),
    ],
)
def test_p_values_read_like_a_paper(p: float | None, text: str) -> None:
    assert fmt_p(p) == text


@pytest.mark.parametrize(
    ("metric", "values", "decimals", "scale"),
    [
        ("accuracy", [0.8125, 0.77, 0.85], 3, "unit"),
        ("recall:billing", [0.84], 3, "unit"),
        ("mcc", [-0.41, 0.2], 3, "unit"),
        ("bleu", [31.42, 0.5], 2, "sacrebleu"),
        ("chrF++", [55.1], 2, "sacrebleu"),
        ("ter", [0.61], 2, "sacrebleu"),
        ("rmse", [12.31, 9.8], 2, "other"),
        ("latency_ms", [1520.0], 0, "other"),
    ],
)
def test_each_metric_gets_decimals_for_its_scale(
    metric: str, values: list[float], decimals: int, scale: str
) -> None:
    chosen = metric_format(metric, values)
    assert (chosen.decimals, chosen.scale) == (decimals, scale)


def test_numbers_round_to_the_metric_decimals_and_say_when_missing() -> None:
    assert fmt_number(0.81234, 3) == "0.812"
    assert fmt_number(31.4242, 2) == "31.42"
    assert fmt_number(12345.6, 0) == "12,346"
    assert fmt_number(-0.0004, 3) == "0.000"
    assert fmt_number(None, 3) == "n/a"
    assert fmt_number(math.inf, 3) == "n/a"


def test_differences_carry_their_sign_except_a_rounded_zero() -> None:
    assert fmt_signed(0.0312, 3) == "+0.031"
    assert fmt_signed(-0.0123, 3) == "-0.012"
    assert fmt_signed(4.1102, 2) == "+4.11"
    assert fmt_signed(-0.0004, 3) == "0.000"
    assert fmt_signed(0.0, 3) == "0.000"
    assert fmt_signed(math.nan, 3) == "n/a"


def test_intervals_are_bracketed_and_signed_for_differences() -> None:
    assert fmt_interval(0.7238, 0.8063, 3) == "[0.724, 0.806]"
    assert fmt_interval(-0.0301, 0.0465, 3, signed=True) == "[-0.030, +0.046]"


def test_percentages_times_and_durations() -> None:
    assert fmt_percent(0.95) == "95%"
    assert fmt_percent(0.995) == "99.5%"
    assert fmt_datetime(datetime(2026, 3, 1, 14, 2, 7, tzinfo=UTC)) == "2026-03-01 14:02:07 UTC"
    assert fmt_datetime(datetime(2026, 3, 1, 14, 2, 7)) == "2026-03-01 14:02:07"
    assert fmt_duration(timedelta(seconds=5.24)) == "5.2s"
    assert fmt_duration(timedelta(minutes=4, seconds=5)) == "4m 05s"
    assert fmt_duration(timedelta(hours=3, minutes=4, seconds=5)) == "3h 04m 05s"


@pytest.mark.parametrize(
    ("score", "lower"),
    [
        ("token_f1", False),
        ("correct", False),
        ("ter", True),
        ("abs_error", True),
        ("log_loss", True),
    ],
)
def test_error_and_loss_scores_are_lower_is_better(score: str, lower: bool) -> None:
    assert lower_is_better(score) is lower
