"""Text normalisation: written forms said as a careful human reader says them.

The table is the specification: each case is a written form in a little context and the
words a reader says for it (American English, the default; British cases say so)."""

from __future__ import annotations

import re
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audio_edition.normalise import Rewrite, normalise, normalised

CASES = [
    # cardinal and ordinal numbers
    ("11 laborers", "eleven laborers"),
    ("a toll of 92", "a toll of ninety-two"),
    ("1,069 people", "one thousand sixty-nine people"),
    ("1,200,000 voters", "one million two hundred thousand voters"),
    ("the 3rd time", "the third time"),
    ("the 21st century", "the twenty-first century"),
    ("the 1,000th day", "the one thousandth day"),
    ("the 11th hour", "the eleventh hour"),
    ("an 11-year-old", "an eleven-year-old"),
    ("at -5 degrees", "at minus five degrees"),
    ("code 007", "code zero zero seven"),
    # years and decades
    ("in 2026", "in twenty twenty-six"),
    ("since 1990", "since nineteen ninety"),
    ("by 2005", "by two thousand five"),
    ("in 1905", "in nineteen oh-five"),
    ("the 1990s", "the nineteen nineties"),
    ("in the 1990s", "in the nineteen nineties"),
    ("the '90s", "the nineties"),
    ("in her 30s", "in her thirties"),
    ("the 2000s", "the two thousands"),
    # decimals and percentages
    ("4.5% of them", "four point five percent of them"),
    ("92 percent", "ninety-two percent"),
    ("a 0.25 share", "a zero point two five share"),
    ("up 12 %", "up twelve percent"),
    ("up 12.5pc", "up twelve point five percent"),
    ("a 3:1 ratio", "a three to one ratio"),
    ("2½ years", "two and a half years"),
    # money
    ("$3.2m", "three point two million dollars"),
    ("£5bn", "five billion pounds"),
    ("Rs 500", "five hundred rupees"),
    ("Rs. 1,200", "one thousand two hundred rupees"),
    ("€20", "twenty euros"),
    ("$1.50", "one dollar and fifty cents"),
    ("$1", "one dollar"),
    ("$0.05", "five cents"),
    ("US$40m", "forty million U.S dollars"),
    ("Rs 50 crore", "fifty crore rupees"),
    ("$3 million", "three million dollars"),
    ("$10–20m", "ten to twenty million dollars"),
    ("PKR 700", "seven hundred Pakistani rupees"),
    ("Rs. 500/- each", "five hundred rupees each"),
    ("Rs1.5tr", "one point five trillion rupees"),
    ("5m people", "five million people"),
    # dates
    ("On 31 January, they", "On the thirty-first of January, they"),
    ("30 November 2026", "the thirtieth of November twenty twenty-six"),
    ("Nov. 30", "November thirtieth"),
    ("2026-11-30", "November thirtieth twenty twenty-six"),
    ("on the 30th of November", "on the thirtieth of November"),
    ("November 30, 2026", "November thirtieth, twenty twenty-six"),
    ("in Sept 2026", "in September twenty twenty-six"),
    # times
    ("at 10:30 am", "at ten thirty A.M"),
    ("by 9pm", "by nine P.M"),
    ("at 14:00", "at fourteen hundred"),
    ("at 9:05", "at nine oh five"),
    ("at 10:00", "at ten o'clock"),
    # ranges
    ("2019–2024", "twenty nineteen to twenty twenty-four"),
    ("between 2019–2024", "between twenty nineteen and twenty twenty-four"),
    ("2019-20", "twenty nineteen to twenty twenty"),
    ("in FY24", "in fiscal year twenty-four"),
    ("FY2024-25", "fiscal year twenty twenty-four twenty-five"),
    ("pp. 4–7", "pages four to seven"),
    ("10-12 km", "ten to twelve kilometers"),
    ("10–12%", "ten to twelve percent"),
    # abbreviations, titles and units
    ("Dr. Khan", "Doctor Khan"),
    ("Mr Baloch", "Mister Baloch"),
    ("St. Paul", "Saint Paul"),
    ("on Main St. today", "on Main Street today"),
    ("Lt. Gen. Munir", "Lieutenant General Munir"),
    ("No. 5", "number five"),
    ("p. 12", "page twelve"),
    ("ports, e.g. Gwadar", "ports, for example Gwadar"),
    ("E.g. Gwadar", "For example Gwadar"),
    ("one, i.e. Gwadar", "one, that is Gwadar"),
    ("Pakistan vs. India", "Pakistan versus India"),
    ("the 9/11 attacks", "the nine eleven attacks"),
    ("5 km", "five kilometers"),
    ("1 km", "one kilometer"),
    ("a 10-km walk", "a ten-kilometer walk"),
    ("40 kg", "forty kilograms"),
    ("45°C", "forty-five degrees Celsius"),
    ("-5 °C", "minus five degrees Celsius"),
    ("60 mph", "sixty miles per hour"),
    # Roman numerals
    ("Chapter IV", "Chapter four"),
    ("Part II", "Part two"),
    ("Charles III", "Charles the Third"),
    ("King Charles III's", "King Charles the Third's"),
    ("World War II", "World War two"),
    ("Elizabeth I", "Elizabeth the First"),
    ("IV.", "four."),
    ("Louis XIV", "Louis the Fourteenth"),
    ("Super Bowl LVII", "Super Bowl fifty-seven"),
    # web addresses
    ("example.com/news", "example dot com slash news"),
    ("https://www.dawn.com", "W.W.W dot dawn dot com"),
    ("ed@example.org", "ed at example dot org"),
    ("bbc.co.uk", "B.B.C dot co dot U.K"),
    # acronyms
    ("the CPEC route", "the C.P.E.C route"),
    ("NATO said", "Nato said"),
    ("the ISPR said", "the I.S.P.R said"),
    ("NADRA cards", "Nadra cards"),
    ("the NGOs", "the N.G.O's"),
    ("an NGO's staff", "an N.G.O's staff"),
    ("the UN said", "the U.N said"),
    ("COVID-19", "Covid-nineteen"),
]

