"""Building editions: the library's front door, and the order of the stages.

``build()`` (the CLI is a thin layer over it) builds each article: read it, and
answer at once if nothing that decides its edition changed (the no-change rebuild);
else parse it (``source``), write its utterance script (``script``), get every clip from
the cache or the engine (``synthesis``) while the segments are encoded as the clips come
(``layout``), lay out the manifest, and stage and publish the formats (``outputs``).
Each stage is a module of its own; this one only keeps their order and the build's state.

A build of several articles has ``IN_FLIGHT`` of them under way at once, in threads (see
``Builder.build_all``): they take turns to speak, each with all the speech workers, kept
alive from one article to the next, while the others are parsed or finish (the last
segments encoded, the formats written).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .config import Settings, load_settings
from .edition import BuildRecord, Manifest, read_manifest
from .engines import ENGINES, default_engine
from .errors import AudioEditionError, BuildFailed, ClusterError, DamagedEntry, SourceError
from .files import (
    ARTICLE_SUFFIXES,
    cover_hash,
    hash_key,
    project_relative,
    read_article_bytes,
    slugify,
)
from .formats import needs_ffmpeg
from .outputs import (
    Stage,
    article_from_out,
    commit,
    edition_article,
    intact,
    output_lock,
    write_formats,
    write_indexes,
)
from .speech import SpeechEngine
from .synthesis import Progress
from .tools import check_ffmpeg, ffmpeg_identity, ffmpeg_version

if TYPE_CHECKING:
    from .cache import Cache

# The no-change rebuild must answer in well under half a second, even for a long book,
# so the modules that pull in numpy, scipy, pydub and pysbd load only when there is work:
# the stages are imported where they are used.

# Edition names that belong to files listing every edition (the web page's index).
RESERVED_SLUGS = ("index",)
REPAIRS = 2  # builds again after finding damaged cache entries, before giving up
# Articles of a batch under way at once: one speaking while another finishes (its last
# segments encoded, its formats written) keeps both cores busy across articles; measured
# on 40 short articles (tests/bench.py batch), see the README.
IN_FLIGHT = 2

__all__ = ["Builder", "EditionResult", "Progress", "build", "find_articles", "json_report"]


@dataclass
class EditionResult:
    """What one article's build did; ``--json`` prints these."""

    source: str
    outputs: dict[str, str]
    paragraphs: int
    sentences: int
    synthesized: int
    reused: int
    duration_ms: int
    changed: bool

    def to_json(self) -> dict:
        return asdict(self)


def find_articles(paths: Sequence[Path], project: Path) -> list[Path]:
    """The articles named (files or folders); none named: every article in ``text/``."""
    targets = list(paths) or [project / "text"]
    found: list[Path] = []
    for target in targets:
        if not target.exists():
            raise SourceError(f"{target}: no such file or folder")
        if target.is_dir():
            articles = sorted(p for p in target.iterdir() if p.suffix.lower() in ARTICLE_SUFFIXES)
            if not articles:
                raise SourceError(f"{target}: no articles (*.txt, *.md) in this folder")
            found.extend(articles)
        elif target.suffix.lower() not in ARTICLE_SUFFIXES:
            raise SourceError(f"{target}: not an article (use .txt or .md)")
        else:
            found.append(target)
    slugs: dict[str, Path] = {}
    for path in found:
        other = slugs.setdefault(slugify(path.stem), path)
        if other != path:
            raise SourceError(f"{path}: builds to the same edition name as {other}")
    return found


