"""eSpeak NG through pyttsx3: the default engine, spoken in the worker pool.

Its identity is pyttsx3's and eSpeak NG's versions, read without starting eSpeak; its
voices and its speech come from worker processes running ``espeak_speaker``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path

from ..errors import ToolMissingError
from ..files import looked_up_once
from ..speech import SpokenClip, Utterance, Voice, VoiceSettings
from ..speech_pool import phonemes_in_worker, speak_in_workers, voices_in_worker

SPEAKER = Path(__file__).with_name("espeak_speaker.py")


def check_espeak() -> None:
    # The espeak-ng package brings the library pyttsx3 loads; its command is the sign of it.
    if shutil.which("espeak-ng") is None:
        raise ToolMissingError(
            "eSpeak NG is not installed: run `make run` (it installs it) "
            "or `sudo apt-get install espeak-ng`"
        )


@lru_cache(maxsize=1)
def _pyttsx3_version() -> str:
    """The installed pyttsx3's version, read from its ``.dist-info`` folder's name.

    importlib.metadata would cost every build, even one with nothing to do, 70 ms and
    7 MB (it imports the email package); it is only the fallback for unusual installs.
    """
    import pyttsx3

    found = list(Path(pyttsx3.__file__).resolve().parent.parent.glob("pyttsx3-*.dist-info"))
    if len(found) == 1:
        return found[0].name.removeprefix("pyttsx3-").removesuffix(".dist-info")
    import importlib.metadata

    return importlib.metadata.version("pyttsx3")


@lru_cache(maxsize=1)
def _espeak_version() -> str:
    check_espeak()
    try:
        from pyttsx3.drivers import _espeak  # loads the library; does not initialise it

        return _espeak.Info(None).decode()
    except Exception as exc:  # a broken install: say so rather than guess a version
        raise ToolMissingError(
            f"eSpeak NG could not be loaded ({exc}): reinstall espeak-ng"
        ) from exc


class EspeakEngine:
    """pyttsx3 over eSpeak NG, run in a pool of persistent worker processes."""

    name = "espeak"

    def __init__(self, timeout_base: float = 20.0, timeout_per_char: float = 0.05) -> None:
        self.timeout_base = timeout_base
        self.timeout_per_char = timeout_per_char

    def identity(self) -> str:
        return f"pyttsx3-{_pyttsx3_version()}/espeak-ng-{_espeak_version()}"

    def settings_key(self, voice: VoiceSettings) -> dict:
        return asdict(voice)

    def voices(self) -> list[Voice]:
        return _list_voices()

    def phonemes(self, text: str, voice: VoiceSettings) -> str:
        """How eSpeak says ``text`` in IPA; each line of it phonemised on its own, one
        process for them all."""
        check_espeak()
        lines = phonemes_in_worker(
            SPEAKER, text.split("\n"), voice, "eSpeak NG", "reinstall espeak-ng"
        )
        return "\n".join(lines)

    def synthesize(
        self, utterances: Iterable[tuple[Utterance, Path]], jobs: int
    ) -> Iterator[SpokenClip]:
        check_espeak()
        yield from speak_in_workers(
            SPEAKER, utterances, jobs, self.timeout_base, self.timeout_per_char
        )


@looked_up_once
def _list_voices() -> list[Voice]:
    # Listing voices initialises eSpeak, so it runs in a throwaway worker process.
    check_espeak()
    return voices_in_worker(SPEAKER, "eSpeak NG", "reinstall espeak-ng")
