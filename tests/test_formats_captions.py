"""Captions (WebVTT, SRT) and chapter lists (WebVTT chapters, Podcasting 2.0 JSON).

Each file is read back with an independent parser (webvtt-py, srt, json) and every cue is
checked against the manifest. The splitting rules are also tested on their own, without
building anything.
"""

from __future__ import annotations

import html
import itertools
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import srt
import webvtt

from audio_edition.edition import Edition
from audio_edition.formats import cues
from audio_edition.formats import srt as srt_format
from audio_edition.formats.cues import MAX_LINES, MAX_MS, Cue

from .conftest import SAMPLE, build_json
from .editions import edition

FORMATS = "vtt,srt,chapters-vtt,chapters-json"

MARKDOWN = """---
title: Notes on <Tides> & "Currents"
author: R. Díaz & Co
---

Before any heading, a line of text.

## Tides

Tides rise and fall twice a day, pulled by the moon and, to a lesser degree, by the sun; \
their range depends on the coast, the season and the shape of the sea floor.

#### Spring tides

Spring tides are the largest: `<script>` & ]]> stay as written.
"""

# Text that SubRip readers would take for a timing line or for markup (issue 8, item 14).
MARKUP = """The log read as follows.

00:09:00,000 --> 00:09:59,000

It said <font color="red">red</font> and <b>bold</b>.

Then {\\an8}top, {Y:i}this, C:\\Notes, &amp; and AT&T.
"""


def build(tmp_path_factory, name: str, files: dict[str, str | Path], formats: str) -> Path:
    """Build the articles into a new project (clips shared across the session); its audio/."""
    root = tmp_path_factory.mktemp(name)
    (root / "text").mkdir()
    for filename, source in files.items():
        if isinstance(source, Path):
            shutil.copy(source, root / "text" / filename)
        else:
            (root / "text" / filename).write_text(source, encoding="utf-8")
    cache = tmp_path_factory.getbasetemp() / "formats-clip-cache"
    build_json(root, "--format", formats, env={"AUDIO_EDITION_CACHE": str(cache)})
    return root / "audio"


@pytest.fixture(scope="module")
def editions(tmp_path_factory) -> Path:
    files = {"gwadar-editorial.txt": SAMPLE, "tides.md": MARKDOWN, "markup.txt": MARKUP}
    return build(tmp_path_factory, "captions", files, FORMATS)


SLUGS = ["gwadar-editorial", "tides", "markup"]

# What a SubRip reader could take for markup or timing: a tag, an override or any braces
# (libass hides "{...}"), an ASS escape ("\N"), an entity, an arrow.
SRT_MARKUP = re.compile(r"<\s*/?\s*[A-Za-z]|[{}]|\\[A-Za-z]|&#?\w+;|-[ -]*>")


def shown(content: str) -> str:
    """A SubRip cue's text as a player shows it: word joiners are invisible, braces braces."""
    return content.replace("\u2060", "").replace("\uff5b", "{").replace("\uff5d", "}")


def manifest_of(audio: Path, slug: str) -> dict:
    return json.loads((audio / f"{slug}.json").read_text(encoding="utf-8"))


def spoken(manifest: dict) -> list[tuple[str, int, int, str]]:
    """Every announcement, heading and sentence: (id, start, end, text), in time order."""
    items = [
        (k, a["start_ms"], a["end_ms"], a["text"])
        for k, a in manifest["announcements"].items()
        if a
    ]
    for p in manifest["paragraphs"]:
        if p["heading"]:
            items.append((p["id"] + "h", p["heading_start_ms"], p["heading_end_ms"], p["heading"]))
        items += [(s["id"], s["start_ms"], s["end_ms"], s["text"]) for s in p["sentences"]]
    return sorted(items, key=lambda i: i[1])


def check_cues(manifest: dict, got: list[tuple[int, int, str]]) -> None:
    """Each element's cues tile its span exactly and, joined, give its text as written."""
    pos = 0
    for _id, start, end, text in spoken(manifest):
        parts = []
        while pos < len(got) and got[pos][0] < end:
            parts.append(got[pos])
            pos += 1
        assert parts, f"no cue for {_id}"
        assert parts[0][0] == start and parts[-1][1] == end
        for a, b in itertools.pairwise(parts):
            assert a[1] == b[0]
        assert " ".join(" ".join(p[2].split()) for p in parts) == text
        if len(parts) > 1:  # split: every part short enough to read
            assert all(p[1] - p[0] <= MAX_MS for p in parts)
    assert pos == len(got)


