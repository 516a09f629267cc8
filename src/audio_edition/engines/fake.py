"""A fake engine for tests: tones in place of speech, word events exact, no eSpeak.

``FakeEngine()`` speaks in the builder's own process, fast enough for the unit tier;
``FakeEngine(in_workers=True)`` speaks through the worker pool (``speech_pool``), as
eSpeak does, so the pool's fault handling can be tested without eSpeak (see
``fake_speaker`` for the faults). Either way its clips are checked as every engine's
are and go through the same cache (trim, limiter, loudness) as real ones.

Library callers choose it with ``Builder(..., engine=FakeEngine())`` or
``build(..., engine=FakeEngine())``; tests running the CLI set
``AUDIO_EDITION_ENGINE=fake``. It is not offered to users.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from pathlib import Path

from ..errors import SynthesisError
from ..speech import SpokenClip, Utterance, Voice, VoiceSettings, WordEvent
from ..speech_pool import speak_in_workers, verify_clip
from . import fake_speaker

SPEAKER = Path(__file__).with_name("fake_speaker.py")


class FakeEngine:
    """Deterministic tones of plausible length, one burst per word.

    ``version`` is part of its identity (a new version re-synthesises every clip);
    ``spoken`` lists the text of every utterance it spoke, in the order they finished.
    """

    name = "fake"

    def __init__(self, version: str = "1", in_workers: bool = False, timeout: float = 20.0):
        self.version = version
        self.in_workers = in_workers
        self.timeout = timeout
        self.spoken: list[str] = []

    def identity(self) -> str:
        return f"fake-{self.version}"

    def settings_key(self, voice: VoiceSettings) -> dict:
        return asdict(voice)

    def voices(self) -> list[Voice]:
        return [
            Voice(v["id"], v["name"], tuple(v["languages"]), v["gender"])
            for v in fake_speaker.voices()
        ]

    def phonemes(self, text: str, voice: VoiceSettings) -> str:
        """Fake phonemes: each line's words, lower case, stressed ("ˈgwadar")."""
        return "\n".join(
            " ".join(f"ˈ{w}" for w in re.findall(r"[^\W_]+", line.lower()))
            for line in text.split("\n")
        )

    def phoneme_markup(self, ipa: str) -> str:
        """IPA in ``[[...]]``, as eSpeak and Piper take it; ValueError for a character no
        IPA transcription holds (a digit, a symbol, punctuation but the syllable dot)."""
        import unicodedata

        for char in ipa:
            if char not in " ." and unicodedata.category(char)[0] not in "LM":
                raise ValueError(f"unknown IPA symbol {char!r} (U+{ord(char):04X}) in /{ipa}/")
        return f"[[{ipa}]]"

    def synthesize(
        self, utterances: Iterable[tuple[Utterance, Path]], jobs: int
    ) -> Iterator[SpokenClip]:
        clips = (
            speak_in_workers(SPEAKER, utterances, jobs, self.timeout, 0.0)
            if self.in_workers
            else map(_speak, utterances)
        )
        for clip in clips:
            self.spoken.append(clip.utterance.text)
            yield clip


def _speak(job: tuple[Utterance, Path]) -> SpokenClip:
    utterance, path = job
    words = fake_speaker.write_clip(utterance.text, asdict(utterance.settings), str(path))
    problem = verify_clip(path, utterance.text, utterance.settings.rate)
    if problem:
        raise SynthesisError(f"{utterance.label}: speech failed ({problem})")
    return SpokenClip(utterance, path, tuple(WordEvent(*w) for w in words))
