"""The edition model: what an edition says and when, the one thing every format reads.

An ``Edition`` is the article as it was spoken: its metadata, the voice, the chapters and
every paragraph with its heading and sentences, each at its time in the built audio
(exact sample positions rounded to milliseconds once, ``*_ms``). Formats read it and the
built audio alone: never the article, never the engine.

The manifest file (``audio/<slug>.json``, see manifest.py and docs/manifest.schema.json)
is its serialisation, beside the ``BuildRecord``: how the edition was built and which
files hold it. ``Manifest`` is the two together, as the file holds them.

Kept free of heavy imports: the no-change rebuild reads a manifest.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

from .pcm import SAMPLE_RATE

MANIFEST_VERSION = 2

# ---------------------------------------------------------------- what is spoken


class Word(NamedTuple):
    """One word of a sentence as spoken (filled by engines that report word timing).

    A named tuple, not a dataclass: a long book has tens of thousands, and every build
    reads its manifest (the no-change path too), where a frozen dataclass's construction
    cost 0.2 s on a 21,000-word book.
    """

    text: str
    start_ms: int
    end_ms: int

    def to_json(self) -> dict:
        return {"text": self.text, "start_ms": self.start_ms, "end_ms": self.end_ms}

    @classmethod
    def from_json(cls, data: dict) -> Word:
        return cls(_str(data["text"]), _int(data["start_ms"]), _int(data["end_ms"]))

    @classmethod
    def all_from_json(cls, data: list) -> list[Word]:
        """A sentence's words, their types checked in one pass."""
        words = [cls(w["text"], w["start_ms"], w["end_ms"]) for w in data]
        if not all(
            type(w.text) is str and type(w.start_ms) is int and type(w.end_ms) is int for w in words
        ):
            raise TypeError("a word's text must be a string and its times integers")
        return words


def written_words(text: str) -> list[tuple[int, int, str]]:
    """A sentence's words as written: (start, end, text) of each run of non-space with a
    letter or digit in it, its leading and trailing punctuation set aside. ``Sentence.words``
    holds exactly these, in order, where the engine gave word timing."""
    found = []
    for m in re.finditer(r"\S+", text):
        chars = [i for i, c in enumerate(m.group()) if c.isalnum()]
        if chars:
            found.append((m.start(), m.end(), m.group()[chars[0] : chars[-1] + 1]))
    return found


@dataclass
class Utterance:
    """Anything spoken: an announcement, a heading or a sentence, at its time.

    ``id`` names it in every format (``opening``, ``p3h``, ``p3s2``, ``closing``): the
    caption cues, the read-along books' elements and the web page's spans.
    """

    id: str
    text: str
    start_ms: int
    end_ms: int
    kind: ClassVar[str] = "utterance"


@dataclass
class Sentence(Utterance):
    """A sentence; ``spoken`` is the text as said when it differs (a lexicon, normalised
    numbers), None when it is ``text``; ``words`` are its words' times, where known."""

    spoken: str | None = None
    words: list[Word] = field(default_factory=list)
    kind: ClassVar[str] = "sentence"

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "text": self.text,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "spoken": self.spoken,
            "words": [w.to_json() for w in self.words],
        }

    @classmethod
    def from_json(cls, data: dict) -> Sentence:
        return cls(
            _str(data["id"]),
            _str(data["text"]),
            _int(data["start_ms"]),
            _int(data["end_ms"]),
            _opt_str(data.get("spoken")),
            Word.all_from_json(data.get("words", [])),
        )


@dataclass
class Heading(Utterance):
    """A paragraph's heading; ``level`` as the article wrote it (None: a plain-text title)."""

    level: int | None = None
    kind: ClassVar[str] = "heading"


@dataclass
class Announcement(Utterance):
    """The opening or closing announcement (its ``id``); a long one was spoken in parts."""

    kind: ClassVar[str] = "announcement"

    def to_json(self) -> dict:
        return {"text": self.text, "start_ms": self.start_ms, "end_ms": self.end_ms}

    @classmethod
    def from_json(cls, kind: str, data: dict | None) -> Announcement | None:
        if data is None:
            return None
        return cls(kind, _str(data["text"]), _int(data["start_ms"]), _int(data["end_ms"]))


# ---------------------------------------------------------------- the structure


