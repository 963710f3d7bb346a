"""Support tickets of the demo project: slots, wording noise, customers and dates."""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from heldout.demo import _templates as tpl

__all__ = [
    "CHANNELS",
    "INTENTS",
    "LANGUAGES",
    "TIERS",
    "Ticket",
    "compose_text",
    "generate_tickets",
    "make_slots",
    "pick",
]

#: The routing labels, in the order the spec lists them.
INTENTS = (
    "billing",
    "bug_report",
    "feature_request",
    "account_access",
    "cancellation",
    "shipping",
    "how_to",
)
#: Billing is ~3× as common as feature requests, as in most support queues.
INTENT_WEIGHTS = (0.22, 0.19, 0.07, 0.16, 0.10, 0.14, 0.12)
LANGUAGES = ("en", "de", "es", "fr")
LANGUAGE_WEIGHTS = (0.64, 0.13, 0.115, 0.115)
TIERS = ("free", "pro", "enterprise")
TIER_WEIGHTS = (0.5, 0.35, 0.15)
CHANNELS = ("email", "chat", "web_form")
CHANNEL_WEIGHTS = (0.45, 0.35, 0.20)

START = datetime(2025, 1, 6, 7, 0, 0)
SPAN_DAYS = 110
PRICES = (9.99, 12.00, 19.99, 49.99, 89.00, 129.00, 149.00, 239.88)
PLANS = {"free": ("Pro",), "pro": ("Pro", "Pro Plus"), "enterprise": ("Enterprise",)}
#: Who writes a greeting, a filler sentence and a sign-off, by channel.
STYLE = {"email": (0.85, 0.35, 0.85), "chat": (0.2, 0.15, 0.15), "web_form": (0.4, 0.3, 0.4)}
SHORT_RATE = {"email": 0.06, "chat": 0.25, "web_form": 0.08}
GERMAN_ASCII = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


@dataclass(frozen=True)
class Ticket:
    """One row of ``data/tickets.jsonl``."""

    ticket_id: str
    text: str
    intent: str
    language: str
    tier: str
    channel: str
    customer_id: str
    created_at: str

    def to_json(self) -> dict[str, str]:
        return {
            "ticket_id": self.ticket_id,
            "text": self.text,
            "intent": self.intent,
            "language": self.language,
            "tier": self.tier,
            "channel": self.channel,
            "customer_id": self.customer_id,
            "created_at": self.created_at,
        }


def pick(rng: random.Random, options: Sequence[str]) -> str:
    """One of ``options``, uniformly (``random()`` is several times faster than ``choice``)."""
    return options[int(rng.random() * len(options))]


def _below(rng: random.Random, n: int) -> int:
    return int(rng.random() * n)


def _date(language: str, when: datetime) -> str:
    month = tpl.MONTHS[language][when.month - 1]
    if language == "en":
        return f"{month} {when.day}"
    if language == "de":
        return f"{when.day}. {month}"
    if language == "es":
        return f"{when.day} de {month}"
    return f"{'1er' if when.day == 1 else when.day} {month}"


def _amount(language: str, value: float) -> str:
    return f"${value:.2f}" if language == "en" else f"{value:.2f}".replace(".", ",") + " €"


def make_slots(rng: random.Random, language: str, tier: str, when: datetime) -> dict[str, str]:
    """Draws every slot a template may use (always all of them, so draws stay aligned)."""
    product = pick(rng, tpl.PRODUCTS)
    others = tuple(p for p in tpl.PRODUCTS if p != product)
    return {
        "product": product,
        "product2": pick(rng, others),
        "order": f"TW-{100000 + _below(rng, 900000)}",
        "amount": _amount(language, PRICES[_below(rng, len(PRICES))]),
        "date": _date(language, when - timedelta(days=1 + _below(rng, 20))),
        "next_date": _date(language, when + timedelta(days=5 + _below(rng, 24))),
        "plan": pick(rng, PLANS[tier]),
        "error": pick(rng, tpl.ERRORS),
        "feature": pick(rng, tpl.FEATURES[language]),
        "carrier": pick(rng, tpl.CARRIERS[language]),
        "invoice": f"INV-2025-{10000 + _below(rng, 90000)}",
        "last4": f"{_below(rng, 10000):04d}",
        "os": pick(rng, tpl.OPERATING_SYSTEMS),
        "version": f"4.{8 + _below(rng, 7)}.{_below(rng, 6)}",
        "days": str(3 + _below(rng, 13)),
        "n": str(2 + _below(rng, 11)),
        "years": str(2 + _below(rng, 8)),
        "name": pick(rng, tpl.NAMES[language]),
    }


