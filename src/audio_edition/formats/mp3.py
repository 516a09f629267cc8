"""MP3: constant bit rate, with ID3v2.3 CHAP and CTOC chapter frames (any player)."""

from __future__ import annotations

from pathlib import Path

from ..encode import MP3
from . import chaptered_audio

NAME = "mp3"
SUFFIX = ".mp3"
FOR = "any player; chapters in podcast apps and DAISY-capable players that read ID3 CHAP"
CODEC = MP3


def write(manifest: dict, segments: list[Path], dest: Path, cover: Path | None = None) -> None:
    chaptered_audio.write(manifest, CODEC, segments, dest, cover)
