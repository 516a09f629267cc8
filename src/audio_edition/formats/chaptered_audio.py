"""What the chaptered audio formats share: chapters and tags read from the edition."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from ..encode import Chapter, Codec, Tags, mux
from .base import Context, Format

if TYPE_CHECKING:
    from ..edition import Edition

# ISO 639-1 -> ISO 639-2/B, which MP4 and ID3 language tags take.
ISO_639_2 = {
    "af": "afr",
    "ar": "ara",
    "bg": "bul",
    "bn": "ben",
    "ca": "cat",
    "cs": "cze",
    "cy": "wel",
    "da": "dan",
    "de": "ger",
    "el": "gre",
    "en": "eng",
    "es": "spa",
    "et": "est",
    "eu": "baq",
    "fa": "per",
    "fi": "fin",
    "fr": "fre",
    "ga": "gle",
    "gu": "guj",
    "he": "heb",
    "hi": "hin",
    "hr": "hrv",
    "hu": "hun",
    "id": "ind",
    "is": "ice",
    "it": "ita",
    "ja": "jpn",
    "kn": "kan",
    "ko": "kor",
    "lt": "lit",
    "lv": "lav",
    "ml": "mal",
    "mr": "mar",
    "ms": "may",
    "nl": "dut",
    "no": "nor",
    "nb": "nob",
    "pa": "pan",
    "pl": "pol",
    "pt": "por",
    "ro": "rum",
    "ru": "rus",
    "sk": "slo",
    "sl": "slv",
    "sq": "alb",
    "sr": "srp",
    "sv": "swe",
    "sw": "swa",
    "ta": "tam",
    "te": "tel",
    "th": "tha",
    "tr": "tur",
    "uk": "ukr",
    "ur": "urd",
    "vi": "vie",
    "zh": "chi",
}


def iso639_2(language: str | None) -> str | None:
    """The three-letter code for a BCP 47 tag ("en-GB" -> "eng"), or None if unknown."""
    if not language:
        return None
    base = language.split("-")[0].lower()
    if len(base) == 3:
        return base
    return ISO_639_2.get(base)


def chapters(edition: Edition) -> list[Chapter]:
    return [Chapter(c.start_ms, c.end_ms, c.title) for c in edition.chapters]


def tags(edition: Edition) -> Tags:
    voice = edition.voice
    comment = f"Audio edition read by a synthetic voice ({voice.name}, {voice.engine})" + (
        f"; published by {edition.publisher}" if edition.publisher else ""
    )
    return Tags(
        title=edition.title,
        author=edition.author,
        album=edition.title,
        date=edition.date,
        language=iso639_2(edition.language),
        comment=comment,
    )


def write(
    edition: Edition, codec: Codec, segments: list[Path], dest: Path, cover: Path | None
) -> None:
    mux(
        segments,
        codec,
        chapters(edition),
        tags(edition),
        dest,
        cover=cover,
        samples=edition.duration_samples,
    )


class ChapteredAudio(Format):
    """An audio format muxed from the edition's encoded segments, with chapters and tags.

    Its ``version`` covers the mux flags and the tags: bump it when either changes, and
    every existing file is remuxed."""

    codec: ClassVar[Codec]

    def write(self, context: Context) -> None:
        write(context.edition, self.codec, context.segments, context.dest, context.cover)
