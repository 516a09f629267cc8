"""What the caption formats (WebVTT, SRT) share: one cue per spoken element, from the edition.

Every utterance of the edition (announcement, heading, sentence) is a cue with its times
and its text as written. A cue too long to read comfortably (over MAX_MS, or more than
MAX_LINES lines of LINE_CHARS) is halved at the clause boundary nearest its middle (else the
nearest space), again and again, the time shared out by characters: speech runs at a
near-constant rate, so the characters are the best guess the edition allows. A split cue's
parts keep the element's id with a suffix ("p2s1.1", "p2s1.2"), so a player can still find
the sentence.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..times import clock  # noqa: F401  (the captions' clock, for vtt, srt and the rest)

if TYPE_CHECKING:
    from ..edition import Edition, Utterance

MAX_MS = 7000  # the longest cue left whole
LINE_CHARS = 42  # the usual caption line limit (two lines at most)
MAX_LINES = 2

# Where a long cue may be split, strongest boundary first: after a clause's punctuation,
# before a dash, and failing both any space.
_SPLITS = (re.compile(r"(?<=[,;:)…])\s+|\s+(?=[—–])"), re.compile(r"\s+"))


@dataclass(frozen=True)
class Cue:
    """A caption: an utterance of the edition, or a part of a long one (its id suffixed)."""

    id: str
    start_ms: int
    end_ms: int
    text: str

    @classmethod
    def of(cls, utterance: Utterance) -> Cue:
        return cls(utterance.id, utterance.start_ms, utterance.end_ms, utterance.text)

    @property
    def lines(self) -> list[str]:
        return wrap(self.text)


def spoken(edition: Edition) -> list[Cue]:
    """Every spoken element (announcements, headings, sentences) as one cue, in time order."""
    return sorted(map(Cue.of, edition.utterances()), key=lambda c: c.start_ms)


def captions(edition: Edition) -> list[Cue]:
    """The cues to show: every spoken element, the long ones split."""
    cues = []
    for cue in spoken(edition):
        parts = split(cue)
        if len(parts) > 1:
            parts = [
                Cue(f"{cue.id}.{i}", p.start_ms, p.end_ms, p.text)
                for i, p in enumerate(parts, start=1)
            ]
        cues += parts
    return cues


def split(cue: Cue) -> list[Cue]:
    """The cue, halved at clause boundaries until every part is short enough."""
    if cue.end_ms - cue.start_ms <= MAX_MS and len(wrap(cue.text)) <= MAX_LINES:
        return [cue]
    halves = _halve(cue.text)
    if halves is None:
        return [cue]  # one long word: nothing to split at
    left, right = halves
    # Times by characters, rounded once, so the parts tile the cue exactly.
    mid = cue.start_ms + round((cue.end_ms - cue.start_ms) * len(left) / (len(left) + len(right)))
    if not cue.start_ms < mid < cue.end_ms:
        return [cue]
    return split(Cue(cue.id, cue.start_ms, mid, left)) + split(Cue(cue.id, mid, cue.end_ms, right))


def _halve(text: str) -> tuple[str, str] | None:
    middle = len(text) / 2
    for pattern in _SPLITS:
        gaps = [m for m in pattern.finditer(text) if m.start() > 0 and m.end() < len(text)]
        if gaps:
            gap = min(gaps, key=lambda m: abs((m.start() + m.end()) / 2 - middle))
            # A clause boundary far from the middle would leave a sliver: try spaces instead.
            if pattern is _SPLITS[-1] or abs(gap.start() - middle) <= len(text) / 4:
                return text[: gap.start()], text[gap.end() :]
    return None


def wrap(text: str) -> list[str]:
    """The cue's lines: one if it fits, else two of balanced length where possible."""
    if len(text) <= LINE_CHARS:
        return [text]
    spaces = [m.start() for m in re.finditer(" ", text)]
    if spaces:
        cut = min(spaces, key=lambda i: max(i, len(text) - i - 1))
        lines = [text[:cut], text[cut + 1 :]]
        if all(len(line) <= LINE_CHARS for line in lines):
            return lines
    return textwrap.wrap(text, LINE_CHARS, break_long_words=False, break_on_hyphens=False)


def vtt_escape(text: str) -> str:
    """Cue text for WebVTT, where &, < and > are markup (and "-->" would end the cue)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
