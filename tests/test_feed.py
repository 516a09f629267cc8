"""The podcast feed (audio/feed.xml): what podcast apps read, checked as they would read it.

Speech does not matter here, so the fake engine speaks; the MP3s are real (ffmpeg), and
the feed is read back with feedparser (as podcast tools do) and with expat, a strict XML
parser, and its numbers checked against the files and ffprobe.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import feedparser
import pytest

from audio_edition.build import build
from audio_edition.config import FeedSettings, load_settings
from audio_edition.edition import load_editions, read_manifest
from audio_edition.engines.fake import FakeEngine
from audio_edition.errors import UsageError
from audio_edition.formats.feed import guid, parse_date, published
from audio_edition.maintenance import remove_orphans

from .conftest import ffprobe, run_cli

BASE = "https://news.example.org/audio"
ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST = "https://podcastindex.org/namespace/1.0"
FORMATS = ("mp3", "vtt", "srt", "chapters-json", "html", "feed")
NASTY = "Rates & wages <b>up</b> ]]> again"
DATED = f"""\
---
title: "{NASTY}"
author: Ann Writer & Co
date: 2024-05-01
summary: Wages rose & fell <i>twice</i>.
---
The boats came in at dawn. Wages were paid at noon.
"""
UNDATED = "The market opened late. Fish sold quickly.\n"
OLDER = "---\ntitle: Older news\ndate: 2023-01-15T08:30:00+02:00\n---\nIt rained.\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    text = tmp_path / "text"
    text.mkdir()
    (text / "wages.md").write_text(DATED, encoding="utf-8")
    (text / "market.txt").write_text(UNDATED, encoding="utf-8")
    (text / "older.md").write_text(OLDER, encoding="utf-8")
    return tmp_path


def _settings(project: Path, **feed: object):
    base = load_settings(project)
    feed_settings = FeedSettings(**{"base_url": BASE, **feed})
    return replace(base, formats=FORMATS, opening="", closing="", feed=feed_settings)


def _build(project: Path, settings=None, notify=None, paths=()):
    notes: list[str] = []
    results = build(
        [project / "text" / p for p in paths],
        project=project,
        settings=settings or _settings(project),
        engine=FakeEngine(),
        notify=notify or notes.append,
    )
    return results, notes


def _feed(project: Path) -> Path:
    return project / "audio" / "feed.xml"


def _items(project: Path) -> list[ET.Element]:
    return ET.parse(_feed(project)).getroot().findall("channel/item")


def _guids(project: Path) -> dict[str, str]:
    return {i.findtext("title"): i.findtext("guid") for i in _items(project)}


def test_every_item_carries_its_editions_fields(project):
    _build(project)
    out = project / "audio"
    parsed = feedparser.parse(_feed(project).read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "rss20"
    assert parsed.feed.title == "Audio editions" and parsed.feed.language == "en"
    manifests = {m.edition.title: m for m in load_editions(out)}
    titles = [e.title for e in parsed.entries]
    # Newest first: dated 2024, then 2023; the undated one is dated when its MP3 was
    # written (today), so it is the newest.
    assert titles == ["Market", NASTY, "Older news"]
    for entry in parsed.entries:
        m = manifests[entry.title]
        edition, outputs = m.edition, m.record.outputs
        assert entry.link == f"{BASE}/{edition.slug}.html"
        assert entry.id == guid(m) and entry.guidislink is False
        [enclosure] = entry.enclosures
        assert enclosure.href == f"{BASE}/{edition.slug}.mp3"
        assert enclosure.type == "audio/mpeg"
        assert int(enclosure.length) == outputs["mp3"]["bytes"]
        assert entry.itunes_duration == str(round(edition.duration_ms / 1000))
        when = dt.datetime(*entry.published_parsed[:6], tzinfo=dt.UTC)
        assert when == published(m)
        if edition.author:
            assert entry.author == edition.author
    wages = parsed.entries[1]
    assert wages.summary == "Wages rose & fell <i>twice</i>."  # front matter summary, as text
    assert wages.author == "Ann Writer & Co"
    assert wages.published_parsed[:3] == (2024, 5, 1)
    assert parsed.entries[2].published_parsed[:4] == (2023, 1, 15, 6)  # 08:30 +02:00 in UTC
    assert parsed.entries[0].summary == "The market opened late. Fish sold quickly."


def test_the_feed_is_strict_xml_and_its_numbers_are_the_files(project):
    _build(project)
    out = project / "audio"
    root = ET.fromstring(_feed(project).read_bytes())  # expat: any well-formedness error raises
    assert root.tag == "rss" and root.get("version") == "2.0"
    for item in root.findall("channel/item"):
        enclosure = item.find("enclosure")
        mp3 = out / enclosure.get("url").removeprefix(BASE + "/")
        assert int(enclosure.get("length")) == mp3.stat().st_size
        decoded = float(ffprobe(mp3)["format"]["duration"])
        assert abs(int(item.findtext(f"{{{ITUNES}}}duration")) - decoded) <= 1
    title = root.findall("channel/item")[1].findtext("title")
    assert title == NASTY  # escaped on the way in, the same text on the way out


def test_podcasting_2_tags_follow_the_specification(project):
    _build(project)
    out = project / "audio"
    raw = _feed(project).read_text(encoding="utf-8")
    assert f'xmlns:podcast="{PODCAST}"' in raw and f'xmlns:itunes="{ITUNES}"' in raw
    for item in _items(project):
        [chapters] = item.findall(f"{{{PODCAST}}}chapters")
        assert chapters.get("type") == "application/json+chapters"
        assert (out / chapters.get("url").removeprefix(BASE + "/")).is_file()
        transcripts = {
            t.get("type"): t.get("url") for t in item.findall(f"{{{PODCAST}}}transcript")
        }
        assert set(transcripts) == {"text/vtt", "application/x-subrip"}
        assert transcripts["text/vtt"].endswith(".vtt")
        assert transcripts["application/x-subrip"].endswith(".srt")
        assert all((out / u.removeprefix(BASE + "/")).is_file() for u in transcripts.values())


def test_a_rebuild_that_changed_nothing_leaves_the_feed_byte_for_byte(project):
    _build(project)
    before = _feed(project).read_bytes()
    identity = os.stat(_feed(project)).st_ino, os.stat(_feed(project)).st_mtime_ns
    results, _ = _build(project)
    assert not any(r.changed for r in results)
    assert _feed(project).read_bytes() == before
    assert (os.stat(_feed(project)).st_ino, os.stat(_feed(project)).st_mtime_ns) == identity


def test_a_corrected_article_keeps_its_guid(project):
    _build(project)
    guids = _guids(project)
    article = project / "text" / "wages.md"
    article.write_text(DATED.replace("at noon", "late in the evening"), encoding="utf-8")
    before = _feed(project).read_bytes()
    _build(project)
    assert _feed(project).read_bytes() != before  # a new MP3: a new enclosure length
    assert _guids(project) == guids
    assert len(set(guids.values())) == 3


def test_a_removed_article_leaves_the_feed(project):
    settings = _settings(project)
    _build(project, settings)
    (project / "text" / "older.md").unlink()
    remove_orphans(project / "audio", lambda message: None, settings)  # clean --outputs
    assert "Older news" not in _guids(project) and len(_items(project)) == 2
    # An edition whose manifest is gone is not listed either.
    (project / "audio" / "market.json").unlink()
    _build(project, settings, paths=["wages.md"])
    assert list(_guids(project)) == [NASTY]


def test_an_undated_article_is_dated_when_its_mp3_was_written(project):
    """Not when the feed was written: the same on every rebuild, whenever it runs."""
    _build(project)
    path = project / "audio" / "market.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    written = dt.datetime(2020, 2, 3, 4, 5, 6, tzinfo=dt.UTC)
    data["outputs"]["mp3"]["id"][0] = int(written.timestamp()) * 10**9  # an MP3 of 2020
    path.write_text(json.dumps(data), encoding="utf-8")
    results, _ = _build(project)
    assert not any(r.changed for r in results)  # the MP3 is intact (by its hash)
    [item] = [i for i in _items(project) if i.findtext("title") == "Market"]
    assert item.findtext("pubDate") == "Mon, 03 Feb 2020 04:05:06 GMT"
    assert _items(project)[-1].findtext("title") == "Market"  # the oldest now


def test_only_editions_with_an_mp3_are_episodes(project):
    settings = _settings(project)
    _build(project, settings, paths=["wages.md"])
    _build(project, replace(settings, formats=("vtt",)), paths=["older.md"])
    assert (project / "audio" / "older.vtt").is_file()
    assert not (project / "audio" / "older.mp3").exists()
    assert list(_guids(project)) == [NASTY]


def test_no_feed_without_an_edition_with_mp3(project):
    settings = _settings(project)
    _build(project, settings)
    for name in ("wages.md", "market.txt", "older.md"):
        (project / "text" / name).unlink()
    remove_orphans(project / "audio", lambda message: None, settings)
    assert not _feed(project).exists()  # ours, and nothing left to list


def test_without_base_url_no_feed_and_one_line_on_stderr(project):
    env = {"AUDIO_EDITION_ENGINE": "fake"}
    result = run_cli(
        "build", "--quiet", "--format", "mp3,feed", "--no-opening", cwd=project, env=env
    )
    assert result.returncode == 0, result.stderr
    assert not _feed(project).exists()
    lines = result.stderr.splitlines()
    assert len([line for line in lines if "base_url" in line]) == 1, result.stderr
    [line] = [line for line in lines if "base_url" in line]
    assert "feed.xml" in line and "[feed]" in line and "audio-edition.toml" in line
    # Once: a rebuild that changed nothing, or whose only article fails, says nothing more.
    again = run_cli(
        "build", "--quiet", "--format", "mp3,feed", "--no-opening", cwd=project, env=env
    )
    assert again.returncode == 0 and again.stderr == ""
    (project / "text" / "empty.txt").write_text("", encoding="utf-8")
    failed = run_cli("build", "text/empty.txt", "--format", "mp3,feed", cwd=project, env=env)
    assert failed.returncode == 1 and len(failed.stderr.splitlines()) == 1, failed.stderr
    # Leaving the feed out of the formats says nothing, even for a new edition.
    (project / "text" / "empty.txt").write_text("Now it says something.", encoding="utf-8")
    result = run_cli("build", "--quiet", "--format", "mp3", "--no-opening", cwd=project, env=env)
    assert result.returncode == 0 and "base_url" not in result.stderr, result.stderr


def test_channel_settings_from_the_project_file(project):
    (project / "audio-edition.toml").write_text(
        "[feed]\n"
        f'base_url = "{BASE}/"\n'
        'title = "Example & <Daily>"\n'
        'description = "Editorials, read aloud."\n'
        'language = "en-GB"\n'
        'author = "Example Daily"\n'
        'owner_name = "Audio desk"\n'
        'owner_email = "audio@example.org"\n'
        'image = "art/cover.jpg"\n'
        'category = "Society & Culture"\n'
        "explicit = true\n",
        encoding="utf-8",
    )
    settings = replace(load_settings(project), formats=FORMATS, opening="", closing="")
    _build(project, settings)
    channel = ET.parse(_feed(project)).getroot().find("channel")
    assert channel.findtext("title") == "Example & <Daily>"
    assert channel.findtext("language") == "en-GB"
    assert channel.findtext(f"{{{ITUNES}}}author") == "Example Daily"
    assert channel.findtext(f"{{{ITUNES}}}owner/{{{ITUNES}}}email") == "audio@example.org"
    assert channel.find(f"{{{ITUNES}}}image").get("href") == f"{BASE}/art/cover.jpg"
    assert channel.find(f"{{{ITUNES}}}category").get("text") == "Society & Culture"
    assert channel.findtext(f"{{{ITUNES}}}explicit") == "true"
    assert channel.find("item/enclosure").get("url").startswith(f"{BASE}/")  # one slash


BAD_FEED = {
    'base_url = "ftp://example.org"': "feed.base_url: must be an http:// or https:// address",
    'base_url = "audio"': "feed.base_url: must be an http:// or https:// address",
    'owner_email = "nobody"': "feed.owner_email: must be an email address",
    'explicit = "yes"': 'feed.explicit: must be true or false (got "yes")',
    'title = ""': "feed.title: must be text",
    "url = 1": 'feed: unknown setting "url": use base_url, title,',
}


@pytest.mark.parametrize("line", BAD_FEED)
def test_a_bad_feed_setting_names_the_file_and_key(tmp_path, line):
    path = tmp_path / "audio-edition.toml"
    path.write_text(f"[feed]\n{line}\n", encoding="utf-8")
    with pytest.raises(UsageError) as caught:
        load_settings(tmp_path)
    assert str(caught.value).startswith(f"{path}: {BAD_FEED[line]}"), str(caught.value)


def test_dates_are_read_as_iso_or_rfc_822():
    assert parse_date("2024-05-01") == dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    assert parse_date("Wed, 01 May 2024 10:00:00 +0100").hour == 10
    assert parse_date("spring 2024") is None


def test_front_matter_summary_is_kept_in_the_manifest(project):
    _build(project, paths=["wages.md"])
    manifest = read_manifest(project / "audio" / "wages.json")
    assert manifest.edition.summary == "Wages rose & fell <i>twice</i>."


def test_a_changed_channel_setting_rewrites_the_feed_without_rebuilding_editions(project):
    _build(project)
    results, _ = _build(project, _settings(project, title="Harbour radio"))
    assert not any(r.changed for r in results)
    channel = ET.parse(_feed(project)).getroot().find("channel")
    assert channel.findtext("title") == "Harbour radio"


def test_an_editions_cover_is_its_episodes_image(project):
    png = (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00"
        b"\x00\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
        b"\x00\x00\x00IEND\xaeB`\x82"
    )
    (project / "cover.png").write_bytes(png)
    _build(project, settings=replace(_settings(project), cover=project / "cover.png"))
    out = project / "audio"
    for item in _items(project):
        slug = item.find("enclosure").get("url").removeprefix(f"{BASE}/").removesuffix(".mp3")
        image = item.find(f"{{{ITUNES}}}image").get("href")
        assert image == f"{BASE}/{slug}.cover.png"
        assert (out / f"{slug}.cover.png").read_bytes() == png  # published beside the audio
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.cover.png")}
    _build(project, settings=replace(_settings(project), cover=project / "cover.png"))
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.cover.png")} == before


def test_the_list_of_editions_links_the_feed_while_there_is_one(project):
    """A listener who finds index.html finds the feed: a link for people and a
    rel="alternate" link for browsers and feed readers, removed with the feed."""
    _build(project)
    index = project / "audio" / "index.html"
    tags = _tags(index.read_text(encoding="utf-8"))
    alternates = [a for t, a in tags if t == "link" and a.get("rel") == "alternate"]
    assert [(a["type"], a["href"]) for a in alternates] == [("application/rss+xml", "feed.xml")]
    assert "feed.xml" in [a.get("href") for t, a in tags if t == "a"]
    assert (project / "audio" / alternates[0]["href"]).is_file()
    # Without base_url the feed is gone after a change, and so is the link.
    _build(project, settings=_settings(project, base_url=None))
    (project / "audio" / "feed.xml").unlink(missing_ok=True)
    (project / "text" / "market.txt").write_text("The market closed early.\n", encoding="utf-8")
    _build(project, settings=_settings(project, base_url=None))
    assert "feed.xml" not in index.read_text(encoding="utf-8")


def _tags(html: str) -> list[tuple[str, dict]]:
    """Every start tag of an HTML page with its attributes, in order."""
    from html.parser import HTMLParser

    found: list[tuple[str, dict]] = []
    parser = HTMLParser()
    parser.handle_starttag = lambda tag, attrs: found.append((tag, dict(attrs)))
    parser.feed(html)
    return found
