"""Speech: the engine interface and the pyttsx3 worker pool.

pyttsx3's Linux driver (2.99, over eSpeak NG) has measured defects this module is built
to be immune to:

- several ``save_to_file`` calls queued on one engine overwrite each other's state, so a
  worker owns one engine and speaks exactly one utterance at a time;
- a call of about 13,500 characters segfaults the process, so the unit of synthesis is
  the sentence (``source.MAX_SENTENCE_CHARS`` keeps every call short) and a crashed
  worker is replaced and its job retried;
- a failed write is swallowed and a wait for completion can hang, so every job has a
  timeout after which the worker is killed;
- ``runAndWait()`` may return before the file exists, so the worker waits for the
  ``finished-utterance`` callback and the parent verifies every clip;
- the driver prints ``Audio saved to ...`` on stdout, so workers send their stdout to
  /dev/null (the CLI's ``--json`` output must stay clean);
- now and then a fresh engine keeps the driver's start-up rate (200 words a minute), so
  a worker checks eSpeak's own parameters after every sentence, speaks it again if they
  were wrong, and asks to be replaced if that fails too.

Only this module imports pyttsx3, and only inside worker processes (eSpeak can be
initialised once per process and never cleanly torn down).
"""

from __future__ import annotations

import contextlib
import difflib
import json
import multiprocessing
import multiprocessing.connection
import shutil
import subprocess
import sys
import time
import unicodedata
import wave
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from .errors import SourceError, SynthesisError, ToolMissingError, UsageError
from .files import looked_up_once
from .scripts import script_of

SAMPLE_RATE = 22050  # pyttsx3's espeak driver hard-codes this for save_to_file
SAMPLE_FORMAT = "s16le-22050-mono"
MAX_ATTEMPTS = 3


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


class SpeechEngine(Protocol):
    """What the rest of the builder needs from an offline engine."""

    name: str

    def identity(self) -> str:
        """Engine name and version: part of every clip's cache key."""

    def voices(self) -> list[Voice]: ...

    def synthesize(
        self, utterances: Iterable[tuple[Utterance, Path]], jobs: int
    ) -> Iterator[tuple[Utterance, Path]]:
        """Speak each utterance into its path (a verified WAV); yield each as it is done."""


def check_espeak() -> None:
    # The espeak-ng package brings the library pyttsx3 loads; its command is the sign of it.
    if shutil.which("espeak-ng") is None:
        raise ToolMissingError(
            "eSpeak NG is not installed: run `make run` (it installs it) "
            "or `sudo apt-get install espeak-ng`"
        )


@lru_cache(maxsize=1)
def _pyttsx3_version() -> str:
    """The installed pyttsx3's version, read from its ``.dist-info`` folder's name.

    importlib.metadata would cost every build, even one with nothing to do, 70 ms and
    7 MB (it imports the email package); it is only the fallback for unusual installs.
    """
    import pyttsx3

    found = list(Path(pyttsx3.__file__).resolve().parent.parent.glob("pyttsx3-*.dist-info"))
    if len(found) == 1:
        return found[0].name.removeprefix("pyttsx3-").removesuffix(".dist-info")
    import importlib.metadata

    return importlib.metadata.version("pyttsx3")


@lru_cache(maxsize=1)
def _espeak_version() -> str:
    check_espeak()
    try:
        from pyttsx3.drivers import _espeak  # loads the library; does not initialise it

        return _espeak.Info(None).decode()
    except Exception as exc:  # a broken install: say so rather than guess a version
        raise ToolMissingError(
            f"eSpeak NG could not be loaded ({exc}): reinstall espeak-ng"
        ) from exc


class Pyttsx3Engine:
    """pyttsx3 over eSpeak NG, run in a pool of persistent worker processes."""

    name = "pyttsx3"

    def __init__(self, timeout_base: float = 20.0, timeout_per_char: float = 0.05) -> None:
        self.timeout_base = timeout_base
        self.timeout_per_char = timeout_per_char

    def identity(self) -> str:
        return f"pyttsx3-{_pyttsx3_version()}/espeak-ng-{_espeak_version()}"

    def voices(self) -> list[Voice]:
        return _list_voices()

    def synthesize(
        self, utterances: Iterable[tuple[Utterance, Path]], jobs: int
    ) -> Iterator[tuple[Utterance, Path]]:
        check_espeak()
        pool = _WorkerPool(max(1, jobs), self.timeout_base, self.timeout_per_char)
        try:
            yield from pool.run(utterances)
        finally:
            pool.close()


