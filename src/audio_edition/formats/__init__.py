"""Output formats: one small module each, each a ``Format`` (formats/base.py).

Formats are registered under the entry-point group ``audio_edition.formats``, the built-in
ones in this package's pyproject.toml like any plug-in's::

    [project.entry-points."audio_edition.formats"]
    mine = "my_package.my_format:MyFormat"

``FORMATS`` maps each format's name (as given to ``--format``) to its instance, in order:
audio formats first, then each format after the ones it needs, by ``order``, and a format
that links all the others (the web page) last.

Finding the installed plug-ins costs a scan of every installed package's metadata (about
50 ms with the import of importlib.metadata), so it happens only when a name is not a
built-in one or when every format is listed: the no-change rebuild, which asks only for
built-in formats, never pays it. The built-in table (``registry.BUILTIN``) names exactly what
pyproject.toml registers (tests/test_formats_registry.py keeps them equal), so a source
checkout with no installed entry points has them too.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator, Mapping

from ..registry import BUILTIN, DEFAULT_FORMATS, GROUP, plugin_targets
from .base import FORMAT_API, Context, Format, IndexContext

__all__ = [
    "Registry",
    "BUILTIN",
    "DEFAULT_FORMATS",
    "FORMATS",
    "FORMAT_API",
    "GROUP",
    "Context",
    "Format",
    "IndexContext",
    "ordered",
    "with_needs",
]


def _load(name: str, target: str) -> Format:
    module, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module), attr)
    fmt = cls() if isinstance(cls, type) else cls
    if not isinstance(fmt, Format) or fmt.name != name:
        raise TypeError(f"{target}: not the Format named {name!r}")
    return fmt


class Registry(Mapping[str, Format]):
    """The formats by name, each loaded on first use; plug-ins found on first need."""

    def __init__(self) -> None:
        self._loaded: dict[str, Format] = {}
        self._targets: dict[str, str] | None = None  # every registered one, once scanned

    def _all_targets(self) -> dict[str, str]:
        if self._targets is None:
            # Built-in names always mean the built-in formats, even from a source checkout
            # whose entry points are not installed.
            self._targets = {**BUILTIN, **plugin_targets()}
        return self._targets

    def __getitem__(self, name: str) -> Format:
        if name not in self._loaded:
            target = BUILTIN.get(name) or self._all_targets().get(name)
            if target is None:
                raise KeyError(name)
            self._loaded[name] = _load(name, target)
        return self._loaded[name]

    def __contains__(self, name: object) -> bool:
        return name in BUILTIN or name in self._all_targets()

    def __iter__(self) -> Iterator[str]:
        return iter(self.ordered(self._all_targets()))

    def __len__(self) -> int:
        return len(self._all_targets())

    def loaded(self) -> list[Format]:
        """Every built-in format, and every plug-in used in this process."""
        return [self[n] for n in self.ordered([*BUILTIN, *self._loaded])]

    def ordered(self, names: Iterable[str]) -> list[str]:
        """The named formats in build order: audio first, each after what it needs (when
        also named), by ``order`` among the rest, and those linking all the others last."""
        pending = sorted(
            dict.fromkeys(names),
            key=lambda n: (self[n].links_all, not self[n].is_audio, self[n].order, n),
        )
        done: list[str] = []
        while pending:
            ready = (
                n for n in pending if all(d in done or d not in pending for d in self[n].needs)
            )
            name = next(ready, pending[0])  # a cycle: keep the declared order rather than loop
            pending.remove(name)
            done.append(name)
        return done

    def with_needs(self, names: Iterable[str]) -> list[str]:
        """The formats to build: the ones asked for and the ones they read, in build order."""
        wanted: dict[str, None] = {}

        def add(name: str) -> None:
            if name in wanted:
                return
            for need in self[name].needs:
                add(need)
            wanted.setdefault(name)

        for name in names:
            add(name)
        return self.ordered(wanted)


FORMATS = Registry()

ordered = FORMATS.ordered
with_needs = FORMATS.with_needs


def needs_ffmpeg(names: Iterable[str]) -> bool:
    """Whether a format asked for, or one it needs, is audio: text formats need no ffmpeg."""
    return any(FORMATS[name].codec is not None for name in with_needs(names))


def codecs_for(names: Iterable[str]) -> list:
    """The segment codecs the named formats need (AAC for M4B, MP3 for MP3), in order."""
    return [c for n in with_needs(names) if (c := FORMATS[n].codec) is not None]
