"""WebVTT captions: one cue per sentence, heading and announcement (HTML5 video/audio, VLC).

A sentence's cue carries its words' times as WebVTT cue timestamps (``<00:00:01.250>``
before each word after the cue's first), which web players show karaoke-style (the
``:past`` and ``:future`` pseudo-classes). A timestamp is written only where the spec
allows it: after the cue's start, after the one before it, and before the cue's end.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..files import atomic_write_bytes
from .base import Context, Format
from .cues import captions, clock, vtt_escape

if TYPE_CHECKING:
    from ..edition import Edition, Word
    from .cues import Cue


def render(edition: Edition) -> str:
    blocks = ["WEBVTT"]
    words = {s.id: iter(s.words) for p in edition.paragraphs for s in p.sentences if s.words}
    for cue in captions(edition):
        # The cue's id is the manifest id, so a page can find the sentence it captions.
        said = words.get(cue.id.split(".")[0])
        text = (
            "\n".join(timed_lines(cue, said))
            if said
            else "\n".join(vtt_escape(line) for line in cue.lines)
        )
        blocks.append(f"{cue.id}\n{clock(cue.start_ms)} --> {clock(cue.end_ms)}\n{text}")
    return "\n\n".join(blocks) + "\n"


def timed_lines(cue: Cue, words: Iterator[Word]) -> list[str]:
    """The cue's lines with a timestamp before each word after the first. ``words`` is the
    sentence's words, shared by the parts of a split sentence: each part takes its own."""
    last, lines = cue.start_ms, []
    for line in cue.lines:
        out = []
        for token in re.split(r"(\s+)", line):
            if token and not token.isspace() and any(c.isalnum() for c in token):
                word = next(words, None)
                if word is not None and last < word.start_ms < cue.end_ms and (out or lines):
                    out.append(f"<{clock(word.start_ms)}>")
                    last = word.start_ms
            out.append(vtt_escape(token))
        lines.append("".join(out))
    return lines


class WebVTT(Format):
    name = "vtt"
    suffix = ".vtt"
    label = "Captions (WebVTT)"
    description = (
        "captions for web players (<track>), VLC, mpv and podcast apps: one cue per sentence"
    )
    version = 2  # 2: word timestamps inside cues
    order = 30

    def write(self, context: Context) -> None:
        atomic_write_bytes(context.dest, render(context.edition).encode("utf-8"))
