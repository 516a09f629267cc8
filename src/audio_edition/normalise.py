"""Written forms said as a careful human reader says them: numbers, money, dates, times,
ranges, abbreviations, Roman numerals, web addresses and acronyms (English only).

The text stage, before the script: ``normalise(sentence)`` gives the rewrites, each a span
of whole written tokens and the plain words said for it, so every engine says "$3.2m" the
same way and word timings still map back to the written words. What picks a reading is
data (the tables below) and one rule per kind of written form, tried in order (an earlier
rule wins: "$3.2m" is money before "3.2" is a number); num2words does the number words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache

__all__ = ["Guess", "Rewrite", "acronym_said", "normalise", "normalised"]


@dataclass(frozen=True)
class Rewrite:
    """``text[start:end]`` is said as ``said`` (plain words)."""

    start: int
    end: int
    said: str


@dataclass(frozen=True)
class Guess:
    """An acronym the spelling rule reads as a "word" or as "letters", as no table or
    lexicon says how."""

    acronym: str
    reading: str


# =========================================================================== the tables


def _words_of(words: str) -> tuple[str, ...]:
    return tuple(words.split())


MONTHS = {
    m.lower(): m
    for m in _words_of(
        "January February March April May June July August September October November December"
    )
}
# Abbreviated months are read only beside a day or a year ("Nov. 30", "Sept 2026").
MONTH_ABBREVIATIONS = {
    **{m[:3].lower(): m for m in MONTHS.values() if m != "May"},
    "sept": "September",
}


@dataclass(frozen=True)
class Currency:
    one: str  # "dollar"
    many: str  # "dollars"
    minor_one: str | None = None  # "cent"; None: the currency has no minor unit in use
    minor_many: str | None = None


_DOLLAR = Currency("dollar", "dollars", "cent", "cents")
_US_DOLLAR = Currency("U.S dollar", "U.S dollars", "cent", "cents")
_POUND = Currency("pound", "pounds", "penny", "pence")
_EURO = Currency("euro", "euros", "cent", "cents")
_RUPEE = Currency("rupee", "rupees", "paisa", "paise")
# Written before the amount: "$3.2m", "Rs. 1,200", "USD 5" (and "Rs 500/-", as Pakistani
# papers write it).
CURRENCIES = {
    "$": _DOLLAR,
    "US$": _US_DOLLAR,
    "USD": _US_DOLLAR,
    "£": _POUND,
    "GBP": _POUND,
    "€": _EURO,
    "EUR": _EURO,
    "¥": Currency("yen", "yen"),
    "₹": _RUPEE,
    "Rs.": _RUPEE,
    "Rs": _RUPEE,
    "PKR": Currency("Pakistani rupee", "Pakistani rupees", "paisa", "paise"),
    "INR": Currency("Indian rupee", "Indian rupees", "paisa", "paise"),
}
# A scale after an amount, attached ("$3.2m", "£5bn", "5m people") or as a word
# ("Rs 50 crore", "$3 million": the currency is said after it).
SCALE_SUFFIXES = {"k": "thousand", "m": "million", "mn": "million", "bn": "billion"}
SCALE_SUFFIXES |= {"tn": "trillion", "tr": "trillion"}
SCALE_WORDS = ("thousand", "million", "billion", "trillion", "lakh", "crore")

# Units after a number: (one, many). "1 km": one kilometer; "10-km walk": ten-kilometer.
UNITS = {
    "km": ("kilometer", "kilometers"),
    "km²": ("square kilometer", "square kilometers"),
    "sq km": ("square kilometer", "square kilometers"),
    "cm": ("centimeter", "centimeters"),
    "mm": ("millimeter", "millimeters"),
    "kg": ("kilogram", "kilograms"),
    "mg": ("milligram", "milligrams"),
    "ml": ("milliliter", "milliliters"),
    "ha": ("hectare", "hectares"),
    "ft": ("foot", "feet"),
    "lb": ("pound", "pounds"),
    "lbs": ("pound", "pounds"),
    "oz": ("ounce", "ounces"),
    "mph": ("mile per hour", "miles per hour"),
    "km/h": ("kilometer per hour", "kilometers per hour"),
    "kph": ("kilometer per hour", "kilometers per hour"),
    "°C": ("degree Celsius", "degrees Celsius"),
    "°F": ("degree Fahrenheit", "degrees Fahrenheit"),
    "°": ("degree", "degrees"),
    "kW": ("kilowatt", "kilowatts"),
    "MW": ("megawatt", "megawatts"),
    "GW": ("gigawatt", "gigawatts"),
    "kWh": ("kilowatt-hour", "kilowatt-hours"),
    "MB": ("megabyte", "megabytes"),
    "GB": ("gigabyte", "gigabytes"),
    "TB": ("terabyte", "terabytes"),
}
VULGAR_FRACTIONS = {"½": "half", "¼": "quarter", "¾": "three quarters", "⅓": "third"}
VULGAR_FRACTIONS |= {"⅔": "two thirds"}

# Abbreviations before a number: "No. 5" is "number five", "pp. 4–7" "pages four to seven".
NUMBERED = {
    "No.": "number",
    "No": "number",
    "no.": "number",
    "Nos.": "numbers",
    "#": "number",
    "p.": "page",
    "pp.": "pages",
    "Fig.": "figure",
    "fig.": "figure",
    "Vol.": "volume",
    "vol.": "volume",
    "Ch.": "chapter",
    "ch.": "chapter",
    "Sec.": "section",
    "Art.": "article",
    "Para.": "paragraph",
    "para.": "paragraph",
}
# Titles, read before a name (a capitalised word): "Dr. Khan", "Mr Baloch", "St. Paul".
TITLES = {
    "Dr": "Doctor",
    "Mr": "Mister",
    "Mrs": "Missus",
    "Ms": "Miz",
    "Prof": "Professor",
    "St": "Saint",
    "Mt": "Mount",
    "Ft": "Fort",
    "Gen": "General",
    "Lt": "Lieutenant",
    "Col": "Colonel",
    "Maj": "Major",
    "Capt": "Captain",
    "Brig": "Brigadier",
    "Sgt": "Sergeant",
    "Gov": "Governor",
    "Sen": "Senator",
    "Rep": "Representative",
    "Rev": "Reverend",
    "Pres": "President",
    "Supt": "Superintendent",
    "Insp": "Inspector",
}
# Titles written without a full stop too (British style: "Mr Baloch", "St Paul").
BARE_TITLES = frozenset({"Dr", "Mr", "Mrs", "Ms", "St"})
# Read after a name or a number, when no name follows: "Main St.", "5th Ave.".
STREETS = {"St.": "Street", "Dr.": "Drive", "Ave.": "Avenue", "Rd.": "Road", "Blvd.": "Boulevard"}
# Read wherever they stand.
ABBREVIATIONS = {
    "e.g.": "for example",
    "i.e.": "that is",
    "etc.": "et cetera",
    "vs.": "versus",
    "vs": "versus",
    "approx.": "approximately",
    "Inc.": "Incorporated",
    "Ltd.": "Limited",
    "Corp.": "Corporation",
    "Dept.": "Department",
    "Govt.": "Government",
    "Jr.": "Junior",
    "Sr.": "Senior",
    "9/11": "nine eleven",
    "24/7": "twenty-four seven",
}

# Words before a Roman numeral that numbers something (cardinal: "Chapter four",
# "World War two"); names before one that is a regnal number (ordinal: "Charles the Third").
# After another capitalised word a numeral of two letters or more is a number ("Pakistan
# XI"), and "I" the pronoun.
ROMAN_COUNTERS = _words_of(
    "chapter part book volume vol. act scene section article appendix annex phase stage "
    "round level title schedule war bowl type class grade tier"
)
REGNAL_NAMES = _words_of(
    "Alexander Alfonso Benedict Catherine Charles Constantine Edward Elizabeth Ferdinand "
    "Francis Frederick George Gregory Henry James John Leo Louis Mary Napoleon Nicholas "
    "Paul Peter Philip Pius Richard Victor William Mehmed Murad Selim Suleiman Mahmud "
    "Ramesses Amenhotep Thutmose Ptolemy Darius Cyrus Xerxes Antiochus"
)

# Acronyms said as a word, whatever the spelling rule below thinks (the `acronyms`
# mapping, from the lexicon, decides before this).
WORD_ACRONYMS = _words_of(
    "NATO UNESCO UNICEF NASA COVID AIDS OPEC NAFTA ASEAN FIFA UEFA SARS RADAR LASER SCUBA "
    "SAARC BRICS SIM PIN"
)
LETTER_ACRONYMS = _words_of("ICAO COAS")
# The spelling rule: an acronym of four or more letters reads as a word when it starts
# as English words start and ends as they end, with short runs of vowels and consonants
# ("NATO", "NADRA"); otherwise (and always at three letters or fewer) as letters ("CPEC").
ONSETS = _words_of(
    "b c d f g h j k l m n p r s t v w y z bl br ch cl cr dr fl fr gl gr kn ph pl pr qu "
    "sc sh sk sl sm sn sp st sw th tr tw wh wr scr shr spl spr squ str thr"
)
CODAS = _words_of(
    "b c d f g h k l m n p r s t x z ck ct ft ld lf lk lm lp ls lt mp ms nd ng nk ns nt "
    "pt ps rb rc rd rk rl rm rn rp rs rt sh sk sp ss st th ch ts ds ks cs"
)

# Web addresses: the parts people say otherwise than as written.
URL_SYMBOLS = {
    ".": "dot",
    "/": "slash",
    "-": "dash",
    "_": "underscore",
    "@": "at",
    "+": "plus",
    ":": "colon",
    "?": "question mark",
    "=": "equals",
    "&": "and",
    "#": "hash",
    "~": "tilde",
    "%": "percent",
}
DOMAIN_NAMES = {"www": "W.W.W", "uk": "U.K", "pk": "P.K", "edu": "E.D.U", "io": "I.O"}
DOMAIN_NAMES |= {"us": "U.S", "eu": "E.U", "tv": "T.V", "in": "I.N", "gov": "gov"}

# =========================================================================== number words


def _british(language: str) -> bool:
    """British usage ("one hundred and five", "the fifth of May") for the English of
    Britain and the Commonwealth; American for en, en-US and en-CA (the project's default
    English voice is American)."""
    region = language.lower().replace("_", "-").partition("-")[2][:2]
    return region not in ("", "us", "ca")


@cache
def _num2words() -> Callable[..., str]:
    from num2words import num2words  # on first use: off the no-change rebuild path

    return num2words


# Past the trillions nobody says the number's name (and num2words has none past 10**66):
# its digits, one by one.
_LARGEST_NAMED = 10**15 - 1


def _words(n: int, to: str, british: bool) -> str:
    if abs(n) > _LARGEST_NAMED:
        return " ".join(_DIGITS[int(d)] for d in str(abs(n))) + (" th" if to == "ordinal" else "")
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
    """A written number: "1,069.25", "-5", "007" (a leading zero: said digit by digit)."""
    sign, written = ("minus ", written[1:]) if written[:1] in "-−" else ("", written)
    whole, _, fraction = written.replace(",", "").partition(".")
    # "007", "0300", "1234567": a code or a telephone number, said digit by digit (a count
    # that long is written with separators).
    if len(whole) > 1 and whole.startswith("0") or "," not in written and len(whole) > 6:
        said = " ".join(_DIGITS[int(d)] for d in whole)
    else:
        said = cardinal(int(whole or "0"), british)
    if fraction:
        said += " point " + " ".join(_DIGITS[int(d)] for d in fraction)
    return sign + said


def _value(written: str) -> float:
    return float(written.replace(",", "").replace("−", "-"))


def _plural(words: str) -> str:
    """ "nineteen ninety" -> "nineteen nineties"."""
    return words[:-1] + "ies" if words.endswith("y") else words + "s"


# =========================================================================== the rules


@dataclass(frozen=True)
class _Context:
    text: str
    british: bool
    acronyms: Mapping[str, str]
    shouting: bool  # most words in capitals: a heading or emphasis, not acronyms
    guessed: list[Guess] | None = None  # acronyms read by the spelling rule, if asked

    def word_before(self, m: re.Match[str]) -> str:
        # A window, not the whole text before: each look stays short in a long text.
        found = re.search(r"(\S+)\s+$", self.text[max(0, m.start() - 80) : m.start()])
        return found[1].lstrip("\"'“‘(") if found else ""


# A reader turns a match into the words said, or None when the match is not this kind of
# form after all (a later rule may take it).
Reader = Callable[[re.Match[str], _Context], str | None]


@dataclass(frozen=True)
class _Rule:
    name: str
    pattern: re.Pattern[str]
    read: Reader


_RULES: list[_Rule] = []

# Whole written tokens: not inside a longer word or number ("a1", "1.2.3", "1,2", "1/2/26",
# "0300-1234567").
_BEFORE = r"(?<![\w.,/])(?<![\w][.,/])(?<!\d[-–:])"
_AFTER = r"(?!\w)(?!(?<=\d)[.,:/\-–]\d)"


def _rule(name: str, pattern: str, flags: int = 0) -> Callable[[Reader], Reader]:
    def register(read: Reader) -> Reader:
        _RULES.append(_Rule(name, re.compile(_BEFORE + pattern + _AFTER, flags), read))
        return read

    return register


def _alternatives(words: Iterable[str]) -> str:
    """A regex alternation of the table's keys, longest first, escaped."""
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_INT = r"\d{1,3}(?:,\d{3})+|\d+"
_NUM = rf"(?:{_INT})(?:\.\d+)?"
_DASH = r"\s?[–—-]\s?"
_MONTH = "|".join(MONTHS.values())
_MONTH_ABBR = "|".join(m.capitalize() for m in MONTH_ABBREVIATIONS) + r"|Sept"
_ANY_MONTH = rf"(?:{_MONTH}|(?:{_MONTH_ABBR})\.?)"
_DAY = r"(?P<d>[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?"
_YEAR = r"(?P<y>1[1-9]\d\d|20\d\d)"
_CAPITALISED = re.compile(r"[A-Z][a-z]")


