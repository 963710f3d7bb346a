from __future__ import annotations

import pytest

from heldout.models._parse import parse_choice, parse_label, parse_number

SENTIMENT = ("negative", "neutral", "positive")

# --- parse_label ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("positive", "positive"),
        ("  Positive\n", "positive"),
        ("POSITIVE.", "positive"),
        ('"positive"', "positive"),
        ("`neutral`", "neutral"),
        ("**negative**", "negative"),
        ("**Negative**.", "negative"),
        ("[positive]", "positive"),
        ("(neutral)!", "neutral"),
        ("'positive'?", "positive"),
        ("“positive”", "positive"),
        ("ｐｏｓｉｔｉｖｅ", "positive"),  # full-width letters, NFKC
    ],
)
def test_label_exact_after_normalising(text: str, expected: str) -> None:
    assert parse_label(text, SENTIMENT) == expected


def test_label_is_returned_as_given_not_as_matched() -> None:
    assert parse_label("positive", ["Negative", "Positive"]) == "Positive"
    assert parse_label("STRASSE", ["Straße", "Weg"]) == "Straße"


def test_labels_differing_only_in_case_need_the_exact_spelling() -> None:
    assert parse_label("Yes", ["yes", "Yes"]) == "Yes"
    assert parse_label("YES", ["yes", "Yes"]) is None


def test_label_from_verbalizer() -> None:
    verbalizers = {"0": " terrible", "1": "great"}
    assert parse_label("Terrible.", ["0", "1"], verbalizers=verbalizers) == "0"
    assert parse_label("It is great", ["0", "1"], verbalizers=verbalizers) == "1"
    assert parse_label("1", ["0", "1"], verbalizers=verbalizers) == "1"


def test_verbalizer_of_an_unknown_label_is_ignored() -> None:
    assert parse_label("great", ["0", "1"], verbalizers={"2": "great"}) is None


def test_label_first_line_decides_over_later_text() -> None:
    text = "negative\nAlthough some parts are positive, overall it is not."
    assert parse_label(text, SENTIMENT) == "negative"


def test_label_first_non_empty_line() -> None:
    assert parse_label("\n\n  Neutral.\nbecause positive and negative", SENTIMENT) == "neutral"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Label: positive", "positive"),
        ("The review mentions negative things.\nAnswer: positive", "positive"),
        ("category = neutral", "neutral"),
        ("Class: Negative. Both positive and negative words appear.", "negative"),
        ("**Answer:** positive", "positive"),
        ("The answer is positive, though negative aspects exist.", "positive"),
        ("Answer: negative\nFinal answer: positive", "positive"),
    ],
)
def test_label_after_a_marker(text: str, expected: str) -> None:
    assert parse_label(text, SENTIMENT) == expected


def test_label_marker_followed_by_no_label_falls_through() -> None:
    assert parse_label("Answer: I think it is positive", SENTIMENT) == "positive"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I would say this review is positive overall.", "positive"),
        ("Sentiment -> NEUTRAL (mostly)", "neutral"),
        ("The tone: positive!!", "positive"),
    ],
)
def test_label_named_once_as_a_word(text: str, expected: str) -> None:
    assert parse_label(text, SENTIMENT) == expected


@pytest.mark.parametrize(
    "text",
    [
        "It could be positive or negative.",
        "",
        "   \n ",
        "I cannot tell.",
        "positively",  # not a whole word
        "nonnegative",
    ],
)
def test_label_none_when_absent_or_ambiguous(text: str) -> None:
    assert parse_label(text, SENTIMENT) is None


def test_longer_label_hides_the_shorter_one_inside_it() -> None:
    labels = ["positive", "very positive", "negative"]
    assert parse_label("This is very positive.", labels) == "very positive"
    assert parse_label("I'd rate it very  positive overall", labels) == "very positive"
    assert parse_label("It is positive, not very positive.", labels) is None
    assert parse_label("It is positive.", labels) == "positive"


def test_label_phrase_spans_line_breaks() -> None:
    labels = ["positive", "very positive"]
    assert parse_label("so: very\npositive, in my view", labels) == "very positive"


def test_numeric_labels_are_whole_words() -> None:
    labels = ["1", "2", "3", "4", "5"]
    assert parse_label("I give it 4 stars", labels) == "4"
    assert parse_label("4/5", labels) is None
    assert parse_label("Answer: 5 (not 1)", labels) == "5"
    assert parse_label("Rating: 5 (not 1)", labels) is None
    assert parse_label("42", labels) is None


