"""SubRip captions: one cue per sentence, heading and announcement (video editors, players).

SubRip has no escaping, yet its readers take markup from the cue text: VLC and ffmpeg
(mpv, ffplay, burnt-in subtitles) render ``<b>``, ``<i>``, ``<u>``, ``<font color>`` and
drop any other ``<word>``; ffmpeg and VLC apply ``{\\an8}``-style overrides, libass hides any
``{...}`` and reads ``\\N`` as a line break; a text line holding an arrow is taken for a
timing line (ffmpeg drops the cue). Entities (``&lt;``) are no way out: VLC decodes a few,
ffmpeg shows them as typed. So what a reader would interpret is made plain with the least
visible change: a word joiner (U+2060, invisible, no line break) after each ``<``, ``\\``
and ``&`` of an entity, and between an arrow's dashes and its ``>``, breaks every reader's
pattern while the text reads the same; braces, which libass takes however they are broken
up, become their full-width forms.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..files import atomic_write_bytes
from .cues import captions, clock

NAME = "srt"
SUFFIX = ".srt"
FOR = "captions for video editors and players that take SubRip (VLC, YouTube uploads)"
NEEDS: tuple[str, ...] = ()
VERSION = 2

WORD_JOINER = "\u2060"
# After each match a word joiner: a tag's "<", an escape's "\", an entity's "&", and the
# dashes of an arrow ("-->", "- >", as lenient readers accept) before its ">".
_MARKUP = re.compile(r"[<\\]|&(?=#?\w+;)|-[ -]*(?=>)")
_BRACES = str.maketrans({"{": "\uff5b", "}": "\uff5d"})


def plain(line: str) -> str:
    """A line of cue text that every SubRip reader shows as written, never as markup."""
    return _MARKUP.sub(lambda m: m.group() + WORD_JOINER, line).translate(_BRACES)


def render(manifest: dict) -> str:
    blocks = [
        f"{n}\n{clock(c.start_ms, ',')} --> {clock(c.end_ms, ',')}\n"
        + "\n".join(plain(line) for line in c.lines)
        for n, c in enumerate(captions(manifest), start=1)
    ]
    return "\n\n".join(blocks) + "\n"


def write(manifest: dict, audio: dict[str, Path], dest: Path) -> None:
    atomic_write_bytes(dest, render(manifest).encode("utf-8"))
