"""M4B: AAC audiobook with QuickTime and Nero chapters (Apple Books, VLC, podcast apps)."""

from __future__ import annotations

from pathlib import Path

from ..encode import AAC
from . import chaptered_audio

NAME = "m4b"
SUFFIX = ".m4b"
FOR = "audiobook players: Apple Books, VLC, BookPlayer, Smart AudioBook Player (chapters)"
CODEC = AAC


def write(manifest: dict, segments: list[Path], dest: Path, cover: Path | None = None) -> None:
    chaptered_audio.write(manifest, CODEC, segments, dest, cover)
