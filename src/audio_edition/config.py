"""Settings: defaults, then ``audio-edition.toml`` in the project, then flags.

An article's front matter ``speech:`` (voice, rate, volume, pitch) overrides the
project's voice for that article; flags given on the command line override both.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from .errors import UsageError

CONFIG_FILE = "audio-edition.toml"

DEFAULT_OPENING = "{title}. {byline}This is an audio edition, read by a synthetic voice."
DEFAULT_CLOSING = "End of {title}. This audio edition was read by a synthetic voice."


@dataclass(frozen=True)
class Pauses:
    """Silences in milliseconds; configurable."""

    sentence_ms: int = 350
    paragraph_ms: int = 900
    heading_before_ms: int = 600  # added before a heading, on top of the paragraph pause
    heading_after_ms: int = 700


def _default_formats() -> tuple[str, ...]:
    from .formats import DEFAULT_FORMATS

    return DEFAULT_FORMATS


@dataclass(frozen=True)
class Settings:
    """Everything a build can be told. ``None`` voice fields mean: not set here."""

    voice: str | None = None
    rate: int | None = None
    volume: float | None = None
    pitch: int | None = None
    formats: tuple[str, ...] = field(default_factory=_default_formats)
    pauses: Pauses = field(default_factory=Pauses)
    opening: str | None = DEFAULT_OPENING  # None: no opening announcement
    closing: str | None = DEFAULT_CLOSING
    loudness_lufs: float = -19.0
    true_peak_dbtp: float = -1.5
    cover: Path | None = None
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    cache_dir: Path | None = None
    force: bool = False

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with the given (non-None) values replaced."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


VOICE_KEYS = ("voice", "rate", "volume", "pitch")
PAUSE_KEYS = {f.name for f in fields(Pauses)}


def load_settings(project: Path) -> Settings:
    """Settings from the project's ``audio-edition.toml`` (all keys optional)."""
    path = project / CONFIG_FILE
    if not path.exists():
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: {exc}") from None
    return settings_from_mapping(data, str(path))


def settings_from_mapping(data: dict, where: str) -> Settings:
    base = Settings()
    known = {f.name for f in fields(Settings)} - {"pauses", "force"}
    unknown = set(data) - known - {"pauses"}
    if unknown:
        raise UsageError(f"{where}: unknown setting {sorted(unknown)[0]!r}")
    changes: dict = {k: data[k] for k in known & set(data)}
    if "formats" in changes:
        changes["formats"] = tuple(parse_formats(changes["formats"]))
    for key in ("opening", "closing"):
        if changes.get(key) is False:
            changes[key] = ""  # turned off
    if "cover" in changes:
        changes["cover"] = Path(changes["cover"])
    if "cache_dir" in changes:
        changes["cache_dir"] = Path(changes["cache_dir"])
    pauses = data.get("pauses", {})
    if set(pauses) - PAUSE_KEYS:
        raise UsageError(f"{where}: unknown pause {sorted(set(pauses) - PAUSE_KEYS)[0]!r}")
    changes["pauses"] = replace(base.pauses, **pauses)
    return replace(base, **changes)


def parse_formats(value: str | list[str] | tuple[str, ...]) -> list[str]:
    from .formats import FORMATS

    names = value.split(",") if isinstance(value, str) else list(value)
    names = [n.strip().lower().lstrip(".") for n in names if n.strip()]
    for name in names:
        if name not in FORMATS:
            raise UsageError(f"unknown format {name!r}: choose from {', '.join(FORMATS)}")
    if not names:
        raise UsageError("no format given: choose from " + ", ".join(FORMATS))
    return list(dict.fromkeys(names))
