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
from typing import TYPE_CHECKING

from ..files import atomic_write_bytes
from .base import Context, Format
from .cues import captions, clock

if TYPE_CHECKING:
    from ..edition import Edition

WORD_JOINER = "\u2060"
# After each match a word joiner: a tag's "<", an escape's "\", an entity's "&", and the
# dashes of an arrow ("-->", "- >", as lenient readers accept) before its ">".
_MARKUP = re.compile(r"[<\\]|&(?=#?\w+;)|-[ -]*(?=>)")
_BRACES = str.maketrans({"{": "\uff5b", "}": "\uff5d"})


def plain(line: str) -> str:
    """A line of cue text that every SubRip reader shows as written, never as markup."""
    return _MARKUP.sub(lambda m: m.group() + WORD_JOINER, line).translate(_BRACES)


def render(edition: Edition) -> str:
    blocks = [
        f"{n}\n{clock(c.start_ms, ',')} --> {clock(c.end_ms, ',')}\n"
        + "\n".join(plain(line) for line in c.lines)
        for n, c in enumerate(captions(edition), start=1)
    ]
    return "\n\n".join(blocks) + "\n"


class SubRip(Format):
    name = "srt"
    suffix = ".srt"
    label = "Captions (SRT)"
    description = "captions for video editors and players that take SubRip (VLC, YouTube uploads)"
    version = 2
    order = 40

    def write(self, context: Context) -> None:
        atomic_write_bytes(context.dest, render(context.edition).encode("utf-8"))
