"""The pronunciation lexicon: how the project says the words no dictionary holds.

An entry maps a written word or phrase ("Gwadar", "Pearl Continental") to a respelling
("Gwah-dur"), which every engine can say, and optionally to IPA phonemes for an engine that
takes them (``phoneme_markup``). Entries come from ``pronunciations.toml`` at the project
root (or the file ``lexicon =`` names in audio-edition.toml: TOML or W3C PLS 1.0), and an
article's front matter ``pronunciations:`` adds its own over the project's.

Matching is by whole word, case-insensitive unless an entry says otherwise, and covers the
possessive and the plural ("Gwadar's", "Gwadars"); a phrase wins over a word inside it.

A bad entry is refused with one line naming the file and line, before anything is built.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import tomllib
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import SourceError
from .files import read_input_file

if TYPE_CHECKING:
    from .config import Settings
    from .source import Article

DEFAULT_FILE = "pronunciations.toml"
# A lexicon holds short lines; anything this big is not one a project meant.
MAX_LEXICON_BYTES = 5_000_000
ACRONYM_READINGS = ("word", "letters")
ENTRY_KEYS = ("say", "ipa", "case")
PLS_NAMESPACE = "http://www.w3.org/2005/01/pronunciation-lexicon"


class LexiconError(SourceError):
    """A lexicon file or entry that cannot be used: ``pronunciations.toml:7: ...``."""


@dataclass(frozen=True)
class Entry:
    """One word or phrase and how it is said."""

    written: str  # "Gwadar" or a phrase "Pearl Continental"
    respelling: str  # "Gwah-dur" (never empty)
    ipa: str | None = None  # optional phonemes, IPA
    case_sensitive: bool = False
    where: str = ""  # "pronunciations.toml:3" (file and line, for errors and reports)


@dataclass(frozen=True)
class Match:
    """An entry found in a text: ``text[start:end]``, which may end in a possessive or
    plural ``suffix`` ("Gwadar's": the entry Gwadar, suffix "'s")."""

    start: int
    end: int
    entry: Entry
    suffix: str = ""


@dataclass(frozen=True)
class Lexicon:
    """A set of entries and the acronyms' readings ("NATO" -> "word", "CPEC" -> "letters")."""

    entries: tuple[Entry, ...] = ()
    acronyms: Mapping[str, str] = field(default_factory=dict)

    def matches(self, text: str) -> list[Match]:
        """The entries in ``text``: whole words, phrases first, sorted, none overlapping."""
        if not self.entries:
            return []
        found = []
        for m in self._pattern.finditer(text):
            entry = self._by_group[m.lastgroup]
            suffix = m.group(f"{m.lastgroup}s") or ""
            found.append(Match(m.start(), m.end(), entry, suffix))
        return found

    def knows(self, word: str) -> bool:
        """Whether ``word`` (as written, perhaps with a possessive or plural) is an entry
        or a listed acronym."""
        word = word.strip()
        if word in self.acronyms:
            return True
        found = self.matches(word)
        return len(found) == 1 and (found[0].start, found[0].end) == (0, len(word))

    def with_entries(self, other: Lexicon) -> Lexicon:
        """This lexicon with ``other``'s entries and acronyms over its own (an article's
        front matter over the project's)."""
        replaced = {_identity(e) for e in other.entries}
        kept = tuple(e for e in self.entries if _identity(e) not in replaced)
        return Lexicon(kept + other.entries, {**self.acronyms, **other.acronyms})

    def fingerprint(self) -> str:
        """A hash of everything that changes how the lexicon makes text said."""
        payload = [
            [[e.written, e.respelling, e.ipa, e.case_sensitive] for e in self.entries],
            sorted(self.acronyms.items()),
        ]
        return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()

    def checked(self, markup: Callable[[str], str] | None) -> Lexicon:
        """This lexicon, once every entry's IPA is known to be one the engine's ``markup``
        takes; else a LexiconError naming the entry's file and line."""
        if markup is not None:
            for entry in self.entries:
                if entry.ipa is not None:
                    try:
                        markup(entry.ipa)
                    except ValueError as exc:
                        raise LexiconError(
                            f"{entry.where}: IPA for {entry.written!r} cannot be spoken: {exc}"
                        ) from None
        return self

    @functools.cached_property
    def _by_group(self) -> dict[str, Entry]:
        return {f"e{n}": entry for n, entry in enumerate(self.entries)}

    @functools.cached_property
    def _pattern(self) -> re.Pattern[str]:
        # One alternation, phrases (more words) and longer spellings first: at any place in
        # the text the regex tries them in this order, and scans left to right, so a phrase
        # wins over a word inside it.
        def rank(item: tuple[str, Entry]) -> tuple[int, int]:
            words = item[1].written.split()
            return (-len(words), -len(item[1].written))

        parts = [_entry_pattern(group, e) for group, e in sorted(self._by_group.items(), key=rank)]
        return re.compile("|".join(parts))


