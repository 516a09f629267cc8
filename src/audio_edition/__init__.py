"""audio-edition: offline, chaptered, accessible audio editions of articles.

>>> from audio_edition import build
>>> build()  # every article in text/ into audio/
"""

__version__ = "0.1.0"

from .build import EditionResult, Progress, build  # noqa: E402
from .config import Settings  # noqa: E402

__all__ = ["EditionResult", "Progress", "Settings", "__version__", "build"]
