"""Spoken text: a sentence as written, and as the engine is given it.

The lexicon's entries are said first (a respelling, or the engine's phoneme markup for an
entry's IPA), then text normalisation on the rest (numbers, money, dates, abbreviations).
The display text is what captions and pages show; the spoken text is what the engine
says and what a clip's cache key covers. ``display_offset`` maps a character offset in
the spoken text (an engine's word event) back to the written word it belongs to.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .lexicon import Entry, Lexicon, LexiconError, Match
from .normalise import Rewrite, normalise

# IPA of an English possessive or plural ending, by the sound it follows.
_SIBILANTS = ("s", "z", "ʃ", "ʒ", "tʃ", "dʒ")
_VOICELESS = ("p", "t", "k", "f", "θ")


@dataclass(frozen=True)
class Span:
    """``display[start:end]`` is said as ``text[said_start:said_end]``."""

    start: int
    end: int
    said_start: int
    said_end: int


@dataclass(frozen=True)
class SpokenText:
    """A sentence as written (``display``) and as said (``text``)."""

    display: str  # as written (shown in captions and pages)
    text: str  # what the engine is given (respellings, phoneme markup, words)
    entries: tuple[Entry, ...] = ()  # the lexicon entries applied
    spans: tuple[Span, ...] = ()  # the parts said otherwise than written, in order

    def display_offset(self, offset: int) -> int:
        """The offset in ``display`` of the character at ``offset`` in ``text``: inside a
        part said otherwise, the start of the written form it stands for."""
        starts = [s.said_start for s in self.spans]
        n = bisect.bisect_right(starts, offset) - 1
        if n < 0:
            return max(0, min(offset, len(self.display)))
        span = self.spans[n]
        if offset < span.said_end:
            return span.start
        return min(span.end + offset - span.said_end, len(self.display))

    @property
    def changed(self) -> bool:
        return self.text != self.display


def spoken_text(
    display: str,
    lexicon: Lexicon,
    markup: Callable[[str], str] | None = None,
    language: str = "en",
) -> SpokenText:
    """``display`` as the engine should say it: lexicon matches first (an entry with IPA in
    the engine's ``markup`` when it has one, else its respelling), then normalisation of
    whatever no entry covers."""
    matches = lexicon.matches(display)
    parts = [(m.start, m.end, _said(m, markup)) for m in matches]
    if markup is not None:
        # The engine reads [[...]] as phonemes: brackets the article wrote are not.
        parts += [(m.start(), m.end(), "((") for m in re.finditer(r"\[\[", display)]
    parts = _without_overlaps(parts)
    taken = [(start, end) for start, end, _ in parts]
    parts += [
        (r.start, r.end, r.said)
        for r in _rewrites(display, lexicon.acronyms, language)
        if not any(r.start < end and start < r.end for start, end in taken)
    ]
    entries = tuple(dict.fromkeys(m.entry for m in matches))
    return _assemble(display, sorted(parts), entries)


def _without_overlaps(parts: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    kept: list[tuple[int, int, str]] = []
    for part in sorted(parts):
        if not kept or part[0] >= kept[-1][1]:
            kept.append(part)
    return kept


def _said(match: Match, markup: Callable[[str], str] | None) -> str:
    entry = match.entry
    if entry.ipa is not None and markup is not None:
        try:
            return markup(entry.ipa + _suffix_ipa(entry.ipa, match.suffix))
        except ValueError as exc:
            raise LexiconError(
                f"{entry.where}: IPA for {entry.written!r} cannot be spoken: {exc}"
            ) from None
    return entry.respelling + match.suffix


def _suffix_ipa(ipa: str, suffix: str) -> str:
    """The IPA of a possessive or plural ending after ``ipa``: Gwadar's /z/, Baloch's /ɪz/."""
    if not suffix.strip("'’"):
        return ""
    last = ipa.rstrip("ːˈˌ. ")
    if last.endswith(_SIBILANTS):
        return "ɪz"
    return "s" if last.endswith(_VOICELESS) else "z"


def _rewrites(display: str, acronyms: Mapping[str, str], language: str) -> list[Rewrite]:
    """Text normalisation's rewrites of ``display`` (normalise.py)."""
    return normalise(display, acronyms or None, language)


def _assemble(display: str, parts: list[tuple[int, int, str]], entries: tuple) -> SpokenText:
    pieces: list[str] = []
    spans: list[Span] = []
    at = said_at = 0
    for start, end, said in parts:
        pieces.append(display[at:start])
        said_at += start - at
        pieces.append(said)
        spans.append(Span(start, end, said_at, said_at + len(said)))
        said_at += len(said)
        at = end
    pieces.append(display[at:])
    return SpokenText(display, "".join(pieces), entries, tuple(spans))
