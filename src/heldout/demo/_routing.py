"""Routing predictions of the two demo models, drawn so that they tell a story.

Each ticket gets one shared difficulty ``z``; each model adds its own noise and gets right
the tickets with the lowest ``z + noise``, as many as its accuracy in the ticket's language
allows. The shared ``z`` makes the two models' mistakes correlated, as two real models' are
on the same tickets.

The thresholds encode the story: the LoRA fine-tune was trained mostly on English tickets,
so it is clearly better in English, Spanish and French but forgot some German, where the
base model is better. The base model's probabilities are calibrated (its confidence is the
chance of being right given ``z``); the fine-tune's are sharpened, so it is over-confident,
while its higher accuracy still gives it the lower log loss.
"""

from __future__ import annotations

import math
import random
from statistics import NormalDist

from heldout.demo._tickets import INTENTS, Ticket

__all__ = ["ACCURACY", "routing_predictions"]

#: Accuracy of each model by language (met exactly, up to rounding, for every seed).
ACCURACY = {
    "base": {"en": 0.78, "de": 0.82, "es": 0.78, "fr": 0.77},
    "tuned": {"en": 0.89, "de": 0.66, "es": 0.88, "fr": 0.88},
}
#: How far each model's own noise moves it from the shared difficulty.
NOISE = 0.5
#: The log-odds of each model's confidence are ``SHARPNESS * calibrated + SHIFT``:
#: (1, 0) is calibrated; the fine-tune's sharper, higher confidence is over-confident.
SHARPNESS = {"base": 1.0, "tuned": 1.5}
SHIFT = {"base": 0.0, "tuned": 0.8}
#: Which intents a ticket of each intent is mistaken for, and how often.
CONFUSIONS = {
    "billing": {"cancellation": 0.35, "shipping": 0.25, "account_access": 0.2, "how_to": 0.2},
    "bug_report": {"how_to": 0.4, "account_access": 0.3, "feature_request": 0.3},
    "feature_request": {"how_to": 0.5, "bug_report": 0.4, "billing": 0.1},
    "account_access": {"bug_report": 0.45, "how_to": 0.3, "billing": 0.25},
    "cancellation": {"billing": 0.6, "account_access": 0.25, "how_to": 0.15},
    "shipping": {"billing": 0.4, "cancellation": 0.3, "how_to": 0.3},
    "how_to": {"feature_request": 0.45, "bug_report": 0.35, "account_access": 0.2},
}
UNITS = 10_000  # probabilities are written with four decimals
_NORMAL = NormalDist()


def _confused(intent: str, u: float) -> str:
    for label, weight in CONFUSIONS[intent].items():
        u -= weight
        if u < 0:
            return label
    return next(iter(CONFUSIONS[intent]))


def _logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _probabilities(
    rng: random.Random, truth: str, prediction: str, confidence: float
) -> dict[str, float]:
    """Spreads ``1 - confidence`` over the other labels; the truth, when missed, comes second."""
    others = [label for label in INTENTS if label != prediction]
    cap = 0.9 * confidence  # keeps the prediction the argmax after rounding
    shares = {}
    for label in others:
        near = label in CONFUSIONS[truth] or label == truth
        shares[label] = rng.expovariate(1.0) * (3.0 if near else 1.0)
    if truth != prediction:
        rest = sum(v for k, v in shares.items() if k != truth)
        shares[truth] = rest * rng.uniform(0.6, 2.5)
    mass = {label: 0.0 for label in others}
    free, open_labels = 1.0 - confidence, list(others)
    while open_labels:  # water-filling: give each label its share, capped at ``cap``
        total = sum(shares[label] for label in open_labels)
        capped = [k for k in open_labels if free * shares[k] / total > cap]
        if not capped:
            for k in open_labels:
                mass[k] = free * shares[k] / total
            break
        for k in capped:
            mass[k] = cap
            free -= cap
            open_labels.remove(k)
    units = {label: max(1, round(mass[label] * UNITS)) for label in others}
    units[prediction] = UNITS - sum(units.values())
    return {label: units[label] / UNITS for label in INTENTS}


def _right_answers(
    tickets: list[Ticket], draws: list[float], accuracy: dict[str, float]
) -> list[bool]:
    """Marks the easiest ``accuracy[language]`` share of each language as answered right.

    A quota rather than a coin flip per ticket keeps each language's accuracy on target for
    every seed; which tickets are right still follows the (correlated) draws.
    """
    right = [False] * len(tickets)
    for language in {t.language for t in tickets}:
        members = [i for i, t in enumerate(tickets) if t.language == language]
        members.sort(key=lambda i: draws[i])
        for i in members[: round(accuracy[language] * len(members))]:
            right[i] = True
    return right


def routing_predictions(tickets: list[Ticket], seed: int) -> dict[str, list[dict[str, object]]]:
    """Prediction rows (``id``, ``prediction``, ``probabilities``) for ``base`` and ``tuned``."""
    rng = random.Random(f"heldout-demo:{seed}:routing")
    difficulty = [rng.gauss(0.0, 1.0) for _ in tickets]
    confusion = [rng.random() for _ in tickets]
    scale = math.sqrt(1.0 + NOISE**2)
    rows: dict[str, list[dict[str, object]]] = {}
    for model, accuracy in ACCURACY.items():
        draws = [z + rng.gauss(0.0, NOISE) for z in difficulty]
        right = _right_answers(tickets, draws, accuracy)
        rows[model] = []
        for i, ticket in enumerate(tickets):
            intent = ticket.intent
            prediction = intent if right[i] else _confused(intent, confusion[i])
            # The chance of being right given the difficulty: a calibrated confidence.
            threshold = _NORMAL.inv_cdf(accuracy[ticket.language]) * scale
            chance = min(max(_NORMAL.cdf((threshold - difficulty[i]) / NOISE), 0.02), 0.995)
            log_odds = math.log(chance / (1.0 - chance)) * SHARPNESS[model] + SHIFT[model]
            confidence = min(max(_logistic(log_odds + rng.gauss(0.0, 0.3)), 0.2), 0.995)
            probabilities = _probabilities(rng, intent, prediction, confidence)
            rows[model].append(
                {"id": ticket.ticket_id, "prediction": prediction, "probabilities": probabilities}
            )
    return rows
