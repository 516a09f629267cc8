"""Podcast feed: ``audio/feed.xml``, every edition with an MP3 as an episode.

RSS 2.0 with the Apple Podcasts (``itunes:``) and Podcasting 2.0 (``podcast:``)
namespaces, written with the standard library's ElementTree (which escapes every text and
attribute: a title with ``&``, ``<`` or ``]]>`` stays well-formed). It lists every edition
in the output folder, like the web page's index, so it is written by ``write_index`` after
every build and clean: a format with no file per edition (``index_only``).

Feeds need absolute addresses: every URL is ``[feed] base_url`` (where ``audio/`` is
served from) and a file name. Without ``base_url`` no feed is written, and a build that
asked for the feed (it is a default format) and built an edition says so in one line.

The feed is made from the manifests alone (titles, dates, sizes, durations), never the
audio, and is written only when its bytes change: a rebuild that changed nothing leaves it
as it was, byte for byte. Nothing in it depends on the clock.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
import xml.etree.ElementTree as ET
from collections import Counter
from email.utils import format_datetime, parsedate_to_datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

from ..files import atomic_write_bytes
from .base import Format, IndexContext

if TYPE_CHECKING:
    from pathlib import Path

    from ..config import FeedSettings
    from ..edition import Manifest

NAME = "feed"
FEED = "feed.xml"
GENERATOR = "audio-edition"
AUDIO = "mp3"  # the enclosure: the one audio format every podcast app plays

ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST = "https://podcastindex.org/namespace/1.0"
ATOM = "http://www.w3.org/2005/Atom"
CHAPTERS_TYPE = "application/json+chapters"  # Podcasting 2.0 <podcast:chapters>
TRANSCRIPTS = {"vtt": "text/vtt", "srt": "application/x-subrip"}

# An episode's guid: a UUID5 of the article's path in the project, so a corrected article
# (new text, new audio, new size) is the same episode, and podcast apps do not list it twice.
GUID_NAMESPACE = uuid.UUID("6d1e7a4e-2f0b-5c43-9a55-3f1a9a0c7e21")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

# What XML 1.0 cannot hold at all, even escaped (control characters, lone surrogates).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class PodcastFeed(Format):
    name = NAME
    suffix = ""  # no file per edition: audio/feed.xml lists them all
    label = "Podcast feed"
    description = "podcast apps: audio/feed.xml, every MP3 with chapters and transcripts ([feed])"
    version = 1
    needs = (AUDIO,)
    index_only = True
    order = 110

    def write(self, context: object) -> None:
        raise AssertionError("the feed is index-only: written by write_index")

    def write_index(self, index: IndexContext) -> None:
        write_feed(index)


def write_feed(index: IndexContext) -> None:
    """Keep ``feed.xml`` listing every edition in ``index.out`` that has an MP3.

    Written only when its bytes change; removed (when it is ours) once no edition with an
    MP3 is left; left as it is when the settings are unknown or have no ``base_url``.
    """
    if index.settings is None:
        return
    path = index.out / FEED
    editions = [m for m in index.editions if AUDIO in m.record.outputs]
    if not editions:
        if path.is_file() and f"<generator>{GENERATOR}</generator>" in _read(path):
            path.unlink()  # ours, and no episode is left to list
        return
    settings = index.settings.feed
    if settings.base_url is None:
        if NAME in index.settings.formats and index.changed:
            index.notify(
                f"{path}: no podcast feed written: set base_url in the [feed] table of "
                "audio-edition.toml (the address the output folder is served from)"
            )
        return
    data = render(editions, settings)
    if not path.is_file() or path.read_bytes() != data:
        atomic_write_bytes(path, data)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


# ---------------------------------------------------------------- the document


def render(editions: list[Manifest], settings: FeedSettings) -> bytes:
    """The feed's bytes: the channel, then an item per edition, newest first."""
    for prefix, uri in (("itunes", ITUNES), ("podcast", PODCAST), ("atom", ATOM)):
        ET.register_namespace(prefix, uri)
    base = settings.base_url
    rss = ET.Element("rss", {"version": "2.0"})
    channel = ET.SubElement(rss, "channel")
    _channel(channel, editions, settings)
    ordered = sorted(
        editions,
        key=lambda m: (-published(m).timestamp(), m.edition.title.casefold(), m.edition.slug),
    )
    for manifest in ordered:
        _item(ET.SubElement(channel, "item"), manifest, base)
    ET.indent(rss, space=" ")
    return ET.tostring(rss, encoding="utf-8", xml_declaration=True) + b"\n"