@looked_up_once
def _list_voices() -> list[Voice]:
    # Listing voices initialises eSpeak, so it runs in a throwaway worker process.
    check_espeak()
    proc = _spawn_worker("--voices")
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise ToolMissingError("eSpeak NG did not answer when asked for its voices") from None
    if proc.returncode != 0 or not out.strip():
        raise ToolMissingError("eSpeak NG could not list its voices: reinstall espeak-ng")
    return [Voice(v["id"], v["name"], tuple(v["languages"]), v["gender"]) for v in json.loads(out)]


def resolve_voice(
    engine: SpeechEngine, voice: str | None, language: str, article: Path | str | None = None
) -> str:
    """The engine voice id for a configured voice, or the article language's voice.

    An unknown voice is a usage error that names the closest matches; a language no
    voice speaks is an error that names the article (``article``) and the ways out.
    """
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


# ---------------------------------------------------------------- verification


# How long one character may take to speak at REFERENCE_RATE, (shortest, longest) in
# seconds, by kind of character. Measured with eSpeak NG 1.51 on short sentences:
# - Latin, Cyrillic, Arabic, Devanagari, Greek, Hebrew... in their own voice: 8.6 to 18
#   characters a second, 6 to 8 for a one-word sentence;
# - East Asian wide characters (Han, kana, Hangul, full-width forms) carry a syllable or
#   a word each: 1.3 (Japanese voice on kanji) to 7.9 (kana) a second, and 0.7 when a
#   voice names them as foreign letters ("fullwidth A" in Japanese);
# - a non-Latin letter in a voice that does not read its script is named letter by
#   letter: 1.4 to 1.8 a second (an Urdu sentence in the English voice);
# - numbers and symbols expand when spoken ("1,234" is four words).
# Everything else keeps the bounds of 16 characters a second, 0.1 to 8 times that.
REFERENCE_RATE = 175
_SECONDS_PER_CHAR = {
    "wide": (1 / 30, 1 / 0.3),
    "letter": (1 / 160, 1 / 1.0),
    "other": (1 / 160, 1 / 2.0),
}
_SLACK_SECONDS = 3.0  # silence at the ends, and a one-word sentence's slowness


def plausible_seconds(text: str, rate: int) -> tuple[float, float]:
    """The shortest and longest plausible length of ``text`` spoken at ``rate`` (wpm)."""
    counts = Counter(_char_kind(c) for c in text) if text else Counter(other=1)
    scale = REFERENCE_RATE / rate
    shortest = sum(n * _SECONDS_PER_CHAR[kind][0] for kind, n in counts.items()) * scale
    longest = sum(n * _SECONDS_PER_CHAR[kind][1] for kind, n in counts.items()) * scale
    return shortest, longest + _SLACK_SECONDS


@lru_cache(maxsize=4096)
def _char_kind(char: str) -> str:
    if unicodedata.east_asian_width(char) in ("W", "F", "H"):
        return "wide"
    if script_of(char) not in (None, "LATIN"):
        return "letter"  # named letter by letter by a voice that cannot read its script
    return "other"


def verify_clip(path: Path, text: str, rate: int) -> str | None:
    """Why a clip is not usable, or None: exists, decodes, and lasts plausibly long."""
    try:
        with wave.open(str(path), "rb") as w:
            if (w.getnchannels(), w.getsampwidth(), w.getframerate()) != (1, 2, SAMPLE_RATE):
                return "wrong sample format"
            frames = w.getnframes()
            data = w.readframes(frames)
    except FileNotFoundError:
        return "no file was written"
    except (wave.Error, EOFError, OSError) as exc:
        return f"unreadable WAV ({exc})"
    if frames == 0 or len(data) != frames * 2:
        return "empty or truncated WAV"
    seconds = frames / SAMPLE_RATE
    shortest, longest = plausible_seconds(text, rate)
    if not shortest <= seconds <= longest:
        return f"implausible length {seconds:.2f}s for {len(text)} characters"
    return None


# ---------------------------------------------------------------- worker pool


