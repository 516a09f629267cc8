"""`audio-edition words` and `say` with real eSpeak NG and ffmpeg (integration)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from audio_edition.engines.espeak import EspeakEngine
from audio_edition.normalise import normalised
from audio_edition.speech import VoiceSettings
from audio_edition.words import WORD

from .conftest import SAMPLE, decode, run_cli

pytestmark = pytest.mark.integration

US = VoiceSettings(voice="gmw/en-us")


def test_words_on_the_sample_lists_its_names_first_and_no_common_english_word(project):
    result = run_cli("words", "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    (article,) = json.loads(result.stdout)["articles"]
    listed = [w["word"] for w in article["words"]]
    assert {"Gwadar", "Balochistan", "Panjgur"} <= set(listed[:5])
    # The text's own common words: those it uses at least twice, never capitalised.
    text = SAMPLE.read_text(encoding="utf-8")
    written = Counter(WORD.findall(text))
    common = {w for w, n in written.items() if w.islower() and n >= 2 and w.title() not in written}
    common |= {"the", "laborers", "travelling", "Pakistan", "Islamabad", "Rawalpindi"}
    assert len(common) > 100 and not common & set(listed)
    gwadar = next(w for w in article["words"] if w["word"] == "Gwadar")
    assert gwadar["ipa"] == "ɡwˈɑːdɑːɹ" and gwadar["count"] == 5
    assert all(w["ipa"] and w["lines"] for w in article["words"])


def _say(project: Path, *args: str) -> tuple[str, str]:
    result = run_cli("say", *args, cwd=project)
    assert result.returncode == 0, result.stderr
    said = re.fullmatch(r"said: (.*) /(.*)/ -> \S+\n", result.stdout)
    assert said, result.stdout
    return said[1], said[2]


def _seconds(path: Path) -> float:
    samples = decode(path)
    assert abs(samples.astype(float)).max() > 1000  # speech, not silence
    return len(samples) / 22050


def test_say_writes_audio_and_a_lexicon_entry_changes_what_is_said(tmp_path):
    sentence = "The port at Gwadar was busy."
    text, ipa = _say(tmp_path, sentence, "--out", "before.mp3")
    assert text == sentence and "ɡwˈɑːdɑːɹ" in ipa
    before = _seconds(tmp_path / "before.mp3")
    assert 1.0 < before < 4.0  # six words at 175 words a minute: about two seconds

    (tmp_path / "pronunciations.toml").write_text('Gwadar = "Gwah-dur"\n', encoding="utf-8")
    text, ipa = _say(tmp_path, sentence, "--out", "after.ogg")
    assert text == "The port at Gwah-dur was busy."
    respelt = EspeakEngine().phonemes("Gwah-dur", US)
    assert respelt in ipa and "ɡwˈɑːdɑːɹ" not in ipa
    assert 1.0 < _seconds(tmp_path / "after.ogg") < 4.0


def test_say_with_an_ipa_entry_says_its_phonemes(tmp_path):
    (tmp_path / "pronunciations.toml").write_text(
        'Gwadar = { say = "Gwah-dur", ipa = "ɡwˈɑːdɚ" }\n', encoding="utf-8"
    )
    text, ipa = _say(tmp_path, "Gwadar's port", "--out", "a.wav")
    assert text.startswith("[[") and "Gwadar" not in text  # eSpeak's phoneme input
    assert ipa.startswith("ɡwˈɑːdɚz ")  # the entry's IPA, with the possessive
    assert 0.5 < _seconds(tmp_path / "a.wav") < 3.0


def test_say_normalises_as_a_build_would(tmp_path):
    written = "It cost $3.2m."
    text, ipa = _say(tmp_path, written, "--out", "a.wav")
    assert text == normalised(written) != written
    engine = EspeakEngine()
    assert ipa == engine.phonemes(text, US) != engine.phonemes(written, US)
    assert 1.0 < _seconds(tmp_path / "a.wav") < 5.0
