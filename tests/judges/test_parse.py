"""Reading judge answers: JSON in fences or prose, scales, and the logprob-weighted score."""

from __future__ import annotations

import math

import pytest

from heldout.judges import Malformed, extract_json, read_label, read_score, weighted_score


def test_json_is_found_inside_fences_and_prose() -> None:
    text = 'Sure, here it is:\n```json\n{"score": 4, "reason": "a {brace} inside"}\n```\nDone.'
    assert extract_json(text) == {"score": 4, "reason": "a {brace} inside"}


def test_an_answer_without_json_is_malformed() -> None:
    with pytest.raises(Malformed, match="no JSON object"):
        extract_json("four out of five")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"score": 7, "reason": "x"}', "outside the scale 1 to 5"),
        ('{"score": "high"}', "not an integer"),
        ('{"reason": "no score"}', "not an integer"),
    ],
)
def test_a_score_off_the_scale_or_missing_is_malformed(text: str, problem: str) -> None:
    with pytest.raises(Malformed, match=problem):
        read_score(text, low=1, high=5)


def test_the_parsed_integer_is_the_score_without_logprobs() -> None:
    reading = read_score('{"score": "4", "reason": "fine"}', low=1, high=5)
    assert (reading.raw, reading.parsed, reading.reason, reading.weighted) == (
        4.0,
        4,
        "fine",
        False,
    )


def _positions(alternatives: list[tuple[str, float]]) -> list[list[tuple[str, float]]]:
    """The tokens of '{"score": 4, "reason": "ok"}', with alternatives at the score."""
    chosen = alternatives[0][0]
    return [
        [('{"', -0.01)],
        [("score", -0.01)],
        [('":', -0.01)],
        [(" " + chosen, alternatives[0][1]), *[(" " + t, lp) for t, lp in alternatives]],
        [(",", -0.01)],
        [(' "reason": "ok"}', -0.01)],
    ]


def test_logprob_weighting_matches_the_hand_computation() -> None:
    # p: 4 → 0.6, 5 → 0.3, 3 → 0.095, 2 → 0.005 (under 0.01: ignored), "x" → not a score
    alternatives = [
        ("4", math.log(0.6)),
        ("5", math.log(0.3)),
        ("3", math.log(0.095)),
        ("2", math.log(0.005)),
        ("x", math.log(0.0005)),
    ]
    positions = _positions(alternatives)
    text = "".join(p[0][0] for p in positions)
    assert text == '{"score": 4, "reason": "ok"}'
    expected = (0.6 * 4 + 0.3 * 5 + 0.095 * 3) / (0.6 + 0.3 + 0.095)
    assert expected == pytest.approx(4.2060301507537685)
    assert weighted_score(text, positions, low=1, high=5) == pytest.approx(expected)
    reading = read_score(text, low=1, high=5, top_logprobs=positions)
    assert reading.weighted and reading.parsed == 4
    assert reading.raw == pytest.approx(expected)


def test_values_outside_the_scale_are_not_weighted_in() -> None:
    alternatives = [("4", math.log(0.5)), ("9", math.log(0.5))]
    positions = _positions(alternatives)
    text = "".join(p[0][0] for p in positions)
    assert weighted_score(text, positions, low=1, high=5) == pytest.approx(4.0)


def test_a_score_split_over_two_tokens_falls_back_to_the_integer() -> None:
    positions = [[('{"score": 1', -0.1)], [("0", -0.1), ("1", -2.0)], [("}", -0.1)]]
    text = '{"score": 10}'
    assert weighted_score(text, positions, low=1, high=10) is None
    assert read_score(text, low=1, high=10, top_logprobs=positions).raw == 10.0


def test_labels_match_without_case_and_booleans_read_as_yes_no() -> None:
    assert read_label('{"verdict": " YES "}', key="verdict", allowed=["yes", "no"])[0] == "yes"
    assert read_label('{"verdict": false}', key="verdict", allowed=["yes", "no"])[0] == "no"
    with pytest.raises(Malformed, match="not one of yes, no"):
        read_label('{"verdict": "maybe"}', key="verdict", allowed=["yes", "no"])
