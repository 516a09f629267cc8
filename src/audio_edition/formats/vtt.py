"""WebVTT captions: one cue per sentence, heading and announcement (HTML5 video/audio, VLC)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..files import atomic_write_bytes
from .base import Context, Format
from .cues import captions, clock, vtt_escape

if TYPE_CHECKING:
    from ..edition import Edition


def render(edition: Edition) -> str:
    blocks = ["WEBVTT"]
    for cue in captions(edition):
        # The cue's id is the manifest id, so a page can find the sentence it captions.
        text = "\n".join(vtt_escape(line) for line in cue.lines)
        blocks.append(f"{cue.id}\n{clock(cue.start_ms)} --> {clock(cue.end_ms)}\n{text}")
    return "\n\n".join(blocks) + "\n"


class WebVTT(Format):
    name = "vtt"
    suffix = ".vtt"
    label = "Captions (WebVTT)"
    description = (
        "captions for web players (<track>), VLC, mpv and podcast apps: one cue per sentence"
    )
    version = 1
    order = 30

    def write(self, context: Context) -> None:
        atomic_write_bytes(context.dest, render(context.edition).encode("utf-8"))
