"""Times as people and formats write them, from milliseconds: one place for every clock;
and counts as people write them (``counted``)."""

from __future__ import annotations


def clock(ms: int, separator: str = ".", hour_width: int = 2) -> str:
    """HH:MM:SS.mmm (WebVTT); with separator "," the SRT form; with hour_width 1,
    H:MM:SS.mmm, the clock value EPUB and DAISY take (three decimals: some old DAISY
    players fail on more)."""
    hours, rest = divmod(int(ms), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:0{hour_width}d}:{minutes:02d}:{seconds:02d}{separator}{millis:03d}"


def short_clock(ms: int, rounded: bool = False) -> str:
    """7:05, or 1:02:03 past an hour: a position (cut to the second), or with ``rounded``
    a length (to the nearest second)."""
    total = round(ms / 1000) if rounded else int(ms) // 1000
    minutes, seconds = divmod(total, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{seconds:02}" if hours else f"{minutes}:{seconds:02}"


def counted(n: int, noun: str) -> str:
    """``1 paragraph``, ``2 paragraphs``, ``0 paragraphs``: a count and its noun, agreeing."""
    return f"{n} {noun}{'' if n == 1 else 's'}"