def _month(written: str) -> str:
    written = written.rstrip(".")
    return MONTHS.get(written.lower()) or MONTH_ABBREVIATIONS[written.lower()]


# --------------------------------------------------------------------------- web addresses


def _spell_address(written: str) -> str:
    """ "example.com/news" -> "example dot com slash news"."""
    said = []
    for part in re.findall(r"[A-Za-z]+|\d+|.", written):
        if part in URL_SYMBOLS:
            said.append(URL_SYMBOLS[part])
        elif part.isdigit():
            said.append(number(part))
        elif part.lower() in DOMAIN_NAMES:
            said.append(DOMAIN_NAMES[part.lower()])
        elif not re.search("[aeiouy]", part, re.I):
            said.append(".".join(part.upper()))  # "bbc": letters
        else:
            said.append(part)
    return " ".join(said)


_TLD = r"com|org|net|gov|edu|info|io|pk|uk|in|us|eu|co|tv|news|int"


@_rule("email", r"(?P<a>[\w.+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8})")
def _email(m: re.Match[str], ctx: _Context) -> str:
    return _spell_address(m["a"])


@_rule(
    "url",
    rf"(?:https?://)?(?P<a>(?:www\.)?[A-Za-z0-9-]{{1,63}}(?:\.[A-Za-z0-9-]{{1,63}}){{0,8}}\.(?:{_TLD})"
    r"(?:/[\w\-./?=&#%~+]*[\w/])?)",
)
def _url(m: re.Match[str], ctx: _Context) -> str:
    return _spell_address(m["a"])  # "https://" goes unsaid, as people leave it out


