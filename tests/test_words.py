"""`audio-edition words` and `say` with the fake engine, and the source's text without
Markdown's code (unit tier)."""

from __future__ import annotations

import json
import subprocess
import tomllib
import wave
from pathlib import Path
from types import SimpleNamespace

import pytest

from audio_edition import cli, words
from audio_edition.engines.fake import FakeEngine
from audio_edition.source import parse_article
from audio_edition.speech import ENGINE_ENV, VoiceSettings
from audio_edition.words import lexicon_lines, say, words_report

from .test_bad_input import _fails_cleanly

MARKDOWN = """\
---
title: Harbour of Zhobraki
---
# The port at Panjgur

See [the port](https://example.org/plughwort) and ![Quetta harbour](img/blorpfish.png).
Call `zqxjkv()` now.

```python
fooqux = snarfle()
```

    indented vorpalzz

Last words about Panjgur.
"""


@pytest.fixture
def fake(tmp_path, monkeypatch) -> Path:
    """A project in tmp_path, the CLI's engine the fake one."""
    monkeypatch.setenv(ENGINE_ENV, "fake")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "text").mkdir()
    return tmp_path


def _run(argv, capsys) -> SimpleNamespace:
    code = cli.main(argv)
    out = capsys.readouterr()
    return SimpleNamespace(returncode=code, stdout=out.out, stderr=out.err)


def _listed(project: Path, *paths: str) -> dict[str, words.UnknownWord]:
    (report,) = words_report([Path(p) for p in paths] or (), project, engine=FakeEngine())
    return {w.word: w for w in report.words}


# ---------------------------------------------------------------- the spoken text


def test_the_text_read_aloud_has_no_link_targets_nor_image_sources():
    article = parse_article(MARKDOWN, Path("a.md"))
    text = " ".join(f"{p.heading or ''} {p.text}" for p in article.paragraphs)
    assert "the port" in text and "Quetta harbour" in text  # link text, alt text
    assert "plughwort" not in text and "blorpfish" not in text and "example.org" not in text


def test_without_code_the_markdown_text_has_no_code_blocks_nor_inline_code():
    with_code = parse_article(MARKDOWN, Path("a.md"))
    without = parse_article(MARKDOWN, Path("a.md"), code=False)
    spoken = " ".join(p.text for p in with_code.paragraphs)
    assert "zqxjkv" in spoken and "snarfle" in spoken and "vorpalzz" in spoken  # read aloud
    texts = [p.text for p in without.paragraphs]
    assert texts == [
        "See the port and Quetta harbour. Call now.",
        "Last words about Panjgur.",
    ]
    assert [p.line for p in without.paragraphs] == [4, 15]  # lines kept


# ---------------------------------------------------------------- words


def test_words_of_a_markdown_article_leave_out_code_link_targets_and_image_sources(fake):
    (fake / "text" / "a.md").write_text(MARKDOWN, encoding="utf-8")
    listed = _listed(fake)
    # The alt text is said (Quetta); code, link targets and image sources are not.
    assert set(listed) == {"Panjgur", "Quetta", "Zhobraki"}
    assert listed["Panjgur"].count == 2 and listed["Panjgur"].lines == (4, 15)
    assert listed["Zhobraki"].lines == (2,)  # the front matter's title is said too


def test_a_markdown_article_of_code_alone_has_no_words_to_check(fake, capsys):
    (fake / "text" / "a.md").write_text("```\nfooqux = snarfle()\n```\n", encoding="utf-8")
    result = _run(["words"], capsys)
    assert (result.returncode, result.stdout) == (0, "text/a.md: 0 words to check\n")


def test_words_are_counted_with_their_lines_most_frequent_first(fake):
    (fake / "text" / "a.txt").write_text(
        "Mastung is far. The road to Gwadar runs past Pasni.\n\n"
        "Gwadar's port, and gwadar again, and CPEC.\nThen Gwadar once more, and Pasni.\n",
        encoding="utf-8",
    )
    listed = _listed(fake)
    # by count, then reading order; "CPEC" is an acronym whose reading is a guess
    assert list(listed) == ["Gwadar", "Pasni", "Mastung", "CPEC"]
    gwadar = listed["Gwadar"]
    assert (gwadar.count, gwadar.lines) == (4, (1, 3, 4))  # possessive, lower case counted
    assert gwadar.word == "Gwadar"  # as most often written
    assert listed["Pasni"].lines == (1, 4) and listed["Mastung"].count == 1
    assert gwadar.ipa == "ˈgwadar"  # the engine's phonemes (the fake engine's)


