"""audio-edition: offline, chaptered, accessible audio editions of articles.

>>> from audio_edition import build
>>> build()  # every article in text/ into audio/
"""

__version__ = "0.1.0"

from .build import EditionResult, Progress, build  # noqa: E402
from .config import Settings  # noqa: E402

__all__ = ["EditionResult", "Progress", "Settings", "__version__", "build", "say", "words_report"]


def __getattr__(name: str):
    # The editor's pronunciation tools (words.py), imported when first asked for: a build
    # does not pay for them.
    if name in ("say", "words_report"):
        from . import words

        return getattr(words, name)
    raise AttributeError(f"module 'audio_edition' has no attribute {name!r}")
