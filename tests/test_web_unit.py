"""The web page written from a manifest: escaping, determinism, download links, the index.

Fast: a hand-made manifest, no engine, no browser (tests/test_web_page.py drives Chromium).
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from audio_edition.edition import BuildRecord, Manifest
from audio_edition.formats import FORMATS, Context, html
from audio_edition.times import clock, short_clock

from .editions import edition

NASTY = '<script>alert(1)</script> & "quotes" <img src=x onerror=alert(2)>'


def _manifest(**changes) -> dict:
    manifest = {
        "source": "text/demo.md",
        "slug": "demo",
        "title": "Demo",
        "author": None,
        "publisher": None,
        "date": None,
        "language": "en",
        "voice": {
            "voice": "gmw/en-us",
            "rate": 175,
            "name": "English (America)",
            "engine": "pyttsx3-2.99/espeak-ng-1.51",
        },
        "duration_ms": 65_000,
        "announcements": {
            "opening": {"text": "Demo. An audio edition.", "start_ms": 50, "end_ms": 2000},
            "closing": None,
        },
        "chapters": [
            {
                "index": 0,
                "title": "Opening announcement",
                "start_ms": 0,
                "end_ms": 2500,
                "paragraphs": [],
            },
            {
                "index": 1,
                "title": "Start",
                "start_ms": 2500,
                "end_ms": 65_000,
                "paragraphs": [1, 2],
            },
        ],
        "paragraphs": [
            {
                "index": 1,
                "id": "p1",
                "heading": "Start",
                "heading_level": 1,
                "heading_start_ms": 2500,
                "heading_end_ms": 3000,
                "text": "",
                "line": 1,
                "start_ms": 2500,
                "end_ms": 3000,
                "chapter": 1,
                "sentences": [],
            },
            {
                "index": 2,
                "id": "p2",
                "heading": None,
                "heading_level": None,
                "heading_start_ms": None,
                "heading_end_ms": None,
                "text": "One. Two.",
                "line": 3,
                "start_ms": 4000,
                "end_ms": 9000,
                "chapter": 1,
                "sentences": [
                    {"id": "p2s1", "text": "One.", "start_ms": 4000, "end_ms": 6000},
                    {"id": "p2s2", "text": "Two.", "start_ms": 6500, "end_ms": 9000},
                ],
            },
        ],
    }
    manifest.update(changes)
    return manifest


def _write(tmp_path: Path, manifest: dict, **others: Path) -> str:
    mp3 = tmp_path / ".demo.mp3.staging"  # as the builder hands it over: a staging name
    mp3.write_bytes(b"\0" * 2000)
    dest = tmp_path / ".demo.html.staging"
    FORMATS["html"].write(Context(edition(manifest), dest, outputs={"mp3": mp3, **others}))
    return dest.read_text(encoding="utf-8")


def test_registered_and_part_of_the_default_formats():
    from audio_edition.formats import DEFAULT_FORMATS, with_needs

    page = FORMATS["html"]
    assert isinstance(page, html.WebPage)
    assert "html" in DEFAULT_FORMATS
    assert with_needs(["html"])[: len(page.needs)] == list(page.needs)


def test_same_manifest_same_bytes(tmp_path):
    assert _write(tmp_path, _manifest()) == _write(tmp_path, copy.deepcopy(_manifest()))


def test_audio_is_referenced_by_its_final_name_not_the_staging_one(tmp_path):
    page = _write(tmp_path, _manifest())
    assert '<source src="demo.mp3" type="audio/mpeg">' in page
    assert "staging" not in page


def test_every_sentence_heading_and_announcement_is_a_timed_cue(tmp_path):
    page = _write(tmp_path, _manifest())
    cues = re.findall(r'<span class="cue" id="([^"]+)" data-start="(\d+)" data-end="(\d+)">', page)
    assert cues == [
        ("opening", "50", "2000"),
        ("p1h", "2500", "3000"),
        ("p2s1", "4000", "6000"),
        ("p2s2", "6500", "9000"),
    ]
    assert (
        "<h2 " in page.split('id="text"')[1]
    )  # an article's level-1 heading: the page's h1 is the title


def test_article_text_and_metadata_are_escaped(tmp_path):
    manifest = _manifest(title=NASTY, author=NASTY, date=NASTY)
    manifest["paragraphs"][1]["sentences"][0]["text"] = NASTY
    manifest["chapters"][1]["title"] = NASTY
    page = _write(tmp_path, manifest)
    assert "<script>alert" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<script>") == 1  # the page's own


def test_only_the_pages_own_script_and_style_may_run(tmp_path):
    page = _write(tmp_path, _manifest())
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)[1]
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp
    assert re.search(r"script-src 'sha256-[A-Za-z0-9+/=]+'", csp)


def test_downloads_list_every_output_the_builder_hands_over_by_final_name(tmp_path):
    srt = tmp_path / ".demo.srt.staging"  # built just before the page
    srt.write_bytes(b"\0" * 300_000)
    kept = tmp_path / "demo.m4b"  # kept in place from an earlier build
    kept.write_bytes(b"\0" * 300_000)
    page = _write(tmp_path, _manifest(), srt=srt, m4b=kept)
    assert '<a href="demo.srt" download>Captions (SRT)</a> (0.3\u00a0MB)' in page
    assert '<a href="demo.mp3" download>MP3</a> (2\u00a0kB)' in page
    assert '<a href="demo.m4b" download>M4B audiobook</a> (0.3\u00a0MB)' in page


def test_an_opus_output_is_the_first_source(tmp_path):
    staged = tmp_path / ".demo.opus.staging"
    staged.write_bytes(b"\0" * 10)
    page = _write(tmp_path, _manifest(), opus=staged)
    sources = re.findall(r'<source src="([^"]+)"', page)
    assert sources == ["demo.opus", "demo.mp3"]


def _edition(out: Path, slug: str, title: str, page: bool = True) -> None:
    outputs = {"mp3": {"path": f"{slug}.mp3", "bytes": 1}}
    if page:
        outputs["html"] = {"path": f"{slug}.html", "bytes": 1}
    manifest = Manifest(edition(_manifest(slug=slug, title=title)), BuildRecord(outputs))
    (out / f"{slug}.json").write_text(json.dumps(manifest.to_json()), encoding="utf-8")


def test_index_lists_every_edition_and_is_rewritten_only_when_it_changes(tmp_path):
    _edition(tmp_path, "b", "Beta <b>")
    _edition(tmp_path, "a", "Alpha", page=False)
    html.write_index(tmp_path)
    index = tmp_path / "index.html"
    text = index.read_text(encoding="utf-8")
    assert re.findall(r'<a href="([^"]+)"', text) == ["a.mp3", "b.html"]  # by title
    assert "Beta &lt;b&gt;" in text and "1:05" in text
    stamp = index.stat().st_mtime_ns
    html.write_index(tmp_path)
    assert index.stat().st_mtime_ns == stamp


def test_no_index_without_a_page_and_an_edition_named_index_keeps_its_page(tmp_path):
    _edition(tmp_path, "a", "Alpha", page=False)
    html.write_index(tmp_path)
    assert not (tmp_path / "index.html").exists()
    _edition(tmp_path, "index", "Index")
    (tmp_path / "index.html").write_text("the edition's page")
    html.write_index(tmp_path)
    assert (tmp_path / "index.html").read_text() == "the edition's page"


@pytest.mark.parametrize(("ms", "text"), [(0, "0:00"), (65_999, "1:05"), (3_723_000, "1:02:03")])
def test_short_clock_gives_positions_cut_to_the_second(ms, text):
    assert short_clock(ms) == text


def test_short_clock_rounds_lengths_and_clock_writes_every_format():
    assert short_clock(65_500, rounded=True) == "1:06"
    assert clock(3_723_456) == "01:02:03.456"
    assert clock(3_723_456, ",") == "01:02:03,456"
    assert clock(3_723_456, hour_width=1) == "1:02:03.456"
