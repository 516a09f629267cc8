"""SubRip captions: one cue per sentence, heading and announcement (video editors, players)."""

from __future__ import annotations

from pathlib import Path

from ..files import atomic_write_bytes
from .cues import captions, clock

NAME = "srt"
SUFFIX = ".srt"
FOR = "captions for video editors and players that take SubRip (VLC, YouTube uploads)"
NEEDS: tuple[str, ...] = ()
VERSION = 1


def render(manifest: dict) -> str:
    # SubRip has no escaping: the text goes as written (players may read <i> and <b>).
    blocks = [
        f"{n}\n{clock(c.start_ms, ',')} --> {clock(c.end_ms, ',')}\n" + "\n".join(c.lines)
        for n, c in enumerate(captions(manifest), start=1)
    ]
    return "\n\n".join(blocks) + "\n"


def write(manifest: dict, audio: dict[str, Path], dest: Path) -> None:
    atomic_write_bytes(dest, render(manifest).encode("utf-8"))
