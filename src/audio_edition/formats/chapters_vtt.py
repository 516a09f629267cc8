"""WebVTT chapters (kind="chapters"): the edition's chapters for web players and feeds."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..files import atomic_write_bytes
from .base import Context, Format
from .cues import clock, vtt_escape

if TYPE_CHECKING:
    from ..edition import Edition


def render(edition: Edition) -> str:
    blocks = ["WEBVTT"]
    for ch in edition.chapters:
        span = f"{clock(ch.start_ms)} --> {clock(ch.end_ms)}"
        blocks.append(f"chapter-{ch.index + 1}\n{span}\n{vtt_escape(ch.title)}")
    return "\n\n".join(blocks) + "\n"


class ChaptersVTT(Format):
    name = "chapters-vtt"
    suffix = ".chapters.vtt"
    label = "Chapters (WebVTT)"
    description = 'chapter menus of web players (<track kind="chapters">) and Podcasting 2.0 feeds'
    version = 1
    order = 50

    def write(self, context: Context) -> None:
        atomic_write_bytes(context.dest, render(context.edition).encode("utf-8"))
