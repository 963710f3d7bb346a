"""Reply drafts of the two demo models: the support team's replies, edited word by word.

The base model says roughly the right thing in generic words: it swaps the team's phrasing
for synonyms, leaves out words and whole sentences, and pads with stock sentences. The
fine-tune learned the team's wording (fewer substitutions and drops), but also the style of
the chat transcripts it was trained on: in most of its drafts it drops commas, ends
sentences with "!", puts names and numbers in markdown bold and now and then swaps two
neighbouring words.

Word choice moves every reply metric. Punctuation, markup and word order move BLEU (whose
13a tokens include each punctuation mark, and whose n-grams are broken by each one) far more
than chrF (character n-grams, mostly inside words), token F1 or ROUGE-L (both ignore
punctuation). So the fine-tune is clearly better on chrF, token F1 and ROUGE-L, while the
number of its chat-styled drafts is calibrated so that its corpus BLEU ties the base
model's.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from heldout.demo import _reply_templates as rt
from heldout.demo._bleu import References, corpus_score
from heldout.demo._replies import ReplyExample

__all__ = ["draft_replies"]

Sentences = list[list[str]]
_TRAILING = ",.!?:;"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_BOLD = re.compile(r"^(?:[A-ZÀ-Ý]|.*\d)")


@dataclass(frozen=True)
class Profile:
    """How far a model's drafts drift from a good reply."""

    substitute: float  # chance a word the model has a synonym for is swapped for it
    drop: float  # chance another lower-case word is left out
    drop_sentence: float  # chance a sentence between greeting and sign-off is left out
    pad: float  # chance of a stock sentence before the sign-off
    padding: dict[str, tuple[str, ...]]


BASE = Profile(substitute=0.8, drop=0.12, drop_sentence=0.25, pad=0.6, padding=rt.BASE_PADDING)
TUNED = Profile(substitute=0.4, drop=0.05, drop_sentence=0.08, pad=0.5, padding=rt.TUNED_PADDING)
#: Chance that a chat-styled draft swaps two neighbouring words.
SWAP_RATE = 0.02


def _respell(core: str, replacement: str) -> str:
    return replacement[:1].upper() + replacement[1:] if core[:1].isupper() else replacement


def _content_draft(
    rng: random.Random, reference: str, language: str, profile: Profile
) -> Sentences:
    sentences = _SENTENCE_END.split(reference)
    kept = [
        s
        for i, s in enumerate(sentences)
        if i in (0, len(sentences) - 1) or rng.random() >= profile.drop_sentence
    ]
    if rng.random() < profile.pad:
        pads = profile.padding[language]
        kept.insert(len(kept) - 1, pads[rng.randrange(len(pads))])
    synonyms = rt.SYNONYMS[language]
    draft: Sentences = []
    for sentence in kept:
        words: list[str] = []
        for position, token in enumerate(sentence.split()):
            core = token.rstrip(_TRAILING)
            trail = token[len(core) :]
            synonym = synonyms.get(core.lower())
            if synonym is not None and rng.random() < profile.substitute:
                words.append(_respell(core, synonym) + trail)
            elif position > 0 and core.isalpha() and core.islower() and not trail:
                if rng.random() >= profile.drop:
                    words.append(token)
            else:
                words.append(token)
        draft.append(words)
    return draft


def _bold_spans(words: list[str]) -> list[str]:
    """Wraps runs of names, numbers and UI terms in markdown bold, as chat answers do."""
    out = list(words)
    i = 1  # a sentence's first word is capitalised anyway
    while i < len(out):
        if not _BOLD.match(out[i]):
            i += 1
            continue
        j = i
        while j + 1 < len(out) and _BOLD.match(out[j + 1]) and out[j][-1] not in _TRAILING:
            j += 1
        core = out[j].rstrip(_TRAILING)
        out[j] = core + "**" + out[j][len(core) :]
        out[i] = "**" + out[i]
        i = j + 1
    return out


def _chat_style(rng: random.Random, draft: Sentences) -> str:
    """Writes a draft the way the fine-tune's chat transcripts read."""
    out: list[str] = []
    for s, sentence in enumerate(draft):
        words = list(sentence)
        if 0 < s < len(draft) - 1:
            words = _bold_spans(words)
        words = [w[:-1] if w.endswith(",") else w for w in words]
        if words and words[-1].endswith(".") and s < len(draft) - 1 and rng.random() < 0.5:
            words[-1] = words[-1][:-1] + "!"
        for i in range(1, len(words) - 2):
            if rng.random() < SWAP_RATE and words[i].isalpha() and words[i + 1].isalpha():
                words[i], words[i + 1] = words[i + 1], words[i]
        out.extend(words)
    return " ".join(out)


def _plain(draft: Sentences) -> str:
    return " ".join(word for sentence in draft for word in sentence)


def _chat_count(
    base: list[str], plain: list[str], chat: list[str], references: list[tuple[str, ...]]
) -> int:
    """How many of the fine-tune's drafts (taken in order) must be chat-styled to tie on BLEU.

    Works on per-segment sufficient statistics, so one pass over the drafts prices every
    possible count; corpus BLEU falls as more drafts are chat-styled.
    """
    refs = References(references)
    target = corpus_score([sum(column) for column in zip(*refs.rows(base), strict=True)])
    plain_rows, chat_rows = refs.rows(plain), refs.rows(chat)
    width = len(plain_rows[0])
    chat_prefix, plain_suffix = [[0] * width], [[0] * width]
    for row in chat_rows:
        chat_prefix.append([a + b for a, b in zip(chat_prefix[-1], row, strict=True)])
    for row in reversed(plain_rows):
        plain_suffix.append([a + b for a, b in zip(plain_suffix[-1], row, strict=True)])
    plain_suffix.reverse()  # plain_suffix[k]: the sums of plain rows k, k+1, ...

    def score(count: int) -> float:
        return corpus_score(
            [a + b for a, b in zip(chat_prefix[count], plain_suffix[count], strict=True)]
        )

    lo, hi = 0, len(base)  # the first count whose BLEU is at or below the base model's
    while lo < hi:
        mid = (lo + hi) // 2
        if score(mid) > target:
            lo = mid + 1
        else:
            hi = mid
    if lo > 0 and abs(score(lo - 1) - target) < abs(score(lo) - target):
        return lo - 1
    return lo


def draft_replies(examples: list[ReplyExample], seed: int) -> dict[str, list[str]]:
    """The ``base`` and ``tuned`` draft for each example, in the examples' order."""
    rng = random.Random(f"heldout-demo:{seed}:drafts")
    base: list[str] = []
    plain: list[str] = []
    chat: list[str] = []
    for example in examples:
        refs = example.references
        draft = _content_draft(rng, refs[rng.randrange(len(refs))], example.language, BASE)
        base.append(_plain(draft))
        draft = _content_draft(rng, refs[rng.randrange(len(refs))], example.language, TUNED)
        plain.append(_plain(draft))
        chat.append(_chat_style(rng, draft))
    order = list(range(len(examples)))
    rng.shuffle(order)  # which drafts come out chat-styled is random, how many is calibrated
    count = _chat_count(
        [base[i] for i in order],
        [plain[i] for i in order],
        [chat[i] for i in order],
        [examples[i].references for i in order],
    )
    chatty = set(order[:count])
    tuned = [chat[i] if i in chatty else plain[i] for i in range(len(examples))]
    return {"base": base, "tuned": tuned}