# --------------------------------------------------------------------------- dates and times


def _date(day: int, month: str, yr: str | None, day_first: bool, ctx: _Context) -> str:
    said = f"the {ordinal(day)} of {month}" if day_first else f"{month} {ordinal(day)}"
    return f"{said} {year(int(yr), ctx.british)}" if yr else said


@_rule("iso date", r"(?P<y>\d{4})-(?P<mo>0[1-9]|1[0-2])-(?P<d>0[1-9]|[12]\d|3[01])")
def _iso_date(m: re.Match[str], ctx: _Context) -> str:
    month = list(MONTHS.values())[int(m["mo"]) - 1]
    return _date(int(m["d"]), month, m["y"], ctx.british, ctx)


@_rule("day month", rf"{_DAY} (?:of )?(?P<mo>{_ANY_MONTH})(?:,? {_YEAR})?")
def _day_month(m: re.Match[str], ctx: _Context) -> str:
    said = _date(int(m["d"]), _month(m["mo"]), m["y"], True, ctx)
    return said.removeprefix("the ") if ctx.word_before(m).lower() == "the" else said


@_rule("month day", rf"(?P<mo>{_ANY_MONTH}) {_DAY}(?:(?P<comma>,?) {_YEAR})?")
def _month_day(m: re.Match[str], ctx: _Context) -> str:
    said = _date(int(m["d"]), _month(m["mo"]), None, False, ctx)
    return f"{said}{m['comma']} {year(int(m['y']), ctx.british)}" if m["y"] else said


