"""Text normalisation: written forms said as a careful human reader says them."""

from __future__ import annotations

import pytest

from audio_edition.normalise import Rewrite, normalise, normalised

CASES = [
    ("11 laborers", "eleven laborers"),
    ("1,069 people", "one thousand sixty-nine people"),
    ("the 3rd time", "the third time"),
    ("4.5% of them", "four point five percent of them"),
    ("92 percent", "ninety-two percent"),
    ("$3.2m", "three point two million dollars"),
    ("£5bn", "five billion pounds"),
    ("Rs 500", "five hundred rupees"),
    ("Rs. 1,200", "one thousand two hundred rupees"),
    ("€20", "twenty euros"),
    ("$1.50", "one dollar and fifty cents"),
    ("in 2026", "in twenty twenty-six"),
]


@pytest.mark.parametrize(("written", "said"), CASES, ids=[c[0] for c in CASES])
def test_written_forms_are_said_as_a_reader_says_them(written, said):
    assert normalised(written) == said


def test_a_rewrite_covers_whole_written_tokens():
    assert normalise("It cost $3.2m, they said.") == [
        Rewrite(8, 13, "three point two million dollars")
    ]


def test_other_languages_get_no_rewrites():
    assert normalise("Il y a 11 ouvriers.", language="fr") == []
