"""The PII detectors: one regular expression or library call per kind, then a check.

Each detector proposes candidate spans; a candidate counts only when it passes the
kind's check (Luhn and an issuer prefix for cards, mod-97 and the country's length for
IBANs, the SSA's format rules for SSNs, :mod:`ipaddress` for IPs, ``phonenumbers``'
validity for phones). :func:`resolve_overlaps` then picks one span where several overlap.

Decisions, each with a case in ``tests/data/pii_corpus.jsonl``:

- phone: ``phonenumbers.PhoneNumberMatcher`` at ``Leniency.VALID`` with a default region;
  ``+…`` numbers are found whatever the region. Numbers in unassigned ranges (e.g. the UK
  drama range 07700 900xxx) are not valid and are missed. Digits glued to a word or ``#``
  (``INV-2024-000123``, ``#5551234567``) are identifiers. An extension is part of the span.
- card: 13–19 digits, unseparated or in groups (4-4-4-4…, Amex 4-6-5) with one separator
  used throughout, a known issuer prefix and a valid Luhn digit.
- iban: upper or lower case, spaces allowed, exactly the country's length, mod-97 = 1.
- ssn: the dashed form ``AAA-GG-SSSS`` only; area not 000, 666 or 9xx, group not 00,
  serial not 0000. Nine bare digits are too often something else.
- ip: IPv4 (no leading zeros) and IPv6 as :mod:`ipaddress` accepts them. A dotted quad
  after "version", "v", "build", "release", "firmware", "chapter", "section" or "§" is a
  version or section number, not an address; ``:port`` is not part of the span.
- secret: ``sk-…`` (20+ characters), ``gh[pousr]_`` + 36, ``github_pat_…``, ``AKIA``/``ASIA``
  + 16, ``xox[bap]-…`` (10+), JWTs (``eyJ….eyJ….…``) and the token after ``Bearer``
  (the word itself stays). Shorter look-alikes (``sk-test``, ``ghp_abc123``) are not secrets.
- url_credentials: ``scheme://user:password@host…`` up to the next space, trailing
  punctuation trimmed. ``https://user@host`` (no password) is neither a URL credential nor
  an e-mail address.
- email: the usual local part and a dotted domain; ``logo@2x.png``-style asset names are not.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from typing import Literal, NamedTuple

__all__ = [
    "KINDS",
    "PiiKind",
    "PiiMatch",
    "detect_all",
    "iban_is_valid",
    "luhn_is_valid",
    "resolve_overlaps",
]

PiiKind = Literal["url_credentials", "secret", "email", "iban", "card", "ssn", "ip", "phone"]

#: Every kind, in the order that breaks ties between overlapping spans of equal length.
KINDS: tuple[PiiKind, ...] = (
    "url_credentials",
    "secret",
    "email",
    "iban",
    "card",
    "ssn",
    "ip",
    "phone",
)


class PiiMatch(NamedTuple):
    """One piece of PII found in a text: ``text[start:end] == value``."""

    kind: PiiKind
    start: int
    end: int
    value: str


# --- checksums -------------------------------------------------------------------------


def luhn_is_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn check (payment cards, IMEIs).

    >>> luhn_is_valid("4111111111111111"), luhn_is_valid("4111111111111112")
    (True, False)
    """
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


# IBAN length per country (ISO 13616 registry, SWIFT release 2024).
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24,
    "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27,
    "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
    "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27,
    "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28,
    "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RU": 33, "SA": 24, "SC": 31, "SD": 18,
    "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip


def iban_is_valid(iban: str) -> bool:
    """Whether ``iban`` (spaces allowed) has its country's length and passes mod-97.

    >>> iban_is_valid("GB82 WEST 1234 5698 7654 32"), iban_is_valid("GB83WEST12345698765432")
    (True, False)
    """
    compact = iban.replace(" ", "").upper()
    if IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact.isalnum():
        return False
    if not compact[2:4].isdigit():
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


# --- detectors -------------------------------------------------------------------------

