"""The utterance script: everything an edition says, in order.

From the parsed article and the settings: the opening announcement, each paragraph's
heading and sentences, the closing announcement. Each entry knows its paragraph (its
"owner") and where it stands in the article, for error messages. An over-long heading or
announcement is said in parts, as an over-long sentence is.

Each entry holds its text as written (what captions and pages show) and as said
(``spoken``: the pronunciation lexicon's respellings or phonemes and normalised numbers,
what the engine is given and a clip's cache key covers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .lexicon import Lexicon
from .spoken import SpokenText, spoken_text

if TYPE_CHECKING:
    from .config import Settings
    from .source import Article


@dataclass(frozen=True)
class Item:
    """One utterance of the edition, in order."""

    role: str  # "announcement" | "heading" | "sentence"
    text: str
    owner: str | int  # its paragraph's number, or "opening" / "closing"
    label: str  # where it is, for error messages
    spoken: SpokenText | None = None  # how it is said; None: as written

    @property
    def said(self) -> str:
        """The text the engine is given."""
        return self.spoken.text if self.spoken is not None else self.text


def utterance_script(
    article: Article,
    settings: Settings,
    voice: str = "",
    lexicon: Lexicon | None = None,
    markup: Callable[[str], str] | None = None,
) -> list[Item]:
    """Every utterance of the edition, in order; ``voice`` names the voice in the
    announcements' ``{voice}`` (", Joe, a natural voice made with Piper"), or is empty.
    Each is said with the ``lexicon`` (the engine's phoneme ``markup`` for an entry's IPA)
    and normalised."""
    items: list[Item] = []
    name = article.path.name
    if settings.opening:
        text = announcement(settings.opening, article, voice)
        items += _spoken("announcement", text, "opening", f"{name}: opening announcement")
    for number, para in enumerate(article.paragraphs, start=1):
        where = f"{name}: paragraph {number} (line {para.line})"
        if para.heading:
            items += _spoken("heading", para.heading, number, f"{where}, heading")
        items += [
            Item("sentence", t, number, f"{where}, sentence {i}")
            for i, t in enumerate(para.sentences, start=1)
        ]
    if settings.closing:
        text = announcement(settings.closing, article, voice)
        items += _spoken("announcement", text, "closing", f"{name}: closing announcement")
    lexicon = lexicon or Lexicon()
    return [_said(item, lexicon, markup, article.language) for item in items]


def _said(item: Item, lexicon: Lexicon, markup: Callable[[str], str] | None, language: str) -> Item:
    spoken = spoken_text(item.text, lexicon, markup, language)
    return replace(item, spoken=spoken) if spoken.changed else item


def announcement(template: str, article: Article, voice: str = "") -> str:
    """An announcement template filled in for the article (placeholders: see config)."""
    byline = f"By {article.author}. " if article.author else ""
    if article.publisher:
        byline += f"Published by {article.publisher}. "
    return template.format(
        title=article.title,
        byline=byline,
        author=article.author or "",
        publisher=article.publisher or "",
        date=article.date or "",
        voice=voice,
    )


def _spoken(role: str, text: str, owner: str | int, label: str) -> list[Item]:
    """A heading or an announcement as utterances: an over-long one (a 20,000-character
    title) in parts, as a sentence is, for the engine fails on text that long."""
    from .source import split_long

    parts = split_long(text)
    if len(parts) == 1:
        return [Item(role, text, owner, label)]
    return [Item(role, t, owner, f"{label}, part {i}") for i, t in enumerate(parts, start=1)]
