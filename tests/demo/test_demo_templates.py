"""The hand-written text: enough templates in every language, and every slot they use exists."""

from __future__ import annotations

import random
import string
from datetime import datetime

import pytest

from heldout.demo import _reply_templates as rt
from heldout.demo import _templates as tpl
from heldout.demo._tickets import INTENTS, make_slots

LANGUAGES = ("en", "de", "es", "fr")


def _slots(language: str) -> dict[str, str]:
    slots = make_slots(random.Random(0), language, "pro", datetime(2025, 3, 1, 12))
    slots["staff"] = rt.STAFF[language][0]
    return slots


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_intent_has_at_least_ten_templates_per_language(language: str) -> None:
    for intent in INTENTS:
        assert len(tpl.LONG[language][intent]) >= 10, (language, intent)
        assert len(tpl.SHORT[language][intent]) >= 3, (language, intent)
        assert len(set(tpl.LONG[language][intent])) == len(tpl.LONG[language][intent])
    assert len(rt.SCENARIOS[language]) == len(INTENTS)


def test_languages_are_written_separately_not_copied() -> None:
    english = {t for intent in INTENTS for t in tpl.LONG["en"][intent]}
    for language in ("de", "es", "fr"):
        assert not english & {t for intent in INTENTS for t in tpl.LONG[language][intent]}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_template_fills_from_the_known_slots(language: str) -> None:
    slots = _slots(language)
    texts = [t for group in (tpl.LONG, tpl.SHORT) for ts in group[language].values() for t in ts]
    texts += [*tpl.FILLERS[language], *tpl.CLOSINGS[language], *tpl.GREETINGS[language]]
    for scenarios in rt.SCENARIOS[language].values():
        for ticket, replies in scenarios:
            texts += [ticket, *replies]
    for text in texts:
        used = {name for _, name, _, _ in string.Formatter().parse(text) if name}
        assert used <= slots.keys(), text
        assert "{" not in text.format_map(slots)


def test_synonyms_only_name_words_the_replies_use() -> None:
    for language in LANGUAGES:
        words = {
            w.strip(",.!?:;").lower()
            for scenarios in rt.SCENARIOS[language].values()
            for _, replies in scenarios
            for reply in replies
            for w in reply.split()
        }
        unused = set(rt.SYNONYMS[language]) - words
        assert len(unused) <= len(rt.SYNONYMS[language]) // 4, (language, sorted(unused))