# British English: "and" in numbers, the day before the month.
BRITISH = [
    ("1,069 people", "one thousand and sixty-nine people"),
    ("$1.50", "one dollar and fifty cents"),
    ("2026-11-30", "the thirtieth of November twenty twenty-six"),
    ("in 2005", "in two thousand and five"),
]

# Left as written: what a reader says as it stands, or what the rules cannot read surely.
UNCHANGED = [
    "and I said so.",  # the pronoun, not a numeral
    "Gen Z voters",  # no full stop: no general
    "version 1.2.3",
    "call 0300-1234567",
    "on 1/2/2026",  # day or month first? the engine reads it
    "a 3-2 win",
    "BREAKING NEWS FROM THE UN TODAY",  # capitals for emphasis, not acronyms
    "Tehreek-e-Taliban Pakistan",
    "a Type C plug",  # a letter, not a hundred
]


def _ids(cases):
    return [c[0] for c in cases]


@pytest.mark.parametrize(("written", "said"), CASES, ids=_ids(CASES))
def test_written_forms_are_said_as_a_reader_says_them(written, said):
    assert normalised(written) == said


@pytest.mark.parametrize(("written", "said"), BRITISH, ids=_ids(BRITISH))
def test_british_english_says_and_and_the_day_first(written, said):
    assert normalised(written, language="en-GB") == said


@pytest.mark.parametrize("written", UNCHANGED)
def test_what_the_rules_cannot_read_surely_is_left_as_written(written):
    assert normalise(written) == []


def test_the_acronyms_mapping_decides_how_an_acronym_is_read():
    assert normalised("CPEC and NATO", {"CPEC": "word", "NATO": "letters"}) == "Cpec and N.A.T.O"
    assert normalised("CPEC and NATO") == "C.P.E.C and Nato"


def test_a_rewrite_covers_whole_written_tokens():
    assert normalise("It cost $3.2m, they said.") == [
        Rewrite(8, 13, "three point two million dollars")
    ]
    assert normalise("Due 30 November 2026.") == [
        Rewrite(4, 20, "the thirtieth of November twenty twenty-six")
    ]


def test_an_abbreviation_that_ends_the_sentence_leaves_it_its_full_stop():
    assert normalised("Ports, roads, etc.") == "Ports, roads, et cetera."
    assert normalised("They live on Main St.") == "They live on Main Street."


def test_a_number_too_large_to_name_is_said_digit_by_digit():
    assert normalised("$1" + ",000" * 300).startswith("one zero zero zero zero")
    assert normalised("1" + ",000" * 5 + "th") == "one" + " zero" * 15 + " th"