@dataclass
class Paragraph:
    """A paragraph (1-based ``index``, ``id`` "p<index>"), its heading and its sentences.

    ``line`` is where it starts in the article; ``chapter`` is the index of its chapter.
    A heading alone (no sentences) is a paragraph too.
    """

    index: int
    id: str
    text: str
    line: int
    start_ms: int
    end_ms: int
    chapter: int | None
    heading: Heading | None = None
    sentences: list[Sentence] = field(default_factory=list)

    def utterances(self) -> list[Utterance]:
        """The heading (if any) and the sentences, in reading order."""
        return [*([self.heading] if self.heading else []), *self.sentences]

    def to_json(self) -> dict:
        h = self.heading
        return {
            "index": self.index,
            "id": self.id,
            "heading": h.text if h else None,
            "heading_level": h.level if h else None,
            "heading_start_ms": h.start_ms if h else None,
            "heading_end_ms": h.end_ms if h else None,
            "text": self.text,
            "line": self.line,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "chapter": self.chapter,
            "sentences": [s.to_json() for s in self.sentences],
        }

    @classmethod
    def from_json(cls, data: dict) -> Paragraph:
        heading = None
        if data.get("heading") is not None:
            heading = Heading(
                f"{data['id']}h",
                _str(data["heading"]),
                _int(data["heading_start_ms"]),
                _int(data["heading_end_ms"]),
                _opt_int(data.get("heading_level")),
            )
        return cls(
            index=_int(data["index"]),
            id=_str(data["id"]),
            text=_str(data["text"]),
            line=_int(data["line"]),
            start_ms=_int(data["start_ms"]),
            end_ms=_int(data["end_ms"]),
            chapter=_opt_int(data.get("chapter")),
            heading=heading,
            sentences=[Sentence.from_json(s) for s in data["sentences"]],
        )


@dataclass
class Chapter:
    """A chapter: where a listener can skip to. ``paragraphs`` are 1-based paragraph
    indexes (none for the announcements' chapters); chapters tile the whole timeline."""

    index: int
    title: str
    start_ms: int
    end_ms: int
    paragraphs: list[int] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "index": self.index,
            "title": self.title,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "paragraphs": list(self.paragraphs),
        }

    @classmethod
    def from_json(cls, data: dict) -> Chapter:
        return cls(
            _int(data["index"]),
            _str(data["title"]),
            _int(data["start_ms"]),
            _int(data["end_ms"]),
            [_int(n) for n in data["paragraphs"]],
        )


@dataclass(frozen=True)
class Voice:
    """The voice that read the edition: engine voice id, its name, the engine's identity,
    and the settings it spoke with."""

    voice: str
    name: str
    engine: str
    rate: int
    volume: float
    pitch: int

    def to_json(self) -> dict:
        return {
            "voice": self.voice,
            "rate": self.rate,
            "volume": self.volume,
            "pitch": self.pitch,
            "engine": self.engine,
            "name": self.name,
        }

    @classmethod
    def from_json(cls, data: dict) -> Voice:
        return cls(
            voice=_str(data["voice"]),
            name=_str(data["name"]),
            engine=_str(data["engine"]),
            rate=_int(data["rate"]),
            volume=float(data["volume"]),
            pitch=_int(data["pitch"]),
        )


@dataclass(frozen=True)
class Pronunciation:
    """A lexicon entry the edition was read with: a written word or phrase, its
    respelling, and its IPA if known (the EPUB's PLS lexicon is written from these)."""

    written: str
    respelling: str
    ipa: str | None = None
    case_sensitive: bool = False

    def to_json(self) -> dict:
        return {
            "written": self.written,
            "respelling": self.respelling,
            "ipa": self.ipa,
            "case_sensitive": self.case_sensitive,
        }

    @classmethod
    def from_json(cls, data: dict) -> Pronunciation:
        case = data.get("case_sensitive", False)
        if not isinstance(case, bool):
            raise TypeError(f"not a boolean: {case!r}")
        return cls(_str(data["written"]), _str(data["respelling"]), _opt_str(data.get("ipa")), case)


