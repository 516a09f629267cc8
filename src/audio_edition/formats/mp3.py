"""MP3: constant bit rate, with ID3v2.3 CHAP and CTOC chapter frames (any player)."""

from __future__ import annotations

from .. import encode
from .chaptered_audio import ChapteredAudio


class MP3(ChapteredAudio):
    name = "mp3"
    suffix = ".mp3"
    label = "MP3"
    description = (
        "any player; chapters in podcast apps and DAISY-capable players that read ID3 CHAP"
    )
    version = 1
    codec = encode.MP3
    order = 20