def test_other_languages_get_no_rewrites():
    assert normalise("Il y a 11 ouvriers et 4,5 %.", language="fr") == []
    assert normalise("11 laborers", language="en-GB") != []


def test_the_sample_articles_figures_are_read_as_words():
    from pathlib import Path

    text = (Path(__file__).parent.parent / "text" / "gwadar-editorial.txt").read_text()
    said = normalised(text)
    assert "eleven laborers" in said and "to ninety-two, a figure" in said
    assert "On the thirty-first of January," in said and "eighteen civilians" in said
    assert not re.search(r"\d", said)


# --------------------------------------------------------------------------- properties

_TOKENS = [c[0] for c in CASES] + ["Gwadar", "the", "x", "I", "½", "1", "(", ")", "'", "—"]
# Tokens run together too ("Gwadar11"), so a rule that reads inside a word shows.
_GAPS = st.sampled_from(["", " ", " ", ", ", "-", "/", ".", "; "])


@settings(max_examples=400)
@given(st.lists(st.tuples(st.sampled_from(_TOKENS), _GAPS), max_size=12))
def test_rewrites_are_sorted_apart_and_on_word_boundaries(pieces):
    text = "".join(token + gap for token, gap in pieces)
    rewrites = normalise(text)
    for a, b in zip(rewrites, rewrites[1:], strict=False):
        assert a.end <= b.start
    for r in rewrites:
        assert 0 <= r.start < r.end <= len(text)
        assert r.start == 0 or not text[r.start - 1].isalnum()
        assert not text[r.end : r.end + 1].isalnum()
        assert not text[r.start].isspace() and not text[r.end - 1].isspace()
        assert r.said and r.said.strip() == r.said
    assert normalised(text) == _apply(text, rewrites)


def _apply(text, rewrites):
    for r in reversed(rewrites):
        text = text[: r.start] + r.said + text[r.end :]
    return text


_PLAIN_WORDS = st.text(alphabet="abcdefghijklmnopqrstuwxyz", min_size=1, max_size=8).filter(
    lambda w: w not in ("etc", "vs", "approx")
)


@given(st.lists(_PLAIN_WORDS, max_size=15), st.sampled_from([" ", ", ", ". ", "; "]))
def test_text_without_figures_or_abbreviations_has_no_rewrites(words, gap):
    assert normalise(gap.join(words) + ".") == []


# --------------------------------------------------------------------------- with eSpeak

# A sentence, and the same sentence written out in words by hand.
SPOKEN = [
    (
        "The port cost $3.2m, and tickets were Rs. 1,200 each.",
        "The port cost three point two million dollars, and tickets were one thousand two"
        " hundred rupees each.",
    ),
    (
        "On 31 January, assaults were reported.",
        "On the thirty-first of January, assaults were reported.",
    ),
    (
        "The talks resume on Nov. 30 at 10:30 am.",
        "The talks resume on November thirtieth at ten thirty AM.",
    ),
    (
        "It was the 3rd attack since 2019, and 4.5% of voters noticed.",
        "It was the third attack since twenty nineteen, and four point five percent of voters"
        " noticed.",
    ),
    (
        "The 1,069th day fell on 2026-11-30.",
        "The one thousand sixty-ninth day fell on November thirtieth twenty twenty-six.",
    ),
    (
        "Prices rose 10-12% from 2019–2024, Dr. Khan said.",
        "Prices rose ten to twelve percent from twenty nineteen to twenty twenty-four, Doctor Khan"
        " said.",
    ),
    ("The IMF lent £5bn to NATO by 9pm.", "The IMF lent five billion pounds to NATO by nine PM."),
]


def _phonemes(text: str) -> list[str]:
    out = subprocess.run(
        ["espeak-ng", "-q", "-x", "-v", "en-us", text], capture_output=True, text=True, check=True
    )
    return out.stdout.split()


@pytest.mark.integration
@pytest.mark.parametrize(("written", "words"), SPOKEN, ids=_ids(SPOKEN))
def test_espeak_says_a_normalised_sentence_as_it_says_the_words(written, words):
    assert _phonemes(normalised(written)) == _phonemes(words)
    assert _phonemes(written) != _phonemes(words)  # eSpeak alone reads the figures otherwise