def _identity(entry: Entry) -> str:
    written = " ".join(entry.written.split())
    return written if entry.case_sensitive else written.casefold()


# A possessive or a plural after a word entry: Gwadar's, Gwadars, Gwadars', Baloches.
_SUFFIX = r"(?:['’]s|s['’]|s|es|['’](?!\w))"


def _entry_pattern(group: str, entry: Entry) -> str:
    words = [re.escape(w) for w in entry.written.split()]
    body = r"\s+".join(words)
    flags = "-i" if entry.case_sensitive else "i"
    # Only a written form ending in a letter takes a suffix ("e.g." has none).
    suffix = f"(?P<{group}s>{_SUFFIX})?" if entry.written[-1].isalpha() else ""
    return rf"(?P<{group}>(?<!\w)(?{flags}:{body}){suffix}(?!\w))"


# ------------------------------------------------------------------------ reading entries


def load_lexicon(path: Path) -> Lexicon:
    """The lexicon in ``path``: TOML (``pronunciations.toml``) or W3C PLS 1.0 (``.pls``)."""
    path = Path(path)
    data = read_input_file(path, MAX_LEXICON_BYTES, "a pronunciation lexicon")
    try:
        text = data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LexiconError(f"{path}: not valid UTF-8 (byte {exc.start})") from None
    if path.suffix.lower() == ".pls":
        return _pls_lexicon(data, path)
    if path.suffix.lower() != ".toml":
        raise LexiconError(f"{path}: unsupported lexicon type {path.suffix!r}; use .toml or .pls")
    return _toml_lexicon(text, path)


def project_lexicon(project: Path, settings: Settings) -> Lexicon:
    """The project's lexicon: the file ``lexicon =`` names in audio-edition.toml, else
    ``pronunciations.toml`` at the project root if there is one, else none."""
    path = lexicon_path(project, settings)
    return Lexicon() if path is None else load_lexicon(path)


def lexicon_path(project: Path, settings: Settings) -> Path | None:
    """The project's lexicon file, if it has one (the watcher watches it too)."""
    named = getattr(settings, "lexicon", None)
    if named is not None:
        return Path(named)
    default = Path(project) / DEFAULT_FILE
    return default if default.exists() else None


def article_lexicon(article: Article) -> Lexicon:
    """The entries an article's front matter ``pronunciations:`` adds (``source`` keeps
    each with the line it is on)."""
    items = getattr(article, "pronunciations", ())
    if not items:
        return Lexicon()
    lines = {key: line for key, _, line in items}
    data = {key: value for key, value, _ in items}
    return lexicon_from_mapping(
        data, lambda key: f"{article.path}:{lines.get(key, 1)}", "front matter pronunciations"
    )


def lexicon_for(
    project: Lexicon, article: Article, engine: object
) -> tuple[Lexicon, Callable[[str], str] | None]:
    """The lexicon an article is said with (its front matter's entries over the project's),
    every IPA checked against the engine's ``phoneme_markup``; and that markup, if any."""
    markup = getattr(engine, "phoneme_markup", None)
    return project.with_entries(article_lexicon(article)).checked(markup), markup


