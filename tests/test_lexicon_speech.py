"""The pronunciation lexicon with real eSpeak NG (and ffmpeg, EPUBCheck): what is heard
changes, what is shown does not, and exactly the sentences with the word are spoken again."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import wave
import zipfile
from pathlib import Path

import pytest

from audio_edition.engines.espeak import EspeakEngine
from audio_edition.lexicon import load_lexicon
from audio_edition.speech import Utterance, VoiceSettings
from audio_edition.spoken import spoken_text

from .conftest import build_json, run_cli
from .test_bad_input import _fails_cleanly, _snapshot
from .test_formats_epub import EPUBCHECK

pytestmark = pytest.mark.integration

ARTICLE = """\
---
title: Harbour notes
---
The boats came in at dawn. Gwadar's harbour was quiet.

Fish from Gwadar sold quickly. The market closed at noon.
"""
LEXICON = 'Gwadar = "Gwah-dur"\nPanjgur = { say = "Punj-goor", ipa = "pˈʌndʒɡʊɹ" }\n'
SMALL = ("--no-opening", "--no-closing")
PLS_NS = "http://www.w3.org/2005/01/pronunciation-lexicon"


@pytest.fixture
def harbour(tmp_path: Path) -> Path:
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "harbour.md").write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "pronunciations.toml").write_text(LEXICON, encoding="utf-8")
    return tmp_path


def _espeak(*args: str) -> str:
    result = subprocess.run(
        ["espeak-ng", "-q", "-v", "en-us", *args], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def test_an_entry_changes_the_phonemes_to_the_respellings(harbour):
    lexicon = load_lexicon(harbour / "pronunciations.toml")
    said = spoken_text("Gwadar's harbour.", lexicon).text
    assert _espeak("-x", said) != _espeak("-x", "Gwadar's harbour.")
    assert _espeak("-x", said) == _espeak("-x", "Gwah-dur's harbour.")


def test_an_ipa_entry_is_said_with_those_phonemes(harbour):
    lexicon = load_lexicon(harbour / "pronunciations.toml")
    said = spoken_text("Panjgur", lexicon, EspeakEngine().phoneme_markup).text
    assert said.startswith("[[") and said.endswith("]]")
    assert _espeak("--ipa", "Panjgur") != "pˈʌndʒɡʊɹ"  # eSpeak's own guess differs
    assert _espeak("--ipa", said) == "pˈʌndʒɡʊɹ"


def test_piper_markup_takes_only_the_voices_phonemes():
    from audio_edition.engines.piper import PiperEngine

    markup = PiperEngine().phoneme_markup
    assert markup("ɡwˈɑːdɚ") == "[[ ɡwˈɑːdɚ ]]"
    # The ASCII g is not IPA's ɡ: the voice has no id for it, and would drop it.
    with pytest.raises(ValueError, match=r"unknown IPA symbol 'g'"):
        markup("gwˈɑːdɚ")


def _samples(path: Path) -> int:
    with wave.open(str(path)) as w:
        return w.getnframes()


def test_the_espeak_speaker_reads_phoneme_markup_as_phonemes(tmp_path):
    """pyttsx3 alone reads ``[[h@l'oU]]`` out as symbols: the speaker sets eSpeak's flag."""
    engine = EspeakEngine()
    hello = engine.phoneme_markup(_espeak("--ipa", "hello"))
    jobs = [
        (Utterance(f"{text} there.", VoiceSettings(), text), tmp_path / f"{n}.wav")
        for n, text in enumerate(["hello", hello])
    ]
    clips = {clip.utterance.label: clip for clip in engine.synthesize(jobs, 1)}
    plain, marked = _samples(clips["hello"].path), _samples(clips[hello].path)
    assert abs(plain - marked) <= 0.02 * plain, (plain, marked)


def _cues(vtt: Path) -> list[str]:
    """The captions' text, without times or word timestamps."""
    text = re.sub(r"<[^>]*>", "", vtt.read_text(encoding="utf-8"))
    return [line for line in text.splitlines() if line and "-->" not in line]


def test_changing_an_entry_re_speaks_only_its_sentences_and_shows_the_same_text(harbour):
    first = build_json(harbour, "--format", "vtt", *SMALL)["editions"][0]
    assert first["synthesized"] == 4
    vtt = harbour / "audio" / "harbour.vtt"
    shown = _cues(vtt)
    assert "Gwadar's harbour was quiet." in shown and not any("Gwah" in c for c in shown)
    (harbour / "pronunciations.toml").write_text(LEXICON.replace("Gwah-dur", "Gwaa-dar"))
    again = build_json(harbour, "--format", "vtt", *SMALL)["editions"][0]
    assert (again["synthesized"], again["reused"]) == (2, 2)
    assert _cues(vtt) == shown
    manifest = json.loads((harbour / "audio" / "harbour.json").read_text(encoding="utf-8"))
    said = [s["spoken"] for p in manifest["paragraphs"] for s in p["sentences"]]
    assert said == [None, "Gwaa-dar's harbour was quiet.", "Fish from Gwaa-dar sold quickly.", None]
    words = manifest["paragraphs"][1]["sentences"][0]["words"]
    assert [w["text"] for w in words] == ["Fish", "from", "Gwadar", "sold", "quickly"]


def test_the_epub_carries_the_lexicon_it_was_read_with_and_passes_epubcheck(harbour):
    if shutil.which("java") is None:
        pytest.fail("java is missing: `make test` installs default-jre-headless and epubcheck")
    article = harbour / "text" / "harbour.md"
    article.write_text(ARTICLE.replace("noon", "Panjgur"), encoding="utf-8")
    build_json(harbour, "--format", "epub", *SMALL)
    epub = harbour / "audio" / "harbour.epub"
    with zipfile.ZipFile(epub) as book:
        pls = book.read("EPUB/lexicon.pls").decode()
        opf = book.read("EPUB/package.opf").decode()
        text = book.read("EPUB/text.xhtml").decode()
    assert '<item id="lexicon" href="lexicon.pls" media-type="application/pls+xml"/>' in opf
    assert '<link rel="pronunciation" type="application/pls+xml" hreflang="en"' in text
    assert "<alias>Gwah-dur</alias>" in pls and "<phoneme>pˈʌndʒɡʊɹ</phoneme>" in pls
    assert "Gwah" not in text  # the text shows what was written
    (harbour / "read.pls").write_text(pls, encoding="utf-8")
    assert [e.written for e in load_lexicon(harbour / "read.pls").entries] == ["Gwadar", "Panjgur"]
    result = subprocess.run(
        ["java", "-jar", EPUBCHECK, str(epub)], capture_output=True, text=True, timeout=300
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0 and "0 errors / 0 warnings" in report, report


BAD = {
    "empty respelling": ('Shaban = "Sha-baan"\nGwadar = ""\n', "pronunciations.toml:2"),
    "malformed TOML": ('Shaban = "Sha-baan\n', "pronunciations.toml:1"),
    "IPA eSpeak cannot take": ('Gwadar = { say = "G", ipa = "ɡwʘ" }\n', "pronunciations.toml:1"),
    "a phrase with nothing in it": ('"  " = "x"\n', "pronunciations.toml:1"),
}


def test_bad_lexicons_fail_cleanly_and_build_nothing(harbour):
    build_json(harbour, "--format", "vtt", *SMALL)
    before = _snapshot(harbour)
    for problem, (text, where) in BAD.items():
        (harbour / "pronunciations.toml").write_text(text, encoding="utf-8")
        result = run_cli("build", "--format", "vtt", *SMALL, cwd=harbour)
        line = _fails_cleanly(result, 1, where)
        assert line.startswith("audio-edition: error: "), (problem, line)
        assert _snapshot(harbour) == before, problem
    (harbour / "pronunciations.toml").unlink()
    (harbour / "audio-edition.toml").write_text('lexicon = "names.pls"\n', encoding="utf-8")
    (harbour / "names.pls").write_text(
        f'<?xml version="1.0"?>\n<lexicon xmlns="{PLS_NS}">\n<lexeme>'
    )
    result = run_cli("build", "--format", "vtt", *SMALL, cwd=harbour)
    _fails_cleanly(result, 1, "names.pls:", "not well-formed")
    (harbour / "names.pls").unlink()
    _fails_cleanly(run_cli("build", "--format", "vtt", *SMALL, cwd=harbour), 1, "names.pls")
    assert _snapshot(harbour) == before


def test_the_lexicon_may_be_a_pls_file_named_in_the_project_file(harbour):
    (harbour / "pronunciations.toml").unlink()
    (harbour / "audio-edition.toml").write_text('lexicon = "names.pls"\n', encoding="utf-8")
    (harbour / "names.pls").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<lexicon version="1.0" '
        'xmlns="http://www.w3.org/2005/01/pronunciation-lexicon" alphabet="ipa" xml:lang="en">'
        "\n<lexeme><grapheme>Gwadar</grapheme><alias>Gwah-dur</alias></lexeme>\n</lexicon>\n",
        encoding="utf-8",
    )
    build_json(harbour, "--format", "vtt", *SMALL)
    manifest = json.loads((harbour / "audio" / "harbour.json").read_text(encoding="utf-8"))
    assert manifest["paragraphs"][0]["sentences"][1]["spoken"] == "Gwah-dur's harbour was quiet."
