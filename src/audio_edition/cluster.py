"""Builds on a Dask cluster: sentences are spoken and segments encoded on its workers.

``build --cluster tcp://HOST:8786`` (or ``cluster =`` in the project file, or
``DASK_SCHEDULER_ADDRESS``) sends the two costly, independent kinds of work to a running
Dask distributed scheduler instead of the local pools. A task speaks the missing clips of
a run of an article's consecutive segments (each clip processed as the local build
processes it, ``Synthesis.keep_clip``, and kept in the shared cache) and encodes those
segments into the cache on the same worker as their clips come in; the clips'
``ClipInfo`` come back. A segment whose clips are all cached is a task of its own, as is
one whose clips several tasks speak (a sentence said twice, or a segment too big for one
task on a big cluster). Measured on the bench's batch of 40 articles, one task
for both did better than a speech task and then an encoding task per segment (1.09 to
1.18x the local build's time against 1.19 to 1.23x): 80 tasks instead of 358, no round trip
through the client between speaking and encoding, and the worker's speech beside its
encoder.

The client plans, lays out the manifest, remuxes the segments (stream copy) and writes
the formats, as a local build does. Every worker must see the client's cache at the same
path (``AUDIO_EDITION_CACHE`` on shared storage): each task checks that it does, and that
the worker's engine, voice, code and ffmpeg make the keys the client asked for, so a
worker set up otherwise fails the task with one line rather than caching clips under the
wrong key. A task is idempotent (the cache keeps the first clip and segment made under a
key), so Dask may run it again elsewhere when its worker dies.

Dask is imported only here, and only once a build has something to speak or encode.
"""

from __future__ import annotations

import contextlib
import math
import shutil
import socket
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .encode import _one_line
from .errors import AudioEditionError, ClusterError, DamagedEntry
from .speech import SAMPLE_FORMAT, SpeechEngine, Utterance

if TYPE_CHECKING:
    from .assemble import Segment
    from .cache import Cache, ClipInfo
    from .config import Settings
    from .encode import Codec
    from .layout import Layout
    from .script import Item

CONNECT_TIMEOUT = 10.0  # seconds to reach the scheduler, and for it to have a worker
BATCH = 16  # utterances in one task at most
MIN_TASK = 8  # and at least, unless the article has fewer to speak
SAME_SETUP = "install the same audio-edition, engine, voice and ffmpeg on every worker"


@dataclass(frozen=True)
class Want:
    """What a task checks on its worker before working: the client's engine (by name and
    identity), the shared cache (its path, and a file the client made in it) and ffmpeg."""

    engine: str
    identity: str
    cache: str
    token: str
    ffmpeg: str = ""