@_rule("month year", rf"(?P<mo>{_ANY_MONTH}),? {_YEAR}")
def _month_year(m: re.Match[str], ctx: _Context) -> str:
    return f"{_month(m['mo'])} {year(int(m['y']), ctx.british)}"


_MERIDIEM = r"(?P<ap>[ap]\.m\.|[ap]m|[AP]\.M\.|[AP]M)"


@_rule("time", rf"(?P<h>[01]?\d|2[0-3])(?:[:.](?P<mi>[0-5]\d))?\s?{_MERIDIEM}")
def _clock(m: re.Match[str], ctx: _Context) -> str | None:
    if not 1 <= int(m["h"]) <= 12:
        return None
    said = cardinal(int(m["h"]))
    if m["mi"] and m["mi"] != "00":
        said += " " + _minutes(m["mi"])
    return f"{said} {m['ap'][0].upper()}.M"


@_rule("ratio", r"(?P<a>\d+):(?P<b>\d)")
def _ratio(m: re.Match[str], ctx: _Context) -> str:
    return f"{cardinal(int(m['a']))} to {cardinal(int(m['b']))}"  # "3:1", not a time


@_rule("fiscal year", r"FY ?(?P<y>\d\d|\d{4})(?:[-–/](?P<to>\d\d))?")
def _fiscal_year(m: re.Match[str], ctx: _Context) -> str:
    said = f"fiscal year {year(int(m['y']), ctx.british)}"  # "FY24", "FY2024-25"
    return f"{said} {cardinal(int(m['to']))}" if m["to"] else said


