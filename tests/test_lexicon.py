"""The pronunciation lexicon (lexicon.py) and the spoken text (spoken.py): unit tier."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from audio_edition.build import EditionResult, build
from audio_edition.config import Settings, load_settings
from audio_edition.engines.fake import FakeEngine
from audio_edition.errors import AudioEditionError
from audio_edition.lexicon import (
    Entry,
    Lexicon,
    LexiconError,
    article_lexicon,
    load_lexicon,
    project_lexicon,
)
from audio_edition.source import parse_article
from audio_edition.spoken import SpokenText, spoken_text

GWADAR = Entry("Gwadar", "Gwah-dur", None, False, "pronunciations.toml:1")
PEARL = Entry("Pearl Continental", "Purl Conti-nental", None, False, "pronunciations.toml:2")
CONTINENTAL = Entry("Continental", "Kon-tin-ental", None, False, "pronunciations.toml:3")
US = Entry("US", "you ess", None, True, "pronunciations.toml:4")


def _said(lexicon: Lexicon, text: str) -> list[str]:
    return [text[m.start : m.end] for m in lexicon.matches(text)]


# ------------------------------------------------------------------------ matching


def test_matches_whole_words_case_insensitively():
    lexicon = Lexicon((GWADAR,))
    text = "GWADAR and gwadar, not Gwadari or NewGwadar."
    assert _said(lexicon, text) == ["GWADAR", "gwadar"]


def test_matches_possessives_and_plurals():
    lexicon = Lexicon((GWADAR,))
    text = "Gwadar's port, the two Gwadars, the Gwadars' boats, Gwadar’s sea."
    found = lexicon.matches(text)
    assert [text[m.start : m.end] for m in found] == ["Gwadar's", "Gwadars", "Gwadars'", "Gwadar’s"]
    assert [m.suffix for m in found] == ["'s", "s", "s'", "’s"]


def test_a_phrase_wins_over_a_word_inside_it():
    lexicon = Lexicon((CONTINENTAL, PEARL))
    text = "At the Pearl  Continental, not the Continental."
    found = lexicon.matches(text)
    assert [m.entry for m in found] == [PEARL, CONTINENTAL]
    assert [text[m.start : m.end] for m in found] == ["Pearl  Continental", "Continental"]


def test_entries_with_marks_and_words_joined_by_hyphens():
    eg = Entry("e.g.", "for example", None, False, "p.toml:5")
    hash_tag = Entry("#CPEC", "hashtag see peck", None, False, "p.toml:6")
    lexicon = Lexicon((GWADAR, eg, hash_tag))
    text = "Gwadar-based firms, e.g. those tagged #CPEC, not egg or #CPECs."
    assert _said(lexicon, text) == ["Gwadar", "e.g.", "#CPEC", "#CPECs"]


def test_a_case_sensitive_entry_matches_only_as_written():
    lexicon = Lexicon((US,))
    assert _said(lexicon, "The US told us.") == ["US"]


def test_knows_an_entry_its_forms_and_the_acronyms():
    lexicon = Lexicon((GWADAR, PEARL), {"NATO": "word"})
    assert lexicon.knows("gwadar") and lexicon.knows("Gwadar's") and lexicon.knows("NATO")
    assert not lexicon.knows("Pearl") and not lexicon.knows("Panjgur")


def test_front_matter_entries_go_over_the_project_entries():
    project = Lexicon((GWADAR, CONTINENTAL), {"NATO": "letters"})
    mine = Entry("gwadar", "Gwaa-dar", None, False, "a.md:3")
    merged = project.with_entries(Lexicon((mine,), {"NATO": "word"}))
    assert merged.entries == (CONTINENTAL, mine)
    assert merged.acronyms == {"NATO": "word"}


# ------------------------------------------------------------------------ spoken text


def test_spoken_text_says_respellings_and_maps_offsets_back():
    lexicon = Lexicon((GWADAR, PEARL))
    display = "In Gwadar's Pearl Continental hotel."
    spoken = spoken_text(display, lexicon)
    assert spoken.text == "In Gwah-dur's Purl Conti-nental hotel."
    assert spoken.entries == (GWADAR, PEARL)
    # Every word's start in the spoken text maps to its written word's start.
    for said, written in [("In", "In"), ("Gwah", "Gwadar"), ("Purl", "Pearl"), ("hotel", "hotel")]:
        assert spoken.display_offset(spoken.text.index(said)) == display.index(written)
    assert spoken.display_offset(spoken.text.index("nental")) == display.index("Pearl")
    assert spoken.display_offset(len(spoken.text)) == len(display)


def test_spoken_text_uses_the_engines_phoneme_markup_for_ipa():
    entry = Entry("Gwadar", "Gwah-dur", "ɡwɑːdər", False, "p.toml:1")
    spoken = spoken_text("Gwadar's port.", Lexicon((entry,)), markup=lambda ipa: f"[[{ipa}]]")
    assert spoken.text == "[[ɡwɑːdərz]] port."
    assert spoken.display_offset(spoken.text.index("port")) == len("Gwadar's ")
    # Without markup (an engine that takes no phonemes) the respelling is said.
    assert spoken_text("Gwadar.", Lexicon((entry,))).text == "Gwah-dur."


def test_ipa_the_engine_cannot_take_names_the_entry():
    entry = Entry("Gwadar", "Gwah-dur", "ɡwɑː☃", False, "pronunciations.toml:7")

    def markup(ipa: str) -> str:
        raise ValueError("unknown IPA symbol '☃'")

    with pytest.raises(LexiconError, match=r"^pronunciations.toml:7: .*Gwadar.*☃"):
        Lexicon((entry,)).checked(markup)
    with pytest.raises(LexiconError, match=r"^pronunciations.toml:7: "):
        spoken_text("Gwadar.", Lexicon((entry,)), markup)


def test_text_with_no_entry_is_said_as_written():
    spoken = spoken_text("Nothing to change here.", Lexicon((GWADAR,)))
    assert spoken == SpokenText("Nothing to change here.", "Nothing to change here.")
    assert spoken.display_offset(8) == 8


# ------------------------------------------------------------------------ files


def _toml(tmp_path: Path, text: str, name: str = "pronunciations.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_toml_lexicon_with_words_tables_and_acronyms(tmp_path):
    path = _toml(
        tmp_path,
        '# names\nGwadar = "Gwah-dur"\n"Pearl Continental" = "Purl Conti-nental"\n'
        'Panjgur = { say = "Punj-goor", ipa = "pʌndʒɡʊr" }\n\n'
        '[words.Baloch]\nsay = "Buh-loch"\ncase = true\n\n[acronyms]\nNATO = "word"\n'
        'CPEC = "letters"\n',
    )
    lexicon = load_lexicon(path)
    assert [(e.written, e.respelling, e.ipa, e.case_sensitive) for e in lexicon.entries] == [
        ("Gwadar", "Gwah-dur", None, False),
        ("Pearl Continental", "Purl Conti-nental", None, False),
        ("Panjgur", "Punj-goor", "pʌndʒɡʊr", False),
        ("Baloch", "Buh-loch", None, True),
    ]
    assert [e.where for e in lexicon.entries] == [f"{path}:{n}" for n in (2, 3, 4, 6)]
    assert lexicon.acronyms == {"NATO": "word", "CPEC": "letters"}


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('Shaban = "Sha-baan"\nGwadar = ""\n', 2, "empty respelling for 'Gwadar'"),
        ('Gwadar = "  "\n', 1, "empty respelling"),
        ('"  " = "nothing"\n', 1, "no word in it"),
        ('Gwadar = { ipa = "" }\n', 1, "empty IPA"),
        ('Gwadar = { say = "x", sound = "y" }\n', 1, "unknown key 'sound'"),
        ("Gwadar = 3\n", 1, "must be a respelling"),
        ('a = "b"\nGwadar = "Gwah\n', 2, ""),
        ('[acronyms]\nNATO = "spelled"\n', 2, "NATO"),
        ('Gwadar = "a"\n[words.gwadar]\nsay = "b"\n', 2, "already given"),
    ],
)
def test_bad_toml_entries_name_the_file_and_line(tmp_path, text, line, words):
    path = _toml(tmp_path, text)
    with pytest.raises(LexiconError) as caught:
        load_lexicon(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: ") and words in message
    assert "\n" not in message


PLS = """<?xml version="1.0" encoding="UTF-8"?>
<lexicon version="1.0" xmlns="http://www.w3.org/2005/01/pronunciation-lexicon"
         alphabet="ipa" xml:lang="en">
  <lexeme>
    <grapheme>Gwadar</grapheme>
    <phoneme>ɡwɑːdər</phoneme>
  </lexeme>
  <lexeme>
    <grapheme>CPEC</grapheme>
    <alias>see peck</alias>
  </lexeme>
