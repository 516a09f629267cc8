"""The speech worker pool: engine processes, timeouts, crash and hang recovery, and the
check of every clip. Engine-agnostic: an engine hands the pool its speaker module (see
``speech_worker``), and gets back verified clips with their word events.

What the pool guards against was measured with pyttsx3 over eSpeak NG, and holds for any
engine run out of process:

- an engine that keeps state between calls can mix them up, so a worker speaks exactly
  one utterance at a time;
- an engine can crash on some input (pyttsx3 segfaults on a call of about 13,500
  characters), so a crashed worker is replaced and its job retried, ``MAX_ATTEMPTS``
  times in all, before the error names the utterance;
- a wait for completion can hang, so every job has a timeout after which the worker is
  killed and replaced;
- an engine can claim success without a usable file, so every clip is checked here: it
  exists, decodes as ``SAMPLE_RATE`` mono 16-bit, and lasts plausibly long for its text.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import multiprocessing.connection
import subprocess
import sys
import threading
import time
import unicodedata
import wave
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

from .errors import SynthesisError, ToolMissingError
from .scripts import script_of
from .speech import SAMPLE_RATE, SpokenClip, Utterance, Voice, VoiceSettings, WordEvent

MAX_ATTEMPTS = 3


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


def speak_in_workers(
    speaker: Path,
    utterances: Iterable[tuple[Utterance, Path]],
    jobs: int,
    timeout_base: float,
    timeout_per_char: float,
) -> Iterator[SpokenClip]:
    """Speak the utterances in up to ``jobs`` workers running ``speaker`` (a speaker
    module's file); yield each verified clip as it is done. A job may take
    ``timeout_base + timeout_per_char * len(text)`` seconds before its worker is killed."""
    kept = _kept
    shape = (speaker, max(1, jobs), timeout_base, timeout_per_char)
    pool = (kept.take(shape) if kept else None) or _WorkerPool(*shape)
    whole = False
    try:
        yield from pool.run(utterances)
        whole = True
    finally:
        # A run cut short may leave workers with answers unread: never hand them on.
        if kept is not None and whole:
            kept.give_back(shape, pool)
        else:
            pool.close()


class KeptWorkers:
    """Idle worker pools kept between ``speak_in_workers`` calls, while a batch of
    articles is built: each article's speech then starts at once, with no engine to start
    (a worker's start costs eSpeak 0.1 s of CPU, Piper a second or more). A pool is taken
    out while it speaks, so two callers at once never share one."""

    def __init__(self) -> None:
        self._idle: dict[tuple, _WorkerPool] = {}
        self._lock = threading.Lock()
        self._closed = False

    def take(self, shape: tuple) -> _WorkerPool | None:
        with self._lock:
            return self._idle.pop(shape, None)

    def give_back(self, shape: tuple, pool: _WorkerPool) -> None:
        with self._lock:
            spare = pool if self._closed else self._idle.get(shape)
            if not self._closed:
                self._idle[shape] = pool
        if spare is not None:
            spare.close()

    def close(self) -> None:
        with self._lock:
            pools, self._idle, self._closed = list(self._idle.values()), {}, True
        for pool in pools:
            pool.close()


_kept: KeptWorkers | None = None  # while a batch keeps its workers (``keeping_workers``)
_kept_users = 0
_kept_lock = threading.Lock()


@contextlib.contextmanager
def keeping_workers() -> Iterator[None]:
    """Within: speech workers outlive each article's speech, for the next article. Nested
    or overlapping uses share the kept pools; the last to leave stops their workers."""
    global _kept, _kept_users
    with _kept_lock:
        _kept = _kept or KeptWorkers()
        _kept_users += 1
    try:
        yield
    finally:
        with _kept_lock:
            _kept_users -= 1
            done, _kept = (_kept, None) if _kept_users == 0 else (None, _kept)
        if done is not None:
            done.close()


def voices_in_worker(speaker: Path, engine: str, mend: str) -> list[Voice]:
    """The voices ``speaker`` lists, asked in a throwaway worker (listing may initialise
    an engine that cannot be torn down). ``engine`` names it and ``mend`` says how to
    repair it, in the error when it does not answer."""
    proc = _spawn_worker(speaker, "--voices")
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise ToolMissingError(f"{engine} did not answer when asked for its voices") from None
    if proc.returncode != 0 or not out.strip():
        raise ToolMissingError(f"{engine} could not list its voices: {mend}")
    return [Voice(v["id"], v["name"], tuple(v["languages"]), v["gender"]) for v in json.loads(out)]


def phonemes_in_worker(
    speaker: Path, texts: list[str], settings: VoiceSettings, engine: str, mend: str
) -> list[str]:
    """The IPA of each text, from ``speaker``'s ``phonemes`` in a throwaway worker: one
    process for them all (the phonemiser initialises an engine that cannot be torn down).
    ``engine`` and ``mend`` are for the error, as for ``voices_in_worker``."""
    if not texts:
        return []
    proc = _spawn_worker(speaker, "--phonemes")
    job = json.dumps({"texts": texts, "settings": asdict(settings)})
    try:
        out, _ = proc.communicate(job, timeout=60 + 0.05 * sum(map(len, texts)))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise ToolMissingError(f"{engine} did not answer when asked for phonemes") from None
    if proc.returncode != 0 or not out.strip():
        raise ToolMissingError(f"{engine} could not give phonemes: {mend}")
    try:
        return json.loads(out)
    except ValueError:  # something else wrote to the worker's output
        raise ToolMissingError(f"{engine} gave no readable phonemes: {mend}") from None


def _spawn_worker(speaker: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        # Run as a file, not with -m: -m would import the whole package first (its
        # __init__ loads the builder), 0.1 s of CPU for each worker. -P keeps the
        # package's own folder off sys.path, where its modules could shadow others.
        [
            sys.executable,
            "-P",
            str(Path(__file__).with_name("speech_worker.py")),
            str(speaker),
            *args,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        bufsize=1,
        # Own process group: a Ctrl-C reaches the builder, which stops its workers itself.
        start_new_session=True,
    )


@dataclass
class _Worker:
    speaker: Path
    proc: subprocess.Popen = field(init=False)
    job: tuple[Utterance, Path] | None = None
    started: float = 0.0
    attempts: int = 0
    words: tuple[WordEvent, ...] = ()  # of the job just answered

    def __post_init__(self) -> None:
        self.proc = _spawn_worker(self.speaker)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        # Closing flushes any job still buffered for the dead worker: the pipe is broken.
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        self.proc.stdout.close()


class _WorkerPool:
    def __init__(
        self, speaker: Path, size: int, timeout_base: float, timeout_per_char: float
    ) -> None:
        self._speaker = speaker
        self._size = size
        self._timeout_base = timeout_base
        self._timeout_per_char = timeout_per_char
        self._workers: list[_Worker] = []

    def _timeout(self, utterance: Utterance) -> float:
        return self._timeout_base + self._timeout_per_char * len(utterance.text)

    def run(self, jobs: Iterable[tuple[Utterance, Path]]) -> Iterator[SpokenClip]:
        pending = list(jobs)
        pending.reverse()  # pop() from the end keeps the article's order
        retries: list[tuple[tuple[Utterance, Path], int]] = []
        if not pending:
            return
        wanted = min(self._size, len(pending)) - len(self._workers)  # a kept pool has some
        self._workers += [_Worker(self._speaker) for _ in range(max(0, wanted))]
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
                    yield SpokenClip(job[0], job[1], w.words)
                elif attempts + 1 >= MAX_ATTEMPTS:
                    raise SynthesisError(
                        f"{job[0].label}: speech failed {MAX_ATTEMPTS} times ({problem})"
                    )
                else:
                    retries.append((job, attempts + 1))

    def _assign(self, w: _Worker, job: tuple[Utterance, Path], attempts: int) -> None:
        utterance, path = job
        path.unlink(missing_ok=True)
        w.job, w.attempts, w.started, w.words = job, attempts, time.monotonic(), ()
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
        w.words = tuple(WordEvent(*event) for event in answer.get("words", ()))
        return verify_clip(path, utterance.text, utterance.settings.rate)

    def _replace(self, w: _Worker) -> None:
        w.kill()
        w.proc = _spawn_worker(self._speaker)

    def close(self) -> None:
        for w in self._workers:
            with contextlib.suppress(OSError):
                w.proc.stdin.close()  # end of input: the worker exits
        for w in self._workers:
            with contextlib.suppress(subprocess.TimeoutExpired):
                w.proc.wait(timeout=2)
            w.kill()
        self._workers = []
