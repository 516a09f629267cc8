"""Synthesis: the clip of every utterance, from the cache or spoken by the engine.

The voice an article is read with is settled here (the project file's settings, then the
article's front matter, then flags); each utterance's clip key is a hash of what changes
its sound; clips not in the cache are spoken by the engine's workers, processed
(``clips.prepare``) beside them in threads, and kept in the cache.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING

from .config import VOICE_KEYS, Settings
from .speech import (
    SAMPLE_FORMAT,
    SpeechEngine,
    Utterance,
    VoiceSettings,
    WordEvent,
    resolve_voice,
)

if TYPE_CHECKING:
    from .cache import Cache, ClipInfo
    from .script import Item
    from .source import Article


class Progress:
    """Told about synthesis as it happens; the CLI draws a bar, the library stays quiet."""

    def start(self, article: str, total: int) -> None: ...

    def advance(self) -> None: ...

    def finish(self) -> None: ...

    def batch(self, articles: int) -> None:
        """A build of several ``articles`` begins (their speech may overlap)."""

    def article_done(self, article: str) -> None:
        """One article of the batch is over: built, up to date, or failed."""


def voice_for(article: Article, settings: Settings, engine: SpeechEngine) -> VoiceSettings:
    """The article's voice: the project file's, then its front matter's, then flags'."""
    merged = {k: settings.project_voice.get(k) for k in VOICE_KEYS}
    for layer in (article.speech, {k: getattr(settings, k) for k in VOICE_KEYS}):
        merged.update({k: v for k, v in layer.items() if v is not None})
    # Every value was checked when its file or flag was read (config.py).
    defaults = VoiceSettings()
    return VoiceSettings(
        voice=resolve_voice(engine, merged["voice"], article.language, article.path),
        **{k: getattr(defaults, k) if merged[k] is None else merged[k] for k in VOICE_KEYS[1:]},
    ).validate()


def voice_words(engine: SpeechEngine, voice_id: str) -> str:
    """The voice in plain words for the announcements' ``{voice}``, if the engine has any."""
    words = getattr(engine, "voice_words", None)
    return words(voice_id) if words is not None else ""


def voice_name(engine: SpeechEngine, voice_id: str) -> str:
    return next((v.name for v in engine.voices() if v.id == voice_id), voice_id)


class Synthesis:
    """Clips for one article's utterances; ``made`` counts those spoken so far."""

    def __init__(
        self, cache: Cache, engine: SpeechEngine, settings: Settings, progress: Progress
    ) -> None:
        self.cache = cache
        self.engine = engine
        self.settings = settings
        self.progress = progress
        self.made = 0
        self.stop: threading.Event | None = None  # set: stop speaking (the build is stopped)
        # Speaks the jobs elsewhere, yielding each clip kept in the cache (``cluster``).
        self.remote: Callable[[list], Iterable[ClipInfo]] | None = None

    def clip_keys(self, items: Sequence[Item], voice: VoiceSettings) -> list[str]:
        engine_id, vdict = self.engine.identity(), self.engine.settings_key(voice)
        # The text as said: a changed lexicon entry re-speaks exactly the sentences it is in.
        return [self.cache.clip_key(i.said, engine_id, vdict, SAMPLE_FORMAT) for i in items]

    def clips(
        self,
        items: Sequence[Item],
        keys: list[str],
        voice: VoiceSettings,
        article: str,
        cached: dict[str, ClipInfo | None],
        ready: Callable[[str, ClipInfo], None] = lambda key, info: None,
    ) -> tuple[list[ClipInfo], int]:
        """The clip for each item, synthesising those not ``cached``; and how many were made.

        ``ready`` hears of every clip made as soon as it is available, so encoding keeps
        pace with speech.
        """
        infos = dict(cached)
        missing = [k for k, v in infos.items() if v is None]
        if missing:
            first = {k: i for k, i in reversed(list(zip(keys, items, strict=True)))}
            scratch = self.cache.scratch_dir()
            # Named for this call too: another build, or another article of this batch,
            # may be speaking the same clip into the same scratch folder at this moment.
            token = uuid.uuid4().hex[:12]
            jobs = [
                (Utterance(first[k].said, voice, first[k].label), scratch / f"{k}.{token}.wav")
                for k in missing
            ]
            self.progress.start(article, len(jobs))
            self.made = len(jobs)
            try:
                with self.cache.io("write"):  # speech workers write into the cache
                    infos.update(self._speak(jobs, ready))
            finally:
                self.progress.finish()
                for _, path in jobs:
                    path.unlink(missing_ok=True)
        return [infos[k] for k in keys], len(missing)

    def _speak(self, jobs: list, ready: Callable[[str, ClipInfo], None]) -> dict:
        """Speak the jobs; each clip is trimmed, limited and measured in a thread pool.

        Processing a clip costs about half as much as speaking it (7 ms against 12 ms of
        CPU for a sentence), and numpy releases the GIL, so it runs beside the speech
        workers instead of holding up the builder's thread: one processing thread per two
        workers keeps up, and each more would only add its arrays to the peak memory.
        """
        infos: dict[str, ClipInfo] = {}
        if self.remote is not None:
            for info in self.remote(jobs):
                if self.stop is not None and self.stop.is_set():
                    raise KeyboardInterrupt  # as below: the rest are cancelled on the way out
                infos[info.key] = info
                ready(info.key, info)
                self.progress.advance()
            return infos
        pending: set[Future] = set()

        def harvest(done: Iterable[Future]) -> None:
            for future in done:
                pending.discard(future)
                info = future.result()
                infos[info.key] = info
                ready(info.key, info)
                self.progress.advance()

        with ThreadPoolExecutor(max_workers=max(1, self.settings.jobs // 2)) as pool:
            for clip in self.engine.synthesize(jobs, self.settings.jobs):
                if self.stop is not None and self.stop.is_set():
                    raise KeyboardInterrupt  # in an article's thread: Ctrl-C reached the main one
                pending.add(pool.submit(self.keep_clip, _key_of(clip.path), clip.path, clip.words))
                harvest([f for f in pending if f.done()])
            harvest(list(as_completed(pending)))
        return infos

    def keep_clip(self, key: str, wav: Path, words: Sequence[WordEvent] = ()) -> ClipInfo:
        """An engine's clip, processed (``clips.prepare``) and kept in the cache with its
        word events."""
        from .clips import prepare

        with self.cache.io("read"):
            clip = prepare(wav, [(w.offset, w.length, w.sample) for w in words])
        info = self.cache.put_clip(key, clip)
        wav.unlink(missing_ok=True)
        return info


def _key_of(scratch: Path) -> str:
    """The clip key of a scratch WAV (``KEY.TOKEN.wav``)."""
    return scratch.name.split(".", 1)[0]