@_rule("24-hour time", r"(?P<h>[01]?\d|2[0-3]):(?P<mi>[0-5]\d)")
def _time(m: re.Match[str], ctx: _Context) -> str:
    h, zero = int(m["h"]), len(m["h"]) == 2 and m["h"].startswith("0")
    hour = ("oh " if zero and h else "") + (cardinal(h) if h else "zero")
    if m["mi"] != "00":
        return f"{hour} {_minutes(m['mi'])}"
    if zero or not 1 <= h <= 12:
        return f"{hour} hundred"  # "14:00", "09:00": the 24-hour clock
    return f"{hour} o'clock"


def _minutes(written: str) -> str:
    return f"oh {_DIGITS[int(written)]}" if written.startswith("0") else cardinal(int(written))


# --------------------------------------------------------------------------- money and ranges


_SCALE = rf"(?:(?P<suffix>{_alternatives(SCALE_SUFFIXES)})|\s(?P<scale>{'|'.join(SCALE_WORDS)}))"


@_rule(
    "money",
    rf"(?P<cur>{_alternatives(CURRENCIES)})\s?(?P<num>{_NUM})(?:{_DASH}(?P<to>{_NUM}))?{_SCALE}?(?:/-)?",
)
def _money(m: re.Match[str], ctx: _Context) -> str | None:
    currency, british = CURRENCIES[m["cur"]], ctx.british
    scale = SCALE_SUFFIXES.get(m["suffix"] or "") or m["scale"]
    if m["to"] and _value(m["to"]) <= _value(m["num"]):
        return None
    amount = " to ".join(number(n, british) for n in (m["num"], m["to"]) if n)
    amount += f" {scale}" if scale else ""
    whole = scale or m["to"] or "." not in m["num"]
    if whole and ctx.word_before(m).lower() in ("a", "an"):
        return f"{amount} {currency.one}"  # "a $7bn loan": "a seven billion dollar loan"
    if whole:
        return (
            f"{amount} {currency.many}" if scale or m["to"] else _count(m["num"], currency, british)
        )
    units, _, minor = m["num"].replace(",", "").partition(".")
    if not (currency.minor_one and currency.minor_many and len(minor) <= 2):
        return f"{amount} {currency.many}"  # "¥1.5", "$1.125"
    cents = int(minor.ljust(2, "0"))
    said = [_count(units, currency, british)] if int(units) or not cents else []
    if cents:
        said.append(_count(str(cents), Currency(currency.minor_one, currency.minor_many), british))
    return " and ".join(said)


