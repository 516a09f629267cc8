"""What the chaptered audio formats share: chapters and tags read from the manifest."""

from __future__ import annotations

from pathlib import Path

from ..encode import Chapter, Codec, Tags, mux

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


def chapters(manifest: dict) -> list[Chapter]:
    return [Chapter(c["start_ms"], c["end_ms"], c["title"]) for c in manifest["chapters"]]


def tags(manifest: dict) -> Tags:
    voice = manifest["voice"]
    comment = f"Audio edition read by a synthetic voice ({voice['name']}, {voice['engine']})" + (
        f"; published by {manifest['publisher']}" if manifest.get("publisher") else ""
    )
    return Tags(
        title=manifest["title"],
        author=manifest.get("author"),
        album=manifest["title"],
        date=manifest.get("date"),
        language=iso639_2(manifest.get("language")),
        comment=comment,
    )


def write(
    manifest: dict, codec: Codec, segments: list[Path], dest: Path, cover: Path | None
) -> None:
    mux(
        segments,
        codec,
        chapters(manifest),
        tags(manifest),
        dest,
        cover=cover,
        samples=manifest["duration_samples"],
    )
