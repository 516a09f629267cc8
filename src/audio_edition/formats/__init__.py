"""Output formats: one small module each, every one written from the edition manifest.

``FORMATS`` maps a format's name (as given to ``--format``) to its module. Every module
has ``NAME``, ``SUFFIX`` (appended to the edition's slug), ``FOR`` (one line: which
players or readers it is for) and a ``write`` function.

- Chaptered audio formats also have ``CODEC``: the builder encodes the edition's
  segments with it and calls ``write(manifest, segments, dest, cover=...)``.
- Every other format has ``NEEDS`` (the audio formats it reads, built first) and
  ``VERSION`` (bump it when its output changes), and is called as
  ``write(manifest, audio, dest)`` where ``audio`` maps every format built before it
  (its NEEDS among them) to its file. It reads the manifest and that audio only: never
  the article, never the engine. With ``LINKS_ALL = True`` (the web page, which links
  every download) it is rewritten whenever any earlier output changes.
- A module may also have ``write_index(out_dir)``, called once after every build, for
  files that list all editions (the web page's ``index.html``).
"""

from __future__ import annotations

import importlib
from types import ModuleType

# In the order `audio-edition formats` lists them.
_MODULES = (
    "m4b",
    "mp3",
    "vtt",
    "srt",
    "chapters_vtt",
    "chapters_json",
    "opus",
    "epub",
    "daisy",
    "html",  # last: the page links every other format, so they must be staged before it
)

FORMATS: dict[str, ModuleType] = {}
for _name in _MODULES:
    _module = importlib.import_module(f"{__name__}.{_name}")
    FORMATS[_module.NAME] = _module

# Everything but Opus: it is re-encoded whole from the M4B (about 60x real time, one
# core), so it would turn a seconds-long rebuild after an edit into minutes. Ask for it.
DEFAULT_FORMATS = tuple(n for n in FORMATS if n != "opus")


def is_audio(name: str) -> bool:
    return hasattr(FORMATS[name], "CODEC")


def with_needs(names: list[str]) -> list[str]:
    """The formats to build: the ones asked for, and the audio they read, audio first."""
    wanted = dict.fromkeys(
        n for name in names for n in (*getattr(FORMATS[name], "NEEDS", ()), name)
    )
    return [n for n in FORMATS if n in wanted and is_audio(n)] + [
        n for n in FORMATS if n in wanted and not is_audio(n)
    ]
