"""The interface every output format implements, built-in or a plug-in's.

A format is a ``Format`` subclass, registered under the entry-point group
``audio_edition.formats`` (see formats/__init__.py). Its class attributes say what it is:

- ``name``: as given to ``--format``; ``suffix``: appended to the edition's slug;
  ``label``: the web page's download link text; ``description``: one line, which players
  or readers it is for (``audio-edition formats`` prints it).
- ``version``: bump it whenever the format writes different bytes from the same edition
  (a template, a flag, a tag): every existing file of the format is then rewritten.
- ``codec``: for the chaptered audio formats, the codec the builder encodes the edition's
  segments with; ``write`` gets the segments. None for every other format.
- ``needs``: the formats whose files it reads (built before it, audio first);
  ``links_all``: it links every format built with it (the web page), so it comes after all
  of them and is rewritten whenever any of them changes.
- ``index_only``: it writes no file per edition, only a list of every edition (the
  podcast feed): asking for it builds what it ``needs``, and its ``write_index`` does the rest.
- ``order``: where it stands among formats that do not need each other (and in the list
  ``audio-edition formats`` prints); plug-ins default after every built-in format.

``write(context)`` writes the file at ``context.dest`` from ``context.edition`` and the
files it was given, and nothing else: never the article, never the engine.

``write_index(index)``, optional, is called once after every build and clean with an
``IndexContext`` (the output folder, the settings, a way to tell the user), for files that
list every edition there (the web page's ``index.html``, the podcast feed); read the
editions with ``audio_edition.edition.load_editions(index.out)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from ..config import Settings
    from ..edition import Edition, Manifest
    from ..encode import Codec

# The interface's version: a plug-in may check it (``FORMAT_API``) before relying on
# Context's fields. Adding a field keeps it; removing or changing one bumps it.
# 2: ``write_index`` takes an ``IndexContext`` (it took the output folder); ``index_only``.
FORMAT_API = 2


@dataclass(frozen=True)
class Context:
    """What a format is written from.

    ``outputs`` maps every format built before this one (its ``needs`` among them) to its
    file, staged or in place; ``segments`` are the encoded segments, in order, for an audio
    format (``codec`` set); ``cover`` is the cover image, if one was given.
    """

    edition: Edition
    dest: Path
    outputs: dict[str, Path] = field(default_factory=dict)
    segments: list[Path] = field(default_factory=list)
    cover: Path | None = None


def _quiet(message: str) -> None:
    """Tell nobody (a caller that passed no way to tell the user)."""


@dataclass(frozen=True)
class IndexContext:
    """What the files listing every edition are written from: the output folder ``out``,
    the build's (or clean's) ``settings`` (None: unknown, so keep what needs them as it
    is), ``notify``, which tells the user one line (on stderr from the CLI), and whether
    this run ``changed`` an edition (added, rewrote or removed one: a note about the list
    is worth giving then, not on every rebuild that changed nothing, nor beside errors)."""

    out: Path
    settings: Settings | None = None
    notify: Callable[[str], None] = _quiet
    changed: bool = True

    @cached_property
    def editions(self) -> list[Manifest]:
        """Every edition in ``out``, read once for all the index hooks (the web page's
        index and the feed would each read every manifest again, on every build)."""
        from ..edition import load_editions

        return load_editions(self.out)


class Format:
    """An output format. Subclass it, set the class attributes, implement ``write``."""

    name: ClassVar[str]
    suffix: ClassVar[str]
    label: ClassVar[str]
    description: ClassVar[str]
    version: ClassVar[int]
    needs: ClassVar[tuple[str, ...]] = ()
    codec: ClassVar[Codec | None] = None
    links_all: ClassVar[bool] = False
    index_only: ClassVar[bool] = False
    order: ClassVar[int] = 1000

    @property
    def is_audio(self) -> bool:
        """Audio the builder encodes from segments (the others are written from files)."""
        return self.codec is not None

    def write(self, context: Context) -> None:
        raise NotImplementedError

    def write_index(self, index: IndexContext) -> None:
        """Files listing every edition in ``index.out``; none by default."""

    def __repr__(self) -> str:
        return f"<format {self.name} v{self.version}>"