# --- parse_number ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", 42.0),
        ("-3.5", -3.5),
        ("+2", 2.0),
        ("−7", -7.0),  # U+2212 minus sign
        ("1,234.5", 1234.5),
        ("1,234,567", 1234567.0),
        ("1 234", 1234.0),
        ("1\u202f234", 1234.0),  # narrow no-break space
        (".5", 0.5),
        ("3.2e4", 32000.0),
        ("1E-3", 0.001),
        ("42%", 42.0),
        ("$12.50", 12.5),
        ("€ 3", 3.0),
        ("**42**", 42.0),
        ("42.", 42.0),
        ("４２", 42.0),  # full-width digits
        ("the answer is 7.", 7.0),
        ("≈ 7", 7.0),
        ("\\boxed{17}", 17.0),
        ("Answer: $1,250", 1250.0),
        ("x = -3", -3.0),
    ],
)
def test_number_forms(text: str, expected: float) -> None:
    assert parse_number(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # 1. a first line that is only a number wins
        ("12\nBecause 3 boxes hold 4 each, 3 * 4.", 12.0),
        ("\n  7.5 \nsince 2 + 5.5 = 7.5", 7.5),
        # 2. else the number right after the last marker
        ("42 is the answer because 6 * 7 = 42", 42.0),
        ("First x = 3, then y = 5, and 10 more steps.", 5.0),
        ("The answer is 7, not 8.", 7.0),
        ("The answer is unclear, maybe 3 or 4", 4.0),  # marker without a number: rule 3
        ("Answer: 12\nCheck: 2 * 6 = 12 and 12 - 1 = 11", 11.0),
        # 3. else the last number
        ("I counted 3 apples and 4 oranges", 4.0),
        ("Between 10 and 20 people came", 20.0),
    ],
)
def test_number_choice_among_several(text: str, expected: float) -> None:
    assert parse_number(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("6-7", 7.0),  # a range: "-" after a digit is no sign
        ("version 3.2.1", 3.2),
        ("1,2,3", 3.0),
        ("1,2345", 2345.0),
        ("H2O and CO2 and 5", 5.0),
        ("10kg", 10.0),
    ],
)
def test_number_boundaries(text: str, expected: float) -> None:
    assert parse_number(text) == expected


@pytest.mark.parametrize("text", ["", "no number here", "nan", "NaN", "inf", "-Infinity", "1e999"])
def test_number_none(text: str) -> None:
    assert parse_number(text) is None


# --- parse_choice ---------------------------------------------------------------------------

CITIES = ("London", "Paris", "Rome", "New York")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("B", 1),
        ("b", 1),
        (" (B) ", 1),
        ("(b)", 1),
        ("B.", 1),
        ("B)", 1),
        ("**B**", 1),
        ("[D]", 3),
        ("A", 0),
        ("Ｃ", 2),  # full-width
        ("B\nbecause Paris is the capital", 1),
        ("B. Paris", 1),
        ("B) Paris", 1),
        ("(B) Paris", 1),
        ("C: Rome", 2),
        ("**B** Paris", 1),
        ("B is correct.", 1),
        ("(b) Paris", 1),
        ("Answer: B", 1),
        ("answer: (c)", 2),
        ("The answer is B because Paris is the capital.", 1),
        ("The correct option is **D**.", 3),
        ("I think the answer is C", 2),
        ("Option A is wrong, option B too.\nSo the answer is (C).", 2),
        ("I'd go with (B) here.", 1),
    ],
)
def test_choice_by_letter(text: str, expected: int) -> None:
    assert parse_choice(text, 4) == expected


@pytest.mark.parametrize(
    "text",
    [
        "a dog",  # an article, not a letter
        "I think so",
        "E",  # beyond four options
        "Answer: E",
        "Either (A) or (B)",
        "",
        "b is my guess",
    ],
)
def test_choice_none_without_a_clear_letter(text: str) -> None:
    assert parse_choice(text, 4) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Paris", 1),
        ("paris.", 1),
        ("**New York**", 3),
        ("The capital is Rome, of course.", 2),
        ("new\nyork", 3),
        ("It is new york city", 3),
    ],
)
def test_choice_by_text(text: str, expected: int) -> None:
    assert parse_choice(text, 4, choices=CITIES) == expected


@pytest.mark.parametrize("text", ["Paris or Rome", "Berlin", "Parisian food", "I am not sure"])
def test_choice_text_none_when_absent_or_ambiguous(text: str) -> None:
    assert parse_choice(text, 4, choices=CITIES) is None


def test_letter_decides_before_choice_text() -> None:
    assert parse_choice("A. Paris", 4, choices=CITIES) == 0


def test_longer_choice_hides_a_shorter_one_inside_it() -> None:
    choices = ["York", "New York", "Boston"]
    assert parse_choice("Definitely New York.", 3, choices=choices) == 1
    assert parse_choice("York, in England", 3, choices=choices) == 0


def test_choice_texts_that_look_like_digits_are_matched_as_text() -> None:
    choices = ["4", "3", "22"]
    assert parse_choice("3", 3, choices=choices) == 1
    assert parse_choice("2 + 2 = 4", 3, choices=choices) == 0


def test_out_of_range_letter_falls_through_to_choice_text() -> None:
    assert parse_choice("E", 2, choices=["D", "E"]) == 1


def test_more_than_26_choices_letters_stop_at_z() -> None:
    assert parse_choice("Z", 30) == 25


@pytest.mark.parametrize(("n", "choices"), [(0, None), (2, ["a"])])
def test_choice_arguments_checked(n: int, choices: list[str] | None) -> None:
    with pytest.raises(ValueError):
        parse_choice("A", n, choices=choices)
