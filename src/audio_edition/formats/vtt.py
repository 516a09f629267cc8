"""WebVTT captions: one cue per sentence, heading and announcement (HTML5 video/audio, VLC)."""

from __future__ import annotations

from pathlib import Path

from ..files import atomic_write_bytes
from .cues import captions, clock, vtt_escape

NAME = "vtt"
SUFFIX = ".vtt"
FOR = "captions for web players (<track>), VLC, mpv and podcast apps: one cue per sentence"
NEEDS: tuple[str, ...] = ()
VERSION = 1


def render(manifest: dict) -> str:
    blocks = ["WEBVTT"]
    for cue in captions(manifest):
        # The cue's id is the manifest id, so a page can find the sentence it captions.
        text = "\n".join(vtt_escape(line) for line in cue.lines)
        blocks.append(f"{cue.id}\n{clock(cue.start_ms)} --> {clock(cue.end_ms)}\n{text}")
    return "\n\n".join(blocks) + "\n"


def write(manifest: dict, audio: dict[str, Path], dest: Path) -> None:
    atomic_write_bytes(dest, render(manifest).encode("utf-8"))
