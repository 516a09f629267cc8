"""Building editions: article -> clips -> segments -> manifest -> formats.

``build()`` is the library's front door (the CLI is a thin layer over it). For each
article it synthesises only the sentences whose clips are not cached, encodes only the
segments whose audio changed, and leaves outputs untouched when nothing changed. All
outputs of an article are staged beside their final paths and renamed into place
together at the end, so a failure or a kill leaves the previous edition intact.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from . import __version__
from .config import VOICE_KEYS, Settings, load_settings
from .edition import BuildRecord, Manifest, read_manifest
from .errors import AudioEditionError, BuildFailed, DamagedEntry, SourceError, ToolMissingError
from .files import (
    ARTICLE_SUFFIXES,
    hash_key,
    looked_up_once,
    read_article_bytes,
    read_cover_bytes,
    slugify,
)
from .manifest import content_key, write_manifest
from .outputs import (
    Orphan,
    Stage,
    article_from_out,
    edition_article,
    intact,
    orphaned_editions,
    output_lock,
)
from .speech import (
    SAMPLE_FORMAT,
    Pyttsx3Engine,
    SpeechEngine,
    Utterance,
    VoiceSettings,
    resolve_voice,
)

if TYPE_CHECKING:
    from .assemble import Segment, Spoken
    from .cache import Cache, ClipInfo
    from .edition import Edition
    from .encode import Codec
    from .segment_queue import ClipBoard, SegmentQueue
    from .source import Article

# The no-change rebuild must answer in well under half a second, even for a long book,
# so the modules that pull in numpy, scipy, pydub and pysbd load only when there is work:
# each method imports what it needs.

# Edition names that belong to files listing every edition (the web page's index).
RESERVED_SLUGS = ("index",)
REPAIRS = 2  # builds again after finding damaged cache entries, before giving up


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


class Progress:
    """Told about synthesis as it happens; the CLI draws a bar, the library stays quiet."""

    def start(self, article: str, total: int) -> None: ...

    def advance(self) -> None: ...

    def finish(self) -> None: ...


@dataclass(frozen=True)
class Item:
    """One utterance of the edition, in order."""

    role: str  # "announcement" | "heading" | "sentence"
    text: str
    owner: str | int  # its paragraph's number, or "opening" / "closing"
    label: str  # where it is, for error messages


# ---------------------------------------------------------------- finding articles


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


# ---------------------------------------------------------------- checks


def check_ffmpeg() -> None:
    for tool in ("ffmpeg", "ffprobe"):
        if shutil.which(tool) is None:
            raise ToolMissingError(
                f"{tool} is not installed: run `make run` (it installs it) "
                "or `sudo apt-get install ffmpeg`"
            )


@lru_cache(maxsize=1)
def ffmpeg_identity() -> list:
    """Which ffmpeg, cheaply (no process): its binary's path, size and time."""
    check_ffmpeg()
    binary = Path(shutil.which("ffmpeg")).resolve()
    stat = binary.stat()
    return [str(binary), stat.st_size, stat.st_mtime_ns]


@looked_up_once
def ffmpeg_version() -> str:
    check_ffmpeg()
    out = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout
    return out.split("\n", 1)[0]


