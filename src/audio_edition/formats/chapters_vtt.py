"""WebVTT chapters (kind="chapters"): the edition's chapters for web players and feeds."""

from __future__ import annotations

from pathlib import Path

from ..files import atomic_write_bytes
from .cues import clock, vtt_escape

NAME = "chapters-vtt"
SUFFIX = ".chapters.vtt"
FOR = 'chapter menus of web players (<track kind="chapters">) and Podcasting 2.0 feeds'
NEEDS: tuple[str, ...] = ()
VERSION = 1


def render(manifest: dict) -> str:
    blocks = ["WEBVTT"]
    for ch in manifest["chapters"]:
        span = f"{clock(ch['start_ms'])} --> {clock(ch['end_ms'])}"
        blocks.append(f"chapter-{ch['index'] + 1}\n{span}\n{vtt_escape(ch['title'])}")
    return "\n\n".join(blocks) + "\n"


def write(manifest: dict, audio: dict[str, Path], dest: Path) -> None:
    atomic_write_bytes(dest, render(manifest).encode("utf-8"))
