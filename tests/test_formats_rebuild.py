"""Every accessible format at once: markup in the article stays text, and rebuilds are lazy."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
import zipfile

import pytest

from .conftest import build_json
from .test_formats_captions import build, shown

pytestmark = pytest.mark.integration

ALL = "vtt,srt,chapters-vtt,chapters-json,opus,epub,daisy"
MARKUP = """---
title: Tags <script>alert("t")</script> & CDATA ]]> 'quotes'
author: A & B <ab@example.com>
publisher: <Press> & Co
date: 2024-02-29
---
Markup test: <script>alert("x")</script> & friends ]]> end.

Second paragraph with <b>bold</b> & an ampersand. It has two sentences.
"""
RAW = '<script>alert("x")</script> & friends ]]> end.'


@pytest.fixture(scope="module")
def markup(tmp_path_factory):
    return build(tmp_path_factory, "markup", {"markup.txt": MARKUP}, ALL)


def _xml_names(names: list[str]) -> list[str]:
    return [n for n in names if n.rsplit(".", 1)[-1] in {"xhtml", "html", "smil", "opf", "xml"}]


@pytest.mark.parametrize("suffix", [".epub", ".daisy.zip"])
def test_every_xml_and_html_file_parses_strictly_with_the_markup_as_text(markup, suffix):
    with zipfile.ZipFile(markup / f"markup{suffix}") as book:
        names = _xml_names(book.namelist())
        assert len(names) >= 4
        texts = []
        for name in names:
            root = ET.fromstring(book.read(name))  # expat: no recovery from bad markup
            texts.append(" ".join(root.itertext()))
            tags = {element.tag.rsplit("}", 1)[-1] for element in root.iter()}
            assert not tags & {"script", "b"}, name
    joined = "\n".join(texts)
    assert RAW in joined and 'Tags <script>alert("t")</script> & CDATA ]]>' in joined


def test_the_markup_epub_passes_epubcheck(markup):
    result = subprocess.run(
        ["java", "-jar", "/usr/share/java/epubcheck.jar", str(markup / "markup.epub")],
        capture_output=True,
        text=True,
    )
    assert "0 errors / 0 warnings" in result.stdout + result.stderr, result.stdout


def test_captions_and_chapter_lists_keep_the_markup_as_text(markup):
    vtt = (markup / "markup.vtt").read_text(encoding="utf-8")
    assert "<script" not in vtt and "&lt;script&gt;" in vtt
    chapters = json.loads((markup / "markup.chapters.json").read_text(encoding="utf-8"))
    assert chapters["title"].startswith("Tags <script>")
    assert "<script" not in (markup / "markup.chapters.vtt").read_text(encoding="utf-8")
    srt = (markup / "markup.srt").read_text(encoding="utf-8")
    assert "<script" not in srt  # a SubRip reader would take it for a tag
    assert RAW in shown(srt).replace("\n", " ")  # yet it shows as written


# ---------------------------------------------------------------- rebuilding


@pytest.fixture
def project(markup, tmp_path, tmp_path_factory):
    """A fresh project of the markup article, its clips already in the session's cache."""
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "markup.txt").write_text(MARKUP, encoding="utf-8")
    # The clip cache that `build` (test_formats_captions) shares across the session.
    (tmp_path / "cache").symlink_to(tmp_path_factory.getbasetemp() / "formats-clip-cache")
    return tmp_path


def _build(project, formats: str = ALL) -> dict:
    env = {"AUDIO_EDITION_CACHE": str(project / "cache")}
    [edition] = build_json(project, "--format", formats, env=env)["editions"]
    return edition


def _stamps(project) -> dict:
    # The outputs; hidden files (the output folder's lock) are not part of an edition.
    files = (p for p in (project / "audio").iterdir() if not p.name.startswith("."))
    return {p.name: p.stat().st_mtime_ns for p in files}


def test_an_unchanged_rebuild_touches_no_file(project):
    _build(project)
    before = _stamps(project)
    edition = _build(project)
    assert edition["changed"] is False and edition["synthesized"] == 0
    assert _stamps(project) == before


def test_editing_one_sentence_resynthesises_it_alone_and_rewrites_the_formats(project):
    first = _build(project)
    before = _stamps(project)
    path = project / "text" / "markup.txt"
    path.write_text(
        MARKUP.replace("It has two sentences.", "It has two short sentences."), encoding="utf-8"
    )
    edition = _build(project)
    assert edition["synthesized"] == 1
    assert edition["reused"] == first["reused"] + first["synthesized"] - 1
    after = _stamps(project)
    assert all(after[name] != before[name] for name in before)  # every timeline moved


def test_adding_a_format_leaves_the_others_alone(project):
    _build(project, "vtt,epub")
    before = _stamps(project)
    _build(project, "vtt,epub,daisy")
    after = _stamps(project)
    assert {n: after[n] for n in before if not n.endswith(".json")} == {
        n: t for n, t in before.items() if not n.endswith(".json")
    }
    assert "markup.daisy.zip" in after


def test_every_writer_is_deterministic(markup, tmp_path):
    # The same manifest and audio give the same bytes: nothing depends on the clock.
    from audio_edition.edition import read_manifest
    from audio_edition.formats import FORMATS, Context

    edition = read_manifest(markup / "markup.json").edition
    audio = {"mp3": markup / "markup.mp3", "m4b": markup / "markup.m4b"}
    for name in ALL.split(","):
        fmt = FORMATS[name]
        dest = tmp_path / f"again{fmt.suffix}"
        fmt.write(Context(edition, dest, outputs={n: audio[n] for n in fmt.needs}))
        assert dest.read_bytes() == (markup / f"markup{fmt.suffix}").read_bytes(), name
