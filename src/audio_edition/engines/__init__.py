"""The speech engines behind ``speech.SpeechEngine``.

Each engine has a module the builder uses (``espeak``, ``fake``) and, when it speaks in
worker processes, a speaker module run inside them (``espeak_speaker``,
``fake_speaker``): standard library and the engine only, loaded by its file's path.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..speech import ENGINE_ENV

if TYPE_CHECKING:
    from ..speech import SpeechEngine


def default_engine() -> SpeechEngine:
    """The engine a build uses unless told otherwise: eSpeak NG (the fake one when
    ``AUDIO_EDITION_ENGINE=fake``, for tests)."""
    if os.environ.get(ENGINE_ENV) == "fake":
        from .fake import FakeEngine

        return FakeEngine()
    from .espeak import EspeakEngine

    return EspeakEngine()
