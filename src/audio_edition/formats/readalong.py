"""What the read-along books (EPUB 3, DAISY 2.02) share, all from the edition.

- The text: the title, the announcements, the headings and the paragraphs, with an id on
  every spoken element (``opening``, ``p3h`` for paragraph 3's heading, ``p3s2`` for its
  second sentence, ``closing``).
- The phrases: each spoken element with its audio clip. Clips tile the whole timeline (a
  clip runs from its element's start to the next element's start; the first from 0, the
  last to the end), because a player plays clip after clip: clips of speech alone would
  drop every pause and run the sentences together.
- The sections: where a reader can jump to. The title first, then the article's headings;
  an article without headings is navigated by the edition's chapters (as in the M4B).
  Heading levels are renumbered so that none is skipped: DAISY players reject a skip, and
  a screen reader's heading list reads better without one.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from .. import times
from ..manifest import content_key

if TYPE_CHECKING:
    from ..edition import Announcement, Edition, Utterance


@dataclass
class Phrase:
    """One utterance of the edition and its clip (milliseconds of the edition's audio)."""

    utterance: Utterance
    clip_begin_ms: int = 0
    clip_end_ms: int = 0

    @property
    def id(self) -> str:
        return self.utterance.id

    @property
    def text(self) -> str:
        return self.utterance.text

    @property
    def start_ms(self) -> int:
        return self.utterance.start_ms

    @property
    def end_ms(self) -> int:
        return self.utterance.end_ms


@dataclass
class Block:
    """A heading or paragraph of the text; ``phrases`` is empty for the unspoken title."""

    tag: str  # "h1".."h6" | "p"
    id: str
    text: str
    phrases: list[Phrase] = field(default_factory=list)
    cls: str | None = None

    @property
    def level(self) -> int | None:
        return int(self.tag[1]) if self.tag[0] == "h" else None


@dataclass
class Section:
    """A navigation point and the blocks up to the next one."""

    level: int
    label: str
    blocks: list[Block]

    @property
    def phrases(self) -> list[Phrase]:
        return [p for b in self.blocks for p in b.phrases]


def layout(edition: Edition) -> list[Section]:
    """The article as sections of blocks, every phrase with its clip."""
    blocks, entries = _blocks(edition)
    sections = _sections(blocks, entries)
    _clip([p for s in sections for p in s.phrases], edition.duration_ms)
    return sections


def _blocks(edition: Edition) -> tuple[list[Block], list[tuple[int, int, str]]]:
    """The blocks in reading order, and the headings' entries (block index, level, label)."""
    paragraphs = edition.paragraphs
    first = paragraphs[0] if paragraphs else None
    # A Markdown article whose title came from its first heading: that heading is the title.
    titled = bool(first and first.heading and first.heading.text.strip() == edition.title)
    blocks = [] if titled else [Block("h1", "title", edition.title, cls="title")]
    blocks += _announcement(edition.opening)
    levels = _levels([p.heading.level or 2 for p in paragraphs[titled:] if p.heading])
    entries: list[tuple[int, int, str]] = []
    chapter_starts: dict[int | None, int] = {}
    for para in paragraphs:
        chapter_starts.setdefault(para.chapter, len(blocks))
        if para.heading:
            title = titled and para is first
            level = 1 if title else next(levels)
            phrase = Phrase(para.heading)
            if not title:
                entries.append((len(blocks), level, para.heading.text))
            blocks.append(
                Block(f"h{level}", phrase.id, phrase.text, [phrase], "title" if title else None)
            )
        if para.sentences:
            blocks.append(Block("p", para.id, para.text, [Phrase(s) for s in para.sentences]))
    blocks += _announcement(edition.closing)
    if not entries:  # no headings: navigate by the edition's chapters
        entries = [(chapter_starts[c.index], 2, c.title) for c in edition.chapters if c.paragraphs]
    return blocks, [(0, 1, edition.title), *entries]


def _announcement(announcement: Announcement | None) -> list[Block]:
    if not announcement:
        return []
    phrase = Phrase(announcement)
    return [Block("p", phrase.id, phrase.text, [phrase], "announcement")]


def _levels(levels: list[int]) -> Iterator[int]:
    """Heading levels renumbered under the title (h1): nested as written, never skipping."""
    stack: list[int] = []
    for level in levels:
        while stack and stack[-1] >= level:
            stack.pop()
        stack.append(level)
        yield min(len(stack) + 1, 6)


def _sections(blocks: list[Block], entries: list[tuple[int, int, str]]) -> list[Section]:
    sections: list[Section] = []
    bounds = [e[0] for e in entries[1:]] + [len(blocks)]
    for (start, level, label), end in zip(entries, bounds, strict=True):
        section = Section(level, label, blocks[start:end])
        # A section with nothing spoken (the unspoken title straight before a heading)
        # cannot be played: it takes the next section's blocks in, and that entry goes.
        if sections and not sections[-1].phrases:
            sections[-1].blocks += section.blocks
        elif section.blocks or not sections:
            sections.append(section)
    return sections


def _clip(phrases: list[Phrase], duration_ms: int) -> None:
    for i, phrase in enumerate(phrases):
        phrase.clip_begin_ms = 0 if i == 0 else phrase.start_ms
        phrase.clip_end_ms = phrases[i + 1].start_ms if i + 1 < len(phrases) else duration_ms


# ---------------------------------------------------------------- rendering


def body(sections: list[Section]) -> str:
    """The text's XHTML body content: every spoken element with its id."""
    return "\n".join(_block_html(b) for s in sections for b in s.blocks)


def _block_html(block: Block) -> str:
    cls = f' class="{block.cls}"' if block.cls else ""
    if len(block.phrases) == 1 and block.phrases[0].id == block.id or not block.phrases:
        inner = esc(block.text)  # the element is the phrase itself (or the unspoken title)
    else:
        inner = " ".join(f'<span id="{p.id}">{esc(p.text)}</span>' for p in block.phrases)
    return f'<{block.tag} id="{block.id}"{cls}>{inner}</{block.tag}>'


def esc(text: str) -> str:
    """Text or attribute value for XML and HTML: &, <, >, " and ' escaped."""
    return escape(text, quote=True)


def clock(ms: int) -> str:
    """H:MM:SS.mmm, the clock value EPUB and DAISY take."""
    return times.clock(ms, hour_width=1)


# ---------------------------------------------------------------- metadata


def identifier(edition: Edition) -> str:
    """A stable UUID for the publication: the same article keeps it across rebuilds."""
    name = f"audio-edition:{edition.slug}:{edition.title}:{edition.author}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def creator(edition: Edition) -> str:
    return edition.author or edition.publisher or "Unknown"


def article_date(edition: Edition) -> str | None:
    """The article's date if it is a W3C date (YYYY, YYYY-MM or YYYY-MM-DD), else None."""
    date = str(edition.date or "").strip()
    if not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", date):
        return None
    try:
        dt.date.fromisoformat((date + "-01-01")[:10])
    except ValueError:
        return None
    return date


def modified(edition: Edition) -> str:
    """A deterministic modification time (CCYY-MM-DDThh:mm:ssZ).

    No clock is read, so an unchanged edition gives the same bytes. The day is the
    article's date (else 2000-01-01); the time of day comes from the content's hash, so
    that a changed edition gets a different dcterms:modified, which reading systems use
    to tell versions of a book apart.
    """
    day = dt.datetime.fromisoformat(((article_date(edition) or "2000") + "-01-01")[:10])
    seconds = int(content_key(edition), 16) % 86_400
    return (day + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def narrator(edition: Edition) -> str:
    return f"{edition.voice.name}, a synthetic voice ({edition.voice.engine})"


# ---------------------------------------------------------------- packages (zip)


def _zip_info(name: str, compression: int) -> zipfile.ZipInfo:
    # A fixed date: the same edition gives the same bytes.
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = compression
    info.external_attr = 0o644 << 16
    return info


def zip_bytes(zf: zipfile.ZipFile, name: str, data: bytes, compression: int) -> None:
    zf.writestr(_zip_info(name, compression), data, compresslevel=9)


def zip_file(zf: zipfile.ZipFile, name: str, path: Path) -> None:
    """A file into the package, stored: MP3 does not compress, and players can then read
    it straight from the zip."""
    with open(path, "rb") as src, zf.open(_zip_info(name, zipfile.ZIP_STORED), "w") as out:
        shutil.copyfileobj(src, out, 1 << 20)
