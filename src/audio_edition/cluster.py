"""Builds on a Dask cluster: sentences are spoken and segments encoded on its workers.

``build --cluster tcp://HOST:8786`` (or ``cluster =`` in the project file, or
``DASK_SCHEDULER_ADDRESS``) sends the two costly, independent kinds of work to a running
Dask distributed scheduler instead of the local pools:

- speaking a small batch of utterances: each clip is spoken, processed as the local
  build processes it (``Synthesis.keep_clip``) and kept in the shared cache, and its
  ``ClipInfo`` comes back;
- encoding a segment, once its clips are known, into the shared cache.

The client plans, lays out the manifest, remuxes the segments (stream copy) and writes
the formats, as a local build does. Every worker must see the client's cache at the same
path (``AUDIO_EDITION_CACHE`` on shared storage): each task checks that it does, and that
the worker's engine, voice, code and ffmpeg make the keys the client asked for, so a
worker set up otherwise fails the task with one line rather than caching clips under the
wrong key. A task is idempotent (the cache keeps the first clip made under a key), so
Dask may run it again elsewhere when its worker dies.

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
    from .encode import Codec
    from .layout import Layout
    from .script import Item

CONNECT_TIMEOUT = 10.0  # seconds to reach the scheduler, and for it to have a worker
BATCH = 16  # utterances in one task at most
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

    def __init__(self, address: str) -> None:
        self.address = address
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
            raise ClusterError(
                f"--cluster {self.address}: Dask is not installed: "
                "pip install 'audio-edition[cluster]'"
            ) from None
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

    # -- speech
    def speaker(self, cache: Cache, engine: SpeechEngine) -> Callable[[list], Iterator[ClipInfo]]:
        """For ``Synthesis.remote``: speaks its jobs ((utterance, path named by the clip's
        key)) on the workers, yielding each clip as its batch comes back."""

        def speak(jobs: list[tuple[Utterance, Path]]) -> Iterator[ClipInfo]:
            client, want = self.client(), self.want(cache, engine)
            # A scratch path is named KEY.TOKEN.wav (``Synthesis.clips``).
            tasks = [(path.name.split(".", 1)[0], utterance) for utterance, path in jobs]
            threads = max(1, sum(client.nthreads().values()))
            # Several batches per worker thread, so a long book spreads over the cluster.
            size = max(1, min(BATCH, math.ceil(len(tasks) / (3 * threads))))
            futures = [
                client.submit(speak_task, want, tasks[i : i + size], pure=False)
                for i in range(0, len(tasks), size)
            ]
            yield from (info for infos in self._results(futures) for info in infos)

        return speak

    # -- encoding
    @contextlib.contextmanager
    def encoder(
        self,
        layout: Layout,
        items: list[Item],
        keys: list[str],
        plan: list[list[int]],
        codecs: list[Codec],
        cached: dict[str, ClipInfo | None],
    ) -> Iterator[Callable[[str, ClipInfo], None]]:
        """As ``Layout.encoder``, on the workers: each segment is sent once its last clip
        is known. Yields the ``ready(key, info)`` callback synthesis calls for each clip."""
        from .tools import ffmpeg_version

        known = {k: v for k, v in cached.items() if v is not None}
        waiting: list[tuple[list[int], Codec, set[str]]] = []
        futures: list = []
        want: list[Want] = []

        def send(members: list[int], codec: Codec) -> None:
            segment = layout.segment([(items[n], known[keys[n]]) for n in members])
            dest = layout.segment_file(segment, codec)
            if not layout.cache.has_segment(dest):
                if not want:
                    want.append(self.want(layout.cache, _NoEngine(), ffmpeg_version()))
                task = (encode_task, want[0], segment, codec, str(dest))
                futures.append(self.client().submit(*task, pure=False))

        for members in plan:
            for codec in codecs:
                missing = {keys[n] for n in members} - known.keys()
                if missing:
                    waiting.append((members, codec, missing))
                else:
                    send(members, codec)

        def ready(key: str, info: ClipInfo) -> None:
            known[key] = info
            for entry in [e for e in waiting if key in e[2]]:
                entry[2].discard(key)
                if not entry[2]:
                    waiting.remove(entry)
                    send(entry[0], entry[1])

        yield ready
        # A segment a worker could not encode (a damaged clip) is encoded by the client's
        # safety net (``Layout.encoded``), which reports the damage as a local build does.
        for _ in self._results(futures):
            pass

    def _results(self, futures: list) -> Iterator:
        """Each future's result as it is done; on any error, the rest are cancelled."""
        from distributed import as_completed

        try:
            for future in as_completed(futures, loop=self.client().loop):
                yield self._result(future)
        finally:
            self.client().cancel([f for f in futures if not f.done()])

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


class _NoEngine:
    """An encoding task speaks nothing: it checks only the cache and ffmpeg."""

    name = ""

    def identity(self) -> str:
        return ""


# ---------------------------------------------------------------- the workers' side

_ENGINES: dict[str, SpeechEngine] = {}  # made once per worker process, by name
_KEEPING = contextlib.ExitStack()  # never closed: the worker process's life


def speak_task(want: Want, jobs: list[tuple[str, Utterance]]) -> list[ClipInfo]:
    """On a worker: the clip of each (key, utterance), from the shared cache or spoken,
    processed and kept there. Refuses if the worker would make another key."""
    from .config import Settings
    from .synthesis import Progress, Synthesis

    cache, engine = _cache(want), _engine(want.engine)
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
    found = {key: cache.clip_info(key) for key, _ in jobs}  # a task run again: kept before
    scratch = Path(tempfile.mkdtemp(prefix="audio-edition-"))  # this worker's own
    try:
        todo = [(u, scratch / f"{key}.wav") for key, u in jobs if found[key] is None]
        keeper = Synthesis(cache, engine, Settings(jobs=1), Progress())
        with cache.io("write"):
            for clip in engine.synthesize(todo, 1):
                found[clip.path.stem] = keeper.keep_clip(clip.path.stem, clip.path, clip.words)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return [info for info in found.values() if info is not None]


def encode_task(want: Want, segment: Segment, codec: Codec, dest: str) -> bool:
    """On a worker: encode the segment into the shared cache; False if a clip it needs
    turned out damaged (discarded: the client makes it again)."""
    from .assemble import write_segment
    from .encode import encode_stream
    from .tools import ffmpeg_version

    cache = _cache(want)
    if (mine := ffmpeg_version()) != want.ffmpeg:
        raise ClusterError(
            f"worker {_here()}: its ffmpeg is {mine}, the client's is {want.ffmpeg}: {SAME_SETUP}"
        )
    path = Path(dest)
    if cache.has_segment(path):
        return True
    try:
        with cache.io("write"):
            render = lambda sink: write_segment(segment, codec, cache, sink)  # noqa: E731
            encode_stream(render, codec, path, lock=cache.entry_lock)
    except DamagedEntry:
        return False
    return True


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