integration = pytest.mark.integration


@integration
@pytest.mark.parametrize("slug", SLUGS)
def test_webvtt_cues_match_the_manifest(editions, slug):
    manifest = manifest_of(editions, slug)
    captions = webvtt.read(str(editions / f"{slug}.vtt"))
    got = [(_ms(c.start), _ms(c.end), html.unescape(c.text)) for c in captions]
    check_cues(manifest, got)
    ids = [c.identifier for c in captions]
    assert len(set(ids)) == len(ids)
    assert all(i.split(".")[0] in {s[0] for s in spoken(manifest)} for i in ids)
    assert all(len(c.lines) <= MAX_LINES for c in captions)


@integration
@pytest.mark.parametrize("slug", SLUGS)
def test_srt_cues_match_the_manifest(editions, slug):
    manifest = manifest_of(editions, slug)
    subtitles = list(srt.parse((editions / f"{slug}.srt").read_text(encoding="utf-8")))
    got = [(_td_ms(s.start), _td_ms(s.end), shown(s.content)) for s in subtitles]
    check_cues(manifest, got)
    assert [s.index for s in subtitles] == list(range(1, len(subtitles) + 1))
    assert not [s.content for s in subtitles if SRT_MARKUP.search(s.content)]


@integration
def test_ffmpeg_reads_every_srt_cue_as_plain_text(editions):
    # ffmpeg is the SubRip reader of mpv and ffplay, and what burns captions into video.
    path = editions / "markup.srt"
    result = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "ass", "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    texts = [
        line.split(",", 9)[9] for line in result.stdout.splitlines() if line[:9] == "Dialogue:"
    ]
    subtitles = list(srt.parse(path.read_text(encoding="utf-8")))
    assert len(texts) == len(subtitles)  # the timing-like paragraph keeps its cue
    # No ASS override (colour, bold, position) and no hidden "{...}": the text as written.
    assert [shown(t.replace("\\N", "\n")) for t in texts] == [shown(s.content) for s in subtitles]
    assert not [t for t in texts if "{" in t]


@integration
def test_a_timing_line_and_markup_in_the_text_stay_text_in_webvtt(editions):
    captions = webvtt.read(str(editions / "markup.vtt"))
    assert "00:09:00,000 --> 00:09:59,000" in [html.unescape(c.text) for c in captions]
    raw = (editions / "markup.vtt").read_text(encoding="utf-8")
    cue_text = [line for line in raw.splitlines()[1:] if " --> " not in line[:30]]
    cue_text = [re.sub(r"<\d\d:\d\d:\d\d\.\d\d\d>", "", line) for line in cue_text]  # word times
    assert not [line for line in cue_text if "-->" in line or "<" in line]


@integration
def test_long_sentences_are_split_and_markup_is_escaped_in_webvtt(editions):
    text = (editions / "tides.vtt").read_text(encoding="utf-8")
    text = re.sub(r"<\d\d:\d\d:\d\d\.\d\d\d>", "", text)  # the words' times
    assert "&lt;script&gt; &amp; ]]&gt; stay" in text  # markup is text in a cue, not a tag
    assert "&lt;Tides&gt;" in text  # the title, in the opening announcement
    assert "\np2s1.2\n" in text  # the 13-second sentence about tides is split


@integration
@pytest.mark.parametrize("slug", SLUGS)
def test_webvtt_chapters_match_the_manifest(editions, slug):
    manifest = manifest_of(editions, slug)
    path = editions / f"{slug}.chapters.vtt"
    chapters = webvtt.read(str(path))
    want = [(c["start_ms"], c["end_ms"], c["title"]) for c in manifest["chapters"]]
    assert [(_ms(c.start), _ms(c.end), html.unescape(c.text)) for c in chapters] == want


