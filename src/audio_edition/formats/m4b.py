"""M4B: AAC audiobook with QuickTime and Nero chapters (Apple Books, VLC, podcast apps)."""

from __future__ import annotations

from ..encode import AAC
from .chaptered_audio import ChapteredAudio


class M4B(ChapteredAudio):
    name = "m4b"
    suffix = ".m4b"
    label = "M4B audiobook"
    description = (
        "audiobook players: Apple Books, VLC, BookPlayer, Smart AudioBook Player (chapters)"
    )
    version = 1
    codec = AAC
    order = 10