class Cluster:
    """The client's side: connects on first use, submits tasks, and turns what goes wrong
    into one line naming the scheduler."""

    def __init__(self, address: str, from_environment: bool = False) -> None:
        self.address = address
        self.from_environment = from_environment  # DASK_SCHEDULER_ADDRESS named it
        self._client = None
        self._tokens: dict[Path, str] = {}  # cache root -> the file the workers look for
        self._lock = threading.Lock()  # articles built in several threads share one client
        self._failed: str | None = None  # why it could not connect: said at once after

    def client(self):
        with self._lock:
            if self._failed is not None:
                raise ClusterError(self._failed)
            if self._client is None:
                try:
                    self._client = self._connect()
                except ClusterError as exc:
                    self._failed = str(exc)
                    raise
            return self._client

    def _connect(self):
        try:
            from distributed import Client
        except ImportError:
            raise ClusterError(self._not_installed()) from None
        try:
            client = Client(self.address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except Exception as exc:  # OSError, TimeoutError, ValueError for a bad address...
            raise ClusterError(
                f"{self.address}: cannot reach the Dask scheduler ({_one_line(exc)})"
            ) from None
        try:
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
        except Exception:
            client.close()
            raise ClusterError(
                f"{self.address}: the Dask scheduler has no workers: "
                f"start `dask worker {self.address}` on each machine"
            ) from None
        return client

    def _not_installed(self) -> str:
        install = "pip install 'audio-edition[cluster]'"
        if self.from_environment:  # perhaps set for other Dask work: say how to build here
            return (
                f"DASK_SCHEDULER_ADDRESS={self.address}: Dask is not installed: {install}, "
                "or unset DASK_SCHEDULER_ADDRESS to build on this machine"
            )
        return f"--cluster {self.address}: Dask is not installed: {install}"

    def close(self) -> None:
        """At the end of a build: the next one (``--watch``) connects, or tries, again."""
        for root, token in self._tokens.items():
            (root / token).unlink(missing_ok=True)
        self._tokens.clear()
        self._failed = None
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None

    def want(self, cache: Cache, engine: SpeechEngine, ffmpeg: str = "") -> Want:
        root = cache.root.resolve()
        with self._lock:
            if root not in self._tokens:
                token = cache.scratch_dir().resolve() / f"cluster-{uuid.uuid4().hex}"
                token.touch()
                self._tokens[root] = str(token.relative_to(root))
        return Want(engine.name, engine.identity(), str(root), self._tokens[root], ffmpeg)

    def cancel(self, futures: list) -> None:
        pending = [f for f in futures if not f.done()]
        if pending:
            with contextlib.suppress(Exception):  # the client may be gone already
                self.client().cancel(pending)

    def _results(self, futures: list) -> Iterator:
        """Each future's result as it is done; on any error, the rest are cancelled."""
        if not futures:  # nothing sent: the cluster need not be reached at all
            return
        from distributed import as_completed

        try:
            for future in as_completed(futures, loop=self.client().loop):
                yield self._result(future)
        finally:
            self.cancel(futures)

    def _result(self, future):
        try:
            return future.result()
        except (AudioEditionError, OSError):
            raise  # the task's own error: a local build raises the same
        except ImportError as exc:
            raise ClusterError(
                f"{self.address}: a worker cannot run the task ({_one_line(exc)}): {SAME_SETUP}"
            ) from None
        except Exception as exc:  # KilledWorker, a lost scheduler (CancelledError)...
            raise ClusterError(
                f"{self.address}: the cluster failed the build ({type(exc).__name__}: "
                f"{_one_line(exc)})"
            ) from None


@dataclass(frozen=True)
class Script:
    """An article's utterances, their clip keys and its segment plan (``layout.plan``)."""

    items: list[Item]
    keys: list[str]
    plan: list[list[int]]


@dataclass(frozen=True)
class Encoding:
    """What a speech task also encodes once its clips are in: segments, as the
    utterances and clip keys of each, laid out by ``Layout`` with these settings."""

    settings: Settings
    codecs: list[Codec]
    segments: list[list[tuple[Item, str]]]


class ArticleTasks:
    """One article's tasks. Each speaks the missing clips of a run of consecutive
    segments and encodes those segments on its worker as their clips come in, where the
    clips are: one task where a separate speech and encoding task each cost a round trip
    through the client, and the worker's speech overlaps its encoder. A segment whose
    clips are all cached is an encoding task of its own, sent at once; one whose clips
    several tasks speak (a sentence said twice, a segment too big for one task) is sent
    once they are all back. ``speak`` is ``Synthesis.remote``; ``encoding()`` is entered
    before it, as ``Layout.encoder`` is."""

    def __init__(
        self,
        cluster: Cluster,
        cache: Cache,
        engine: SpeechEngine,
        layout: Layout,
        script: Script,
        codecs: list[Codec],
        cached: dict[str, ClipInfo | None],
    ) -> None:
        self.cluster, self.cache, self.engine, self.layout = cluster, cache, engine, layout
        self.script, self.codecs = script, codecs
        self.known = {k: v for k, v in cached.items() if v is not None}
        self.waiting: list[tuple[list[int], set[str]]] = []  # segments and missing clips
        self.futures: list = []  # encoding tasks
        self._want: Want | None = None

    def want(self) -> Want:
        from .tools import ffmpeg_version

        if self._want is None:
            self._want = self.cluster.want(self.cache, self.engine, ffmpeg_version())
        return self._want

    # -- speech
    def speak(self, jobs: list[tuple[Utterance, Path]]) -> Iterator[ClipInfo]:
        """For ``Synthesis.remote``: speaks its jobs ((utterance, path named by the clip's
        key)) on the workers, yielding each clip as its task comes back."""
        client, want = self.cluster.client(), self.want()
        # A scratch path is named KEY.TOKEN.wav (``Synthesis.clips``).
        todo = {path.name.split(".", 1)[0]: utterance for utterance, path in jobs}
        threads = max(1, sum(client.nthreads().values()))
        # Several tasks per worker thread, so a long book spreads over the cluster; not
        # fewer than MIN_TASK utterances, as a task's round trip costs a few milliseconds.
        size = max(MIN_TASK, min(BATCH, math.ceil(len(todo) / (3 * threads))))
        futures = [
            client.submit(speak_task, want, task, encoding, pure=False)
            for task, encoding in self._tasks(todo, size)
        ]
        yield from (info for infos in self.cluster._results(futures) for info in infos)

    def _tasks(self, todo: dict[str, Utterance], size: int) -> Iterator[tuple[list, Encoding]]:
        """The jobs in runs of whole segments of about ``size`` utterances, each with the
        segments it completes (taken from those waiting). A segment of over twice
        ``size`` to speak (a big cluster, a long book) is spoken in tasks of ``size`` and
        left waiting, to be encoded once they are all back: a book then spreads over
        more workers than it has segments."""
        jobs: list[tuple[str, Utterance]] = []
        mine: list[list[int]] = []
        for entry in list(self.waiting):
            members, missing = entry
            new = [(k, todo.pop(k)) for k in dict.fromkeys(self._keys(members)) if k in todo]
            if len(new) > 2 * size:
                yield from (
                    (new[i : i + size], self._encoding([])) for i in range(0, len(new), size)
                )
                continue
            jobs += new
            if missing <= {k for k, _ in jobs}:
                self.waiting.remove(entry)
                mine.append(members)
            if len(jobs) >= size:
                yield jobs, self._encoding(mine)
                jobs, mine = [], []
        jobs += list(todo.items())  # none: every clip belongs to a segment
        if jobs:
            yield jobs, self._encoding(mine)

    def _keys(self, members: list[int]) -> list[str]:
        return [self.script.keys[n] for n in members]

    def _encoding(self, segments: list[list[int]]) -> Encoding:
        items, keys = self.script.items, self.script.keys
        said = [[(items[n], keys[n]) for n in members] for members in segments]
        return Encoding(self.layout.settings, self.codecs, said)

    # -- encoding
    @contextlib.contextmanager
    def encoding(self) -> Iterator[Callable[[str, ClipInfo], None]]:
        """Sends each segment whose clips are all cached; yields the ``ready(key, info)``
        callback synthesis calls for each clip, which sends a segment left waiting once
        its clips are in; then waits for the encoding tasks."""
        for members in self.script.plan:
            missing = set(self._keys(members)) - self.known.keys()
            if missing:
                self.waiting.append((members, missing))
            else:
                self._send(members)
        try:
            yield self._ready
            # A segment a worker could not encode (a damaged clip) is encoded by the
            # client's safety net (``Layout.encoded``), which reports the damage as a
            # local build does.
            for _ in self.cluster._results(self.futures):
                pass
        finally:  # an article stopped: its tasks are not left to run on
            self.cluster.cancel(self.futures)

    def _ready(self, key: str, info: ClipInfo) -> None:
        self.known[key] = info
        for entry in [e for e in self.waiting if key in e[1]]:
            entry[1].discard(key)
            if not entry[1]:
                self.waiting.remove(entry)
                self._send(entry[0])

    def _send(self, members: list[int]) -> None:
        layout, items, keys = self.layout, self.script.items, self.script.keys
        segment = layout.segment([(items[n], self.known[keys[n]]) for n in members])
        dests = [(codec, str(layout.segment_file(segment, codec))) for codec in self.codecs]
        dests = [(codec, dest) for codec, dest in dests if not layout.cache.has_segment(Path(dest))]
        if dests:
            task = (encode_task, self.want(), segment, dests)
            self.futures.append(self.cluster.client().submit(*task, pure=False))


# ---------------------------------------------------------------- the workers' side

_ENGINES: dict[str, SpeechEngine] = {}  # made once per worker process, by name
_KEEPING = contextlib.ExitStack()  # never closed: the worker process's life


def speak_task(
    want: Want, jobs: list[tuple[str, Utterance]], encoding: Encoding | None = None
) -> list[ClipInfo]:
    """On a worker: the clip of each (key, utterance), from the shared cache or spoken,
    processed and kept there; and the ``encoding``'s segments encoded into the cache as
    their clips come in. Refuses if the worker would make another key."""
    cache, engine = _cache(want), _engine(want.engine)
    _check_keys(want, engine, cache, jobs)
    if encoding is not None and encoding.segments:
        _check_ffmpeg(want)
    found = {key: cache.clip_info(key) for key, _ in jobs}  # a task run again: kept before
    with _SegmentsAsClipsCome(cache, encoding) as segments:
        segments.clips_in(found)
        for key, info in _spoken(cache, engine, [(k, u) for k, u in jobs if not found[k]]):
            found[key] = info
            segments.clips_in({key: info})
    return [info for info in found.values() if info is not None]


def _check_keys(want: Want, engine: SpeechEngine, cache: Cache, jobs: list) -> None:
    mine = engine.identity()
    if mine != want.identity:
        raise ClusterError(
            f"worker {_here()}: its engine is {mine}, the client's is {want.identity}: "
            f"{SAME_SETUP} (nothing was cached)"
        )
    for key, utterance in jobs:
        voice = engine.settings_key(utterance.settings)
        if cache.clip_key(utterance.text, mine, voice, SAMPLE_FORMAT) != key:
            raise ClusterError(
                f"worker {_here()}: {utterance.label}: its clip key differs from the client's "
                f"(another voice file or version of audio-edition): {SAME_SETUP}"
            )


def _spoken(
    cache: Cache, engine: SpeechEngine, jobs: list[tuple[str, Utterance]]
) -> Iterator[tuple[str, ClipInfo]]:
    """Speak the jobs, keeping each clip in the cache as the local build keeps it."""
    from .config import Settings
    from .synthesis import Progress, Synthesis

    scratch = Path(tempfile.mkdtemp(prefix="audio-edition-"))  # this worker's own
    try:
        todo = [(u, scratch / f"{key}.wav") for key, u in jobs]
        keeper = Synthesis(cache, engine, Settings(jobs=1), Progress())
        with cache.io("write"):
            for clip in engine.synthesize(todo, 1):
                key = clip.path.stem
                yield key, keeper.keep_clip(key, clip.path, clip.words)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


class _SegmentsAsClipsCome:
    """A speech task's segments, each encoded in a thread beside the speech as soon as
    its last clip is in (one at a time: the speech process and one encoder keep the
    worker's core and a half busy). Clips it does not speak come from the cache."""

    def __init__(self, cache: Cache, encoding: Encoding | None) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.cache = cache
        self.encoding = encoding
        self.left = list(encoding.segments) if encoding else []
        self.known: dict[str, ClipInfo] = {}
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="segment") if self.left else None
        self.encodes: list = []

    def __enter__(self) -> _SegmentsAsClipsCome:
        return self

    def clips_in(self, infos: dict[str, ClipInfo | None]) -> None:
        self.known.update({k: v for k, v in infos.items() if v is not None})
        for said in [s for s in self.left if all(key in self.known for _, key in s)]:
            self.left.remove(said)
            members = [(item, self.known[key]) for item, key in said]
            self.encodes.append(self.pool.submit(self._encode, members))

    def __exit__(self, kind, error, trace) -> None:
        if self.pool is None:
            return
        if kind is None and self.left:  # clips another task speaks, or cached before
            self.clips_in({k: self.cache.clip_info(k) for s in self.left for _, k in s})
        self.pool.shutdown(wait=True, cancel_futures=kind is not None)
        if kind is None:
            for done in self.encodes:
                done.result()  # the first error of an encoder, as a local build raises it

    def _encode(self, members: list[tuple[Item, ClipInfo]]) -> None:
        from .layout import Layout

        layout = Layout(self.cache, self.encoding.settings)
        segment = layout.segment(members)
        for codec in self.encoding.codecs:
            _encode_segment(self.cache, segment, codec, layout.segment_file(segment, codec))