def _channel(channel: ET.Element, editions: list[Manifest], settings: FeedSettings) -> None:
    base = settings.base_url
    has_index = any("html" in m.record.outputs for m in editions)
    languages = Counter(m.edition.language for m in editions)
    _add(channel, "title", settings.title)
    _add(channel, "link", f"{base}/index.html" if has_index else f"{base}/")
    _add(channel, "description", settings.description)
    _add(channel, "language", settings.language or languages.most_common(1)[0][0])
    _add(channel, "generator", GENERATOR)
    ET.SubElement(
        channel,
        f"{{{ATOM}}}link",
        {"href": f"{base}/{FEED}", "rel": "self", "type": "application/rss+xml"},
    )
    _add(channel, f"{{{ITUNES}}}author", settings.author or settings.title)
    if settings.owner_name or settings.owner_email:
        owner = ET.SubElement(channel, f"{{{ITUNES}}}owner")
        _add(owner, f"{{{ITUNES}}}name", settings.owner_name)
        _add(owner, f"{{{ITUNES}}}email", settings.owner_email)
    if settings.image:
        ET.SubElement(channel, f"{{{ITUNES}}}image", {"href": _absolute(base, settings.image)})
    ET.SubElement(channel, f"{{{ITUNES}}}category", {"text": _clean(settings.category)})
    _add(channel, f"{{{ITUNES}}}explicit", "true" if settings.explicit else "false")


def _item(item: ET.Element, manifest: Manifest, base: str) -> None:
    edition, outputs = manifest.edition, manifest.record.outputs
    audio = outputs[AUDIO]
    _add(item, "title", edition.title)
    if "html" in outputs:
        _add(item, "link", _url(base, outputs["html"]["path"]))
    _add(item, "description", description(manifest))
    _add(item, f"{{{ITUNES}}}author", edition.author)
    ET.SubElement(
        item,
        "enclosure",
        {"url": _url(base, audio["path"]), "length": str(audio["bytes"]), "type": "audio/mpeg"},
    )
    _add(item, "guid", guid(manifest), isPermaLink="false")
    _add(item, "pubDate", format_datetime(published(manifest), usegmt=True))
    _add(item, f"{{{ITUNES}}}duration", str(round(edition.duration_ms / 1000)))
    if "cover" in outputs:  # the cover embedded in the MP3, published beside it
        ET.SubElement(item, f"{{{ITUNES}}}image", {"href": _url(base, outputs["cover"]["path"])})
    if "chapters-json" in outputs:
        url = _url(base, outputs["chapters-json"]["path"])
        ET.SubElement(item, f"{{{PODCAST}}}chapters", {"url": url, "type": CHAPTERS_TYPE})
    for name, media_type in TRANSCRIPTS.items():
        if name in outputs:
            attrs = {"url": _url(base, outputs[name]["path"]), "type": media_type}
            attrs |= {"language": edition.language, "rel": "captions"}
            ET.SubElement(item, f"{{{PODCAST}}}transcript", attrs)


def _add(parent: ET.Element, tag: str, text: str | None, **attrs: str) -> None:
    """A child element with ``text`` (none when there is no text)."""
    if text:
        ET.SubElement(parent, tag, attrs).text = _clean(text)


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)


def _url(base: str, name: str) -> str:
    return f"{base}/{quote(name)}"


def _absolute(base: str, address: str) -> str:
    return address if re.match(r"https?://", address) else f"{base}/{address.lstrip('/')}"


# ---------------------------------------------------------------- an episode's fields


def guid(manifest: Manifest) -> str:
    """The same for every build of the same article, whatever its text says."""
    return str(uuid.uuid5(GUID_NAMESPACE, manifest.edition.source))


def description(manifest: Manifest) -> str:
    """Front matter ``summary``, or else the first paragraph with text."""
    edition = manifest.edition
    if edition.summary:
        return edition.summary
    return next((p.text for p in edition.paragraphs if p.text.strip()), edition.title)


def published(manifest: Manifest) -> dt.datetime:
    """When the episode was published: the article's ``date`` (ISO 8601 or RFC 822; a
    date alone is midnight UTC), or else, for an article with no date it can read, when its
    MP3 was written, as the manifest records it (so the same on every rebuild)."""
    when = parse_date(manifest.edition.date) if manifest.edition.date else None
    if when is None:
        ident = manifest.record.outputs[AUDIO].get("id")
        if not (isinstance(ident, list) and ident and isinstance(ident[0], int)):
            return EPOCH
        when = dt.datetime.fromtimestamp(ident[0] // 1_000_000_000, dt.UTC)
    return when.astimezone(dt.UTC)


def parse_date(text: str) -> dt.datetime | None:
    """An ISO 8601 or RFC 822 date as an aware time (no zone given: UTC); None if neither."""
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
