"""What a rebuild speaks and rewrites after each kind of change, with the fake engine.

Unit tier: the fake engine's tones stand in for eSpeak, and only text formats are asked
for, which need no ffmpeg. The clips still go through the real cache (trim, limiter,
loudness), the real layout and the real staging and commit of outputs.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from audio_edition.build import EditionResult, build
from audio_edition.config import load_settings
from audio_edition.engines.fake import FakeEngine

TEXT_FORMATS = ("vtt", "srt", "chapters-vtt", "chapters-json")
ARTICLE = """\
---
title: Harbour notes
---
# The harbour

The boats came in at dawn. The daily wages were paid at noon, after a long wait.

The market opened late. Fish sold quickly.
"""
EDITED = "The daily wagon was paid at noon, after a long wait."  # same word lengths
OPENING = "Harbour notes. This is an audio edition, read by a synthetic voice."
CLOSING = "This is the end of the audio edition."


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "harbour.md").write_text(ARTICLE, encoding="utf-8")
    return tmp_path


def _build(project: Path, engine: FakeEngine, **settings: object) -> EditionResult:
    engine.spoken.clear()
    base = replace(load_settings(project), formats=TEXT_FORMATS, opening=OPENING, closing=CLOSING)
    [result] = build(project=project, settings=replace(base, **settings), engine=engine)
    return result


def _files(project: Path) -> dict[str, tuple[int, int]]:
    """Each output file's inode and time: a rewrite (staged, renamed in) changes both."""
    files = [p for p in (project / "audio").iterdir() if not p.name.startswith(".")]  # lock
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in files}


def _rewritten(before: dict, after: dict) -> set[str]:
    return {name for name in after if before.get(name) != after[name]}


def _edit(project: Path, old: str, new: str) -> None:
    path = project / "text" / "harbour.md"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_a_cold_build_speaks_every_utterance_once(project):
    engine = FakeEngine()
    result = _build(project, engine)
    # Opening, heading, four sentences, closing.
    assert result.synthesized == 7 and result.reused == 0
    assert sorted(engine.spoken) == sorted(
        [
            OPENING,
            "The harbour",
            "The boats came in at dawn.",
            "The daily wages were paid at noon, after a long wait.",
        ]
        + ["The market opened late.", "Fish sold quickly.", CLOSING]
    )
    assert set(_files(project)) == {*_outputs(), "harbour.json"}


def test_nothing_changed_speaks_nothing_and_writes_nothing(project):
    engine = FakeEngine()
    _build(project, engine)
    before = _files(project)
    result = _build(project, engine)
    assert (result.synthesized, result.changed) == (0, False)
    assert engine.spoken == []
    assert _files(project) == before


def test_editing_one_sentence_speaks_that_sentence_alone(project):
    engine = FakeEngine()
    _build(project, engine)
    before = _files(project)
    _edit(project, "daily wages were", "daily wagon was")
    result = _build(project, engine)
    assert engine.spoken == [EDITED]
    assert (result.synthesized, result.reused, result.changed) == (1, 6, True)
    # The captions carry the new words; every output reads the edition's content.
    assert "wagon" in (project / "audio" / "harbour.vtt").read_text(encoding="utf-8")
    assert _rewritten(before, _files(project)) == {*_outputs(), "harbour.json"}


def test_editing_it_back_reuses_the_old_clip(project):
    engine = FakeEngine()
    _build(project, engine)
    first = (project / "audio" / "harbour.vtt").read_bytes()
    _edit(project, "daily wages were", "daily wagon was")
    _build(project, engine)
    _edit(project, "daily wagon was", "daily wages were")
    result = _build(project, engine)
    assert (result.synthesized, engine.spoken) == (0, [])
    assert (project / "audio" / "harbour.vtt").read_bytes() == first