def prepare_out(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise AudioEditionError(f"{out}: cannot write the output folder ({exc.strerror})") from None


# ---------------------------------------------------------------- the builder


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
        self.engine = engine or Pyttsx3Engine()
        self.progress = progress or Progress()
        self.notify = notify
        self._cache: Cache | None = None
        self._held: contextlib.ExitStack | None = None
        self.uses: dict[str, dict] = {}  # slug -> the cache keys its edition uses
        self._keys: list[str] = []  # the clips of the article being built
        self._made = 0  # how many of them were synthesised
        self._segments_used: set[str] = set()

    @property
    def cache(self) -> Cache:
        if self._cache is None:
            from .cache import Cache, default_cache_dir

            cache = Cache(self.settings.cache_dir or default_cache_dir(self.project), self.notify)
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

    # -- inputs and voice
    def voice_for(self, article: Article) -> VoiceSettings:
        """The article's voice: the project file's, then its front matter's, then flags'."""
        merged = {k: self.settings.project_voice.get(k) for k in VOICE_KEYS}
        for layer in (article.speech, {k: getattr(self.settings, k) for k in VOICE_KEYS}):
            merged.update({k: v for k, v in layer.items() if v is not None})
        # Every value was checked when its file or flag was read (config.py).
        defaults = VoiceSettings()
        return VoiceSettings(
            voice=resolve_voice(self.engine, merged["voice"], article.language, article.path),
            **{k: getattr(defaults, k) if merged[k] is None else merged[k] for k in VOICE_KEYS[1:]},
        ).validate()

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
                asdict(s.pauses),
                s.opening,
                s.closing,
                s.loudness_lufs,
                s.true_peak_dbtp,
                _file_hash(s.cover),
            ],
            "engine": self.engine.identity(),
            "ffmpeg": ffmpeg_identity(),
        }
        return hash_key(payload)

    def items(self, article: Article) -> list[Item]:
        """Every utterance of the edition, in order."""
        items: list[Item] = []
        name = article.path.name
        if self.settings.opening:
            text = self._announce(self.settings.opening, article)
            items += _spoken("announcement", text, "opening", f"{name}: opening announcement")
        for number, para in enumerate(article.paragraphs, start=1):
            where = f"{name}: paragraph {number} (line {para.line})"
            if para.heading:
                items += _spoken("heading", para.heading, number, f"{where}, heading")
            items += [
                Item("sentence", t, number, f"{where}, sentence {i}")
                for i, t in enumerate(para.sentences, start=1)
            ]
        if self.settings.closing:
            text = self._announce(self.settings.closing, article)
            items += _spoken("announcement", text, "closing", f"{name}: closing announcement")
        return items

    def _announce(self, template: str, article: Article) -> str:
        byline = f"By {article.author}. " if article.author else ""
        if article.publisher:
            byline += f"Published by {article.publisher}. "
        return template.format(
            title=article.title,
            byline=byline,
            author=article.author or "",
            publisher=article.publisher or "",
            date=article.date or "",
        )

    # -- synthesis
    def clip_keys(self, items: Sequence[Item], voice: VoiceSettings) -> list[str]:
        engine_id, vdict = self.engine.identity(), asdict(voice)
        return [self.cache.clip_key(i.text, engine_id, vdict, SAMPLE_FORMAT) for i in items]

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
            jobs = [
                (Utterance(first[k].text, voice, first[k].label), scratch / f"{k}.wav")
                for k in missing
            ]
            self.progress.start(article, len(jobs))
            self._made = len(jobs)
            try:
                with self.cache.io("write"):  # speech workers write into the cache
                    infos.update(self._synthesize(jobs, ready))
            finally:
                self.progress.finish()
                for _, path in jobs:
                    path.unlink(missing_ok=True)
        return [infos[k] for k in keys], len(missing)

    def _synthesize(self, jobs: list, ready: Callable[[str, ClipInfo], None]) -> dict:
        """Speak the jobs; each clip is trimmed, limited and measured in a thread pool.

        Processing a clip costs about half as much as speaking it (7 ms against 12 ms of
        CPU for a sentence), and numpy releases the GIL, so it runs beside the speech
        workers instead of holding up the builder's thread: one processing thread per two
        workers keeps up, and each more would only add its arrays to the peak memory.
        """
        infos: dict[str, ClipInfo] = {}
        pending: set[Future] = set()

        def harvest(done: Iterable[Future]) -> None:
            for future in done:
                pending.discard(future)
                info = future.result()
                infos[info.key] = info
                ready(info.key, info)
                self.progress.advance()

        with ThreadPoolExecutor(max_workers=max(1, self.settings.jobs // 2)) as pool:
            for _, path in self.engine.synthesize(jobs, self.settings.jobs):
                pending.add(pool.submit(self.cache.add_clip, path.stem, path))
                harvest([f for f in pending if f.done()])
            harvest(list(as_completed(pending)))
        return infos

    # -- one article
    def build(self, path: Path) -> EditionResult:
        """Build one article's edition. If a damaged cache entry turns up (it is discarded
        at once), every clip the article uses is checked, and the build runs again, making
        anew what was discarded."""
        made = 0  # clips made by attempts that found damage: reused by the next one
        for attempt in range(REPAIRS + 1):
            self._made = 0
            try:
                result = self._build(path)
            except DamagedEntry as exc:
                if attempt == REPAIRS:
                    raise
                self.notify(f"{exc}; re-making it")
                self.cache.check_clips(self._keys)
                made += self._made
                continue
            result.synthesized, result.reused = result.synthesized + made, result.reused - made
            return result
        raise AssertionError("unreachable")

    def _build(self, path: Path) -> EditionResult:
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
        if not self.settings.force and old and _up_to_date(old, key, formats, self.out):
            return _result(path, old, formats, self.out, synthesized=0, changed=False)
        self.prefetch()
        from .source import article_from_bytes

        article = article_from_bytes(raw, path)
        voice = self.voice_for(article)
        items = self.items(article)
        keys = self._keys = self.clip_keys(items, voice)
        plan = self.plan(items, keys)
        cached = {k: self.cache.clip_info(k) for k in dict.fromkeys(keys)}
        self._segments_used = set()
        with self.cache.io("write"), self.encoder(items, keys, plan, formats, cached) as ready:
            clips, synthesized = self.clips(items, keys, voice, path.name, cached, ready)
        edition, segments = self.lay_out(article, items, plan, clips, voice, path)
        with Stage(self.out) as stage:
            outputs, staged = self.write_formats(edition, segments, old, formats, slug, stage)
            record = BuildRecord(
                outputs=outputs,
                input=key,
                generator=f"audio-edition {__version__}",
                article=article_from_out(path, self.out),
                utterances=len(items),  # headings and announcements may be in parts
            )
            manifest = Manifest(edition, record)
            changed = self.commit(slug, manifest, old, staged, stage)
        self.uses[slug] = {"clips": sorted(set(keys)), "segments": sorted(self._segments_used)}
        return _result(path, manifest, formats, self.out, synthesized, changed)

    def prefetch(self) -> None:
        """Start the look-ups a build needs that each cost a process (the engine's voices,
        ffmpeg's version: 0.1-0.3 s), so they run while the article is parsed and numpy
        loads. Errors are left for the build's own call, which raises them properly."""
        for call in (self.engine.voices, ffmpeg_version):
            threading.Thread(target=_quietly, args=(call,), daemon=True).start()

    def plan(self, items: list[Item], keys: list[str]) -> list[list[int]]:
        """Which utterances (by index) each segment holds."""
        from .assemble import plan_segments

        return plan_segments([i.owner for i in items], keys)

    def segment(self, members: list[tuple[Item, ClipInfo]]) -> Segment:
        """A segment from its clips: each clip normalised on its own, pauses between."""
        from .assemble import make_segment

        clips = dict(members)
        return make_segment(list(self.segment_parts([item for item, _ in members], clips.get)))

    def segment_parts(
        self, items: list[Item], clip_of: Callable[[Item], ClipInfo]
    ) -> Iterator[Spoken | int]:
        """A segment's clips and pauses in order, asking ``clip_of`` for each clip only
        when it is reached (an encoder streaming the segment waits there for speech)."""
        from .assemble import Spoken, paragraph_parts
        from .loudness import clip_gain

        # Half a dB under the ceiling: lossy encoding overshoots peaks a little.
        ceiling = self.settings.true_peak_dbtp - 0.5
        target = self.settings.loudness_lufs
        for owner in dict.fromkeys(item.owner for item in items):
            said = [item for item in items if item.owner == owner]
            for part in paragraph_parts(said, self.settings.pauses):
                if isinstance(part, int):
                    yield part
                    continue
                clip = clip_of(part)
                gain = clip_gain(clip.loudness, target, ceiling)
                yield Spoken(part.role, part.text, clip, gain, owner)

    @contextmanager
    def encoder(
        self,
        items: list[Item],
        keys: list[str],
        plan: list[list[int]],
        formats: list[str],
        cached: dict[str, ClipInfo | None],
    ) -> Iterator[Callable[[str, ClipInfo], None]]:
        """Encode every segment in the background, in the edition's order, as speech goes.

        A segment whose clips are all ``cached`` is named by its recipe at once and
        skipped if encoded before. Any other is streamed into its encoder clip by clip
        as each is spoken, and named when its last clip is in. Yields the
        ``ready(key, info)`` callback that ``clips()`` calls for every clip it makes.
        """
        from .segment_queue import ClipBoard, SegmentQueue

        board = ClipBoard({k: v for k, v in cached.items() if v is not None})
        with SegmentQueue(max(1, self.settings.jobs), early=1) as queue:
            try:
                for members in plan:
                    said = {items[n]: keys[n] for n in members}  # in order
                    for codec in self.codecs(formats):
                        self._queue_segment(queue, board, said, codec)
                yield board.put
            finally:
                # Speech is over, done or stopped: an encoder still waiting for a clip
                # must fail now, before the queue waits for its encoders.
                board.close()

    def _queue_segment(
        self, queue: SegmentQueue, board: ClipBoard, said: dict[Item, str], codec: Codec
    ) -> None:
        """Queue one segment's encoding (``said``: its utterances and their clip keys)."""
        from .assemble import write_parts, write_segment

        if all(key in board for key in said.values()):
            seg = self.segment([(item, board.wait(key)) for item, key in said.items()])
            dest = self.segment_file(seg, codec)
            if not self.cache.has_segment(dest):
                queue.submit(lambda sink: write_segment(seg, codec, self.cache, sink), codec, dest)
            return
        named: list[Path] = []

        def render(sink: BinaryIO) -> int:
            parts = self.segment_parts(list(said), lambda item: board.wait(said[item]))
            seg, samples = write_parts(parts, codec, self.cache, sink)
            named.append(self.segment_file(seg, codec))
            return samples

        queue.submit(render, codec, lambda: named[0], self.cache.segment_dir(codec.name))

    def codecs(self, formats: list[str]) -> list[Codec]:
        from .formats import FORMATS, with_needs

        return [c for n in with_needs(formats) if (c := FORMATS[n].codec) is not None]

    def segment_file(self, segment: Segment, codec: Codec) -> Path:
        key = segment.recipe_key(codec, ffmpeg_version())
        return self.cache.segment_path(codec.name, key, codec.segment_ext)

    def lay_out(self, article, items, plan, clips, voice, path) -> tuple[Edition, list[Segment]]:
        from .edition import Loudness, Voice
        from .loudness import integrated_loudness
        from .manifest import build_manifest

        segments = [self.segment([(items[n], clips[n]) for n in members]) for members in plan]
        predicted = integrated_loudness(
            (p.clip.loudness, p.gain_db)
            for seg in segments
            for p in seg.parts
            if not isinstance(p, int)
        )
        voice_info = Voice(
            voice=voice.voice,
            name=_voice_name(self.engine, voice.voice),
            engine=self.engine.identity(),
            rate=voice.rate,
            volume=voice.volume,
            pitch=voice.pitch,
        )
        loudness = Loudness(
            target_lufs=self.settings.loudness_lufs,
            # Silence has no loudness (-inf), and JSON has no infinity: null.
            predicted_lufs=round(predicted, 2) if math.isfinite(predicted) else None,
            true_peak_ceiling_dbtp=self.settings.true_peak_dbtp,
        )
        source = _display_path(path, self.project)
        return build_manifest(article, segments, voice_info, loudness, source), segments

    # -- dry run and housekeeping
    def status(self, path: Path) -> tuple[list[Item], int]:
        """The utterances a build would synthesise (each distinct one once), and the total."""
        from .source import read_article

        article = read_article(path, self.project)
        items = self.items(article)
        keys = self.clip_keys(items, self.voice_for(article))
        todo = {
            k: i
            for k, i in reversed(list(zip(keys, items, strict=True)))
            if self.cache.clip_info(k) is None
        }
        return sorted(todo.values(), key=items.index), len(items)

    def clean(self) -> tuple[int, int]:
        """Remove cached clips and segments that no edition of any project using this
        cache needs (as the projects' records say), once no build is using the cache."""
        with self.cache.lock(shared=False, notify=self.notify):
            return self.cache.clean()

    # -- formats
    def write_formats(
        self,
        edition: Edition,
        segments: list[Segment],
        old: Manifest | None,
        formats: list[str],
        slug: str,
        stage: Stage,
    ) -> tuple[dict[str, dict], list[str]]:
        """Stage every format whose content changed; keep the others as they are.

        Returns every output's record, and the file names staged (to publish)."""
        from .formats import FORMATS, Context, with_needs

        outputs: dict[str, dict] = {}
        staged: list[str] = []
        previous = old.record.outputs if old else {}
        content = content_key(edition)
        for name in with_needs(formats):
            fmt = FORMATS[name]
            final = self.out / f"{slug}{fmt.suffix}"
            inputs: dict = {"version": fmt.version}
            if fmt.codec is not None:
                paths = self.encode(segments, fmt.codec)
                inputs |= {"segments": [p.stem for p in paths]}
                inputs |= {"cover": _file_hash(self.settings.cover)}
            else:
                # A format that links every output (the web page) changes when any does.
                reads = outputs if fmt.links_all else fmt.needs
                inputs |= {"needs": {n: outputs[n]["fingerprint"] for n in reads}}
            fingerprint = hash_key({**inputs, "manifest": content})
            prev = previous.get(name)
            unchanged = prev and prev.get("fingerprint") == fingerprint and intact(final, prev)
            if unchanged and not self.settings.force:
                outputs[name] = prev
                continue
            context = Context(
                edition,
                stage.path(final.name),
                outputs={n: self._current(o, staged, stage) for n, o in outputs.items()},
                segments=paths if fmt.codec is not None else [],
                cover=self.settings.cover,
            )
            fmt.write(context)
            outputs[name] = {"path": final.name, **stage.record(final.name)}
            outputs[name] |= {"version": fmt.version, "fingerprint": fingerprint}
            staged.append(final.name)
        return outputs, staged

    def _current(self, info: dict, staged: list[str], stage: Stage) -> Path:
        """Where an output's bytes are now: staged this build, or already in place."""
        name = info["path"]
        return stage.folder / name if name in staged else self.out / name

    def encode(self, segments: list[Segment], codec: Codec) -> list[Path]:
        """Each segment's encoded file, encoding any the background did not (a safety net)."""
        from .assemble import write_segment
        from .segment_queue import SegmentQueue

        paths = [self.segment_file(s, codec) for s in segments]
        self._segments_used.update(p.stem for p in paths)
        with self.cache.io("write"), SegmentQueue(max(1, self.settings.jobs)) as queue:
            for seg, path in zip(segments, paths, strict=True):
                if not self.cache.segment_ok(path):
                    queue.submit(
                        lambda sink, s=seg: write_segment(s, codec, self.cache, sink), codec, path
                    )
        return paths

    def commit(
        self, slug: str, manifest: Manifest, old: Manifest | None, staged: list[str], stage: Stage
    ) -> bool:
        """Rename every staged output into place, the manifest last; remove stale ones."""
        stage.publish(staged)
        changed = bool(staged)
        outputs = manifest.record.outputs
        for name, info in (old.record.outputs if old else {}).items():
            if name in outputs:
                continue
            same = old is not None and content_key(old.edition) == content_key(manifest.edition)
            if same and intact(self.out / info["path"], info):
                outputs[name] = info  # not asked for this time, and still this edition's audio
            else:
                (self.out / info["path"]).unlink(missing_ok=True)  # stale: another edition's
                changed = True
        if changed or old != manifest:
            write_manifest(self.out / f"{slug}.json", manifest)
            changed = True
        return changed


# ---------------------------------------------------------------- helpers


def _spoken(role: str, text: str, owner: str | int, label: str) -> list[Item]:
    """A heading or an announcement as utterances: an over-long one (a 20,000-character
    title) in parts, as a sentence is, for the engine fails on text that long."""
    from .source import split_long

    parts = split_long(text)
    if len(parts) == 1:
        return [Item(role, text, owner, label)]
    return [Item(role, t, owner, f"{label}, part {i}") for i, t in enumerate(parts, start=1)]


def _file_hash(path: Path | None) -> str | None:
    if path is None:
        return None
    return hashlib.sha256(read_cover_bytes(path)).hexdigest()


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
        f in outputs
        and outputs[f].get("version") == FORMATS[f].version
        and intact(out / outputs[f]["path"], outputs[f])
        for f in with_needs(formats)
    )


def _voice_name(engine: SpeechEngine, voice_id: str) -> str:
    return next((v.name for v in engine.voices() if v.id == voice_id), voice_id)


def _display_path(path: Path, project: Path) -> str:
    try:
        return str(path.resolve().relative_to(project.resolve()))
    except ValueError:
        return str(path)


def _result(
    path: Path, manifest: Manifest, formats: list[str], out: Path, synthesized: int, changed: bool
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


# ---------------------------------------------------------------- the library's API


def build(
    paths: Sequence[Path | str] = (),
    *,
    project: Path | str = ".",
    out: Path | str | None = None,
    settings: Settings | None = None,
    progress: Progress | None = None,
    notify: Callable[[str], None] = lambda message: None,
) -> list[EditionResult]:
    """Build the audio edition of each article (default: every article in ``text/``).

    An article that cannot be built does not stop the others: ``BuildFailed``, holding
    every failure and the editions that were built, is raised at the end.

    >>> from audio_edition import build
    >>> results = build(["text/gwadar-editorial.txt"], out="audio")
    """
    project = Path(project)
    settings = settings or load_settings(project)
    out = Path(out) if out is not None else project / "audio"
    articles = find_articles([Path(p) for p in paths], project)
    check_ffmpeg()
    prepare_out(out)
    builder = Builder(project, out, settings, progress=progress, notify=notify)
    results: list[EditionResult] = []
    failures: list[AudioEditionError] = []
    with output_lock(out, notify), builder.sharing_cache():
        for path in articles:
            try:
                results.append(builder.build(path))
            except AudioEditionError as exc:  # this article's; the others are still built
                failures.append(exc)
        write_indexes(out)
    if failures:
        raise BuildFailed(failures, results)
    return results


def remove_orphans(out: Path, notify: Callable[[str], None]) -> list[Orphan]:
    """Remove every edition in ``out`` whose article is gone (``clean --outputs``)."""
    if not out.is_dir():
        return []
    with output_lock(out, notify):
        orphans = orphaned_editions(out)
        for orphan in orphans:
            for path in orphan.files:
                path.unlink(missing_ok=True)
        write_indexes(out)
    return orphans


def write_indexes(out: Path) -> None:
    """Files that list every edition in ``out`` (e.g. the web page's index): each format's
    ``write_index`` hook, for the built-in formats and the plug-ins this process used."""
    from .formats import FORMATS

    for fmt in FORMATS.loaded():
        fmt.write_index(out)


def json_report(
    results: Sequence[EditionResult], failures: Sequence[AudioEditionError] = ()
) -> str:
    report: dict = {"editions": [r.to_json() for r in results]}
    if failures:
        report["failed"] = [{"error": str(f)} for f in failures]
    return json.dumps(report, ensure_ascii=False, allow_nan=False)