@dataclass(frozen=True)
class Loudness:
    """The loudness the edition was normalised to; ``predicted_lufs`` None for silence."""

    target_lufs: float
    predicted_lufs: float | None
    true_peak_ceiling_dbtp: float

    def to_json(self) -> dict:
        return {
            "target_lufs": self.target_lufs,
            "predicted_lufs": self.predicted_lufs,
            "true_peak_ceiling_dbtp": self.true_peak_ceiling_dbtp,
        }

    @classmethod
    def from_json(cls, data: dict) -> Loudness:
        predicted = data.get("predicted_lufs")
        return cls(
            float(data["target_lufs"]),
            None if predicted is None else float(predicted),
            float(data["true_peak_ceiling_dbtp"]),
        )


@dataclass
class Edition:
    """One article's audio edition: the content every format is written from.

    ``source`` is the article's path as shown to readers (relative to the project);
    ``duration_samples`` is the built audio's exact length at ``sample_rate``.
    """

    source: str
    slug: str
    title: str
    author: str | None
    publisher: str | None
    date: str | None
    language: str
    voice: Voice
    loudness: Loudness
    duration_samples: int
    opening: Announcement | None
    closing: Announcement | None
    chapters: list[Chapter]
    paragraphs: list[Paragraph]
    sample_rate: int = SAMPLE_RATE
    summary: str | None = None  # front matter ``summary`` (the podcast feed's description)
    # The pronunciation lexicon's entries the edition was read with, in the order first said.
    pronunciations: list[Pronunciation] = field(default_factory=list)

    @property
    def duration_ms(self) -> int:
        return round(self.duration_samples * 1000 / self.sample_rate)

    @property
    def announcements(self) -> list[Announcement]:
        return [a for a in (self.opening, self.closing) if a]

    @property
    def sentences(self) -> list[Sentence]:
        return [s for p in self.paragraphs for s in p.sentences]

    def utterances(self) -> list[Utterance]:
        """Everything spoken, in reading order: the opening announcement, each paragraph's
        heading and sentences, the closing announcement."""
        return [
            *([self.opening] if self.opening else []),
            *(u for p in self.paragraphs for u in p.utterances()),
            *([self.closing] if self.closing else []),
        ]

    def to_json(self) -> dict:
        """The edition as the manifest writes it (without ``manifest_version``)."""
        return {
            "source": self.source,
            "slug": self.slug,
            "title": self.title,
            "author": self.author,
            "publisher": self.publisher,
            "date": self.date,
            "summary": self.summary,
            "language": self.language,
            "voice": self.voice.to_json(),
            "loudness": self.loudness.to_json(),
            "sample_rate": self.sample_rate,
            "duration_samples": self.duration_samples,
            "duration_ms": self.duration_ms,
            "announcements": {
                "opening": self.opening.to_json() if self.opening else None,
                "closing": self.closing.to_json() if self.closing else None,
            },
            "chapters": [c.to_json() for c in self.chapters],
            "paragraphs": [p.to_json() for p in self.paragraphs],
            # Only when there are any: an edition read without a lexicon is written as
            # before, and its content key (and so its files) stay the same.
            **(
                {"pronunciations": [p.to_json() for p in self.pronunciations]}
                if self.pronunciations
                else {}
            ),
        }

    @classmethod
    def from_json(cls, data: dict) -> Edition:
        announcements = data["announcements"]
        return cls(
            source=_str(data["source"]),
            slug=_str(data["slug"]),
            title=_str(data["title"]),
            author=_opt_str(data.get("author")),
            publisher=_opt_str(data.get("publisher")),
            date=_opt_str(data.get("date")),
            language=_str(data["language"]),
            voice=Voice.from_json(data["voice"]),
            loudness=Loudness.from_json(data["loudness"]),
            duration_samples=_int(data["duration_samples"]),
            opening=Announcement.from_json("opening", announcements.get("opening")),
            closing=Announcement.from_json("closing", announcements.get("closing")),
            chapters=[Chapter.from_json(c) for c in data["chapters"]],
            paragraphs=[Paragraph.from_json(p) for p in data["paragraphs"]],
            sample_rate=_int(data["sample_rate"]),
            summary=_opt_str(data.get("summary")),
            pronunciations=[Pronunciation.from_json(p) for p in data.get("pronunciations", [])],
        )


# ---------------------------------------------------------------- the build record