def _toml_lexicon(text: str, path: Path) -> Lexicon:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"at line (\d+)", str(exc))
        problem = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise LexiconError(f"{path}:{line.group(1) if line else 1}: {problem}") from None
    lines = text.splitlines()
    return lexicon_from_mapping(data, lambda key: f"{path}:{_line_of(lines, key)}", "file")


def _line_of(lines: list[str], key: str) -> int:
    """The line a TOML key stands on (tomllib keeps no positions): its ``key =`` line or
    its ``[words.key]`` table, quoted or bare; the first line if neither is found."""
    quoted = rf"(?:{re.escape(key)}|\"{re.escape(key)}\"|'{re.escape(key)}')"
    pattern = re.compile(rf"^\s*(?:{quoted}\s*=|\[\s*(?:words\s*\.\s*)?{quoted}\s*\])")
    return next((n for n, line in enumerate(lines, start=1) if pattern.match(line)), 1)


def lexicon_from_mapping(
    data: Mapping[str, object], where: Callable[[str], str], what: str = "file"
) -> Lexicon:
    """Entries from a mapping (a TOML file's, or front matter's): ``word = "respelling"``,
    ``word = {say = ..., ipa = ..., case = true}``, the same under ``[words]``, and an
    ``[acronyms]`` table. ``where(key)`` names the file and line of a key."""
    entries: list[Entry] = []
    acronyms: dict[str, str] = {}
    for key, value in data.items():
        if key == "acronyms":
            acronyms.update(_acronyms(value, where))
        elif key == "words" and isinstance(value, Mapping):
            entries += [_entry(str(k), v, where(str(k))) for k, v in value.items()]
        else:
            entries.append(_entry(str(key), value, where(str(key))))
    return Lexicon(_unique(entries), acronyms)


def _entry(written: str, value: object, where: str) -> Entry:
    if not _has_words(written):
        raise LexiconError(f"{where}: {written!r} has no word in it to say")
    written = " ".join(written.split())
    if isinstance(value, str):
        value = {"say": value}
    if not isinstance(value, Mapping):
        raise LexiconError(
            f'{where}: {written!r} must be a respelling ("Gwah-dur") or a table of '
            f"{', '.join(ENTRY_KEYS)}"
        )
    unknown = [k for k in value if k not in ENTRY_KEYS]
    if unknown:
        raise LexiconError(
            f"{where}: {written!r}: unknown key {unknown[0]!r}: use {', '.join(ENTRY_KEYS)}"
        )
    ipa = value.get("ipa")
    if ipa is not None and (not isinstance(ipa, str) or not ipa.strip()):
        raise LexiconError(f"{where}: empty IPA for {written!r}")
    say = value.get("say", written if ipa is not None else None)
    if not isinstance(say, str) or not _has_words(say):
        raise LexiconError(f"{where}: empty respelling for {written!r}")
    case = value.get("case", False)
    if not isinstance(case, bool):
        raise LexiconError(f"{where}: {written!r}: case must be true or false")
    return Entry(written, " ".join(say.split()), ipa and ipa.strip(), case, where)


def _acronyms(value: object, where: Callable[[str], str]) -> Iterator[tuple[str, str]]:
    if not isinstance(value, Mapping):
        raise LexiconError(f'{where("acronyms")}: acronyms must be a table (NATO = "word")')
    for key, reading in value.items():
        if not _has_words(str(key)) or reading not in ACRONYM_READINGS:
            raise LexiconError(
                f'{where(str(key))}: acronym {key!r} must be read as "word" or "letters"'
            )
        yield str(key).strip(), reading


def _unique(entries: list[Entry]) -> tuple[Entry, ...]:
    seen: dict[str, Entry] = {}
    for entry in entries:
        earlier = seen.setdefault(_identity(entry), entry)
        if earlier is not entry:
            raise LexiconError(
                f"{entry.where}: {entry.written!r} is already given at {earlier.where}"
            )
    return tuple(entries)


def _has_words(text: str) -> bool:
    return any(unicodedata.category(char)[0] in "LN" for char in text)


# ------------------------------------------------------------------------ W3C PLS 1.0