def prepare_out(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise AudioEditionError(f"{out}: cannot write the output folder ({exc.strerror})") from None


class Builder:
    """Builds editions for one project with one set of settings."""

    def __init__(
        self,
        project: Path,
        out: Path,
        settings: Settings,
        engine: SpeechEngine | None = None,
        progress: Progress | None = None,
        notify: Callable[[str], None] = lambda message: None,
    ) -> None:
        self.project = project
        self.out = out
        self.settings = settings
        self._given_engine = engine
        self.engine = engine or default_engine(engine_name(settings))
        self._engines = {self.engine.name: self.engine}
        self.progress = progress or Progress()
        self.notify = notify
        self._cache: Cache | None = None
        self._cache_made = threading.Lock()  # articles of a batch ask for it at once
        self._engines_made = threading.Lock()
        self._held: contextlib.ExitStack | None = None
        self._turns = _Turns(1, settings)
        self._stop = threading.Event()
        self.uses: dict[str, dict] = {}  # slug -> the cache keys its edition uses
        self._lexicon = None
        self.cluster = _cluster(settings)  # None: speak and encode here

    @property
    def cache(self) -> Cache:
        with self._cache_made:
            if self._cache is None:
                from .maintenance import project_cache

                cache = project_cache(self.project, self.settings, self.notify)
                if self._held is not None:
                    self._held.enter_context(cache.lock(shared=True, notify=self.notify))
                self._cache = cache
            return self._cache

    @contextmanager
    def sharing_cache(self) -> Iterator[None]:
        """For a build: the cache, from its first use (a build with nothing to do never
        touches it), is held shared with other builds until the end, when what this
        build's editions use is recorded for ``clean``."""
        with contextlib.ExitStack() as held:
            self._held = held
            try:
                yield
                if self.uses:
                    self.cache.record_use(self.project, self.out, self.uses)
            finally:
                self._held = None
                if self.cluster is not None:
                    self.cluster.close()

    def project_lexicon(self):
        """The project's pronunciation lexicon (lexicon.py), read once per build."""
        if self._lexicon is None:
            from .lexicon import project_lexicon

            self._lexicon = project_lexicon(self.project, self.settings)
        return self._lexicon

    @functools.cache  # noqa: B019  (one per builder, which lives as long as its build)
    def _lexicon_fingerprint(self) -> str:
        return self.project_lexicon().fingerprint()

    def input_key(self, raw: bytes) -> str:
        """Everything that decides an edition, known before parsing: for the fast path."""
        s = self.settings
        payload = {
            "version": __version__,
            "source": hashlib.sha256(raw).hexdigest(),
            "settings": [
                s.project_voice,
                s.voice,
                s.rate,
                s.volume,
                s.pitch,
                s.engine,
                asdict(s.pauses),
                s.opening,
                s.closing,
                s.loudness_lufs,
                s.true_peak_dbtp,
                cover_hash(s.cover),
            ],
            "engine": self.engine.identity(),
            "ffmpeg": ffmpeg_identity() if needs_ffmpeg(s.formats) else None,
        }
        lexicon = self.project_lexicon()
        if lexicon.entries or lexicon.acronyms:  # none: the key is as it was before lexicons
            payload["lexicon"] = self._lexicon_fingerprint()
        return hash_key(payload)

    def build_all(self, paths: Sequence[Path]) -> list[EditionResult | AudioEditionError]:
        """Build each article's edition; an article that cannot be built gives its error in
        its place, and the others are still built. Several articles are under way at once
        (``IN_FLIGHT``); the answers come in the articles' order."""
        if len(paths) <= 1:
            return [self._built_or_error(p) for p in paths]
        self.progress.batch(len(paths))
        self._stop.clear()
        self._turns = _Turns(len(paths), self.settings, self._stop)
        pool = ThreadPoolExecutor(IN_FLIGHT, thread_name_prefix="article")
        try:
            futures = [pool.submit(self._built_or_error, p, True) for p in paths]
            return [f.result() for f in futures]
        except BaseException:
            self._stop.set()  # Ctrl-C: the articles under way stop at their next clip
            raise
        finally:
            # Stopped (Ctrl-C, a bug): articles not begun are dropped, those under way end.
            pool.shutdown(wait=True, cancel_futures=True)
            self._turns.close()
            self._turns = _Turns(1, self.settings)

    def _built_or_error(self, path: Path, batch: bool = False) -> EditionResult | AudioEditionError:
        try:
            return self.build(path)
        except AudioEditionError as exc:  # this article's; the others are still built
            return exc
        finally:
            self._turns.over(path)
            if batch:
                self.progress.article_done(path.name)

    def build(self, path: Path) -> EditionResult:
        """Build one article's edition. If a damaged cache entry turns up (it is discarded
        at once), every clip the article uses is checked, and the build runs again, making
        anew what was discarded."""
        made = 0  # clips made by attempts that found damage: reused by the next one
        for attempt in range(REPAIRS + 1):
            tried = _Attempt()  # per article: articles of a batch overlap
            try:
                result = self._build(path, tried)
            except DamagedEntry as exc:
                if attempt == REPAIRS:
                    raise
                self.notify(f"{exc}; re-making it")
                self.cache.check_clips(tried.keys)
                made += tried.made()
                continue
            result.synthesized, result.reused = result.synthesized + made, result.reused - made
            return result
        raise AssertionError("unreachable")

    def _build(self, path: Path, tried: _Attempt) -> EditionResult:
        raw = read_article_bytes(path, self.project)
        slug = slugify(path.stem)
        if slug in RESERVED_SLUGS:
            raise SourceError(
                f"{path}: the edition name {slug!r} is reserved for the list of editions "
                f"({slug}.html); rename the article"
            )
        manifest_path = self.out / f"{slug}.json"
        formats = list(self.settings.formats)
        old = read_manifest(manifest_path)
        _check_owner(path, old, manifest_path)
        key = self.input_key(raw)
        fresh = old is not None and _up_to_date(old, key, formats, self.out)
        fresh = fresh and self._same_engine(old)
        if not self.settings.force and fresh:
            return _result(path, old, self.out, synthesized=0, changed=False)
        self.prefetch()
        edition, layout, items, synthesized = self._speak_and_lay_out(raw, path, formats, tried)
        with Stage(self.out) as stage:
            outputs = write_formats(
                edition, old, formats, slug, stage, self.settings, layout.encoded
            )
            record = BuildRecord(
                outputs=outputs,
                input=key,
                generator=f"audio-edition {__version__}",
                article=article_from_out(path, self.out),
                utterances=len(items),  # headings and announcements may be in parts
            )
            manifest = Manifest(edition, record)
            changed = commit(slug, manifest, old, stage)
        keys = sorted(set(tried.keys))
        self.uses[slug] = {"clips": keys, "segments": sorted(layout.used)}
        return _result(path, manifest, self.out, synthesized, changed)

    def _speak_and_lay_out(self, raw: bytes, path: Path, formats: list[str], tried: _Attempt):
        """Parse the article, get every clip (encoding segments as they come), lay it out."""
        from .edition import Voice
        from .formats import codecs_for
        from .layout import Layout, lay_out_edition, plan
        from .lexicon import lexicon_for
        from .script import utterance_script
        from .source import article_from_bytes
        from .synthesis import Synthesis, voice_for, voice_name, voice_words

        article = article_from_bytes(raw, path)
        engine = self.engine_for(article)
        voice = voice_for(article, self.settings, engine)
        # Every IPA in the lexicon checked against the engine before anything is spoken.
        lexicon, markup = lexicon_for(self.project_lexicon(), article, engine)
        words = voice_words(engine, voice.voice)
        items = utterance_script(article, self.settings, words, lexicon, markup)
        synthesis = tried.synthesis = Synthesis(self.cache, engine, self.settings, self.progress)
        synthesis.stop = self._stop
        keys = tried.keys = synthesis.clip_keys(items, voice)
        segment_plan = plan(items, keys)
        cached = {k: self.cache.clip_info(k) for k in dict.fromkeys(keys)}
        layout = Layout(self.cache, self.settings, self._turns.encoders)
        codecs = codecs_for(formats)
        if self.cluster is not None:  # the cluster's workers speak and encode
            from .cluster import ArticleTasks, Script

            script = Script(items, keys, segment_plan)
            work = ArticleTasks(self.cluster, self.cache, engine, layout, script, codecs, cached)
            synthesis.remote, encoder = work.speak, work.encoding()
        else:
            encoder = layout.encoder(items, keys, segment_plan, codecs, cached)
        # On a cluster, articles in flight need not take turns: its workers are shared.
        speaks = None in cached.values() and self.cluster is None
        with contextlib.ExitStack() as tail:  # the encoders finish after this article's turn
            tail.enter_context(self.cache.io("write"))
            with self._turns.turn(path, speaks=speaks):
                if speaks:  # clips the article ahead made while this one waited its turn
                    cached.update({k: self.cache.clip_info(k) for k, v in cached.items() if not v})
                ready = tail.enter_context(encoder)
                clips, synthesized = synthesis.clips(items, keys, voice, path.name, cached, ready)
        segments = layout.lay_out(items, segment_plan, clips)
        info = Voice(
            voice=voice.voice,
            name=voice_name(engine, voice.voice),
            engine=engine.identity(),
            rate=voice.rate,
            volume=voice.volume,
            pitch=voice.pitch,
        )
        source = project_relative(path, self.project)
        edition = lay_out_edition(article, segments, info, self.settings, source)
        return edition, layout, items, synthesized

    def engine_for(self, article) -> SpeechEngine:
        """The article's engine: the one given in code, else the flag's, the front
        matter's or the project file's (``engine_name``)."""
        if self._given_engine is not None:
            return self._given_engine
        return self._engine_named(engine_name(self.settings, article))

    def _engine_named(self, name: str) -> SpeechEngine:
        with self._engines_made:  # articles of a batch ask at once: make each engine once
            if name not in self._engines:
                self._engines[name] = default_engine(name)
            return self._engines[name]

    def _same_engine(self, old: Manifest) -> bool:
        """Whether the engine that read ``old`` is here at the same version. The input key
        has the flag's or project file's engine only: an article may choose another in its
        front matter, which the key cannot see before parsing."""
        made_by = old.edition.voice.engine
        if self._given_engine is not None or made_by == self.engine.identity():
            return True
        for name in ENGINES:
            with contextlib.suppress(AudioEditionError):  # an engine not installed here
                if self._engine_named(name).identity() == made_by:
                    return True
        return False

    def prefetch(self) -> None:
        """Start the look-ups a build needs that each cost a process (the engine's voices,
        ffmpeg's version: 0.1-0.3 s), so they run while the article is parsed and numpy
        loads. Errors are left for the build's own call, which raises them properly."""
        calls: list[Callable[[], object]] = [self.engine.voices]
        if needs_ffmpeg(self.settings.formats):
            calls.append(ffmpeg_version)
        for call in calls:
            threading.Thread(target=_quietly, args=(call,), daemon=True).start()


def engine_name(settings: Settings, article=None) -> str:
    """The engine's name: the flag's, then the article's front matter, then the project
    file's (the same ranking as the voice's), else eSpeak."""
    for layer in (
        {"engine": settings.engine},
        getattr(article, "speech", {}),
        settings.project_voice,
    ):
        if layer.get("engine"):
            return layer["engine"]
    return "espeak"


class _Turns:
    """The articles of a batch take turns to speak, each with every speech worker, kept
    alive from one article to the next until no article is left to speak. A build of
    one article neither waits nor keeps its workers (they stop when its speech ends)."""

    def __init__(
        self, articles: int, settings: Settings, stop: threading.Event | None = None
    ) -> None:
        self._left = articles  # articles that may still speak
        self._stop = stop  # set: the build is stopped (Ctrl-C), so no turn begins
        self._over: set[Path] = set()
        self._speaking = threading.Lock()
        self._counting = threading.Lock()
        self._kept = contextlib.ExitStack()
        self._keeping = False
        # Segment encoders at once across the batch's articles: --jobs, as for one article.
        self.encoders = threading.Semaphore(max(1, settings.jobs)) if articles > 1 else None

    @contextmanager
    def turn(self, path: Path, speaks: bool) -> Iterator[None]:
        """The article's turn to speak (if it ``speaks``); its speech is over after it."""
        try:
            self._check_stop()
            if not speaks or self._left <= 1:
                yield
                return
            with self._speaking:
                self._check_stop()  # it may have waited while the article ahead stopped
                if not self._keeping:
                    from .speech_pool import keeping_workers

                    self._kept.enter_context(keeping_workers())
                    self._keeping = True
                yield
        finally:
            self.over(path)

    def _check_stop(self) -> None:
        if self._stop is not None and self._stop.is_set():
            raise KeyboardInterrupt  # as ``Synthesis`` raises it in an article's thread

    def over(self, path: Path) -> None:
        """This article will not speak (again): the last one's end stops the workers."""
        with self._counting:
            if path in self._over:
                return
            self._over.add(path)
            self._left -= 1
            last = self._left == 0
        if last:
            self.close()

    def close(self) -> None:
        self._kept.close()


class _Attempt:
    """One attempt at an article's build: what the repair after a damaged entry needs."""

    def __init__(self) -> None:
        self.keys: list[str] = []  # the article's clips
        self.synthesis = None

    def made(self) -> int:
        return self.synthesis.made if self.synthesis is not None else 0


def _one_cluster_error(failures: list[AudioEditionError]) -> list[AudioEditionError]:
    """The failures, with the cluster's (unreachable, a worker set up otherwise) said once:
    every article of the batch met the same one."""
    first = next((f for f in failures if isinstance(f, ClusterError)), None)
    return [f for f in failures if not isinstance(f, ClusterError) or f is first]


def _cluster(settings: Settings):
    """The Dask cluster to build on (``--cluster``, ``cluster =``, or the address Dask's
    own tools read), if any: the cluster module, and Dask, load only then."""
    address = settings.cluster or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if not address:
        return None
    from .cluster import Cluster

    return Cluster(address, from_environment=not settings.cluster)


def _quietly(call: Callable[[], object]) -> None:
    with contextlib.suppress(Exception):
        call()


def _check_owner(path: Path, old: Manifest | None, manifest_path: Path) -> None:
    """Refuse to overwrite another article's edition of the same name (built earlier, from
    another folder); an edition whose article is gone (renamed) may be taken over."""
    other = edition_article(old.record.article if old else None, manifest_path.parent)
    if other and other != path.resolve() and other.is_file():
        raise SourceError(
            f"{path}: builds to the same edition name as {other} ({manifest_path}); "
            "rename one of them"
        )


def _up_to_date(old: Manifest, key: str, formats: list[str], out: Path) -> bool:
    """Whether the edition is built from these inputs, with every format's current version
    (a new version of a format, a plug-in's too, rewrites its files), and still intact."""
    from .formats import FORMATS, with_needs

    outputs = old.record.outputs
    return old.record.input == key and all(
        FORMATS[f].index_only  # no file per edition (the feed)
        or f in outputs
        and outputs[f].get("version") == FORMATS[f].version
        and intact(out / outputs[f]["path"], outputs[f])
        for f in with_needs(formats)
    )


def _result(
    path: Path, manifest: Manifest, out: Path, synthesized: int, changed: bool
) -> EditionResult:
    edition, record = manifest.edition, manifest.record
    count = record.utterances
    if count is None:  # not recorded: count what the edition says
        count = len(edition.utterances())
    return EditionResult(
        source=str(path),
        outputs={f: str(out / o["path"]) for f, o in record.outputs.items()},
        paragraphs=len(edition.paragraphs),
        sentences=len(edition.sentences),
        synthesized=synthesized,
        reused=count - synthesized,
        duration_ms=edition.duration_ms,
        changed=changed,
    )


def build(
    paths: Sequence[Path | str] = (),
    *,
    project: Path | str = ".",
    out: Path | str | None = None,
    settings: Settings | None = None,
    progress: Progress | None = None,
    notify: Callable[[str], None] = lambda message: None,
    engine: SpeechEngine | None = None,
) -> list[EditionResult]:
    """Build the audio edition of each article (default: every article in ``text/``).

    An article that cannot be built does not stop the others: ``BuildFailed``, holding
    every failure and the editions that were built, is raised at the end. ``engine``
    speaks (default: eSpeak NG; ``engines.fake.FakeEngine`` in tests).

    >>> from audio_edition import build
    >>> results = build(["text/gwadar-editorial.txt"], out="audio")
    """
    project = Path(project)
    settings = settings or load_settings(project)
    out = Path(out) if out is not None else project / "audio"
    articles = find_articles([Path(p) for p in paths], project)
    if needs_ffmpeg(settings.formats):
        check_ffmpeg()
    prepare_out(out)
    builder = Builder(project, out, settings, engine, progress, notify)
    builder.project_lexicon()  # a bad lexicon: one error, before any article is built
    with output_lock(out, notify), builder.sharing_cache():
        built = builder.build_all(articles)
        results = [r for r in built if isinstance(r, EditionResult)]
        failures = _one_cluster_error([r for r in built if isinstance(r, AudioEditionError)])
        write_indexes(out, settings, notify, changed=any(r.changed for r in results))
    if failures:
        raise BuildFailed(failures, results)
    return results


def json_report(
    results: Sequence[EditionResult], failures: Sequence[AudioEditionError] = ()
) -> str:
    report: dict = {"editions": [r.to_json() for r in results]}
    if failures:
        report["failed"] = [{"error": str(f)} for f in failures]
    return json.dumps(report, ensure_ascii=False, allow_nan=False)
