"""How the engines will say a text, in IPA (``phonemes``): real eSpeak NG and Piper."""

from __future__ import annotations

import pytest

from audio_edition.engines.espeak import EspeakEngine
from audio_edition.engines.piper import PiperEngine
from audio_edition.speech import VoiceSettings

pytestmark = pytest.mark.integration

US, GB = VoiceSettings(voice="gmw/en-us"), VoiceSettings(voice="gmw/en")
JOE = VoiceSettings(voice="en_US-joe-medium")


def test_espeak_gives_one_line_of_ipa_per_line_of_text_in_one_call():
    lines = EspeakEngine().phonemes("Gwadar\nthe\nThe cat sat, down. Then a dog.\n\ncat", US)
    assert lines.split("\n") == [
        "ɡwˈɑːdɑːɹ",
        "ðˈə",
        "ðə kˈæt sˈæt dˈaʊn ðˈɛn ɐ dˈɑːɡ",  # three clauses, one line
        "",
        "kˈæt",
    ]


def test_espeak_phonemes_follow_the_voice_and_read_phoneme_markup():
    engine = EspeakEngine()
    assert engine.phonemes("water", US) != engine.phonemes("water", GB)
    # eSpeak's own [[...]] phoneme input, as the lexicon's IPA reaches it
    assert engine.phonemes("say [[gw'A:d3]] now", US) == "sˈeɪ ɡwˈɑːdɚ nˈaʊ"


def test_piper_phonemes_come_from_its_own_phonemiser_without_punctuation():
    engine = PiperEngine()
    said = engine.phonemes("Gwadar\nThe cat sat, down.\nsay [[ ɡwˈɑːdɚ ]] now", JOE)
    assert said.split("\n") == ["ɡwˈɑːdɑːɹ", "ðə kˈæt sˈæt dˈaʊn", "sˈeɪ ɡwˈɑːdɚ nˈaʊ"]
