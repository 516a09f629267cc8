"""Read one article file (.txt or .md) and parse it into paragraphs and sentences.

This module knows about text only: nothing here imports speech or audio code.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from audio_edition.config import speech_from_mapping
from audio_edition.errors import SourceError
from audio_edition.files import read_article_bytes, slugify
from audio_edition.scripts import script_of

if TYPE_CHECKING:
    import pysbd

__all__ = [
    "MAX_SENTENCE_CHARS",
    "Article",
    "Paragraph",
    "collapse_ws",
    "parse_article",
    "read_article",
    "slugify",
    "split_long",
    "split_sentences",
]

# Longest piece handed to the speech engine in one go; longer sentences are split further.
MAX_SENTENCE_CHARS = 400

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})

_BOM = b"\xef\xbb\xbf"
# Control bytes that never occur in real text (tab, newlines, form feed, ESC are allowed).
_CONTROL_BYTES = bytes([*range(0x00, 0x09), *range(0x0E, 0x1B), *range(0x1C, 0x20), 0x7F])
_BINARY_CONTROL_RATIO = 0.10
# Unicode control characters (category Cc) except tab and newline.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

# pysbd is slow (worse than linear) on long input, so it reads long paragraphs in windows.
_PYSBD_CHUNK_CHARS = 1000
# Characters after which pysbd may end a sentence, in any of its languages (";" is the
# Greek question mark after NFC). A chunk without any of them needs no pysbd call.
_SENTENCE_END = re.compile(r"[.!?…‽。！？｡։؟۔।॥።။;]")
# Where an over-long sentence may be split, strongest boundary first.
_SPLIT_LEVELS = (
    re.compile(r"(?<=[;:—–]) "),
    re.compile(r"(?<=[,)]) "),
    re.compile(r" "),
)

# A .txt line this long was not hard-wrapped by an editor: it is a whole paragraph.
_UNWRAPPED_LINE_CHARS = 200

# Front matter holds a few short fields; anything this long is not front matter one meant.
MAX_FRONT_MATTER_CHARS = 64_000


@dataclass(frozen=True)
class Paragraph:
    """One spoken/navigable unit: a paragraph, list item, quote or code block."""

    heading: str | None
    heading_level: int | None
    text: str
    sentences: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class Article:
    """A parsed article: metadata from front matter plus its paragraphs."""

    path: Path
    slug: str
    title: str
    author: str | None
    publisher: str | None
    date: str | None
    language: str
    speech: dict[str, object]
    paragraphs: tuple[Paragraph, ...]
    summary: str | None = None  # front matter ``summary``: the podcast feed's description
    # Front matter ``pronunciations:``: (written, how it is said, its line in the file), read
    # into lexicon entries by ``lexicon.article_lexicon``.
    pronunciations: tuple[tuple[str, object, int], ...] = ()


# --------------------------------------------------------------------------- reading


def read_article(path: Path, project: Path | None = None) -> Article:
    """Read an article file (.txt, .md, .markdown) and parse it; raise SourceError.

    Given the ``project``, a symbolic link is followed only when it leads inside it."""
    path = Path(path)
    return article_from_bytes(read_article_bytes(path, project), path)


def article_from_bytes(data: bytes, path: Path, *, code: bool = True) -> Article:
    """Parse an article from the bytes of its file (read once by the caller)."""
    return parse_article(_decode(data, path), path, code=code)


def _decode(data: bytes, path: Path) -> str:
    bom = len(_BOM) if data.startswith(_BOM) else 0
    body = data[bom:]
    if _looks_binary(body):
        raise _error(path, "looks like a binary file, not text")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Report the offset in the file as it is on disk, BOM included.
        raise _error(path, f"not valid UTF-8 (byte {exc.start + bom})") from None


def _looks_binary(data: bytes) -> bool:
    if b"\x00" in data:
        return True
    if not data:
        return False
    controls = len(data) - len(data.translate(None, _CONTROL_BYTES))
    return controls / len(data) > _BINARY_CONTROL_RATIO


def _error(path: Path, detail: str) -> SourceError:
    # The CLI prints errors as one line, so squash any newline a library put in the detail.
    return SourceError(f"{path}: {collapse_ws(detail)}")


# --------------------------------------------------------------------------- parsing


def parse_article(text: str, path: Path, *, code: bool = True) -> Article:
    """Parse article text; `path` decides the format (.md/.markdown, else plain text).

    ``code=False`` leaves out Markdown's code (blocks and inline), which the edition reads
    but no pronouncing dictionary should be asked about (``audio-edition words``)."""
    path = Path(path)
    text = _normalise(text)
    if not _has_words(text):
        raise _error(path, "is empty")
    meta, body, offset = _split_front_matter(text, path)
    if path.suffix.lower() in MARKDOWN_SUFFIXES:
        blocks = list(_markdown_blocks(body, offset, code))
    else:
        blocks = list(_text_blocks(body, offset))
    blocks = list(_visible(blocks))
    if not any(_has_words(f"{b.heading or ''} {b.text}") for b in blocks):
        raise _error(path, "has nothing to read aloud (no text after front matter and markup)")
    language = (
        _meta_str(meta, "language")
        or _meta_str(meta, "lang")
        # From what is read aloud: link targets and other markup are not the language.
        or _default_language(" ".join(f"{b.heading or ''} {b.text}" for b in blocks), path)
    )
    paragraphs = tuple(_paragraph(block, language) for block in blocks)
    first_heading = next((p.heading for p in paragraphs if p.heading), None)
    return Article(
        path=path,
        slug=slugify(path.stem),
        title=_meta_str(meta, "title") or first_heading or _readable_name(path),
        author=_meta_str(meta, "author"),
        publisher=_meta_str(meta, "publisher"),
        date=_meta_str(meta, "date"),
        language=language,
        speech=_speech(meta, path),
        paragraphs=paragraphs,
        summary=_meta_str(meta, "summary"),
        pronunciations=_pronunciations(meta, text, path),
    )


def _has_words(text: str) -> bool:
    """Whether text has a letter or digit: zero-width spaces, joiners, marks and
    punctuation alone are not text to read aloud (they made a silent edition)."""
    return any(unicodedata.category(char)[0] in "LN" for char in text)


def _shows(text: str) -> bool:
    """Whether text has a visible character: not only spaces, zero-width or control ones."""
    return any(unicodedata.category(char)[0] not in "ZC" for char in text)


def _visible(blocks: list[_Block]) -> Iterator[_Block]:
    """The blocks without the invisible ones: a paragraph or heading of zero-width spaces
    gives the engine nothing to say (it failed as an implausible clip)."""
    for block in blocks:
        text = block.text if _shows(block.text) else ""
        heading = block.heading if block.heading and _shows(block.heading) else None
        if text or heading:
            level = block.heading_level if heading else None
            yield _Block(text, block.line, heading, level)


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text.removeprefix("\ufeff"))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _strip_controls(text)


def _strip_controls(text: str) -> str:
    # Stray control characters are neither visible nor speakable: whitespace-like ones
    # (form feed, vertical tab) become spaces, the rest are dropped. Newlines and tabs stay.
    return _CONTROL_CHARS.sub(lambda m: " " if m.group().isspace() else "", text)


@dataclass(frozen=True)
class _Block:
    """A paragraph before sentence splitting; heading-only blocks have text ""."""

    text: str
    line: int
    heading: str | None = None
    heading_level: int | None = None


def _paragraph(block: _Block, language: str) -> Paragraph:
    sentences = tuple(split_sentences(block.text, language))
    # Rebuilt from the sentences so " ".join(sentences) == text holds even when a
    # giant "word" (a long URL, say) had to be hard-cut.
    return Paragraph(
        heading=block.heading,
        heading_level=block.heading_level,
        text=" ".join(sentences),
        sentences=sentences,
        line=block.line,
    )


# --------------------------------------------------------------------------- front matter


def _split_front_matter(text: str, path: Path) -> tuple[dict[str, object], str, int]:
    """Return (front matter, body, number of lines before the body)."""
    lines = text.split("\n")
    if lines[0].rstrip() != "---":
        return {}, text, 0
    close = next((i for i in range(1, len(lines)) if lines[i].rstrip() in ("---", "...")), None)
    if close is None:
        # No closing line: not front matter, just text that starts with a rule.
        return {}, text, 0
    meta = _load_yaml("\n".join(lines[1:close]), path)
    return meta, "\n".join(lines[close + 1 :]), close + 1


class _FrontMatterLoader(yaml.SafeLoader):
    """PyYAML's safe loader without aliases: nine nested ``*name`` references turn a few
    hundred bytes into billions of list items (a "billion laughs" memory bomb), and front
    matter has no use for them."""

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in front matter", mark
            )
        return super().compose_node(parent, index)


def _load_yaml(source: str, path: Path) -> dict[str, object]:
    if len(source) > MAX_FRONT_MATTER_CHARS:
        raise _error(
            path,
            f"front matter is {len(source):,} characters long; "
            f"the limit is {MAX_FRONT_MATTER_CHARS:,}",
        )
    try:
        data = yaml.load(source, Loader=_FrontMatterLoader)  # a SafeLoader underneath
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        # +2: the YAML starts on line 2 of the file, after the opening "---".
        where = f" at line {mark.line + 2}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "cannot be parsed"
        raise _error(path, f"invalid YAML front matter{where}: {problem}") from None
    except Exception as exc:  # PyYAML's constructors raise plain errors ("date: 2024-13-45")
        raise _error(path, f"invalid YAML front matter: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise _error(path, "front matter is not a mapping of keys to values")
    return {str(key): value for key, value in data.items()}


def _meta_str(meta: Mapping[str, object], key: str) -> str | None:
    value = meta.get(key)
    if value is None:
        return None
    if isinstance(value, dt.date):  # also datetime: YAML turns 2024-05-01 into a date
        text = value.isoformat()
    elif isinstance(value, list | tuple):
        text = ", ".join(str(item) for item in value if item is not None)
    else:
        text = str(value)
    return collapse_ws(text) or None


def _speech(meta: Mapping[str, object], path: Path) -> dict[str, object]:
    value = meta.get("speech")
    if value is None:
        return {}
    return speech_from_mapping(value, str(path))  # checked as the project's settings are


def _pronunciations(
    meta: Mapping[str, object], text: str, path: Path
) -> tuple[tuple[str, object, int], ...]:
    value = meta.get("pronunciations")
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise _error(path, "front matter 'pronunciations' must be a mapping (Gwadar: Gwah-dur)")
    lines = text.split("\n")
    start = next((n for n, line in enumerate(lines) if line.startswith("pronunciations")), 0)
    return tuple((str(k), v, _key_line(lines, str(k), start)) for k, v in value.items())


def _key_line(lines: list[str], key: str, start: int) -> int:
    """The line (counted from 1) of ``key:`` in the front matter, from line ``start`` on."""
    pattern = re.compile(rf"\s*(?:{re.escape(key)}|[\"']{re.escape(key)}[\"'])\s*:")
    found = (n for n in range(start, len(lines)) if pattern.match(lines[n]))
    return next(found, start) + 1


# --------------------------------------------------------------------------- language

# An article's language when its front matter names none, by the script most of its
# letters are in. A script that one language all but owns gives that language; one that
# several languages share gives a few of them as examples, and the article must say which
# (a guess would read Urdu with the Arabic voice, or Ukrainian with the Russian one).
# Han characters with kana among them (at least 1 in 10) are Japanese ("KANA").
_SCRIPT_LANGUAGES: dict[str, str | tuple[str, ...]] = {
    "LATIN": "en",
    "KANA": "ja",
    "CJK": "zh",
    "HANGUL": "ko",
    "GREEK": "el",
    "HEBREW": "he",
    "THAI": "th",
    "GEORGIAN": "ka",
    "ARMENIAN": "hy",
    "TAMIL": "ta",
    "TELUGU": "te",
    "KANNADA": "kn",
    "MALAYALAM": "ml",
    "GUJARATI": "gu",
    "GURMUKHI": "pa",
    "ORIYA": "or",
    "SINHALA": "si",
    "ARABIC": ("ar", "ur", "fa"),
    "CYRILLIC": ("ru", "uk", "bg"),
    "DEVANAGARI": ("hi", "mr", "ne"),
    "BENGALI": ("bn", "as"),
}
_KANA = frozenset({"HIRAGANA", "KATAKANA", "KATAKANA-HIRAGANA"})
_KANA_SHARE = 0.1


def _default_language(text: str, path: Path) -> str:
    if text.isascii():
        return "en"  # fast path: the common case, and no letter of another script
    script = _main_script(text)
    if script is None:
        return "en"
    language = _SCRIPT_LANGUAGES.get(script)
    if isinstance(language, str):
        return language
    users = f" ({', '.join(language)} and others use it)" if language else ""
    example = f"e.g. `language: {language[0]}`" if language else "`language:` and a BCP 47 tag"
    raise _error(
        path,
        f"no `language:` in front matter, and most letters are {script.title()} script{users}: "
        f"add front matter naming the language ({example} between `---` lines at the top)",
    )


def _main_script(text: str) -> str | None:
    """The script most of the letters of text are in (Han and kana as one), or None."""
    counts: Counter[str] = Counter()
    for char, n in Counter(text).items():  # per distinct character: fast on long text
        script = script_of(char)
        if script is not None:
            counts["KANA" if script in _KANA else script] += n
    han_and_kana = counts["KANA"] + counts["CJK"]
    if han_and_kana:
        japanese = counts["KANA"] >= _KANA_SHARE * han_and_kana
        counts["KANA" if japanese else "CJK"] = han_and_kana
        del counts["CJK" if japanese else "KANA"]
    best = counts.most_common(1)
    return best[0][0] if best else None


# --------------------------------------------------------------------------- names


def _readable_name(path: Path) -> str:
    words = collapse_ws(re.sub(r"[-_]+", " ", path.stem))
    return words[:1].upper() + words[1:] if words else "Untitled"


# --------------------------------------------------------------------------- plain text


def _text_blocks(body: str, offset: int) -> Iterator[_Block]:
    lines = body.split("\n")
    groups = _line_groups(lines)
    if len(groups) == 1:
        # No blank line between any two non-empty lines: one paragraph per line.
        for index in groups[0]:
            yield _Block(collapse_ws(lines[index]), offset + index + 1)
        return
    for group in groups:
        yield from _group_blocks(lines, group, offset)


def _line_groups(lines: list[str]) -> list[list[int]]:
    """Indices of non-empty lines, grouped into runs separated by blank lines."""
    groups: list[list[int]] = []
    current: list[int] = []
    for index, line in enumerate(lines):
        if line.strip():
            current.append(index)
        elif current:
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def _group_blocks(lines: list[str], group: list[int], offset: int) -> Iterator[_Block]:
    if any(len(lines[i].strip()) > _UNWRAPPED_LINE_CHARS for i in group):
        # Lines this long were never soft-wrapped, so each line is its own paragraph
        # (e.g. a title line, a blank line, then one paragraph per line).
        for index in group:
            yield _Block(collapse_ws(lines[index]), offset + index + 1)
        return
    text = collapse_ws(" ".join(lines[i] for i in group))
    yield _Block(text, offset + group[0] + 1)


# --------------------------------------------------------------------------- markdown


@lru_cache(maxsize=1)
def _markdown_parser() -> MarkdownIt:
    return MarkdownIt("commonmark")


def _markdown_blocks(body: str, offset: int, code: bool = True) -> Iterator[_Block]:
    pending: _Block | None = None  # a heading waiting for the paragraph it introduces
    tokens = _markdown_parser().parse(body)
    for block in _markdown_raw_blocks(tokens if code else _without_code(tokens), offset):
        if block.heading is not None:
            if pending is not None:
                yield pending  # heading followed by heading: it stands alone
            pending = block
        elif pending is not None:
            yield _Block(block.text, pending.line, pending.heading, pending.heading_level)
            pending = None
        else:
            yield block
    if pending is not None:
        yield pending


def _markdown_raw_blocks(tokens: list[Token], offset: int) -> Iterator[_Block]:
    """Headings (text "") and non-empty text blocks, in document order."""
    for index, token in enumerate(tokens):
        line = offset + (token.map[0] if token.map else 0) + 1
        if token.type == "heading_open":
            heading = _inline_text(tokens[index + 1])
            if heading:  # an empty "#" is not worth a chapter
                yield _Block("", line, heading, int(token.tag[1:]))
        elif token.type == "paragraph_open":
            text = _inline_text(tokens[index + 1])
            if text:
                yield _Block(text, line)
        elif token.type in ("fence", "code_block"):
            text = collapse_ws(token.content)
            if text:
                yield _Block(text, line)
        elif token.type == "html_block":
            text = _html_text(token.content)
            if text:
                yield _Block(text, line)


def _without_code(tokens: list[Token]) -> list[Token]:
    """The tokens with code blocks left out and inline code made a space (the tokens are
    this parse's own, so they are changed in place)."""
    kept = [t for t in tokens if t.type not in ("fence", "code_block")]
    for token in kept:
        for n, child in enumerate(token.children or []):
            if child.type == "code_inline":
                token.children[n] = Token("text", "", 0, content=" ")
    return kept


def _inline_text(token: Token) -> str:
    return collapse_ws("".join(_inline_parts(token.children or [])))


def _inline_parts(children: list[Token]) -> Iterator[str]:
    hidden = 0  # inside inline <script> or <style>: code, not text to read
    for child in children:
        if child.type == "html_inline":
            hidden = _hidden_depth(child.content, hidden)
        elif hidden:
            continue
        elif child.type in ("text", "code_inline", "text_special"):
            yield child.content  # markdown-it has already decoded entities and escapes
        elif child.type in ("softbreak", "hardbreak"):
            yield " "
        elif child.type == "image":
            yield from _inline_parts(child.children or [])  # the alt text, if any
        # Everything else is markup (emphasis, links, HTML tags and comments): dropped.


_HIDDEN_TAG = re.compile(r"<(/?)(?:script|style)\b[^>]*?(/?)>", re.IGNORECASE)


def _hidden_depth(tag: str, depth: int) -> int:
    """The script/style nesting after an inline HTML tag (a self-closed one opens nothing)."""
    match = _HIDDEN_TAG.fullmatch(tag.strip())
    if match is None or match[2]:
        return depth
    return max(0, depth - 1) if match[1] else depth + 1


class _TextExtractor(HTMLParser):
    """Collects the text of an HTML fragment, skipping comments, scripts and styles."""

    _HIDDEN = frozenset({"script", "style"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden_depth += 1
        self.parts.append(" ")  # tags separate words: "<p>a</p><p>b</p>" is "a b"

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN and self._hidden_depth:
            self._hidden_depth -= 1
        self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth:
            self.parts.append(data)

    def close(self) -> None:
        # An unterminated comment hides the rest, as in a browser; HTMLParser would hand
        # it over as text.
        if self.rawdata.startswith("<!--"):
            self.rawdata = ""
        super().close()


def _html_text(html: str) -> str:
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    return collapse_ws("".join(extractor.parts))  # convert_charrefs decoded entities


# --------------------------------------------------------------------------- sentences


def collapse_ws(text: str) -> str:
    """Collapse every run of whitespace to one space and strip the ends."""
    return " ".join(text.split())


def split_sentences(text: str, language: str = "en") -> list[str]:
    """Split text into sentences of at most MAX_SENTENCE_CHARS characters.

    `" ".join(result) == collapse_ws(text)` always holds, except that a single word
    longer than MAX_SENTENCE_CHARS is hard-cut into pieces (so a space appears inside it).
    """
    text = collapse_ws(text)
    if not text:
        return []
    pieces: list[str] = []
    for sentence in _cut_at(text, _sentence_cuts(text, _pysbd_language(language))):
        pieces.extend(_fit(sentence))
    return pieces


def _cut_at(text: str, cuts: list[int]) -> list[str]:
    """Split text at the given space positions (the spaces themselves are dropped)."""
    pieces: list[str] = []
    start = 0
    for cut in cuts:
        pieces.append(text[start:cut])
        start = cut + 1
    pieces.append(text[start:])
    return pieces


def _sentence_cuts(text: str, language: str) -> list[int]:
    """Positions of the spaces between sentences in whitespace-collapsed text.

    pysbd is slow (worse than linear) on long input, so it reads a window of about
    _PYSBD_CHUNK_CHARS at a time. Each window's last sentence may be cut short by the
    window's end, so the next window starts again at that sentence.
    """
    cuts: list[int] = []
    start = 0
    while True:
        end = _window_end(text, start)
        found = [start + cut for cut in _pysbd_cuts(text[start:end], language)]
        cuts.extend(found)
        if end == len(text):
            return cuts
        if found:
            start = found[-1] + 1
        else:
            # One sentence longer than the window: force a cut; _fit splits it anyway.
            cuts.append(end)
            start = end + 1


def _window_end(text: str, start: int) -> int:
    """End of the window starting at start: a space position, or len(text)."""
    limit = start + _PYSBD_CHUNK_CHARS
    if len(text) <= limit:
        return len(text)
    space = text.rfind(" ", start + 1, limit)
    if space < 0:
        space = text.find(" ", limit)  # one giant word: the window ends after it
    return space if space >= 0 else len(text)


def _pysbd_cuts(chunk: str, language: str) -> list[int]:
    """Space positions in chunk where pysbd starts a new sentence."""
    if " " not in chunk or not _SENTENCE_END.search(chunk):
        return []  # no possible sentence end: skip the slow call
    try:
        with _PYSBD_LOCK:  # a Segmenter keeps per-call state, so it is not thread-safe
            spans = _segmenter(language).segment(chunk)
    except Exception:  # pysbd can crash on odd input; keeping one sentence is safe
        return []
    # Only pysbd's start offsets are used, never its strings: sentences are always cut
    # from the original text, so nothing can be lost, duplicated or reordered. Offsets
    # that are not next to a space (pysbd split inside a word) are ignored.
    cuts = set()
    for span in spans:
        if 0 < span.start < len(chunk) and chunk[span.start - 1] == " ":
            cuts.add(span.start - 1)
        elif 0 < span.start < len(chunk) and chunk[span.start] == " ":
            cuts.add(span.start)
    return sorted(cuts)


_PYSBD_LOCK = threading.Lock()


@cache
def _segmenter(language: str) -> pysbd.Segmenter:
    import pysbd  # slow to import: only when there is text to split

    # Built once per language: constructing a Segmenter is costly.
    return pysbd.Segmenter(language=language, clean=False, char_span=True)


def _pysbd_language(language: str) -> str:
    """Map "en-GB", "de_AT", "FR" to a language pysbd knows, falling back to English."""
    code = re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0]
    from pysbd.languages import LANGUAGE_CODES

    return code if code in LANGUAGE_CODES else "en"


def split_long(text: str) -> list[str]:
    """An utterance that is not a sentence (a heading, an announcement) in pieces the
    engine can speak: itself when short, else cut like an over-long sentence."""
    return [text] if len(text) <= MAX_SENTENCE_CHARS else _fit(collapse_ws(text))


def _fit(sentence: str, level: int = 0) -> list[str]:
    """Split a sentence into pieces of at most MAX_SENTENCE_CHARS characters."""
    if len(sentence) <= MAX_SENTENCE_CHARS:
        return [sentence]
    if level == len(_SPLIT_LEVELS):
        # A single "word" longer than the limit: nothing better than a hard cut.
        size = MAX_SENTENCE_CHARS
        return [sentence[i : i + size] for i in range(0, len(sentence), size)]
    pieces: list[str] = []
    for unit in _pack(_SPLIT_LEVELS[level].split(sentence)):
        pieces.extend(_fit(unit, level + 1))
    return pieces


def _pack(units: list[str]) -> list[str]:
    """Join consecutive units with spaces while the result stays within the limit."""
    packed: list[str] = []
    for unit in units:
        if packed and len(packed[-1]) + 1 + len(unit) <= MAX_SENTENCE_CHARS:
            packed[-1] = f"{packed[-1]} {unit}"
        else:
            packed.append(unit)
    return packed
