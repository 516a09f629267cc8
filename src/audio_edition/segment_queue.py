"""Encoding segments in background threads, one ffmpeg process per segment.

Segments are queued in the edition's order before any speech starts; each thread takes
the next and pipes its PCM into its own ffmpeg (see ``encode.encode_stream`` for why not
several segments per ffmpeg), waiting on the ``ClipBoard`` for each clip still being
spoken. Encoding thus keeps pace with speech, and when the last sentence is spoken only
its own audio is left to encode.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from .encode import Codec, encode_stream
from .errors import AudioEditionError

if TYPE_CHECKING:
    from .cache import ClipInfo

_STOP = None
EntryLock = Callable[[Path], AbstractContextManager]


class SegmentQueue:
    """``with SegmentQueue(jobs) as q: q.submit(render, codec, dest)``; waits on exit.

    ``render(sink)`` writes the segment's PCM and returns its samples; it runs in the
    worker thread. The first error stops the queue and is raised on exit.
    """

    def __init__(
        self,
        jobs: int,
        early: int | None = None,
        lock: EntryLock | None = None,
        slots: threading.Semaphore | None = None,
    ) -> None:
        """``jobs`` encoders in all; only ``early`` of them until the ``with`` block ends.

        While the block runs, the caller is still speaking the edition, and its speech
        workers keep the cores busy: a second encoder would only add its memory (about
        30 MB) to the peak, not speed. Once the block ends, every encoder takes work.
        """
        self._queue: queue.Queue = queue.Queue()
        self._error: BaseException | None = None
        self._threads = [threading.Thread(target=self._work, daemon=True) for _ in range(jobs)]
        self._early = len(self._threads) if early is None else max(1, early)
        self._lock = lock  # the cache's entry lock (``Cache.entry_lock``)
        # Encoders running at once across every queue sharing ``slots`` (a batch's).
        self._slots = slots or contextlib.nullcontext()

    def __enter__(self) -> SegmentQueue:
        for t in self._threads[: self._early]:
            t.start()
        return self

    def submit(
        self,
        render: Callable[[BinaryIO], int],
        codec: Codec,
        dest: Path | Callable[[], Path],
        scratch: Path | None = None,
    ) -> None:
        """Queue one segment; ``dest`` and ``scratch`` as for ``encode.encode_stream``."""
        if self._error is None:
            self._queue.put((render, codec, dest, scratch))

    def __exit__(self, kind, value, traceback) -> None:
        running = self._threads[: self._early]
        if kind is not None:
            self._error = self._error or value  # stop taking work; don't wait for a backlog
        else:
            for t in self._threads[self._early :]:
                t.start()
            running = self._threads
        for _ in running:
            self._queue.put(_STOP)
        for t in running:
            t.join()
        if kind is None and self._error is not None:
            raise self._error

    def _work(self) -> None:
        while (job := self._queue.get()) is not _STOP:
            if self._error is not None:
                continue
            try:
                with self._slots:
                    encode_stream(*job, lock=self._lock)
            except BaseException as exc:  # raised again in the builder's thread
                self._error = self._error or exc


class ClipBoard:
    """The clips known so far, for encoder threads that wait for the ones being spoken."""

    def __init__(self, known: dict[str, ClipInfo]) -> None:
        self._known = dict(known)
        self._closed = False
        self._changed = threading.Condition()

    def __contains__(self, key: str) -> bool:
        with self._changed:
            return key in self._known

    def put(self, key: str, info: ClipInfo) -> None:
        with self._changed:
            self._known[key] = info
            self._changed.notify_all()

    def wait(self, key: str) -> ClipInfo:
        """The clip, once it is available; an error if no more clips will come."""
        with self._changed:
            while key not in self._known:
                if self._closed:
                    raise AudioEditionError(f"clip {key[:12]} was never made")
                self._changed.wait()
            return self._known[key]

    def close(self) -> None:
        """No more clips will come (speech is done, or stopped): wake every waiter."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