</lexicon>
"""


def test_pls_lexicon(tmp_path):
    path = _toml(tmp_path, PLS, "names.pls")
    lexicon = load_lexicon(path)
    assert [(e.written, e.respelling, e.ipa, e.where) for e in lexicon.entries] == [
        ("Gwadar", "Gwadar", "ɡwɑːdər", f"{path}:4"),
        ("CPEC", "see peck", None, f"{path}:8"),
    ]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (PLS.replace("<lexeme>", "<lexeme", 1), "not well-formed"),
        (
            PLS.replace("<lexicon", '<!DOCTYPE x [<!ENTITY a "aaaa">]>\n<lexicon', 1),
            "DOCTYPE is not allowed",
        ),
        (PLS.replace("see peck", ""), "empty respelling"),
        (PLS.replace('alphabet="ipa"', 'alphabet="x-sampa"'), "alphabet 'x-sampa'"),
        ("<lexicon/>", "not a PLS 1.0 lexicon"),
    ],
)
def test_bad_pls_files_name_the_file_and_line(tmp_path, text, words):
    path = _toml(tmp_path, text, "names.pls")
    with pytest.raises(LexiconError, match=rf"^{path}:\d+: .*{words}"):
        load_lexicon(path)


def test_the_project_lexicon_is_the_named_file_else_pronunciations_toml(tmp_path):
    assert project_lexicon(tmp_path, Settings()) == Lexicon()
    _toml(tmp_path, 'Gwadar = "Gwah-dur"\n')
    assert [e.written for e in project_lexicon(tmp_path, Settings()).entries] == ["Gwadar"]
    named = _toml(tmp_path, PLS, "names.pls")
    lexicon = project_lexicon(tmp_path, Settings(lexicon=named))
    assert [e.written for e in lexicon.entries] == ["Gwadar", "CPEC"]


def test_front_matter_pronunciations_are_entries_with_their_lines(tmp_path):
    text = (
        "---\ntitle: Ports\npronunciations:\n  Gwadar: Gwah-dur\n"
        "  Panjgur: {say: Punj-goor, ipa: pʌndʒɡʊr}\n---\n\nGwadar and Panjgur.\n"
    )
    article = parse_article(text, tmp_path / "a.md")
    lexicon = article_lexicon(article)
    assert [(e.written, e.respelling, e.where) for e in lexicon.entries] == [
        ("Gwadar", "Gwah-dur", f"{tmp_path / 'a.md'}:4"),
        ("Panjgur", "Punj-goor", f"{tmp_path / 'a.md'}:5"),
    ]
    bad = text.replace("Gwah-dur", '""')
    with pytest.raises(LexiconError, match=rf"^{tmp_path / 'a.md'}:4: empty respelling"):
        article_lexicon(parse_article(bad, tmp_path / "a.md"))


# ------------------------------------------------------------------------ builds (fake engine)

ARTICLE = """\
---
title: Notes from Gwadar
---
The boats came in at dawn. Gwadar's harbour was quiet.