def test_words_the_lexicon_or_normalisation_say_are_not_listed(fake):
    (fake / "pronunciations.toml").write_text('Gwadar = "Gwah-dur"\n', encoding="utf-8")
    (fake / "text" / "a.txt").write_text(
        "In Gwadar's port, 11 laborers and Pasni paid $3.2m for 20 km (see https://cpec.org.pk"
        " and Chapter IV).\n",
        encoding="utf-8",
    )
    assert list(_listed(fake)) == ["Pasni"]


def test_a_language_without_a_dictionary_is_not_checked(fake, capsys):
    (fake / "text" / "a.txt").write_text("---\nlanguage: de\n---\nGwadar liegt am Meer.\n")
    result = _run(["words"], capsys)
    assert result.returncode == 0
    assert result.stdout == "text/a.txt: no pronouncing dictionary for language 'de'\n"


def test_words_json_for_tools(fake, capsys):
    (fake / "text" / "a.txt").write_text("Pasni and Pasni and Mastung.\n", encoding="utf-8")
    result = _run(["words", "--json"], capsys)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "articles": [
            {
                "source": "text/a.txt",
                "language": "en",
                "engine": "fake",
                "checked": True,
                "words": [
                    {"word": "Pasni", "count": 2, "lines": [1], "ipa": "ˈpasni", "reading": None},
                    {
                        "word": "Mastung",
                        "count": 1,
                        "lines": [1],
                        "ipa": "ˈmastung",
                        "reading": None,
                    },
                ],
            }
        ]
    }


def test_words_lexicon_lines_are_a_lexicon_that_leaves_nothing_to_check(fake, capsys):
    (fake / "text" / "a.txt").write_text("Pasni, Pasni's port and Mastung.\n", encoding="utf-8")
    (fake / "text" / "b.txt").write_text("Mastung and Zürichsee.\n", encoding="utf-8")
    result = _run(["words", "--lexicon"], capsys)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1] == (
        'Mastung = "Mastung"  # says /ˈmastung/; 2 times: text/a.txt:1 text/b.txt:1'
    )
    lexicon = tomllib.loads(result.stdout)
    assert lexicon == {"Mastung": "Mastung", "Pasni": "Pasni", "Zürichsee": "Zürichsee"}
    (fake / "pronunciations.toml").write_text(result.stdout, encoding="utf-8")
    assert _run(["words"], capsys).stdout == (
        "text/a.txt: 0 words to check\ntext/b.txt: 0 words to check\n"
    )


def test_acronyms_read_by_a_guess_are_listed_with_how_they_are_read(fake, capsys):
    """Normalisation guesses how an acronym of four letters or more is read, from its
    spelling: "USAID" comes out as the word "Usaid", which the editor must be shown."""
    (fake / "text" / "a.txt").write_text(
        "USAID and CPEC met NATO and the BBC. USAID's aid came.\n", encoding="utf-8"
    )
    listed = _listed(fake)
    assert list(listed) == ["USAID", "CPEC"]  # NATO is known to be a word, BBC letters
    assert (listed["USAID"].reading, listed["USAID"].count) == ("word", 2)
    assert listed["USAID"].ipa == "ˈusaid"  # what the engine is given: "Usaid"
    assert (listed["CPEC"].reading, listed["CPEC"].ipa) == ("letters", "ˈc ˈp ˈe ˈc")
    assert _run(["words"], capsys).stdout.splitlines()[1] == (
        "  USAID                  2x  line 1  /ˈusaid/  (acronym, read as a word)"
    )
    lines = _run(["words", "--lexicon"], capsys).stdout
    assert tomllib.loads(lines) == {"acronyms": {"USAID": "word", "CPEC": "letters"}}
    # The editor says how USAID is read: it is no longer a guess, and is read so.
    (fake / "pronunciations.toml").write_text(
        lines.replace('USAID = "word"', 'USAID = "letters"'), encoding="utf-8"
    )
    assert _run(["words"], capsys).stdout == "text/a.txt: 0 words to check\n"
    assert say("USAID", fake / "u.wav", fake, engine=FakeEngine()).spoken.text == "U.S.A.I.D"