def _spawn_worker(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        # Run as a file, not with -m: -m would import the whole package first (its
        # __init__ loads the builder), 0.1 s of CPU for each worker. -P keeps the
        # package's own folder off sys.path, where its modules could shadow others.
        [sys.executable, "-P", str(Path(__file__).with_name("speech_worker.py")), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        bufsize=1,
        # Own process group: a Ctrl-C reaches the builder, which stops its workers itself.
        start_new_session=True,
    )


@dataclass
class _Worker:
    proc: subprocess.Popen = field(default_factory=_spawn_worker)
    job: tuple[Utterance, Path] | None = None
    started: float = 0.0
    attempts: int = 0

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        # Closing flushes any job still buffered for the dead worker: the pipe is broken.
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        self.proc.stdout.close()


class _WorkerPool:
    def __init__(self, size: int, timeout_base: float, timeout_per_char: float) -> None:
        self._size = size
        self._timeout_base = timeout_base
        self._timeout_per_char = timeout_per_char
        self._workers: list[_Worker] = []

    def _timeout(self, utterance: Utterance) -> float:
        return self._timeout_base + self._timeout_per_char * len(utterance.text)

    def run(self, jobs: Iterable[tuple[Utterance, Path]]) -> Iterator[tuple[Utterance, Path]]:
        pending = list(jobs)
        pending.reverse()  # pop() from the end keeps the article's order
        retries: list[tuple[tuple[Utterance, Path], int]] = []
        if not pending:
            return
        self._workers = [_Worker() for _ in range(min(self._size, len(pending)))]
        busy = 0
        while pending or retries or busy:
            for w in self._workers:
                if w.job is None and (retries or pending):
                    job, attempts = retries.pop() if retries else (pending.pop(), 0)
                    self._assign(w, job, attempts)
                    busy += 1
            for w, problem in self._wait():
                job, attempts = w.job, w.attempts
                w.job = None
                busy -= 1
                if problem is None:
                    yield job
                elif attempts + 1 >= MAX_ATTEMPTS:
                    raise SynthesisError(
                        f"{job[0].label}: speech failed {MAX_ATTEMPTS} times ({problem})"
                    )
                else:
                    retries.append((job, attempts + 1))

    def _assign(self, w: _Worker, job: tuple[Utterance, Path], attempts: int) -> None:
        utterance, path = job
        path.unlink(missing_ok=True)
        w.job, w.attempts, w.started = job, attempts, time.monotonic()
        message = {
            "text": utterance.text,
            "settings": asdict(utterance.settings),
            "path": str(path),
        }
        try:
            w.proc.stdin.write(json.dumps(message, allow_nan=False) + "\n")
            w.proc.stdin.flush()
        except OSError:
            pass  # a dead worker: its closed stdout reports it in _wait

    def _wait(self) -> list[tuple[_Worker, str | None]]:
        """Wait for answers; return (worker, None if its clip is good, else what went wrong)."""
        active = [w for w in self._workers if w.job is not None]
        deadline = min(w.started + self._timeout(w.job[0]) for w in active)
        ready = multiprocessing.connection.wait(
            [w.proc.stdout for w in active], timeout=max(0.0, deadline - time.monotonic())
        )
        results = []
        for w in active:
            if w.proc.stdout in ready:
                results.append((w, self._collect(w)))
            elif time.monotonic() >= w.started + self._timeout(w.job[0]):
                self._replace(w)
                results.append((w, "the engine hung and was restarted"))
        return results

    def _collect(self, w: _Worker) -> str | None:
        line = w.proc.stdout.readline()
        if not line:
            self._replace(w)
            return "the engine crashed and was restarted"
        answer = json.loads(line)
        if answer.get("os_error"):
            # Writing the clip failed (a full or missing folder): no retry would mend it.
            errno, cause = answer["os_error"]
            raise OSError(errno, cause, str(w.job[1]))
        if answer.get("why"):
            self._replace(w)  # its engine is in a state that retrying there would not mend
            return answer["why"]
        if not answer.get("ok"):
            return "the engine stopped before the end"
        utterance, path = w.job
        return verify_clip(path, utterance.text, utterance.settings.rate)

    def _replace(self, w: _Worker) -> None:
        w.kill()
        w.proc = _spawn_worker()

    def close(self) -> None:
        for w in self._workers:
            with contextlib.suppress(OSError):
                w.proc.stdin.close()  # end of input: the worker exits
        for w in self._workers:
            with contextlib.suppress(subprocess.TimeoutExpired):
                w.proc.wait(timeout=2)
            w.kill()
        self._workers = []