# Not after "/": in "https://user@host" the user name is part of a URL, not an address.
_EMAIL = re.compile(
    r"(?<![\w.+%/-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,63})@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
)
# "logo@2x.png" names an image asset, not a mailbox.
_FILE_SUFFIX = re.compile(r"\.(?:png|jpe?g|gif|svg|webp|pdf|txt|csv|js|css)$", re.IGNORECASE)

# Full URL up to whitespace; trailing sentence punctuation is trimmed afterwards.
_URL_CREDENTIALS = re.compile(
    r"(?<![\w+.-])[A-Za-z][A-Za-z0-9+.-]{1,15}://[^\s:/@]+:[^\s/@]+@[^\s/?#@]+[^\s]*"
)
_TRAILING_PUNCT = ".,;:!?)]}'\""

_SECRETS = (
    re.compile(r"(?<![\w-])sk-(?:proj-|live-|test-|ant-)?[A-Za-z0-9_-]{20,}(?![\w-])"),
    re.compile(r"(?<!\w)gh[pousr]_[A-Za-z0-9]{36,255}(?!\w)"),
    re.compile(r"(?<!\w)github_pat_[A-Za-z0-9_]{40,255}(?!\w)"),
    re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Za-z0-9])"),
    re.compile(r"(?<![\w-])xox[bap]-[A-Za-z0-9-]{10,}(?![\w-])"),
    re.compile(r"(?<![\w-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}(?![\w-])"),
)
# Only the token is the secret: "Bearer " stays readable in the masked text.
_BEARER = re.compile(r"\bBearer\s+([A-Za-z0-9._~+/-]{20,}=*)(?![\w.~+/=-])")

# No separators, or groups of four with one separator used throughout (Amex: 4-6-5).
_CARD = re.compile(
    r"(?<![\d-])(?:\d{13,19}"
    r"|\d{4}([ -])\d{4}\1\d{4}\1\d{1,4}(?:\1\d{1,3})?"
    r"|\d{4}([ -])\d{6}\2\d{4,5})(?![\d-]|[ -]\d)"
)
_CARD_PREFIXES = re.compile(
    r"^(?:4"  # Visa
    r"|5[1-5]|2(?:2[2-9][1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)"  # Mastercard
    r"|3[47]"  # American Express
    r"|6011|64[4-9]|65"  # Discover
    r"|30[0-5]|36|38|39"  # Diners Club
    r"|35(?:2[89]|[3-8]\d)"  # JCB
    r"|62"  # UnionPay
    r")"
)

# Upper or lower case: IBANs pasted from banking apps are often lower case.
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){10,32}")

_SSN = re.compile(r"(?<![\d-])(\d{3})-(\d{2})-(\d{4})(?![\d-])")

_IPV4 = re.compile(r"(?<![\w.])(?<!\d\.)\d{1,3}(?:\.\d{1,3}){3}(?!\d|\.\d)")
_IPV6 = re.compile(
    r"(?<![\w:.])(?:"
    r"(?:[0-9A-Fa-f]{0,4}:){2,6}\d{1,3}(?:\.\d{1,3}){3}"
    r"|(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}"
    r")(?:%[A-Za-z0-9]+)?(?![\w:])"
)
# A dotted quad right after one of these words is a version or a section, not an address.
_VERSION_WORD = re.compile(
    r"(?:\bv|\bversion|\bver\.?|\bbuild|\brelease|\bfirmware|\bfw|\bOID|\bchapter"
    r"|\bsection|\bsect?\.|§)\s*:?\s*$",
    re.IGNORECASE,
)


def _emails(text: str, region: str) -> Iterator[PiiMatch]:
    for m in _EMAIL.finditer(text):
        if _FILE_SUFFIX.search(m.group()):
            continue
        yield PiiMatch("email", m.start(), m.end(), m.group())


def _url_credentials(text: str, region: str) -> Iterator[PiiMatch]:
    for m in _URL_CREDENTIALS.finditer(text):
        value = m.group().rstrip(_TRAILING_PUNCT)
        yield PiiMatch("url_credentials", m.start(), m.start() + len(value), value)