def _count(written: str, currency: Currency, british: bool) -> str:
    """ "1" dollar, "1,200" rupees."""
    n = int(written.replace(",", ""))
    return f"{number(written, british)} {currency.one if n == 1 else currency.many}"


@_rule("year range", rf"{_YEAR}{_DASH}(?P<to>\d{{4}}|\d\d)")
def _year_range(m: re.Match[str], ctx: _Context) -> str | None:
    end = int(m["to"]) if len(m["to"]) == 4 else int(m["y"][:2] + m["to"])
    if end <= int(m["y"]):
        return None
    return f"{year(int(m['y']), ctx.british)} {_to(m, ctx)} {year(end, ctx.british)}"


def _to(m: re.Match[str], ctx: _Context) -> str:
    """ "between 2019 and 2024", else "2019 to 2024"."""
    return "and" if ctx.word_before(m).lower() == "between" else "to"


@_rule("page range", rf"(?P<p>pp?\.|pages?)\s?(?P<a>\d+){_DASH}(?P<b>\d+)")
def _page_range(m: re.Match[str], ctx: _Context) -> str | None:
    if int(m["b"]) <= int(m["a"]):
        return None
    return f"pages {cardinal(int(m['a']))} {_to(m, ctx)} {cardinal(int(m['b']))}"


_UNIT = rf"(?:(?P<hyphen>-)|\s?)(?P<unit>{_alternatives(UNITS)})"


@_rule("range", rf"(?P<a>-?{_NUM}){_DASH}(?P<b>{_NUM})(?:{_UNIT}|(?P<percent>\s?%))?")
def _range(m: re.Match[str], ctx: _Context) -> str | None:
    if _value(m["b"]) <= _value(m["a"]) or m["a"].startswith("0") or m["b"].startswith("0"):
        return None
    said = f"{number(m['a'], ctx.british)} {_to(m, ctx)} {number(m['b'], ctx.british)}"
    if m["percent"]:
        return f"{said} percent"
    if m["unit"]:
        return f"{said}{'-' if m['hyphen'] else ' '}{UNITS[m['unit']][0 if m['hyphen'] else 1]}"
    return said


# --------------------------------------------------------------------------- numbers with words


@_rule("decade", r"(?:(?P<y>1[1-9]\d0|20\d0)|['’](?P<yy>\d0)|(?P<n>[1-9]0))['’]?s")
def _decade(m: re.Match[str], ctx: _Context) -> str:
    if m["y"]:
        return _plural(year(int(m["y"]), ctx.british))
    return _plural(cardinal(int(m["yy"] or m["n"])))


@_rule("percent", rf"(?P<num>-?{_NUM})(?:\s?%|pc)")  # "12.5pc", as Pakistani papers write it
def _percent(m: re.Match[str], ctx: _Context) -> str:
    return f"{number(m['num'], ctx.british)} percent"


@_rule("measure", rf"(?P<num>-?{_NUM}){_UNIT}")
def _measure(m: re.Match[str], ctx: _Context) -> str:
    one, many = UNITS[m["unit"]]
    if m["hyphen"]:  # "a 10-km walk": "a ten-kilometer walk"
        return f"{number(m['num'], ctx.british)}-{one}"
    if ctx.word_before(m).lower() in ("a", "an"):  # "a 25 sq km park"
        return f"{number(m['num'], ctx.british)} {one}"
    return f"{number(m['num'], ctx.british)} {one if m['num'] == '1' else many}"


@_rule("scaled number", rf"(?P<num>{_NUM})(?:(?P<suffix>{_alternatives(SCALE_SUFFIXES)}))")
def _scaled(m: re.Match[str], ctx: _Context) -> str:
    return f"{number(m['num'], ctx.british)} {SCALE_SUFFIXES[m['suffix']]}"


@_rule("ordinal", rf"(?P<num>{_INT})(?P<suffix>st|nd|rd|th)")
def _ordinal(m: re.Match[str], ctx: _Context) -> str | None:
    n = int(m["num"].replace(",", ""))
    teen = n % 100 in (11, 12, 13)
    expected = "th" if teen else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return ordinal(n, ctx.british) if m["suffix"] == expected else None