def _pls_lexicon(data: bytes, path: Path) -> Lexicon:
    """Entries from a PLS 1.0 document: each ``<lexeme>``'s graphemes said as its first
    (or preferred) ``<phoneme>`` (IPA) and ``<alias>``. Parsed by expat with no DTD and no
    entities: a document that declares either is refused (the billion laughs)."""
    reader = _PlsReader(path)
    reader.read(data)
    return Lexicon(_unique(reader.entries))


class _PlsReader:
    def __init__(self, path: Path) -> None:
        from xml.parsers import expat

        self.path = path
        self.parser = expat.ParserCreate(namespace_separator=" ")
        self.parser.StartDoctypeDeclHandler = self._refuse("a DOCTYPE")
        self.parser.EntityDeclHandler = self._refuse("an entity declaration")
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end
        self.parser.CharacterDataHandler = self._text
        self.entries: list[Entry] = []
        self.alphabet = "ipa"
        self.lexeme: dict[str, list] | None = None
        self.line = 1
        self.chars: list[str] = []
        self.depth = 0
        self.prefer = False

    def read(self, data: bytes) -> None:
        from xml.parsers import expat

        try:
            self.parser.Parse(data, True)
        except expat.ExpatError as exc:
            problem = expat.errors.messages[exc.code]
            raise LexiconError(
                f"{self.path}:{exc.lineno}: not well-formed XML ({problem})"
            ) from None

    def _refuse(self, what: str) -> Callable[..., None]:
        def refuse(*args: object) -> None:
            raise LexiconError(
                f"{self.path}:{self.parser.CurrentLineNumber}: {what} is not allowed in a lexicon"
            )

        return refuse

    def _where(self) -> str:
        return f"{self.path}:{self.parser.CurrentLineNumber}"

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        uri, _, local = name.rpartition(" ")
        self.depth += 1
        if self.depth == 1:
            if (uri, local) != (PLS_NAMESPACE, "lexicon"):
                raise LexiconError(
                    f"{self._where()}: not a PLS 1.0 lexicon (<lexicon> in {PLS_NAMESPACE})"
                )
            self.alphabet = attrs.get("alphabet", "")
        elif local == "lexeme":
            self.lexeme = {"grapheme": [], "phoneme": [], "alias": []}
            self.line = self.parser.CurrentLineNumber
        elif local in ("grapheme", "phoneme", "alias") and self.lexeme is not None:
            self.chars = []
            alphabet = attrs.get("alphabet", self.alphabet) if local == "phoneme" else "ipa"
            if alphabet.lower() != "ipa":
                raise LexiconError(
                    f"{self._where()}: phoneme alphabet {alphabet!r} is not supported; use ipa"
                )
            self.prefer = attrs.get("prefer") == "true"

    def _text(self, data: str) -> None:
        self.chars.append(data)

    def _end(self, name: str) -> None:
        local = name.rpartition(" ")[2]
        self.depth -= 1
        if local in ("grapheme", "phoneme", "alias") and self.lexeme is not None:
            text = " ".join("".join(self.chars).split())
            chosen = self.lexeme[local]
            chosen.insert(0, text) if self.prefer and local != "grapheme" else chosen.append(text)
            self.chars = []
        elif local == "lexeme" and self.lexeme is not None:
            self._lexeme(self.lexeme, f"{self.path}:{self.line}")
            self.lexeme = None

    def _lexeme(self, parts: dict[str, list], where: str) -> None:
        if not parts["grapheme"]:
            raise LexiconError(f"{where}: <lexeme> has no <grapheme>")
        if not parts["phoneme"] and not parts["alias"]:
            raise LexiconError(f"{where}: <lexeme> has neither <phoneme> nor <alias>")
        for grapheme in parts["grapheme"]:
            value = {"ipa": parts["phoneme"][0]} if parts["phoneme"] else {}
            if parts["alias"]:
                value["say"] = parts["alias"][0]
            # PLS matches graphemes as written.
            self.entries.append(_entry(grapheme, {**value, "case": True}, where))
