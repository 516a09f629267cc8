"""Written forms said as a careful human reader says them: numbers, money, dates, times,
abbreviations, Roman numerals, web addresses and acronyms (English only).

The text stage, before the script: ``normalise(sentence)`` gives the rewrites, each a span
of whole written tokens and the plain words said for it, so every engine says "$3.2m" the
same way and the word timings still map back to the written words. The readings are data
(the tables below) and one rule per kind of written form; num2words does the number words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

__all__ = ["Rewrite", "normalise", "normalised"]


@dataclass(frozen=True)
class Rewrite:
    """``text[start:end]`` is said as ``said`` (plain words)."""

    start: int
    end: int
    said: str


# --------------------------------------------------------------------------- the tables

MONTHS = {
    "january": "January",
    "february": "February",
    "march": "March",
    "april": "April",
    "may": "May",
    "june": "June",
    "july": "July",
    "august": "August",
    "september": "September",
    "october": "October",
    "november": "November",
    "december": "December",
}
# Abbreviated months, read only beside a day or a year ("Nov. 30", "Sept 2026").
MONTH_ABBREVIATIONS = {
    "jan": "January",
    "feb": "February",
    "mar": "March",
    "apr": "April",
    "jun": "June",
    "jul": "July",
    "aug": "August",
    "sep": "September",
    "sept": "September",
    "oct": "October",
    "nov": "November",
    "dec": "December",
}


@dataclass(frozen=True)
class Currency:
    one: str  # "dollar"
    many: str  # "dollars"
    minor_one: str | None = None  # "cent"
    minor_many: str | None = None  # "cents"


_DOLLAR = Currency("dollar", "dollars", "cent", "cents")
_RUPEE = Currency("rupee", "rupees", "paisa", "paise")
# Written before the amount ("$3.2m", "Rs. 1,200", "USD 5"). Longest first in the pattern.
CURRENCIES = {
    "$": _DOLLAR,
    "US$": Currency("U.S dollar", "U.S dollars", "cent", "cents"),
    "USD": Currency("U.S dollar", "U.S dollars", "cent", "cents"),
    "£": Currency("pound", "pounds", "penny", "pence"),
    "GBP": Currency("pound", "pounds", "penny", "pence"),
    "€": Currency("euro", "euros", "cent", "cents"),
    "EUR": Currency("euro", "euros", "cent", "cents"),
    "¥": Currency("yen", "yen"),
    "₹": _RUPEE,
    "Rs.": _RUPEE,
    "Rs": _RUPEE,
    "PKR": Currency("Pakistani rupee", "Pakistani rupees", "paisa", "paise"),
    "INR": Currency("Indian rupee", "Indian rupees", "paisa", "paise"),
}
# A scale written after an amount, attached ("$3.2m", "£5bn") or as a word ("Rs 50 crore").
SCALES = {
    "k": "thousand",
    "m": "million",
    "mn": "million",
    "bn": "billion",
    "b": "billion",
    "tn": "trillion",
    "thousand": "thousand",
    "million": "million",
    "billion": "billion",
    "trillion": "trillion",
    "lakh": "lakh",
    "crore": "crore",
}

# --------------------------------------------------------------------------- number words


def _british(language: str) -> bool:
    """British usage ("one hundred and five") for the English of Britain and the
    Commonwealth; American ("one hundred five") for en, en-US and en-CA (the project's
    default English voice is American)."""
    region = language.lower().replace("_", "-").partition("-")[2][:2]
    return region not in ("", "us", "ca")


@cache
def _num2words() -> Callable[..., str]:
    from num2words import num2words  # imported on first use: off the no-change path

    return num2words


def _words(n: int, to: str, british: bool) -> str:
    said = _num2words()(n, lang="en", to=to).replace(",", "")
    return said if british else said.replace(" and ", " ")


def cardinal(n: int, british: bool = False) -> str:
    return _words(n, "cardinal", british)


def ordinal(n: int, british: bool = False) -> str:
    return _words(n, "ordinal", british)


def year(n: int, british: bool = False) -> str:
    return _words(n, "year", british)


_DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def number(written: str, british: bool = False) -> str:
    """A written number with optional thousands separators and decimals: "1,069.25"."""
    whole, _, fraction = written.replace(",", "").partition(".")
    said = cardinal(int(whole or "0"), british)
    if fraction:
        said += " point " + " ".join(_DIGITS[int(d)] for d in fraction)
    return said


# --------------------------------------------------------------------------- the rules


@dataclass(frozen=True)
class _Context:
    text: str
    british: bool
    acronyms: Mapping[str, str]


# A reader turns a match into the words said, or None when the match is not this kind of
# form after all (the next rule may take it).
Reader = Callable[[re.Match[str], _Context], str | None]


@dataclass(frozen=True)
class _Rule:
    name: str
    pattern: re.Pattern[str]
    read: Reader


_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
# Not inside a longer word or number: "a1", "1.2.3", "1,2".
_BEFORE = r"(?<![\w.,])(?<![\w][.,])"
_AFTER = r"(?![\w])(?![.,:]\d)"


def _rule(name: str, pattern: str, flags: int = 0) -> Callable[[Reader], Reader]:
    def register(read: Reader) -> Reader:
        _RULES.append(_Rule(name, re.compile(_BEFORE + pattern + _AFTER, flags), read))
        return read

    return register


_RULES: list[_Rule] = []

_CURRENCY = "|".join(re.escape(c) for c in sorted(CURRENCIES, key=len, reverse=True))
_SCALE_WORD = "|".join(s for s in SCALES if len(s) > 2)
_SCALE_SUFFIX = "|".join(sorted((s for s in SCALES if len(s) <= 2), key=len, reverse=True))


@_rule(
    "money",
    rf"(?P<cur>{_CURRENCY}) ?(?P<num>{_NUM})"
    rf"(?:(?P<suffix>{_SCALE_SUFFIX})|\s(?P<scale>{_SCALE_WORD}))?",
)
def _money(m: re.Match[str], ctx: _Context) -> str | None:
    currency = CURRENCIES[m["cur"]]
    scale = m["suffix"] or m["scale"]
    amount = Decimal(m["num"].replace(",", ""))
    if scale:
        return f"{number(m['num'], ctx.british)} {SCALES[scale]} {currency.many}"
    whole, _, cents = m["num"].replace(",", "").partition(".")
    said = []
    if int(whole) or not (cents and currency.minor_many):
        said.append(f"{cardinal(int(whole), ctx.british)} {_plural(currency, int(whole))}")
    if cents and currency.minor_many and len(cents) <= 2:
        minor = int(cents.ljust(2, "0"))
        if minor:
            unit = currency.minor_one if minor == 1 else currency.minor_many
            said.append(f"{cardinal(minor, ctx.british)} {unit}")
    elif cents:
        return f"{number(m['num'], ctx.british)} {currency.many}"
    return " and ".join(said) if amount else said[0]


def _plural(currency: Currency, n: int) -> str:
    return currency.one if n == 1 else currency.many


@_rule("percent", rf"(?P<num>{_NUM}) ?%")
def _percent(m: re.Match[str], ctx: _Context) -> str:
    return f"{number(m['num'], ctx.british)} percent"


@_rule("ordinal", r"(?P<num>\d{1,3}(?:,\d{3})+|\d+)(?P<suffix>st|nd|rd|th)")
def _ordinal(m: re.Match[str], ctx: _Context) -> str | None:
    n = int(m["num"].replace(",", ""))
    expected = {1: "st", 2: "nd", 3: "rd"}.get(n % 10 if n % 100 not in (11, 12, 13) else 0, "th")
    return ordinal(n, ctx.british) if m["suffix"] == expected else None


@_rule("year", r"(?P<num>1[1-9]\d\d|20\d\d)")
def _year(m: re.Match[str], ctx: _Context) -> str:
    return year(int(m["num"]), ctx.british)


@_rule("number", rf"(?P<num>{_NUM})")
def _number(m: re.Match[str], ctx: _Context) -> str:
    return number(m["num"], ctx.british)


# --------------------------------------------------------------------------- the interface


def normalise(
    text: str, acronyms: Mapping[str, str] | None = None, language: str = "en"
) -> list[Rewrite]:
    """Sorted, non-overlapping rewrites of a sentence's written forms (numbers, money, dates,
    abbreviations, ...); what no rewrite covers is said as written. ``acronyms`` maps an
    acronym as written (case-sensitive, "NATO") to "word" or "letters" (from the lexicon).
    Languages other than English: []."""
    if not language.lower().startswith("en"):
        return []
    ctx = _Context(text, _british(language), acronyms or {})
    taken: list[Rewrite] = []
    for rule in _RULES:  # earlier rules win: "$3.2m" is money before "3.2" is a number
        for m in rule.pattern.finditer(text):
            if any(m.start() < r.end and r.start < m.end() for r in taken):
                continue
            said = rule.read(m, ctx)
            if said is not None and said != m.group():
                taken.append(Rewrite(m.start(), m.end(), said))
    return sorted(taken, key=lambda r: r.start)


def normalised(text: str, acronyms: Mapping[str, str] | None = None, language: str = "en") -> str:
    """The text with its rewrites applied: what the engine is given to say."""
    out, at = [], 0
    for r in normalise(text, acronyms, language):
        out += [text[at : r.start], r.said]
        at = r.end
    return "".join([*out, text[at:]])
