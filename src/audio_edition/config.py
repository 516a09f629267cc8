"""Settings: defaults, then ``audio-edition.toml`` in the project, then flags.

An article's front matter ``speech:`` (voice, rate, volume, pitch) overrides the
project's voice for that article; flags given on the command line override both.

Every value, from any of these sources, is checked when it is read, against one table
(``RULES``: a row per key with its type, its range or choices, and what it is for), and
a bad one is refused with the file, the key and the values allowed, e.g.
``audio-edition.toml: rate: must be a whole number from 80 to 450 (got "fast")``.
"""

from __future__ import annotations

import math
import os
import string
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from .errors import AudioEditionError, SourceError, UsageError
from .files import read_cover_bytes
from .registry import DEFAULT_FORMATS, format_names, is_format_name

CONFIG_FILE = "audio-edition.toml"

# {voice}: the voice named in plain words when the engine has words for it (Piper's), else empty.
DEFAULT_OPENING = "{title}. {byline}This is an audio edition, read by a synthetic voice{voice}."
DEFAULT_CLOSING = "End of {title}. This audio edition was read by a synthetic voice."
PLACEHOLDERS = ("title", "byline", "author", "publisher", "date", "voice")

CPUS = os.cpu_count() or 1
# More workers than this only add processes fighting for the same cores (and memory).
MAX_JOBS = 4 * CPUS


@dataclass(frozen=True)
class Pauses:
    """Silences in milliseconds; configurable."""

    sentence_ms: int = 350
    paragraph_ms: int = 900
    heading_before_ms: int = 600  # added before a heading, on top of the paragraph pause
    heading_after_ms: int = 700


@dataclass(frozen=True)
class FeedSettings:
    """The podcast feed's channel (``[feed]``); no ``base_url``: no feed is written."""

    base_url: str | None = None  # where audio/ is served from, e.g. https://example.org/audio
    title: str = "Audio editions"
    description: str = "Audio editions of our articles, each read by a synthetic voice."
    language: str | None = None  # None: the editions' most common language
    author: str | None = None
    owner_name: str | None = None
    owner_email: str | None = None
    image: str | None = None  # the channel's artwork: a URL, or a path under base_url
    category: str = "News"
    explicit: bool = False


def _default_formats() -> tuple[str, ...]:
    return DEFAULT_FORMATS


@dataclass(frozen=True)
class Settings:
    """Everything a build can be told. ``None`` voice fields mean: not set here."""

    voice: str | None = None
    rate: int | None = None
    volume: float | None = None
    pitch: int | None = None
    engine: str | None = None  # "espeak" (the default) or "piper"
    formats: tuple[str, ...] = field(default_factory=_default_formats)
    pauses: Pauses = field(default_factory=Pauses)
    opening: str | None = DEFAULT_OPENING  # None: no opening announcement
    closing: str | None = DEFAULT_CLOSING
    loudness_lufs: float = -19.0
    true_peak_dbtp: float = -1.5
    cover: Path | None = None
    lexicon: Path | None = None  # the pronunciation lexicon (.toml or .pls); see lexicon.py
    jobs: int = field(default_factory=lambda: CPUS)
    cache_dir: Path | None = None
    cluster: str | None = None  # a Dask scheduler's address: speak and encode there (cluster.py)
    force: bool = False
    feed: FeedSettings = field(default_factory=FeedSettings)
    # The project file's voice settings. They rank below an article's front matter
    # ``speech:``, while the fields above (flags, or a library caller's) rank above it.
    project_voice: dict[str, object] = field(default_factory=dict)

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with the given (non-None) values replaced."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


VOICE_KEYS = ("voice", "rate", "volume", "pitch")
SPEECH_KEYS = (*VOICE_KEYS, "engine")  # what an article's front matter `speech:` may set
ENGINE_NAMES = ("espeak", "piper")
PAUSE_KEYS = tuple(f.name for f in fields(Pauses))


# ---------------------------------------------------------------- the table of settings


class Invalid(ValueError):
    """A value a rule refuses; a message, if any, says more than the rule's description."""


class Unusable(Invalid):
    """A well-formed path to a file that is missing or wrong: a build error (exit 1), like a
    missing article, not a usage error."""


@dataclass(frozen=True)
class Rule:
    """What one setting takes: a kind (see ``_READERS``), its range, and what it is for."""

    kind: str
    low: float | None = None
    high: float | None = None
    help: str = ""

    def describe(self) -> str:
        what = _DESCRIPTIONS[self.kind](self)
        return f"{what} ({self.help})" if self.help else what

    def read(self, value: object, root: Path | None = None) -> object:
        """The value as the builder uses it; ``Invalid`` if the rule refuses it."""
        return _READERS[self.kind](self, value, root)


