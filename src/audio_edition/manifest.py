"""The edition manifest: every paragraph and sentence with its times.

This JSON file is the contract between building and writing: every output format
(chapters, captions, read-along books, the web page) is written from it and the built
audio alone. Times are exact sample positions in the built files, rounded to
milliseconds once (``*_ms``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .files import atomic_write_bytes, hash_key

if TYPE_CHECKING:  # only for types: reading a manifest must stay cheap (the no-change path)
    from .assemble import Segment
    from .source import Article, Paragraph

MANIFEST_VERSION = 1
SAMPLE_RATE = 22050
MAX_CHAPTERS = 255  # the chapter limit of both MP4 (QuickTime/Nero) and ID3 CTOC in practice
TITLE_WORDS = 7


def first_words(text: str, words: int = TITLE_WORDS) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + ("…" if len(parts) > words else "")


def paragraph_title(number: int, paragraph: Paragraph) -> str:
    if paragraph.heading:
        return paragraph.heading
    return f"{number}. {first_words(paragraph.text)}"


def plan_chapters(paragraphs: Sequence[Paragraph], has_opening: bool, has_closing: bool) -> list:
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


def chapter_title(group: list[int], paragraphs: Sequence[Paragraph]) -> str:
    first = paragraphs[group[0] - 1]
    if len(group) == 1 or first.heading:
        return paragraph_title(group[0], first)
    return f"{group[0]}–{group[-1]}. {first_words(first.text)}"


def samples_to_ms(samples: int) -> int:
    return round(samples * 1000 / SAMPLE_RATE)


def _span(start: int, end: int) -> dict:
    return {"start_ms": samples_to_ms(start), "end_ms": samples_to_ms(end)}


def build_manifest(
    article: Article,
    segments: Sequence[Segment],
    voice: dict,
    loudness: dict,
    source: str,
) -> dict:
    """The manifest for an article laid out as ``segments`` (opening, paragraphs, closing)."""
    spans: dict[str | int, list] = {}
    pos = 0
    for seg in segments:
        for spoken, start, end in seg.spans():
            spans.setdefault(spoken.owner, []).append((spoken, pos + start, pos + end))
        pos += seg.length
    announcements = {}
    for kind in ("opening", "closing"):
        found = spans.get(kind)  # a long announcement is spoken in parts: one entry
        announcements[kind] = (
            {"text": " ".join(s.text for s, _, _ in found), **_span(found[0][1], found[-1][2])}
            if found
            else None
        )
    paragraphs = [
        _paragraph_entry(article, number, spans[number])
        for number in range(1, len(article.paragraphs) + 1)
    ]
    chapters = _chapters(article, paragraphs, announcements, pos)
    return {
        "manifest_version": MANIFEST_VERSION,
        "source": source,
        "slug": article.slug,
        "title": article.title,
        "author": article.author,
        "publisher": article.publisher,
        "date": article.date,
        "language": article.language,
        "voice": voice,
        "loudness": loudness,
        "sample_rate": SAMPLE_RATE,
        "duration_samples": pos,
        "duration_ms": samples_to_ms(pos),
        "announcements": announcements,
        "chapters": chapters,
        "paragraphs": paragraphs,
    }


def _paragraph_entry(article: Article, number: int, spans: list) -> dict:
    para = article.paragraphs[number - 1]
    heading = [(a, b) for s, a, b in spans if s.role == "heading"]
    sentences = [
        {"id": f"p{number}s{i}", "text": s.text, **_span(a, b)}
        for i, (s, a, b) in enumerate((x for x in spans if x[0].role == "sentence"), start=1)
    ]
    return {
        "index": number,
        "id": f"p{number}",
        "heading": para.heading,
        "heading_level": para.heading_level,
        "heading_start_ms": samples_to_ms(heading[0][0]) if heading else None,
        "heading_end_ms": samples_to_ms(heading[-1][1]) if heading else None,  # of its parts
        "text": para.text,
        "line": para.line,
        **_span(spans[0][1], spans[-1][2]),
        "chapter": None,
        "sentences": sentences,
    }


def _chapters(article: Article, paragraphs: list, announcements: dict, total: int) -> list:
    groups = plan_chapters(
        article.paragraphs, bool(announcements["opening"]), bool(announcements["closing"])
    )
    chapters = []
    if announcements["opening"]:
        start = announcements["opening"]["start_ms"]
        chapters.append({"title": "Opening announcement", "start_ms": start, "paragraphs": []})
    for group in groups:
        for n in group:
            paragraphs[n - 1]["chapter"] = len(chapters)
        start = paragraphs[group[0] - 1]["start_ms"]
        title = chapter_title(group, article.paragraphs)
        chapters.append({"title": title, "start_ms": start, "paragraphs": group})
    if announcements["closing"]:
        start = announcements["closing"]["start_ms"]
        chapters.append({"title": "Closing announcement", "start_ms": start, "paragraphs": []})
    # The first chapter starts the file: MP4's chapter track cannot begin later than 0,
    # and a listener jumping to it should hear it from the start.
    chapters[0]["start_ms"] = 0
    for i, ch in enumerate(chapters):
        ch["index"] = i
        ch["end_ms"] = (
            chapters[i + 1]["start_ms"] if i + 1 < len(chapters) else samples_to_ms(total)
        )
    return [
        {k: ch[k] for k in ("index", "title", "start_ms", "end_ms", "paragraphs")}
        for ch in chapters
    ]


# What an edition's content is: everything but where its files are and how it was built.
CONTENT_KEYS = (
    "title",
    "author",
    "publisher",
    "date",
    "language",
    "voice",
    "loudness",
    "announcements",
    "chapters",
    "paragraphs",
    "duration_samples",
)


def content_key(manifest: dict) -> str:
    """A hash of the edition's content: equal keys, the same audio and text at the same times."""
    return hash_key({k: manifest.get(k) for k in CONTENT_KEYS})


def read_manifest(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if data.get("manifest_version") == MANIFEST_VERSION else None


def write_manifest(path: Path, manifest: dict) -> None:
    # allow_nan=False: a NaN or infinity is a bug to stop at, not "-Infinity" written into
    # a file every JSON reader but Python's refuses.
    text = json.dumps(manifest, ensure_ascii=False, indent=1, allow_nan=False)
    atomic_write_bytes(path, (text + "\n").encode("utf-8"))