@integration
@pytest.mark.parametrize("slug", SLUGS)
def test_podcast_json_chapters_match_the_manifest(editions, slug):
    manifest = manifest_of(editions, slug)
    doc = json.loads((editions / f"{slug}.chapters.json").read_text(encoding="utf-8"))
    assert doc["version"] == "1.2.0"
    assert doc["title"] == manifest["title"]
    got = [(round(c["startTime"] * 1000), c["title"]) for c in doc["chapters"]]
    assert got == [(c["start_ms"], c["title"]) for c in manifest["chapters"]]
    assert all(isinstance(c["startTime"], int | float) for c in doc["chapters"])


@integration
def test_formats_lists_each_format_with_what_it_is_for(editions):
    from .conftest import run_cli

    out = run_cli("formats", cwd=editions).stdout
    for name in ("vtt", "srt", "chapters-vtt", "chapters-json", "opus", "epub", "daisy"):
        assert any(line.split()[0] == name and len(line.split()) > 3 for line in out.splitlines())
    assert "flac" not in out and "ogg" not in out.split()  # no unchaptered audio formats


def _ms(stamp: str) -> int:
    h, m, s = stamp.split(":")
    return round((int(h) * 3600 + int(m) * 60 + float(s)) * 1000)


def _td_ms(delta) -> int:
    return round(delta.total_seconds() * 1000)


# ---------------------------------------------------------------- the rules, without audio


def test_a_short_cue_stays_whole():
    cue = Cue("p1s1", 0, 3000, "A short sentence.")
    assert cues.split(cue) == [cue]


def test_a_long_cue_is_split_at_a_clause_with_times_shared_by_characters():
    text = "Tides rise and fall twice a day, pulled by the moon and by the sun"
    parts = cues.split(Cue("p1s1", 1000, 9000, text))
    assert [p.text for p in parts] == [
        "Tides rise and fall twice a day,",
        "pulled by the moon and by the sun",
    ]
    assert parts[0].start_ms == 1000 and parts[-1].end_ms == 9000
    assert parts[0].end_ms == parts[1].start_ms == 1000 + round(8000 * 32 / 65)


def test_a_very_long_cue_is_split_until_every_part_fits():
    text = " ".join(["word"] * 60)
    parts = cues.split(Cue("x", 0, 30_000, text))
    assert all(p.end_ms - p.start_ms <= MAX_MS and len(cues.wrap(p.text)) <= 2 for p in parts)
    assert " ".join(p.text for p in parts) == text


def test_lines_are_balanced_and_short():
    assert cues.wrap("short") == ["short"]
    lines = cues.wrap("The state’s response has been swift and uncompromising.")
    assert len(lines) == 2 and all(len(line) <= 42 for line in lines)


def _manifest(*texts: str) -> Edition:
    sentences = [
        {"id": f"p1s{i}", "text": t, "start_ms": i * 2000, "end_ms": i * 2000 + 1500}
        for i, t in enumerate(texts, start=1)
    ]
    return edition({"paragraphs": [{"sentences": sentences}]})


def test_srt_text_is_never_read_as_markup_or_as_a_timing_line():
    texts = [
        "00:09:00,000 --> 00:09:59,000",
        "12:00:00 - > 13:00:00",
        '<font color="red">Red</font>',
        "<b>B</b> <i>I</i> <u>U</u> <script>",
        "{\\an8}Top {Y:i}x {note}",
        "C:\\Notes \\h &amp; &#60; AT&T",
    ]
    subtitles = list(srt.parse(srt_format.render(_manifest(*texts))))
    assert [shown(s.content) for s in subtitles] == texts  # every cue, shown as written
    assert not [s.content for s in subtitles if SRT_MARKUP.search(s.content)]


def test_srt_leaves_plain_text_alone():
    text = "Tides rise - and fall -- twice a day > once; 3 < 4 is not a tag."
    assert (
        srt_format.plain("Tides rise and fall, twice a day.") == "Tides rise and fall, twice a day."
    )
    assert shown(srt_format.plain(text)) == text


def test_ids_of_split_cues_keep_the_element_id():
    text = "One, two, three, four, five, six, seven, eight, nine."
    sentence = {"id": "p1s1", "text": text, "start_ms": 0, "end_ms": 9000}
    manifest = edition({"paragraphs": [{"sentences": [sentence]}]})
    assert [c.id for c in cues.captions(manifest)] == ["p1s1.1", "p1s1.2"]
