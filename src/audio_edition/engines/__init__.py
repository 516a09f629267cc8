"""The speech engines behind ``speech.SpeechEngine``.

Each engine has a module the builder uses (``espeak``, ``piper``, ``fake``) and, when it
speaks in worker processes, a speaker module run inside them (``espeak_speaker``,
``piper_speaker``, ``fake_speaker``): standard library and the engine only, loaded by its
file's path.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..errors import ToolMissingError
from ..speech import ENGINE_ENV

if TYPE_CHECKING:
    from ..speech import SpeechEngine

ENGINES = ("espeak", "piper")  # the engines a user can choose; the first is the default


def default_engine(name: str | None = None) -> SpeechEngine:
    """The engine called ``name`` (``ENGINES``), eSpeak NG unless told otherwise (the fake
    one when ``AUDIO_EDITION_ENGINE=fake``, for tests, whatever the name)."""
    if os.environ.get(ENGINE_ENV) == "fake":
        from .fake import FakeEngine

        return FakeEngine()
    if name == "piper":
        from .piper import PiperEngine, check_piper

        check_piper()  # one line saying what to install, before anything is built
        return PiperEngine()
    from .espeak import EspeakEngine

    return EspeakEngine()


def installed_engines() -> list[SpeechEngine]:
    """Every engine a user can choose that is installed here."""
    if os.environ.get(ENGINE_ENV) == "fake":
        return [default_engine()]
    found = []
    for name in ENGINES:
        try:
            found.append(default_engine(name))
        except ToolMissingError:
            continue
    return found
