"""Speech: the engine interface, the voice settings, and finding a voice for a language.

An engine turns one utterance (a sentence, a heading, an announcement) into a clip: a
mono 16-bit WAV at ``SAMPLE_RATE`` (``SAMPLE_FORMAT``), verified before it is handed on,
with the word events the engine reports. The builder knows engines only through
``SpeechEngine``; each engine lives in ``engines/``:

- ``engines.espeak``: pyttsx3 over eSpeak NG, the default, run in the worker pool
  (``speech_pool``);
- ``engines.piper``: Piper, a neural voice (the ``natural`` extra), in the same pool;
- ``engines.fake``: deterministic tones, one burst per word, for fast tests.

``AUDIO_EDITION_ENGINE=fake`` makes ``engines.default_engine()`` the fake engine: a testing aid
for running the CLI without eSpeak, not a user setting.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from .errors import SourceError, UsageError
from .pcm import SAMPLE_FORMAT, SAMPLE_RATE  # noqa: F401  (part of the engine interface)

ENGINE_ENV = "AUDIO_EDITION_ENGINE"  # "fake": for tests only


@dataclass(frozen=True)
class VoiceSettings:
    """Everything about the voice that changes the sound of a clip."""

    voice: str = "gmw/en-us"
    rate: int = 175
    volume: float = 1.0
    pitch: int = 50

    def validate(self) -> VoiceSettings:
        """Check the values against the settings table, which every source was read with
        already: this catches only a ``Settings`` made in code by a library caller."""
        from .config import check_voice

        check_voice(asdict(self))
        return self


@dataclass(frozen=True)
class Voice:
    id: str
    name: str
    languages: tuple[str, ...]
    gender: str | None


@dataclass(frozen=True)
class Utterance:
    """One sentence to speak; ``label`` says where it is, for error messages."""

    text: str
    settings: VoiceSettings
    label: str


@dataclass(frozen=True)
class WordEvent:
    """The engine's word: where it is in the utterance's text and where its sound starts.

    ``offset`` and ``length`` count characters of ``Utterance.text`` (``length`` 0 when
    the engine does not say); ``sample`` counts samples from the start of the clip as the
    engine wrote it, before the cache trims its leading silence. Events come in the
    engine's order; one written word may give several (eSpeak reads "1,234" as four words
    at nearby offsets).
    """

    offset: int
    length: int
    sample: int


@dataclass(frozen=True)
class SpokenClip:
    """An utterance spoken: its verified clip and the word events the engine reported
    (empty when the engine reports none)."""

    utterance: Utterance
    path: Path
    words: tuple[WordEvent, ...] = ()


class SpeechEngine(Protocol):
    """What the builder needs from an offline engine.

    The clip cache key is the utterance's text, ``identity()``, ``settings_key(voice)``
    and ``SAMPLE_FORMAT``: whatever else changes an engine's sound must be in one of them.

    Optional: ``phoneme_markup(ipa) -> str``, the engine's inline markup for IPA phonemes
    (a pronunciation lexicon's entries are said with it; ValueError names a symbol the
    engine cannot take); without it, entries are said as their respellings.

    Optional: ``phonemes(text, voice) -> str``, how the engine will say ``text`` with
    ``voice``, in IPA, clauses joined by spaces; a text of several lines gives one line of
    IPA for each line, so a list of words costs one call (one process), not one each
    (``engine_phonemes``; used by ``audio-edition words`` and ``say``, and by tests).
    """

    name: str  # short, for choosing an engine ("espeak", "fake")

    def identity(self) -> str:
        """The engine and its version, e.g. ``pyttsx3-2.99/espeak-ng-1.51``: in every
        clip's cache key and the manifest's ``voice.engine``."""
        ...

    def settings_key(self, voice: VoiceSettings) -> dict:
        """The voice settings as they enter the clip cache key (an engine whose voices are
        files adds the file's content hash)."""
        ...

    def voices(self) -> list[Voice]:
        """The voices this engine offers, in its own order (the first for a language wins)."""
        ...

    def synthesize(
        self, utterances: Iterable[tuple[Utterance, Path]], jobs: int
    ) -> Iterator[SpokenClip]:
        """Speak each utterance into its path, up to ``jobs`` at once; yield each clip as it
        is done and verified (``speech_pool.verify_clip``), in any order. Raises
        ``SynthesisError`` naming the utterance's label when one cannot be spoken."""
        ...


def engine_phonemes(engine: SpeechEngine, text: str, voice: VoiceSettings) -> str | None:
    """The engine's IPA for ``text`` (see ``SpeechEngine``), or None if it has none."""
    phonemes = getattr(engine, "phonemes", None)
    return phonemes(text, voice) if phonemes is not None else None


def resolve_voice(
    engine: SpeechEngine, voice: str | None, language: str, article: Path | str | None = None
) -> str:
    """The engine voice id for a configured voice, or the article language's voice.

    An unknown voice is a usage error that names the closest matches; a language no
    voice speaks is an error that names the article (``article``) and the ways out.
    """
    by_path = getattr(engine, "voice_file", None)  # an engine whose voices can be files
    if voice and by_path is not None and (found := by_path(voice)) is not None:
        return found
    voices = engine.voices()
    if voice:
        for v in voices:
            if voice.lower() in (v.id.lower(), v.name.lower()):
                return v.id
        names = [v.id for v in voices] + [v.name for v in voices]
        close = difflib.get_close_matches(voice, names, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see `audio-edition voices`"
        raise UsageError(f"unknown voice {voice!r}{hint}")
    found = voice_for_language(voices, language)
    if found is None:
        where = f"{article}: " if article is not None else ""
        raise SourceError(
            f"{where}no voice speaks language {language!r}: correct the `language:` (a BCP 47 "
            "tag such as en, en-GB, zh, ja, ur), or choose a voice with --voice or "
            "`speech: voice:` in the front matter (`audio-edition voices --language LANG` "
            "lists them)"
        )
    return found


# BCP 47 tags (lower case) that eSpeak NG lists under another language code, as
# `espeak-ng --voices` spells it. Looked up after an exact match, for the tag and each
# shorter prefix of it (zh-Hant-HK, then zh-Hant, then zh).
_LATIN_AMERICA = ("ar", "bo", "cl", "co", "cr", "cu", "do", "ec", "gt", "hn", "mx", "ni", "pa")
_LATIN_AMERICA += ("pe", "pr", "py", "sv", "us", "uy", "ve")
LANGUAGE_ALIASES: dict[str, str] = {
    "en": "en-us",  # eSpeak's plain "en" voice is British; American English is the default
    **dict.fromkeys(["en-au", "en-ie", "en-in", "en-nz", "en-za"], "en-gb"),
    "en-ca": "en-us",
    "fr": "fr-fr",  # otherwise the first French voice listed, Belgian
    "pt-pt": "pt",
    **dict.fromkeys([f"es-{region}" for region in _LATIN_AMERICA], "es-419"),
    # Chinese: written Chinese is read in Mandarin, except in Hong Kong and Macau.
    **dict.fromkeys(["zh", "zh-hans", "zh-hant", "zh-cn", "zh-sg", "zh-tw", "zh-cmn"], "cmn"),
    **dict.fromkeys(["zh-hk", "zh-mo", "zh-hant-hk", "zh-hant-mo", "zh-yue"], "yue"),
    **dict.fromkeys(["zh-hak", "zh-hakka"], "hak"),
    "no": "nb",  # Norwegian: eSpeak has Bokmål
    "iw": "he",  # deprecated codes still in use
    "in": "id",
    "hy-arevmda": "hyw",  # Western Armenian
}


def _lookup_levels(language: str) -> Iterator[tuple[str, ...]]:
    """For the tag and each shorter prefix of it, that prefix and its alias, lower case."""
    subtags = [p for p in language.strip().lower().replace("_", "-").split("-") if p]
    for n in range(len(subtags), 0, -1):
        prefix = "-".join(subtags[:n])
        alias = LANGUAGE_ALIASES.get(prefix)
        yield (prefix, alias) if alias else (prefix,)


def voice_for_language(voices: list[Voice], language: str) -> str | None:
    """The id of the voice for a BCP 47 language tag, or None if no voice fits.

    For the tag and then each shorter prefix of it: a voice listed for exactly that
    language, else one for its alias (LANGUAGE_ALIASES). Last, any voice whose own
    language has the same primary subtag (``chr`` finds ``chr-US-Qaaa-x-west``).
    """
    by_language: dict[str, str] = {}
    for v in voices:
        for lang in v.languages:
            by_language.setdefault(lang.lower(), v.id)  # the first listed wins
    levels = list(_lookup_levels(language))
    for codes in levels:
        for code in codes:
            if code in by_language:
                return by_language[code]
    if levels:
        primary = levels[-1][0]
        for lang, voice_id in by_language.items():
            if lang.split("-")[0] == primary:
                return voice_id
    return None


def voices_for_language(voices: list[Voice], language: str) -> list[Voice]:
    """The voices for a language tag, its alias (zh: cmn) or narrower tags (en: en-gb).

    Taken from the longest prefix of the tag that has any, as voice_for_language does.
    """
    for codes in _lookup_levels(language):
        found = [
            v
            for v in voices
            if any(
                lang.lower() == c or lang.lower().startswith(c + "-")
                for c in codes
                for lang in v.languages
            )
        ]
        if found:
            return found
    return []
