"""Reply-drafting examples of the demo project: a ticket and one or two replies the support team sent."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from heldout.demo import _reply_templates as rt
from heldout.demo._tickets import (
    INTENT_WEIGHTS,
    INTENTS,
    SPAN_DAYS,
    START,
    TIER_WEIGHTS,
    TIERS,
    compose_text,
    make_slots,
    pick,
)

__all__ = ["ReplyExample", "generate_reply_examples"]

LANGUAGES = ("en", "de", "es", "fr")
LANGUAGE_WEIGHTS = (0.6, 0.14, 0.13, 0.13)


@dataclass(frozen=True)
class ReplyExample:
    """One row of ``data/replies.jsonl``."""

    reply_id: str
    ticket: str
    references: tuple[str, ...]
    language: str
    intent: str

    def to_json(self) -> dict[str, object]:
        return {
            "reply_id": self.reply_id,
            "ticket": self.ticket,
            "references": list(self.references),
            "language": self.language,
            "intent": self.intent,
        }


def generate_reply_examples(seed: int, *, n: int = 300) -> list[ReplyExample]:
    """Draws ``n`` tickets written by email, each with one or two reference replies."""
    rng = random.Random(f"heldout-demo:{seed}:replies")
    examples = []
    for i in range(1, n + 1):
        language = rng.choices(LANGUAGES, LANGUAGE_WEIGHTS)[0]
        intent = rng.choices(INTENTS, INTENT_WEIGHTS)[0]
        tier = rng.choices(TIERS, TIER_WEIGHTS)[0]
        when = START + timedelta(seconds=rng.randrange(SPAN_DAYS * 86400))
        slots = make_slots(rng, language, tier, when)
        slots["staff"] = pick(rng, rt.STAFF[language])
        scenarios = rt.SCENARIOS[language][intent]
        ticket, replies = scenarios[rng.randrange(len(scenarios))]
        text = compose_text(rng, ticket.format_map(slots), language, "email", slots)
        if slots["name"] not in text:  # the reply greets the customer by name
            text += "\n" + slots["name"]
        filled = [reply.format_map(slots) for reply in replies]
        if rng.random() < 0.35:  # some examples only have the reply that was sent
            filled = [filled[rng.randrange(2)]]
        examples.append(
            ReplyExample(
                reply_id=f"R-{i:04d}",
                ticket=text,
                references=tuple(filled),
                language=language,
                intent=intent,
            )
        )
    return examples