def test_changing_a_pause_speaks_nothing_and_moves_the_times(project):
    engine = FakeEngine()
    settings = load_settings(project)
    _build(project, engine)
    before = _files(project)
    cues = (project / "audio" / "harbour.vtt").read_text(encoding="utf-8")
    longer = replace(settings.pauses, paragraph_ms=settings.pauses.paragraph_ms + 500)
    result = _build(project, engine, pauses=longer)
    assert (result.synthesized, engine.spoken) == (0, [])
    assert (project / "audio" / "harbour.vtt").read_text(encoding="utf-8") != cues
    assert _rewritten(before, _files(project)) == {*_outputs(), "harbour.json"}


def test_changing_the_rate_speaks_everything_again(project):
    engine = FakeEngine()
    cold = _build(project, engine)
    result = _build(project, engine, rate=220)
    assert result.synthesized == cold.synthesized == 7 and result.reused == 0
    assert result.duration_ms < cold.duration_ms  # faster speech, a shorter edition


def test_inserting_and_moving_paragraphs_reuses_every_clip(project):
    engine = FakeEngine()
    _build(project, engine)
    _edit(project, "The market", "A new paragraph arrives. It has two sentences.\n\nThe market")
    result = _build(project, engine)
    assert sorted(engine.spoken) == ["A new paragraph arrives.", "It has two sentences."]
    assert (result.synthesized, result.reused) == (2, 7)

    path = project / "text" / "harbour.md"
    head, *paragraphs = path.read_text(encoding="utf-8").split("\n\n")
    path.write_text("\n\n".join([head, *reversed(paragraphs)]), encoding="utf-8")
    result = _build(project, engine)
    assert (result.synthesized, engine.spoken) == (0, [])
    assert result.paragraphs == 3


def test_the_clip_key_holds_the_voice_and_the_engine(project):
    engine = FakeEngine()
    _build(project, engine)
    # Another voice: every clip is spoken again; the first voice's clips are still cached.
    assert _build(project, engine, voice="fake/en").synthesized == 7
    assert _build(project, engine).synthesized == 0
    # Another version of the engine sounds different: nothing of the old one is reused.
    newer = FakeEngine(version="2")
    result = _build(project, newer)
    assert result.synthesized == 7 and len(newer.spoken) == 7
    assert _build(project, engine).synthesized == 0


def test_a_format_asked_for_again_is_written_alone(project):
    engine = FakeEngine()
    _build(project, engine, formats=("vtt",))
    before = _files(project)
    _build(project, engine, formats=("vtt", "srt"))
    assert _rewritten(before, _files(project)) == {"harbour.srt", "harbour.json"}
    assert engine.spoken == []


def test_an_output_no_longer_asked_for_goes_when_the_edition_changes(project):
    engine = FakeEngine()
    _build(project, engine, formats=("vtt", "srt"))
    _build(project, engine, formats=("vtt",))
    assert (project / "audio" / "harbour.srt").exists()  # still this edition's
    _edit(project, "daily wages were", "daily wagon was")
    _build(project, engine, formats=("vtt",))
    assert not (project / "audio" / "harbour.srt").exists()  # would be out of date


def test_a_text_only_build_needs_no_ffmpeg(project, monkeypatch):
    """Captions and chapters are written from the layout alone: no ffmpeg on the PATH."""
    empty = project / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = _build(project, FakeEngine())
    assert result.synthesized == 7
    assert (project / "audio" / "harbour.vtt").is_file()
    assert os.environ["PATH"] == str(empty)


def _outputs() -> set[str]:
    return {"harbour.vtt", "harbour.srt", "harbour.chapters.vtt", "harbour.chapters.json"}


def test_a_cover_replaced_in_place_is_noticed_by_the_same_process(project: Path) -> None:
    """``serve --watch`` builds again in the same process: a cover overwritten with other
    bytes of the same size must still count as changed (its hash is remembered by the
    file's identity, not its name)."""
    engine = FakeEngine()
    cover = project / "cover.png"
    cover.write_bytes(b"\x89PNG\r\n\x1a\n" + b"a" * 64)
    assert _build(project, engine, cover=cover).changed
    assert not _build(project, engine, cover=cover).changed
    cover.write_bytes(b"\x89PNG\r\n\x1a\n" + b"b" * 64)
    assert _build(project, engine, cover=cover).changed