def _typo(rng: random.Random, text: str) -> str:
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not candidates:
        return text
    i = candidates[rng.randrange(len(candidates))]
    w, k = words[i], rng.randrange(1, len(words[i]) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        w = w[:k] + w[k + 1] + w[k] + w[k + 2 :]
    elif kind == 1:
        w = w[:k] + w[k + 1 :]
    else:
        w = w[:k] + w[k] + w[k:]
    words[i] = w
    return " ".join(words)


def _strip_accents(language: str, text: str) -> str:
    if language == "de":
        return text.translate(GERMAN_ASCII)
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    )


def compose_text(
    rng: random.Random, body: str, language: str, channel: str, slots: dict[str, str]
) -> str:
    """Wraps a filled body in the greeting, filler, sign-off and noise its channel brings."""
    p_greet, p_fill, p_close = STYLE[channel]
    sep = {"email": "\n\n", "chat": " ", "web_form": "\n"}[channel]
    parts = []
    if rng.random() < p_greet:
        parts.append(pick(rng, tpl.GREETINGS[language]))
    middle = body
    while rng.random() < p_fill:  # a few customers add context, some add a lot
        middle += " " + pick(rng, tpl.FILLERS[language]).format_map(slots)
        p_fill *= 0.6
    parts.append(middle)
    if rng.random() < p_close:
        parts.append(pick(rng, tpl.CLOSINGS[language]).format_map(slots))
    text = sep.join(parts)
    if channel == "chat" and rng.random() < 0.35:
        text = text.lower()
    if channel == "chat" and rng.random() < 0.5:
        text = text.rstrip(".")
    if rng.random() < (0.2 if channel == "chat" else 0.1):
        text = _typo(rng, text)
    if language != "en" and rng.random() < 0.15:
        text = _strip_accents(language, text)
    return text


def _ticket_text(
    rng: random.Random, intent: str, language: str, channel: str, slots: dict[str, str]
) -> str:
    short = rng.random() < SHORT_RATE[channel]
    pool = (tpl.SHORT if short else tpl.LONG)[language][intent]
    body = pick(rng, pool).format_map(slots)
    if not short and channel != "chat" and rng.random() < 0.35:  # a second, related ask
        more = pick(rng, pool).format_map(slots)
        body = body if more == body else f"{body} {more}"
    if short:  # a two-word ticket rarely comes with a greeting and a sign-off
        return body if rng.random() < 0.7 else compose_text(rng, body, language, "chat", slots)
    return compose_text(rng, body, language, channel, slots)


def generate_tickets(seed: int, *, n: int = 2000) -> list[Ticket]:
    """Draws ``n`` tickets from customers with one to three tickets each, sorted by time."""
    rng = random.Random(f"heldout-demo:{seed}:tickets")
    drafts: list[tuple[datetime, str, str, str, str, str, str]] = []
    customers: set[str] = set()
    while len(drafts) < n:
        customer = f"C-{rng.randrange(10000, 100000)}"
        if customer in customers:
            continue
        customers.add(customer)
        language = rng.choices(LANGUAGES, LANGUAGE_WEIGHTS)[0]
        tier = rng.choices(TIERS, TIER_WEIGHTS)[0]
        count = rng.choices((1, 2, 3), (0.55, 0.3, 0.15))[0]
        when = START + timedelta(seconds=rng.randrange(SPAN_DAYS * 86400))
        intent = rng.choices(INTENTS, INTENT_WEIGHTS)[0]
        for k in range(min(count, n - len(drafts))):
            if k > 0:  # follow-ups come days later and are often about the same thing
                when += timedelta(seconds=rng.randrange(3600, 12 * 86400))
                if rng.random() < 0.5:
                    intent = rng.choices(INTENTS, INTENT_WEIGHTS)[0]
            channel = rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0]
            slots = make_slots(rng, language, tier, when)
            text = _ticket_text(rng, intent, language, channel, slots)
            drafts.append((when, text, intent, language, tier, channel, customer))
    drafts.sort(key=lambda d: (d[0], d[6]))
    return [
        Ticket(
            ticket_id=f"T-{i:05d}",
            text=text,
            intent=intent,
            language=language,
            tier=tier,
            channel=channel,
            customer_id=customer,
            created_at=when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        for i, (when, text, intent, language, tier, channel, customer) in enumerate(drafts, 1)
    ]
