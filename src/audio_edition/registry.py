"""The output formats' names, without loading any format: the built-in ones, and the
plug-ins registered under the entry-point group ``audio_edition.formats``.

Settings are checked against these names when they are read (``config``), long before any
format is loaded; ``formats.FORMATS`` loads them when a build needs them.
"""

from __future__ import annotations

from functools import lru_cache

GROUP = "audio_edition.formats"
BUILTIN = {
    "m4b": "audio_edition.formats.m4b:M4B",
    "mp3": "audio_edition.formats.mp3:MP3",
    "vtt": "audio_edition.formats.vtt:WebVTT",
    "srt": "audio_edition.formats.srt:SubRip",
    "chapters-vtt": "audio_edition.formats.chapters_vtt:ChaptersVTT",
    "chapters-json": "audio_edition.formats.chapters_json:ChaptersJSON",
    "opus": "audio_edition.formats.opus:Opus",
    "epub": "audio_edition.formats.epub:EPUB",
    "daisy": "audio_edition.formats.daisy:DAISY",
    "html": "audio_edition.formats.html:WebPage",
    "feed": "audio_edition.formats.feed:PodcastFeed",
}
# Everything but Opus: it is re-encoded whole from the M4B (about 60x real time, one
# core), so it would turn a seconds-long rebuild after an edit into minutes. Ask for it.
DEFAULT_FORMATS = tuple(n for n in BUILTIN if n != "opus")


def plugin_targets() -> dict[str, str]:
    """Every plug-in format registered by entry point (name -> "module:Class"). Built-in
    names always mean the built-in formats: a plug-in cannot shadow one. The scan costs
    about 50 ms (importlib.metadata), so it is made only when a name is not built-in."""
    from importlib.metadata import entry_points

    return {ep.name: ep.value for ep in entry_points(group=GROUP) if ep.name not in BUILTIN}


@lru_cache(maxsize=1)
def _plugins() -> dict[str, str]:
    return plugin_targets()


def is_format_name(name: str) -> bool:
    return name in BUILTIN or name in _plugins()


def format_names() -> list[str]:
    return [*BUILTIN, *sorted(_plugins())]