def encode_task(want: Want, segment: Segment, dests: list[tuple[Codec, str]]) -> None:
    """On a worker: encode the segment into the shared cache, once per (codec, file)."""
    cache = _cache(want)
    _check_ffmpeg(want)
    for codec, dest in dests:
        _encode_segment(cache, segment, codec, Path(dest))


def _encode_segment(cache: Cache, segment: Segment, codec: Codec, path: Path) -> None:
    """A clip found damaged is discarded, and the segment left: the client's safety net
    (``Layout.encoded``) makes the clip again and encodes it, naming the damage."""
    from .assemble import write_segment
    from .encode import encode_stream

    if cache.has_segment(path):
        return
    with contextlib.suppress(DamagedEntry), cache.io("write"):
        render = lambda sink: write_segment(segment, codec, cache, sink)  # noqa: E731
        encode_stream(render, codec, path, lock=cache.entry_lock)


def _check_ffmpeg(want: Want) -> None:
    from .tools import ffmpeg_version

    if (mine := ffmpeg_version()) != want.ffmpeg:
        raise ClusterError(
            f"worker {_here()}: its ffmpeg is {mine}, the client's is {want.ffmpeg}: {SAME_SETUP}"
        )


def _cache(want: Want) -> Cache:
    from .cache import Cache

    root = Path(want.cache)
    if not (root / want.token).exists():
        raise ClusterError(
            f"worker {_here()}: cannot see the client's cache {root}: every worker needs "
            "the shared cache folder at the same path (AUDIO_EDITION_CACHE)"
        )
    return Cache(root)


def _engine(name: str) -> SpeechEngine:
    if name not in _ENGINES:
        from .engines import default_engine
        from .speech_pool import keeping_workers

        # A worker speaks many small batches: its speech processes stay up for its life.
        _KEEPING.enter_context(keeping_workers())
        if name == "fake":
            from .engines.fake import FakeEngine

            _ENGINES[name] = FakeEngine()
        else:
            _ENGINES[name] = default_engine(name)
    return _ENGINES[name]


def _here() -> str:
    with contextlib.suppress(Exception):
        from distributed import get_worker

        return get_worker().address
    return socket.gethostname()