RULES: dict[str, Rule] = {
    "voice": Rule("text", help="an engine voice id or name: see `audio-edition voices`"),
    "rate": Rule("whole", 80, 450, "words per minute"),
    # 0 would be a silent edition; 1.0 is the engine's normal volume.
    "volume": Rule("number", 0.1, 2.0, "1.0 is normal; 0 would be silent"),
    "pitch": Rule("whole", 0, 99, "50 is normal"),
    "engine": Rule("engine"),
    "formats": Rule("formats"),
    "opening": Rule("template"),
    "closing": Rule("template"),
    "loudness_lufs": Rule("number", -40, -10, "LUFS"),
    "true_peak_dbtp": Rule("number", -10, 0, "dBTP"),
    "cover": Rule("image"),
    "lexicon": Rule("path", help="a pronunciation lexicon, .toml or .pls"),
    "jobs": Rule("whole", 1, MAX_JOBS, f"4 times the {CPUS} CPUs at most"),
    "cache_dir": Rule("path", help="a folder"),
    "cluster": Rule("text", help="a Dask scheduler's address, such as tcp://HOST:8786"),
}
PAUSE_RULE = Rule("whole", 0, 10000, "milliseconds")
# ``[feed]``: the podcast feed's channel (formats/feed.py).
FEED_RULES: dict[str, Rule] = {
    "base_url": Rule("url", help="where the output folder audio/ is served from"),
    "title": Rule("text"),
    "description": Rule("text"),
    "language": Rule("text", help="a BCP 47 tag, e.g. en or en-GB"),
    "author": Rule("text"),
    "owner_name": Rule("text"),
    "owner_email": Rule("email"),
    "image": Rule("text", help="the artwork's URL, or its path under base_url"),
    "category": Rule("text", help="an Apple Podcasts category, e.g. News"),
    "explicit": Rule("flag"),
}


def _range(rule: Rule) -> str:
    return f"from {rule.low} to {rule.high}"


def _format_names(rule: Rule) -> str:
    names = ", ".join(format_names())
    return "a list of formats from " + names + " (or one comma-separated string)"


_DESCRIPTIONS: dict[str, Callable[[Rule], str]] = {
    "whole": lambda rule: "a whole number " + _range(rule),
    "number": lambda rule: "a number " + _range(rule),
    "text": lambda rule: "text",
    "path": lambda rule: "a path",
    "image": lambda rule: "the path of a JPEG or PNG image",
    "url": lambda rule: "an http:// or https:// address",
    "email": lambda rule: "an email address",
    "flag": lambda rule: "true or false",
    "template": lambda rule: "text using only the placeholders " + _placeholders() + ", or false",
    "formats": _format_names,
    "engine": lambda rule: "one of " + ", ".join(ENGINE_NAMES),
}


def _whole(rule: Rule, value: object, root: Path | None) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid
    if not rule.low <= value <= rule.high:
        raise Invalid
    return value


def _number(rule: Rule, value: object, root: Path | None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid
    if not (math.isfinite(value) and rule.low <= value <= rule.high):
        raise Invalid
    return float(value)


def _text(rule: Rule, value: object, root: Path | None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid
    return value


def _engine(rule: Rule, value: object, root: Path | None) -> str:
    if value not in ENGINE_NAMES:
        raise Invalid
    return value


def _path(rule: Rule, value: object, root: Path | None) -> Path:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value.strip() or "\0" in value:
        raise Invalid
    return root / value if root is not None else Path(value)


def _url(rule: Rule, value: object, root: Path | None) -> str:
    from urllib.parse import urlsplit

    text = _text(rule, value, root).strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        raise Invalid from None
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in text):
        raise Invalid
    return text.rstrip("/")


def _email(rule: Rule, value: object, root: Path | None) -> str:
    text = _text(rule, value, root).strip()
    name, at, domain = text.rpartition("@")
    if not (name and at and "." in domain) or any(c.isspace() for c in text):
        raise Invalid
    return text


def _flag(rule: Rule, value: object, root: Path | None) -> bool:
    if not isinstance(value, bool):
        raise Invalid
    return value


IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")  # JPEG, PNG


def _image(rule: Rule, value: object, root: Path | None) -> Path:
    path = _path(rule, value, root)
    # Checked now, not when the audio is muxed minutes later, through the one input reader
    # (a missing cover, a folder, a device or a FIFO, an oversized file), then by its magic.
    try:
        head = read_cover_bytes(path)[:8]
    except SourceError as exc:
        raise Unusable(str(exc)) from None
    if not any(head.startswith(magic) for magic in IMAGE_MAGIC):
        raise Unusable(f"{path}: not a JPEG or PNG image")
    return path


def _template(rule: Rule, value: object, root: Path | None) -> str:
    if value is False:
        return ""  # turned off
    if not isinstance(value, str):
        raise Invalid
    try:
        parts = list(string.Formatter().parse(value))
    except ValueError:  # a lone brace
        raise Invalid from None
    for _, name, spec, conversion in parts:
        if name is not None and (name not in PLACEHOLDERS or spec or conversion):
            raise Invalid(f"unknown placeholder {{{name}}}: use " + _placeholders())
    return value


def _placeholders() -> str:
    return ", ".join(f"{{{p}}}" for p in PLACEHOLDERS) + " (write {{ and }} for a brace)"


def _formats(rule: Rule, value: object, root: Path | None) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple) or not all(isinstance(n, str) for n in value):
        raise Invalid
    names = [n.strip().lower().lstrip(".") for n in value if n.strip()]
    for name in names:
        if not is_format_name(name):
            choices = ", ".join(format_names())
            raise Invalid(f"unknown format {_shown(name)}: choose from {choices}")
    if not names:
        raise Invalid("no format given: choose from " + ", ".join(format_names()))
    return tuple(dict.fromkeys(names))