@dataclass
class BuildRecord:
    """How an edition was built and where its files are: not content, no format reads it
    but the lists of editions (the web page's index).

    ``outputs`` maps a format's name to its file's record: ``path`` (in the output folder),
    ``bytes``, ``sha256`` and ``id`` (see outputs.py) and the ``fingerprint`` of what it
    was written from. ``input`` is the fingerprint of everything known before the article
    is parsed (the no-change rebuild compares it); ``article`` is the article's path
    relative to the output folder; ``utterances`` how many clips the edition speaks.
    """

    outputs: dict[str, dict] = field(default_factory=dict)
    input: str | None = None
    generator: str | None = None
    article: str | None = None
    utterances: int | None = None

    def to_json(self) -> dict:
        return {
            "input": self.input,
            "generator": self.generator,
            "article": self.article,
            "utterances": self.utterances,
        }

    @classmethod
    def from_json(cls, outputs: dict, build: dict) -> BuildRecord:
        if not isinstance(outputs, dict) or not all(
            isinstance(o, dict) and isinstance(o.get("path"), str) for o in outputs.values()
        ):
            raise ValueError("outputs: not a map of files")
        return cls(
            outputs={k: dict(v) for k, v in outputs.items()},  # the decoded file is shared
            input=_opt_str(build.get("input")),
            generator=_opt_str(build.get("generator")),
            article=_opt_str(build.get("article")),
            utterances=_opt_int(build.get("utterances")),
        )


@dataclass
class Manifest:
    """What a manifest file holds: the edition and its build record."""

    edition: Edition
    record: BuildRecord = field(default_factory=BuildRecord)

    def to_json(self) -> dict:
        return {
            "manifest_version": MANIFEST_VERSION,
            **self.edition.to_json(),
            "outputs": self.record.outputs,
            "build": self.record.to_json(),
        }

    @classmethod
    def from_json(cls, data: Any) -> Manifest:
        """The manifest in ``data``; ValueError if it is not a version-2 manifest."""
        if not isinstance(data, dict) or data.get("manifest_version") != MANIFEST_VERSION:
            raise ValueError("not a version-2 manifest")
        try:
            edition = Edition.from_json(data)
            record = BuildRecord.from_json(data.get("outputs", {}), data.get("build", {}))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed manifest: {exc!r}") from None
        return cls(edition, record)


def read_manifest(path: Path) -> Manifest | None:
    """The manifest at ``path``; None if there is none, or it cannot be used (unreadable,
    malformed, or from an older version): the edition is then built anew."""
    try:
        return Manifest.from_json(_decoded(path))
    except (OSError, ValueError):
        return None


_DECODED: dict[Path, tuple[tuple[int, int, int], dict]] = {}


def _decoded(path: Path) -> dict:
    """The manifest file's JSON, decoded once per version of the file: a build reads each
    manifest up to three times (its own check, then the web page's and the feed's lists of
    editions), and a long book's, with every word's times, takes 40 ms to decode. A
    rewritten manifest is a new file (renamed into place): a new inode, decoded again.
    ``Manifest.from_json`` makes new objects from the dict, so sharing it is safe."""
    st = path.stat()
    identity = (st.st_ino, st.st_mtime_ns, st.st_size)
    kept = _DECODED.get(path)
    if kept is not None and kept[0] == identity:
        return kept[1]
    data = json.loads(path.read_text(encoding="utf-8"))
    if len(_DECODED) >= 4:  # the last few: the editions just built
        _DECODED.pop(next(iter(_DECODED)))
    _DECODED[path] = (identity, data)
    return data


def load_editions(folder: Path) -> list[Manifest]:
    """Every edition in ``folder`` with at least one output (a manifest named for its slug),
    sorted by title then slug: for the files that list every edition."""
    found = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        manifest = read_manifest(path)
        if manifest and manifest.edition.slug == path.stem and manifest.record.outputs:
            found.append(manifest)
    return sorted(found, key=lambda m: (m.edition.title.casefold(), m.edition.slug))


# ---------------------------------------------------------------- checked reading


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"not an integer: {value!r}")
    return value


def _opt_int(value: object) -> int | None:
    return None if value is None else _int(value)


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"not a string: {value!r}")
    return value


def _opt_str(value: object) -> str | None:
    return None if value is None else _str(value)
