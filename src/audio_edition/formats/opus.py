"""Ogg Opus: small mono speech file with Vorbis-comment chapters (Android, browsers, VLC).

Made from the built M4B, not re-synthesised: AAC is the better of the two built encodings
(24 dB against the MP3's 20 dB, see encode.py), and its timeline is the manifest's. ffmpeg's
MP4 demuxer honours the M4B's edit list (media_time 0), so the decoded AAC starts at sample 0
of the manifest timeline. ffmpeg's Ogg muxer writes libopus's encoder delay as the Opus
pre-skip (312 samples at 48 kHz) and trims the end with the last page's granule position, so
a conforming decoder outputs exactly the manifest's duration with every sample in place
(tests/test_formats_opus.py checks onsets and length).

Chapters are written here as CHAPTERnnn / CHAPTERnnnNAME comments (the Xiph chapter
extension), not by ffmpeg: ffmpeg 5.1 rounds their seconds to the nearest whole second, and
its Vorbis-comment writer would misplace a chapter at 1.5 s by a second.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from ..encode import EncodeError
from ..tools import ffmpeg_missing
from .base import Context, Format
from .chaptered_audio import tags
from .cues import clock

if TYPE_CHECKING:
    from ..edition import Edition

BITRATE = "24k"  # speech is transparent-ish at 24 kb/s in Opus; half the MP3's 48 kb/s


class Opus(Format):
    name = "opus"
    suffix = ".opus"
    label = "Opus"
    description = (
        "Android, browsers, VLC, AntennaPod (chapters); not Apple Books: use the M4B there"
    )
    version = 1
    needs = ("m4b",)
    order = 70

    def write(self, context: Context) -> None:
        encode(context.outputs["m4b"], context.dest)
        tag(context.edition, context.dest)


def encode(source: Path, dest: Path) -> None:
    quiet = ["-hide_banner", "-nostats", "-loglevel", "error", "-y"]
    source_args = ["-f", "mov", "-i", str(source), "-map", "0:a:0"]
    no_tags = ["-map_metadata", "-1", "-map_chapters", "-1"]  # written by tag() instead
    codec = ["-c:a", "libopus", "-b:a", BITRATE, "-application", "voip", "-ar", "48000"]
    # bitexact: a fixed Ogg serial number and no version string, so the same input gives
    # the same bytes (and an unchanged edition leaves the file alone).
    exact = ["-fflags", "+bitexact", "-flags:a", "+bitexact"]
    cmd = ["ffmpeg", *quiet, *source_args, *no_tags, *codec, "-ac", "1", *exact, "-f", "ogg"]
    cmd.append(str(dest))
    try:
        result = subprocess.run(cmd, capture_output=True, check=False)
    except FileNotFoundError:
        raise ffmpeg_missing() from None
    if result.returncode != 0:
        lines = result.stderr.decode("utf-8", "replace").strip().splitlines() or ["no message"]
        raise EncodeError(f"ffmpeg could not write {dest.name}: {lines[-1]}")


def comments(edition: Edition) -> dict[str, list[str]]:
    """The Vorbis comments: the book's tags and its chapters, to the millisecond."""
    t = tags(edition)
    fields = {
        "TITLE": t.title,
        "ALBUM": t.album,
        "ARTIST": t.author,
        "GENRE": t.genre,
        "DATE": t.date,
        "LANGUAGE": edition.language,
        "COMMENT": t.comment,
        "ORGANIZATION": edition.publisher,
    }
    out = {k: [v] for k, v in fields.items() if v}
    for n, ch in enumerate(edition.chapters, start=1):  # numbered from 001, as Xiph's spec
        out[f"CHAPTER{n:03d}"] = [clock(ch.start_ms)]
        out[f"CHAPTER{n:03d}NAME"] = [ch.title]
    return out


def tag(edition: Edition, dest: Path) -> None:
    from mutagen.oggopus import OggOpus

    opus = OggOpus(dest)
    opus.tags.clear()
    for key, values in comments(edition).items():
        opus.tags[key] = values
    opus.save()