@_rule("fraction", rf"(?:(?P<num>\d+)\s?)?(?P<f>{'|'.join(VULGAR_FRACTIONS)})")
def _vulgar(m: re.Match[str], ctx: _Context) -> str:
    part = VULGAR_FRACTIONS[m["f"]]
    if not m["num"]:
        return part if " " in part else f"one {part}"
    return f"{cardinal(int(m['num']))} and {part if ' ' in part else 'a ' + part}"


@_rule("numbered", rf"(?P<abbr>{_alternatives(NUMBERED)})\s?(?P<num>\d+)")
def _numbered(m: re.Match[str], ctx: _Context) -> str | None:
    if m["abbr"] == "No" and not m.group().startswith("No "):
        return None  # "No5" is no abbreviation
    return f"{NUMBERED[m['abbr']]} {cardinal(int(m['num']))}"


# --------------------------------------------------------------------------- abbreviations


@_rule("title", rf"(?P<abbr>{_alternatives(TITLES)})\.?(?=\s+[\"'“‘(]?[A-Z][a-z])")
def _title(m: re.Match[str], ctx: _Context) -> str | None:
    if not m.group().endswith(".") and m["abbr"] not in BARE_TITLES:
        return None  # "Gen Z" is no general
    return TITLES[m["abbr"]]


@_rule("street", rf"(?P<abbr>{_alternatives(STREETS)})")
def _street(m: re.Match[str], ctx: _Context) -> str | None:
    before = ctx.word_before(m)
    if not (_CAPITALISED.match(before) or re.match(r"\d", before)):
        return None
    return STREETS[m["abbr"]]


@_rule("abbreviation", rf"(?P<abbr>{_alternatives(ABBREVIATIONS)})", re.IGNORECASE)
def _abbreviation(m: re.Match[str], ctx: _Context) -> str | None:
    key = next((k for k in ABBREVIATIONS if k.lower() == m["abbr"].lower()), None)
    if key is None or m["abbr"][1:] != key[1:]:  # only the first letter may be capitalised
        return None
    said = ABBREVIATIONS[key]
    return said[0].upper() + said[1:] if m["abbr"][0].isupper() else said


# --------------------------------------------------------------------------- Roman numerals

_ROMAN = {"M": 1000, "D": 500, "C": 100, "L": 50, "X": 10, "V": 5, "I": 1}


def roman(written: str) -> int | None:
    """The value of a well-formed Roman numeral ("XIV": 14), else None ("IIII", "IC")."""
    if not re.fullmatch(r"M{0,3}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})", written):
        return None
    values = [_ROMAN[c] for c in written]
    total = sum(-v if v < w else v for v, w in zip(values, [*values[1:], 0], strict=True))
    return total or None


@_rule("roman numeral", r"(?P<rn>[IVXLC]+)")
def _roman(m: re.Match[str], ctx: _Context) -> str | None:
    n, before = roman(m["rn"]), ctx.word_before(m)
    if n is None:
        return None
    heading = ctx.text.strip(" .:") == m["rn"]
    if len(m["rn"]) == 1 and m["rn"] not in "IVX":
        return None  # "Type C", "Grade L": letters, not a hundred and fifty
    if heading or before.lower() in ROMAN_COUNTERS and n <= 100:
        return cardinal(n)  # "Chapter IV", "World War II", or a heading "IV."
    if n > 39 or not _CAPITALISED.match(before) or before.endswith((".", ",", ":", ";")):
        return None
    if before in REGNAL_NAMES:  # "Charles III", "Elizabeth I"
        return f"the {ordinal(n).capitalize()}"
    if len(m["rn"]) > 1:  # "Pakistan XI", "Apollo XI", "Rocky III": a number
        return cardinal(n)
    return None  # "Then I": the pronoun


# --------------------------------------------------------------------------- years and numbers


@_rule("year", _YEAR)
def _year(m: re.Match[str], ctx: _Context) -> str:
    return year(int(m["y"]), ctx.british)


@_rule("number", rf"(?P<num>[-−]?{_NUM})")
def _number(m: re.Match[str], ctx: _Context) -> str:
    return number(m["num"], ctx.british)


