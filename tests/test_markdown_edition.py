"""A Markdown article with front matter and headings, built through the library."""

from __future__ import annotations

import io
import json

import pytest
from mutagen.id3 import ID3

from audio_edition import Settings, build
from audio_edition.cli import Bar
from audio_edition.manifest import MAX_CHAPTERS, plan_chapters
from audio_edition.source import Paragraph

from .conftest import ffprobe

ARTICLE = """---
title: Harbour Lights
author: Ada Reporter
publisher: Example Daily
date: 2025-05-01
speech:
  rate: 200
---

# The harbour

The *harbour* was quiet at dawn. Boats rocked on the [grey](https://example.org) water.

## Morning

- Fishermen mended nets.
- Gulls waited.

> "We have seen worse," said Mr. Khan.

## Night

![Lights on the water](lights.png)
"""


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    root = tmp_path_factory.mktemp("md")
    (root / "text").mkdir()
    (root / "text" / "harbour-lights.md").write_text(ARTICLE, encoding="utf-8")
    [result] = build(project=root, settings=Settings(formats=("mp3",)))
    manifest = json.loads((root / "audio" / "harbour-lights.json").read_text())
    return root, result, manifest


@pytest.mark.integration
def test_the_library_builds_without_the_cli(edition):
    root, result, _ = edition
    assert result.outputs == {"mp3": str(root / "audio" / "harbour-lights.mp3")}
    assert result.reused == 0 and result.synthesized > 0  # a cold cache: every clip is new


@pytest.mark.integration
def test_headings_become_chapter_titles_and_levels(edition):
    _, _, manifest = edition
    assert manifest["title"] == "Harbour Lights"
    assert manifest["author"] == "Ada Reporter"
    titles = [c["title"] for c in manifest["chapters"]]
    assert titles[:2] == ["Opening announcement", "The harbour"]
    assert "Morning" in titles and "Night" in titles
    levels = {p["heading"]: p["heading_level"] for p in manifest["paragraphs"] if p["heading"]}
    assert levels == {"The harbour": 1, "Morning": 2, "Night": 2}
    texts = [p["text"] for p in manifest["paragraphs"]]
    assert "The harbour was quiet at dawn. Boats rocked on the grey water." in texts
    assert "Fishermen mended nets." in texts and "Gulls waited." in texts
    assert '"We have seen worse," said Mr. Khan.' in texts
    assert "Lights on the water" in texts  # the image, by its alt text


@pytest.mark.integration
def test_a_heading_is_spoken_before_its_paragraph_with_a_longer_pause(edition):
    _, _, manifest = edition
    first = manifest["paragraphs"][0]
    assert first["heading_start_ms"] == first["start_ms"] < first["heading_end_ms"]
    after_heading = first["sentences"][0]["start_ms"] - first["heading_end_ms"]
    s1, s2 = first["sentences"][:2]
    assert after_heading > s2["start_ms"] - s1["end_ms"]  # longer than a sentence pause


@pytest.mark.integration
def test_front_matter_reaches_the_tags_and_the_voice(edition):
    root, _, manifest = edition
    tags = ID3(root / "audio" / "harbour-lights.mp3")
    assert str(tags["TIT2"]) == "Harbour Lights"
    assert str(tags["TPE1"]) == "Ada Reporter"
    assert manifest["voice"]["rate"] == 200
    assert (
        "By Ada Reporter. Published by Example Daily."
        in manifest["announcements"]["opening"]["text"]
    )
    info = ffprobe(root / "audio" / "harbour-lights.mp3")
    assert [c["tags"]["title"] for c in info["chapters"]] == [
        c["title"] for c in manifest["chapters"]
    ]


def _paragraphs(n: int, heading_every: int | None = None) -> list[Paragraph]:
    return [
        Paragraph(
            heading=f"Part {i}" if heading_every and i % heading_every == 0 else None,
            heading_level=2 if heading_every and i % heading_every == 0 else None,
            text=f"Paragraph {i}.",
            sentences=(f"Paragraph {i}.",),
            line=i + 1,
        )
        for i in range(n)
    ]


def test_up_to_the_limit_every_paragraph_is_a_chapter():
    groups = plan_chapters(_paragraphs(253), True, True)
    assert groups == [[n] for n in range(1, 254)]


def test_over_the_limit_chapters_follow_the_headings():
    paragraphs = _paragraphs(600, heading_every=5)
    groups = plan_chapters(paragraphs, True, True)
    assert len(groups) + 2 <= MAX_CHAPTERS
    assert [n for g in groups for n in g] == list(range(1, 601))  # nothing lost or reordered
    firsts = {g[0] for g in groups}
    assert all(n in firsts for n in range(1, 601) if paragraphs[n - 1].heading)  # at every heading
    assert all(n not in g[1:] for g in groups for n in firsts)


def test_over_the_limit_without_headings_paragraphs_are_grouped_evenly():
    groups = plan_chapters(_paragraphs(1000), True, True)
    assert len(groups) + 2 <= MAX_CHAPTERS
    assert [n for g in groups for n in g] == list(range(1, 1001))
    assert max(map(len, groups)) - min(map(len, groups)) <= 4


def test_the_progress_bar_counts_sentences_with_an_eta():
    out = io.StringIO()
    bar = Bar(out)
    bar.start("article.txt", 4)
    bar.advance()
    bar.advance()
    assert "article.txt" in out.getvalue() and "2/4 sentences" in out.getvalue()
    assert "ETA" in out.getvalue()
    bar.finish()
    assert out.getvalue().endswith("\r\033[K")


@pytest.mark.integration
def test_a_300_paragraph_article_gets_grouped_chapters_that_players_read(tmp_path):
    (tmp_path / "text").mkdir()
    body = "\n".join(f"Point {n}." for n in range(1, 301))
    (tmp_path / "text" / "points.txt").write_text(body, encoding="utf-8")
    build(project=tmp_path, settings=Settings(formats=("mp3",)))
    manifest = json.loads((tmp_path / "audio" / "points.json").read_text())
    chapters = ffprobe(tmp_path / "audio" / "points.mp3")["chapters"]
    assert len(chapters) == len(manifest["chapters"]) <= MAX_CHAPTERS
    grouped = [n for c in manifest["chapters"] for n in c["paragraphs"]]
    assert grouped == list(range(1, 301))
    assert manifest["chapters"][1]["title"] == "1–2. Point 1."
