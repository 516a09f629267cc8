"""The fake engine's speech: a tone burst per word, silence between, exact word events.

Deterministic and fast (no eSpeak, no numpy): a clip depends only on the text and the
settings. Lengths are plausible for speech, so clips pass the pool's check: 14
characters a second at 175 words a minute, scaled by the rate; a word's burst lasts its
characters, the gap after it one character, or a pause after a comma (0.25 s at 175) or
a full stop (0.4 s), and the clip has 0.1 s of silence before and 0.2 s after, for the
cache to trim. The voice sets the tone's pitch, the ``pitch`` setting shifts it and ``volume``
scales it, so every setting changes the sound.

Used in process by ``engines.fake``, or inside a speech worker (``speech_worker``),
where text holding ``[crash]`` kills the worker and ``[hang]`` never answers: faults for
testing the pool.
"""

from __future__ import annotations

import array
import math
import os
import re
import time
import wave

SAMPLE_RATE = 22050
CHARS_PER_SECOND = 14.0  # at REFERENCE_RATE
REFERENCE_RATE = 175
LEAD_SECONDS, TAIL_SECONDS = 0.1, 0.2
PAUSES = {",": 0.25, ";": 0.25, ":": 0.25, ".": 0.4, "!": 0.4, "?": 0.4}
# id -> (name, languages, samples per period of its tone at pitch 50)
VOICES = {
    "fake/en-us": ("Fake American", ("en-us",), 100),  # 220.5 Hz
    "fake/en": ("Fake British", ("en-gb",), 80),
    "fake/fr": ("Fake French", ("fr-fr",), 120),
}


def voices() -> list[dict]:
    return [
        {"id": vid, "name": name, "languages": list(langs), "gender": None}
        for vid, (name, langs, _) in VOICES.items()
    ]


def speech(text: str, settings: dict) -> tuple[bytes, list[list[int]]]:
    """The clip's samples (16-bit little-endian) and its word events [offset, length, sample]."""
    speed = settings["rate"] / REFERENCE_RATE
    cps = CHARS_PER_SECOND * speed
    tone = _tone(settings)
    parts = [_silence(LEAD_SECONDS)]
    at = len(parts[0]) // 2
    words = []
    for match in re.finditer(r"\S+", text):
        word = match.group()
        words.append([match.start(), len(word), at])
        burst = _burst(tone, round(len(word) / cps * SAMPLE_RATE))
        gap = _silence(PAUSES.get(word[-1], 1 / CHARS_PER_SECOND) / speed)
        parts += [burst, gap]
        at += (len(burst) + len(gap)) // 2
    parts.append(_silence(TAIL_SECONDS))
    return b"".join(parts), words


def _tone(settings: dict) -> bytes:
    """One period of the voice's tone."""
    period = VOICES.get(settings["voice"], ("", (), 90))[2]
    period = max(8, round(period * 100 / (settings["pitch"] + 50)))
    amplitude = min(30000.0, 8000.0 * settings["volume"])
    samples = (round(amplitude * math.sin(2 * math.pi * k / period)) for k in range(period))
    return array.array("h", samples).tobytes()


def _burst(tone: bytes, samples: int) -> bytes:
    return (tone * (2 * samples // len(tone) + 1))[: 2 * samples]


def _silence(seconds: float) -> bytes:
    return bytes(2 * round(seconds * SAMPLE_RATE))


def write_clip(text: str, settings: dict, path: str) -> list[list[int]]:
    """Write the clip as a WAV at ``path``; its word events."""
    data, words = speech(text, settings)
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(data)
    return words


class FakeSpeaker:
    """The fake engine inside a speech worker, with its test faults."""

    def voices(self) -> list[dict]:
        return voices()

    def speak(self, job: dict) -> dict:
        if "[crash]" in job["text"]:
            os._exit(70)
        while "[hang]" in job["text"]:
            time.sleep(60)
        try:
            words = write_clip(job["text"], job["settings"], job["path"])
        except OSError as exc:
            return {"ok": False, "os_error": [exc.errno, exc.strerror or str(exc)]}
        return {"ok": True, "words": words}


def open_speaker() -> FakeSpeaker:
    return FakeSpeaker()
