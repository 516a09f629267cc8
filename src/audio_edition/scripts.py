"""Which writing system a letter is in, from its Unicode name (no extra dependency).

Shared by the article reader (an article's default language) and the speech check (how
long a character may take to say). Text only: nothing here imports speech or audio code.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache


@lru_cache(maxsize=8192)
def script_of(char: str) -> str | None:
    """The script of a letter as the first word of its Unicode name, or None.

    "LATIN", "CYRILLIC", "ARABIC", "DEVANAGARI", "CJK" (Han), "HIRAGANA", "KATAKANA",
    "HANGUL", ... Full-width and styled forms count as what they stand for (NFKC: "Ａ"
    and "𝐀" are LATIN). None for anything that is not a letter (digits, punctuation,
    spaces, combining marks).
    """
    if not char.isalpha():
        return None
    folded = unicodedata.normalize("NFKC", char)[:1] or char
    name = unicodedata.name(folded, "") or unicodedata.name(char, "")
    return name.split(" ", 1)[0] or None