The market opened late. Fish from Gwadar sold quickly.
"""
TEXT_FORMATS = ("vtt", "chapters-json")


@pytest.fixture
def harbour(tmp_path: Path) -> Path:
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "harbour.md").write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "pronunciations.toml").write_text('Gwadar = "Gwah-dur"\n', encoding="utf-8")
    return tmp_path


def _fake_build(project: Path, engine: FakeEngine) -> EditionResult:
    engine.spoken.clear()
    settings = replace(load_settings(project), formats=TEXT_FORMATS)
    [result] = build(project=project, settings=settings, engine=engine)
    return result


def test_the_engine_says_the_respelling_and_the_captions_show_the_word(harbour):
    engine = FakeEngine()
    _fake_build(harbour, engine)
    assert "Gwah-dur's harbour was quiet." in engine.spoken
    assert not any("Gwadar" in said for said in engine.spoken)
    captions = (harbour / "audio" / "harbour.vtt").read_text(encoding="utf-8")
    shown = re.sub(r"<[^>]*>", "", captions)  # the word timestamps set aside
    assert "Gwadar's harbour was quiet." in shown and "Gwah" not in shown
    manifest = json.loads((harbour / "audio" / "harbour.json").read_text(encoding="utf-8"))
    sentence = manifest["paragraphs"][0]["sentences"][1]
    assert sentence["text"] == "Gwadar's harbour was quiet."
    assert sentence["spoken"] == "Gwah-dur's harbour was quiet."
    assert [w["text"] for w in sentence["words"]] == ["Gwadar's", "harbour", "was", "quiet"]
    assert manifest["paragraphs"][0]["sentences"][0]["spoken"] is None
    assert manifest["pronunciations"] == [
        {"written": "Gwadar", "respelling": "Gwah-dur", "ipa": None, "case_sensitive": False}
    ]


def test_changing_an_entry_re_speaks_exactly_the_utterances_holding_the_word(harbour):
    engine = FakeEngine()
    assert _fake_build(harbour, engine).synthesized == 6
    assert _fake_build(harbour, engine).synthesized == 0  # the fast path: nothing changed
    (harbour / "pronunciations.toml").write_text('Gwadar = "Gwaa-dar"\n', encoding="utf-8")
    result = _fake_build(harbour, engine)
    # Two sentences, and both announcements (the title has the word); nothing else.
    assert (result.synthesized, result.reused) == (4, 2)
    assert all("Gwaa-dar" in said for said in engine.spoken)


def test_front_matter_entries_go_over_the_projects(harbour):
    engine = FakeEngine()
    article = harbour / "text" / "harbour.md"
    article.write_text(
        ARTICLE.replace("---\nThe", "pronunciations:\n  Gwadar: Gwod-ur\n---\nThe"),
        encoding="utf-8",
    )
    _fake_build(harbour, engine)
    assert "Gwod-ur's harbour was quiet." in engine.spoken


def test_a_bad_lexicon_builds_nothing(harbour):
    (harbour / "pronunciations.toml").write_text('Gwadar = ""\n', encoding="utf-8")
    with pytest.raises(LexiconError, match=r"pronunciations.toml:1: empty respelling"):
        _fake_build(harbour, FakeEngine())
    assert not (harbour / "audio" / "harbour.vtt").exists()


def test_an_ipa_entry_is_said_in_the_engines_phoneme_markup(harbour):
    (harbour / "pronunciations.toml").write_text(
        'Gwadar = { say = "Gwah-dur", ipa = "ɡwˈɑːdɚ" }\n', encoding="utf-8"
    )
    engine = FakeEngine()
    _fake_build(harbour, engine)
    assert "[[ɡwˈɑːdɚz]] harbour was quiet." in engine.spoken
    manifest = json.loads((harbour / "audio" / "harbour.json").read_text(encoding="utf-8"))
    words = manifest["paragraphs"][0]["sentences"][1]["words"]
    assert [w["text"] for w in words] == ["Gwadar's", "harbour", "was", "quiet"]


def test_ipa_the_engine_cannot_take_builds_nothing(harbour):
    (harbour / "pronunciations.toml").write_text(
        'Shaban = "Sha-baan"\nGwadar = { say = "Gwah-dur", ipa = "ɡw☃dɚ" }\n', encoding="utf-8"
    )
    # Checked with the article's engine: the article's build fails, naming the entry.
    with pytest.raises(AudioEditionError, match=r"pronunciations.toml:2: IPA for 'Gwadar'.*☃"):
        _fake_build(harbour, FakeEngine())
    assert not (harbour / "audio").exists() or not list((harbour / "audio").glob("harbour.*"))


def test_brackets_the_article_wrote_are_not_read_as_phonemes():
    markup = FakeEngine().phoneme_markup
    spoken = spoken_text("See [[Gwadar]] and [[x]].", Lexicon((GWADAR,)), markup)
    assert "[[" not in spoken.text and "Gwah-dur" in spoken.text
    assert spoken_text("See [[x]].", Lexicon()).text == "See [[x]]."  # no markup: as written


def test_the_epub_lexicon_reads_back_as_the_entries_used(tmp_path):
    from audio_edition.edition import Pronunciation
    from audio_edition.formats.epub import pls

    class Edition:  # what pls() reads of an edition
        language = "en"
        pronunciations = [
            Pronunciation("Gwadar", "Gwah-dur", "ɡwˈɑːdɚ"),
            Pronunciation("Pearl & Continental", "Purl Conti-nental"),
        ]

    path = tmp_path / "lexicon.pls"
    path.write_text(pls(Edition()), encoding="utf-8")
    read = load_lexicon(path)
    assert [(e.written, e.ipa) for e in read.entries] == [
        ("Gwadar", "ɡwˈɑːdɚ"),
        ("Pearl & Continental", None),
    ]
    assert read.entries[1].respelling == "Purl Conti-nental"


def test_status_counts_with_the_lexicon_as_the_build_does(harbour):
    from audio_edition.maintenance import status

    engine = FakeEngine()
    _fake_build(harbour, engine)
    settings = replace(load_settings(harbour), formats=TEXT_FORMATS)
    article = harbour / "text" / "harbour.md"
    assert status(article, harbour, settings, lambda a: engine)[0] == []  # all in the cache
    (harbour / "pronunciations.toml").write_text('Gwadar = "Gwaa-dar"\n', encoding="utf-8")
    todo, total = status(article, harbour, settings, lambda a: engine)
    assert (len(todo), total) == (4, 6)


def test_the_watcher_watches_the_lexicon_the_settings_name(tmp_path):
    from audio_edition.watch import Watcher

    named = tmp_path / "lexicons" / "names.pls"
    named.parent.mkdir()
    named.write_text(PLS, encoding="utf-8")
    watcher = Watcher(
        [], project=tmp_path, engine=FakeEngine(), settings=lambda: Settings(lexicon=named)
    )
    assert named.parent.resolve() in watcher._folders()
    assert watcher.relevant(None, str(named.resolve()))
    assert watcher.relevant(None, str((tmp_path / "pronunciations.toml").resolve()))
    assert not watcher.relevant(None, str((named.parent / "other.pls").resolve()))


def test_espeak_markup_is_its_phoneme_mnemonics_and_refuses_unknown_symbols():
    from audio_edition.engines.espeak import EspeakEngine

    markup = EspeakEngine().phoneme_markup
    assert markup("ɡwˈɑːdɑːɹ") == "[[gw'A:dA:r-]]"
    assert markup("bɐlˈoʊtʃɪstˌɑːn") == "[[ba#l'oUtSIst,A:n]]"
    with pytest.raises(ValueError, match=r"unknown IPA symbol 'ʘ' \(U\+0298\)"):
        markup("ɡwʘ")


def test_a_no_change_rebuild_with_a_lexicon_loads_no_text_stage(harbour):
    import os
    import subprocess
    import sys

    _fake_build(harbour, FakeEngine())
    code = (
        "import sys\nfrom audio_edition.cli import main\n"
        "main(['build', '--quiet', '--format', 'vtt,chapters-json'])\n"
        "stages = {'audio_edition.normalise', 'audio_edition.spoken', 'num2words', 'numpy'}\n"
        "print(sorted(stages & set(sys.modules)))"
    )
    env = {**os.environ, "AUDIO_EDITION_ENGINE": "fake"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=harbour, env=env, capture_output=True, text=True
    )
    assert (out.returncode, out.stdout.strip()) == (0, "[]"), out.stderr


def test_a_pls_lexemes_preferred_pronunciation_is_said(tmp_path):
    text = PLS.replace(
        "<phoneme>ɡwɑːdər</phoneme>",
        '<phoneme>ɡwɑːdər</phoneme>\n<phoneme prefer="true">ɡwəˈdɑːr</phoneme>',
    )
    path = _toml(tmp_path, text, "names.pls")
    assert load_lexicon(path).entries[0].ipa == "ɡwəˈdɑːr"


def test_word_timings_follow_the_respelling_said_in_the_written_words_place(harbour):
    """The fake engine says each word as a burst of its length (14 characters a second at
    175 words a minute) and a character's silence: the word after a long respelling
    starts that respelling's burst after it."""
    respelling = "Gwaaaaaaaaaaaa-dar"
    (harbour / "pronunciations.toml").write_text(f'Gwadar = "{respelling}"\n', "utf-8")
    _fake_build(harbour, FakeEngine())
    manifest = json.loads((harbour / "audio" / "harbour.json").read_text(encoding="utf-8"))
    words = {w["text"]: w["start_ms"] for w in manifest["paragraphs"][1]["sentences"][1]["words"]}
    assert list(words) == ["Fish", "from", "Gwadar", "sold", "quickly"]
    assert abs(words["sold"] - words["Gwadar"] - (len(respelling) + 1) / 14 * 1000) <= 20
    assert abs(words["quickly"] - words["sold"] - (len("sold") + 1) / 14 * 1000) <= 20