def test_fake_phonemes_give_one_line_per_line():
    assert (
        FakeEngine().phonemes("Gwah-dur\n\nthe CAT", VoiceSettings()) == "ˈgwah ˈdur\n\nˈthe ˈcat"
    )


# ---------------------------------------------------------------- say


def test_say_writes_the_text_as_the_lexicon_says_it(fake):
    (fake / "pronunciations.toml").write_text('Gwadar = "Gwah-dur"\n', encoding="utf-8")
    engine = FakeEngine()
    said = say("Gwadar's port", out=fake / "try.wav", project=fake, engine=engine)
    assert engine.spoken == ["Gwah-dur's port"]
    assert said.spoken.display == "Gwadar's port" and said.ipa == "ˈgwah ˈdur ˈs ˈport"
    with wave.open(str(fake / "try.wav")) as w:
        assert w.getnframes() > 0


def test_say_to_a_file_of_another_kind_is_a_usage_error_and_writes_nothing(fake, capsys):
    result = _run(["say", "Gwadar", "--out", "try.flac"], capsys)
    _fails_cleanly(result, 2, "try.flac", ".wav", ".mp3", ".ogg")
    assert not (fake / "try.flac").exists()


def test_say_to_a_folder_is_a_one_line_error(fake, capsys):
    (fake / "try.wav").mkdir()
    _fails_cleanly(_run(["say", "Gwadar", "--out", "try.wav"], capsys), 2, "try.wav", "directory")
    assert not list((fake / "try.wav").iterdir())


def test_say_without_ffplay_says_what_to_install(fake, capsys, monkeypatch):
    real = words.shutil.which
    monkeypatch.setattr(words.shutil, "which", lambda n: None if n == "ffplay" else real(n))
    result = _run(["say", "Gwadar", "--play"], capsys)
    _fails_cleanly(result, 1, "ffplay", "apt-get install ffmpeg", "--out")


def test_say_without_an_audio_device_fails_in_one_line(fake, capsys, monkeypatch):
    # ffplay with no audio device prints its complaint and still exits 0.
    stderr = (
        "ALSA lib pcm.c:2666: Unknown PCM default\nNo more combinations to try, audio open failed\n"
    )
    ran = subprocess.CompletedProcess([], 0, "", stderr)
    monkeypatch.setattr(words.shutil, "which", lambda n: f"/usr/bin/{n}")
    monkeypatch.setattr(words.subprocess, "run", lambda *a, **k: ran)
    result = _run(["say", "Gwadar"], capsys)
    _fails_cleanly(result, 1, "audio device", "audio open failed", "--out")


def test_lexicon_lines_quote_what_toml_needs_quoted():
    report = words.ArticleWords(
        "a.txt", "en", "fake", (words.UnknownWord('Zü"rich', 1, (3,), None),)
    )
    (line,) = lexicon_lines([report])
    assert tomllib.loads(line) == {'Zü"rich': 'Zü"rich'}


def test_lines_are_counted_as_the_source_counts_them(fake):
    # A form feed is a space to the source, not a line break.
    (fake / "text" / "a.txt").write_text(
        "Mastung\x0c is far,\nPasni is near.\n\nPasni again.\n", encoding="utf-8"
    )
    assert _listed(fake)["Pasni"].lines == (2, 4)


def test_words_into_a_closed_pipe_stops_quietly(tmp_path: Path) -> None:
    """`audio-edition words | head`: once the reader has gone, no traceback and no
    "internal error", only the exit status of a tool stopped by a closed pipe."""
    import os
    import sys

    (tmp_path / "text").mkdir()
    names = " ".join(f"Zorbuk{i}x" for i in range(400))
    (tmp_path / "text" / "names.txt").write_text(f"{names}.\n", encoding="utf-8")
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first line
    try:
        done = subprocess.run(
            [sys.executable, "-m", "audio_edition.cli", "words"],
            cwd=tmp_path,
            env={**os.environ, ENGINE_ENV: "fake"},
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
        )
    finally:
        os.close(write)
    assert done.stderr == "" and done.returncode == 141, done.stderr