def _secrets(text: str, region: str) -> Iterator[PiiMatch]:
    for pattern in _SECRETS:
        for m in pattern.finditer(text):
            yield PiiMatch("secret", m.start(), m.end(), m.group())
    for m in _BEARER.finditer(text):
        token = m.group(1)
        # A run of one character class ("Bearer xxxxxxxx…") is a placeholder, not a token.
        if len(set(token)) >= 8:
            yield PiiMatch("secret", m.start(1), m.end(1), token)


def _cards(text: str, region: str) -> Iterator[PiiMatch]:
    for m in _CARD.finditer(text):
        digits = re.sub(r"[ -]", "", m.group())
        if 13 <= len(digits) <= 19 and _CARD_PREFIXES.match(digits) and luhn_is_valid(digits):
            yield PiiMatch("card", m.start(), m.end(), m.group())


def _ibans(text: str, region: str) -> Iterator[PiiMatch]:
    for m in _IBAN.finditer(text):
        want = IBAN_LENGTHS.get(m.group()[:2].upper())
        if want is None:
            continue
        # Take exactly the country's number of characters; spaces do not count.
        seen = 0
        end = m.start()
        for end in range(m.start(), m.end()):
            if text[end] != " ":
                seen += 1
                if seen == want:
                    break
        end += 1
        if seen != want or (end < len(text) and text[end].isalnum()):
            continue
        value = text[m.start() : end]
        if iban_is_valid(value):
            yield PiiMatch("iban", m.start(), end, value)


def _ssns(text: str, region: str) -> Iterator[PiiMatch]:
    for m in _SSN.finditer(text):
        area, group, serial = m.groups()
        if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
            continue
        yield PiiMatch("ssn", m.start(), m.end(), m.group())


def _ips(text: str, region: str) -> Iterator[PiiMatch]:
    for m in _IPV4.finditer(text):
        if _VERSION_WORD.search(text[max(0, m.start() - 12) : m.start()]):
            continue
        try:
            ipaddress.IPv4Address(m.group())
        except ValueError:
            continue
        yield PiiMatch("ip", m.start(), m.end(), m.group())
    for m in _IPV6.finditer(text):
        value = m.group()
        if not any(ch.isalnum() for ch in value):
            continue  # a bare "::" is punctuation in prose
        try:
            ipaddress.IPv6Address(value)
        except ValueError:
            continue
        yield PiiMatch("ip", m.start(), m.end(), value)


def _phones(text: str, region: str) -> Iterator[PiiMatch]:
    import phonenumbers  # imported on first use: the CLI starts without it

    matcher = phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID)
    for m in matcher:
        # Digits glued to a word ("INV-2024-000123", "#5551234567") are an identifier.
        before = text[m.start - 1] if m.start else " "
        after = text[m.end] if m.end < len(text) else " "
        if before.isalnum() or before in "-_/#" or after.isalnum() or after in "-_/":
            continue
        yield PiiMatch("phone", m.start, m.end, m.raw_string)


_DETECTORS: tuple[Callable[[str, str], Iterator[PiiMatch]], ...] = (
    _url_credentials,
    _secrets,
    _emails,
    _ibans,
    _cards,
    _ssns,
    _ips,
    _phones,
)


def detect_all(text: str, region: str) -> list[PiiMatch]:
    """Every candidate of every kind, overlaps included."""
    return [match for detector in _DETECTORS for match in detector(text, region)]


_RANK = {kind: i for i, kind in enumerate(KINDS)}


def resolve_overlaps(matches: list[PiiMatch]) -> list[PiiMatch]:
    """Keep a set of non-overlapping matches, sorted by position.

    The longest match wins; between equally long ones the more specific kind wins, in the
    order of :data:`KINDS` (a URL with credentials over the e-mail-like ``pass@host`` inside
    it, an IBAN or card over the phone number its digits also spell); then the earlier one.
    """
    kept: list[PiiMatch] = []
    for match in sorted(matches, key=lambda m: (m.start - m.end, _RANK[m.kind], m.start)):
        if all(match.end <= k.start or match.start >= k.end for k in kept):
            kept.append(match)
    return sorted(kept, key=lambda m: m.start)
