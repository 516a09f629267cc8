"""Laying out the edition, and its manifest file.

``build_manifest`` makes the ``Edition`` (edition.py) of an article from its segments:
every paragraph and sentence with its times, exact sample positions in the built files
rounded to milliseconds once (``*_ms``), and the chapters. The manifest file
(``audio/<slug>.json``, docs/manifest.schema.json) is the edition serialised, with its
build record beside it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .edition import (
    MANIFEST_VERSION,
    Announcement,
    Chapter,
    Edition,
    Heading,
    Loudness,
    Manifest,
    Paragraph,
    Pronunciation,
    Sentence,
    Voice,
    Word,
    read_manifest,
    written_words,
)
from .encode import MAX_CHAPTERS
from .files import atomic_write_bytes, hash_key
from .pcm import SAMPLE_RATE, samples_to_ms

if TYPE_CHECKING:  # only for types: reading a manifest must stay cheap (the no-change path)
    from .assemble import Segment, Spoken
    from .source import Article
    from .source import Paragraph as SourceParagraph

__all__ = ["MANIFEST_VERSION", "Manifest", "build_manifest", "read_manifest", "write_manifest"]

TITLE_WORDS = 7


def first_words(text: str, words: int = TITLE_WORDS) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + ("…" if len(parts) > words else "")


def paragraph_title(number: int, paragraph: SourceParagraph) -> str:
    if paragraph.heading:
        return paragraph.heading
    return f"{number}. {first_words(paragraph.text)}"


def plan_chapters(
    paragraphs: Sequence[SourceParagraph], has_opening: bool, has_closing: bool
) -> list:
    """Group paragraph numbers (1-based) into chapters, within MAX_CHAPTERS in all.

    One chapter per paragraph when they fit. Otherwise each heading's section is cut into
    groups of at most ``size`` paragraphs, with the smallest size that fits: chapters still
    start at every heading, and a listener can skip as finely as the limit allows. Never a
    silently truncated list.
    """
    room = MAX_CHAPTERS - has_opening - has_closing
    numbers = list(range(1, len(paragraphs) + 1))
    if len(numbers) <= room:
        return [[n] for n in numbers]
    starts = sorted({1, *(n for n in numbers if paragraphs[n - 1].heading)})
    sections = [
        numbers[a - 1 : b - 1] for a, b in zip(starts, [*starts[1:], len(numbers) + 1], strict=True)
    ]
    size = 1
    while sum(-(-len(sec) // size) for sec in sections) > room:
        size += 1
    return [sec[i : i + size] for sec in sections for i in range(0, len(sec), size)]


def chapter_title(group: list[int], paragraphs: Sequence[SourceParagraph]) -> str:
    first = paragraphs[group[0] - 1]
    if len(group) == 1 or first.heading:
        return paragraph_title(group[0], first)
    return f"{group[0]}–{group[-1]}. {first_words(first.text)}"


def build_manifest(
    article: Article,
    segments: Sequence[Segment],
    voice: Voice,
    loudness: Loudness,
    source: str,
) -> Edition:
    """The edition of an article laid out as ``segments`` (opening, paragraphs, closing)."""
    spans: dict[str | int, list] = {}
    pos = 0
    for seg in segments:
        for spoken, start, end in seg.spans():
            spans.setdefault(spoken.owner, []).append((spoken, pos + start, pos + end))
        pos += seg.length
    opening, closing = (_announcement(kind, spans.get(kind)) for kind in ("opening", "closing"))
    paragraphs = [
        _paragraph(article, number, spans[number])
        for number in range(1, len(article.paragraphs) + 1)
    ]
    return Edition(
        source=source,
        slug=article.slug,
        title=article.title,
        author=article.author,
        publisher=article.publisher,
        date=article.date,
        language=article.language,
        voice=voice,
        loudness=loudness,
        duration_samples=pos,
        opening=opening,
        closing=closing,
        chapters=_chapters(article, paragraphs, opening, closing, pos),
        paragraphs=paragraphs,
        sample_rate=SAMPLE_RATE,
        summary=article.summary,
        pronunciations=_pronunciations(segments),
    )


def _pronunciations(segments: Sequence[Segment]) -> list[Pronunciation]:
    """The lexicon entries the edition was said with, in the order first said."""
    entries = [e for seg in segments for p in seg.clips() if p.spoken for e in p.spoken.entries]
    return [
        Pronunciation(e.written, e.respelling, e.ipa, e.case_sensitive)
        for e in dict.fromkeys(entries)
    ]


def _announcement(kind: str, found: list | None) -> Announcement | None:
    if not found:  # a long announcement is spoken in parts: one entry
        return None
    text = " ".join(s.text for s, _, _ in found)
    return Announcement(kind, text, samples_to_ms(found[0][1]), samples_to_ms(found[-1][2]))


def _paragraph(article: Article, number: int, spans: list) -> Paragraph:
    para = article.paragraphs[number - 1]
    heading = [(a, b) for s, a, b in spans if s.role == "heading"]
    sentences = [
        Sentence(
            f"p{number}s{i}",
            s.text,
            samples_to_ms(a),
            samples_to_ms(b),
            spoken=s.spoken.text if s.spoken is not None else None,
            words=sentence_words(s.text, _written_events(s), a, b),
        )
        for i, (s, a, b) in enumerate((x for x in spans if x[0].role == "sentence"), start=1)
    ]
    return Paragraph(
        index=number,
        id=f"p{number}",
        text=para.text,
        line=para.line,
        start_ms=samples_to_ms(spans[0][1]),
        end_ms=samples_to_ms(spans[-1][2]),
        chapter=None,
        heading=Heading(
            f"p{number}h",
            para.heading,
            samples_to_ms(heading[0][0]),
            samples_to_ms(heading[-1][1]),  # of its parts
            para.heading_level,
        )
        if heading
        else None,
        sentences=sentences,
    )


def _written_events(spoken: Spoken) -> Sequence:
    """The clip's word events with their offsets in the written text: the engine was given
    the spoken text (respellings, numbers in words), the words shown are those written."""
    if spoken.spoken is None:
        return spoken.clip.words
    to_display = spoken.spoken.display_offset
    return [(to_display(offset), length, sample) for offset, length, sample in spoken.clip.words]


def sentence_words(text: str, events: Sequence, start: int, end: int) -> list[Word]:
    """The sentence's words with their times, from the engine's word events (``(offset,
    length, sample)`` in its clip, which spans ``start`` to ``end`` in the edition).

    Each written word starts at the first event inside it (eSpeak reads "1,234" as four
    words: they merge); a word the engine gave no event sits between its neighbours.
    Starts strictly increase; each word ends where the next starts, the last with the clip.
    """
    words = written_words(text)
    if not events or not words:
        return []
    starts: list[float | None] = []
    for a, b, _ in words:
        inside = [sample for offset, _, sample in events if a <= offset < b]
        starts.append(inside[0] if inside else None)
    known = [(i, s) for i, s in enumerate(starts) if s is not None]
    if not known:
        return []
    for i, s in enumerate(starts):  # fill the gaps between known neighbours
        if s is None:
            before = max(((j, v) for j, v in known if j < i), default=(-1, 0))
            after = min(((j, v) for j, v in known if j > i), default=(len(words), end - start))
            share = (i - before[0]) / (after[0] - before[0])
            starts[i] = before[1] + (after[1] - before[1]) * share
    ms: list[int] = []
    for s in starts:
        at = samples_to_ms(start + round(s))
        ms.append(max(at, ms[-1] + 1) if ms else at)
    stops = [*ms[1:], max(samples_to_ms(end), ms[-1] + 1)]
    return [Word(w[2], a, b) for w, a, b in zip(words, ms, stops, strict=True)]


def _chapters(
    article: Article,
    paragraphs: list[Paragraph],
    opening: Announcement | None,
    closing: Announcement | None,
    total: int,
) -> list[Chapter]:
    groups = plan_chapters(article.paragraphs, bool(opening), bool(closing))
    chapters = []
    if opening:
        chapters.append(Chapter(0, "Opening announcement", opening.start_ms, 0))
    for group in groups:
        for n in group:
            paragraphs[n - 1].chapter = len(chapters)
        start = paragraphs[group[0] - 1].start_ms
        title = chapter_title(group, article.paragraphs)
        chapters.append(Chapter(0, title, start, 0, group))
    if closing:
        chapters.append(Chapter(0, "Closing announcement", closing.start_ms, 0))
    # The first chapter starts the file: MP4's chapter track cannot begin later than 0,
    # and a listener jumping to it should hear it from the start.
    chapters[0].start_ms = 0
    for i, ch in enumerate(chapters):
        ch.index = i
        ch.end_ms = chapters[i + 1].start_ms if i + 1 < len(chapters) else samples_to_ms(total)
    return chapters


def content_key(edition: Edition) -> str:
    """A hash of the edition's content: equal keys, the same audio and text at the same
    times. The whole edition counts; the build record is not part of it."""
    return hash_key(edition.to_json())


def write_manifest(path: Path, manifest: Manifest) -> None:
    # allow_nan=False: a NaN or infinity is a bug to stop at, not "-Infinity" written into
    # a file every JSON reader but Python's refuses.
    text = json.dumps(manifest.to_json(), ensure_ascii=False, indent=1, allow_nan=False)
    atomic_write_bytes(path, (text + "\n").encode("utf-8"))