# --------------------------------------------------------------------------- acronyms


@_rule("acronym", r"(?P<a>[A-Z]{2,})(?P<s>s)?")
def _acronym(m: re.Match[str], ctx: _Context) -> str | None:
    if ctx.shouting or set(m["a"]) == {"I"}:  # "II" is a numeral the rules above left
        return None
    word = ctx.acronyms.get(m["a"]) or _reading(m["a"])
    if ctx.guessed is not None and m["a"] not in ctx.acronyms and _guessed(m["a"]):
        ctx.guessed.append(Guess(m["a"], word))
    said = acronym_said(m["a"], word)
    return said + ("'s" if word == "letters" and m["s"] else m["s"] or "")


def acronym_said(acronym: str, reading: str) -> str:
    """How an acronym is given to the engine: as a word ("Nato") or letter by letter."""
    return acronym.capitalize() if reading == "word" else ".".join(acronym)


def _guessed(acronym: str) -> bool:
    """Whether the spelling rule, not a table, decides how ``acronym`` is read (at three
    letters or fewer it is always letters, which is nearly always right)."""
    return len(acronym) > 3 and acronym not in WORD_ACRONYMS + LETTER_ACRONYMS


def _reading(acronym: str) -> str:
    if acronym in WORD_ACRONYMS:
        return "word"
    if acronym in LETTER_ACRONYMS or len(acronym) <= 3:
        return "letters"
    word = acronym.lower()
    onset = re.match(r"y?[^aeiouy]*", word)[0]  # type: ignore[index]
    coda = re.search(r"[^aeiouy]*$", word[len(onset) :])[0]  # type: ignore[index]
    middle = word[len(onset) : len(word) - len(coda)]
    speakable = (
        bool(middle)
        and (onset == "" or onset in ONSETS)
        and (coda == "" or coda in CODAS)
        and all(len(run) <= 2 for run in re.findall("[aeiouy]+", middle))
        and all(len(run) <= 3 for run in re.findall("[^aeiouy]+", middle))
    )
    return "word" if speakable else "letters"


# =========================================================================== the interface


def _shouting(text: str) -> bool:
    words = re.findall(r"[^\W\d_]{2,}", text)
    capitals = sum(w.isupper() for w in words)
    return capitals >= 3 and (len(words) - capitals) * 4 <= len(words)


def _sentence_end(text: str, end: int) -> int:
    """A rewrite of "etc." that ends the sentence leaves its full stop to the sentence."""
    if text[end - 1 : end] == "." and not re.search(r"[^\s\"'”’)\]]", text[end:]):
        return end - 1
    return end


def normalise(
    text: str,
    acronyms: Mapping[str, str] | None = None,
    language: str = "en",
    guessed: list[Guess] | None = None,
) -> list[Rewrite]:
    """Sorted, non-overlapping rewrites of a sentence's written forms (numbers, money, dates,
    abbreviations, ...); what no rewrite covers is said as written. ``acronyms`` maps an
    acronym as written (case-sensitive, "NATO") to "word" or "letters" (from the lexicon).
    ``guessed``, if given, gets each acronym whose reading the spelling rule guessed (for
    ``words``: an editor should check it). Languages other than English: []."""
    if not language.lower().startswith("en"):
        return []
    ctx = _Context(text, _british(language), acronyms or {}, _shouting(text), guessed)
    taken: list[Rewrite] = []
    covered = bytearray(len(text))  # 1 where a rewrite is already taken
    for rule in _RULES:  # earlier rules win: "$3.2m" is money before "3.2" is a number
        for m in rule.pattern.finditer(text):
            if any(covered[m.start() : m.end()]):
                continue
            said = rule.read(m, ctx)
            if said is not None and said != m.group():
                taken.append(Rewrite(m.start(), _sentence_end(text, m.end()), said))
                covered[m.start() : m.end()] = b"\1" * (m.end() - m.start())
    return sorted(taken, key=lambda r: r.start)


def normalised(text: str, acronyms: Mapping[str, str] | None = None, language: str = "en") -> str:
    """The text with its rewrites applied: what the engine is given to say."""
    out, at = [], 0
    for r in normalise(text, acronyms, language):
        out += [text[at : r.start], r.said]
        at = r.end
    return "".join([*out, text[at:]])