_READERS: dict[str, Callable[[Rule, object, Path | None], object]] = {
    "whole": _whole,
    "number": _number,
    "text": _text,
    "path": _path,
    "engine": _engine,
    "image": _image,
    "template": _template,
    "formats": _formats,
    "url": _url,
    "email": _email,
    "flag": _flag,
}


def _shown(value: object) -> str:
    """A value as the user wrote it, on one line and not too long."""
    import json

    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check(
    label: str,
    rule: Rule,
    value: object,
    root: Path | None = None,
    error: type[AudioEditionError] = UsageError,
) -> object:
    """``value`` read by ``rule``, or ``error``: ``<label>: must be <allowed> (got <value>)``.

    ``label`` names where the value came from: ``audio-edition.toml: rate``,
    ``text/a.md: speech.rate`` or ``--rate``.
    """
    try:
        return rule.read(value, root)
    except Invalid as exc:
        if isinstance(exc, Unusable) and error is UsageError:
            raise AudioEditionError(f"{label}: {exc}") from None
        if str(exc):
            raise error(f"{label}: {exc}") from None
        raise error(f"{label}: must be {rule.describe()} (got {_shown(value)})") from None


def _unknown(label: str, key: object, known: object, error: type[AudioEditionError]) -> None:
    raise error(f"{label}: unknown setting {_shown(key)}: use {', '.join(known)}")


# ---------------------------------------------------------------- the sources


def load_settings(project: Path) -> Settings:
    """Settings from the project's ``audio-edition.toml`` (all keys optional)."""
    path = project / CONFIG_FILE
    if not path.exists():
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: {exc}") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it ({exc.strerror})") from None
    # Paths in the file (cover, cache_dir) are relative to the project, not to the caller.
    return settings_from_mapping(data, str(path), root=project)


def settings_from_mapping(
    data: Mapping[str, object], where: str, root: Path | None = None
) -> Settings:
    """Settings from a file's mapping (``where`` names the file), every value checked."""
    changes: dict[str, object] = {}
    for key, value in data.items():
        if key == "pauses":
            changes["pauses"] = _pauses(value, f"{where}: pauses")
        elif key == "feed":
            changes["feed"] = _feed(value, f"{where}: feed")
        elif key in RULES:
            changes[key] = check(f"{where}: {key}", RULES[key], value, root)
        else:
            _unknown(where, key, [*RULES, "pauses", "feed"], UsageError)
    voice = {key: changes.pop(key) for key in SPEECH_KEYS if key in changes}
    return replace(Settings(), project_voice=voice, **changes)


def _pauses(value: object, label: str) -> Pauses:
    return _table(value, label, dict.fromkeys(PAUSE_KEYS, PAUSE_RULE), Pauses)


def _feed(value: object, label: str) -> FeedSettings:
    return _table(value, label, FEED_RULES, FeedSettings)


def _table(value: object, label: str, rules: Mapping[str, Rule], make: Callable) -> object:
    """A table of settings (``[pauses]``, ``[feed]``), each key checked by its rule."""
    if not isinstance(value, Mapping):
        raise UsageError(f"{label}: must be a table of {', '.join(rules)}")
    for key in value:
        if key not in rules:
            _unknown(label, key, rules, UsageError)
    return make(**{k: check(f"{label}.{k}", rules[k], v) for k, v in value.items()})


def speech_from_mapping(data: object, where: str) -> dict[str, object]:
    """An article's front matter ``speech:``, every value checked; errors name the article."""
    from .errors import SourceError

    if not isinstance(data, Mapping):
        raise SourceError(f"{where}: front matter 'speech' must be a mapping (voice, rate, ...)")
    speech: dict[str, object] = {}
    for key, value in data.items():
        if key not in SPEECH_KEYS:
            _unknown(f"{where}: speech", key, SPEECH_KEYS, SourceError)
        if value is None:  # `rate:` with nothing after it: not set
            continue
        speech[key] = check(f"{where}: speech.{key}", RULES[key], value, error=SourceError)
    return speech


def check_voice(values: Mapping[str, object], where: str = "") -> None:
    """Check voice values made in code (a library caller's ``Settings``) against the table."""
    for key in VOICE_KEYS:
        if values.get(key) is not None:
            check(f"{where}{key}", RULES[key], values[key])


# Flags named otherwise than their settings.
FLAG_NAMES = {"formats": "--format"}


def settings_with_flags(settings: Settings, flags: Mapping[str, object]) -> Settings:
    """``settings`` with the command line's flags (those given) checked and applied."""
    changes = {
        key: check(FLAG_NAMES.get(key, f"--{key.replace('_', '-')}"), RULES[key], value)
        for key, value in flags.items()
        if value is not None
    }
    return replace(settings, **changes)
