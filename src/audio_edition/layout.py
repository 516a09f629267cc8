"""Layout and encoding: the edition's utterances laid out in segments, with exact timings.

One segment plan serves both the encoders and the manifest. Every segment is queued for
its encoder before speech starts, in the edition's order: a segment whose clips are all
cached is named by its recipe at once (and skipped if encoded before); any other is
streamed into its encoder clip by clip as each is spoken, and named when its last clip is
in. The same segments, with the clips' lengths, give the manifest its times.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from .config import Settings
from .tools import ffmpeg_version

if TYPE_CHECKING:
    from .assemble import Part, Segment
    from .cache import Cache, ClipInfo
    from .edition import Edition, Voice
    from .encode import Codec
    from .script import Item
    from .segment_queue import ClipBoard, SegmentQueue
    from .source import Article


def plan(items: list[Item], keys: list[str]) -> list[list[int]]:
    """Which utterances (by index) each segment holds: the one segment plan."""
    from .assemble import plan_segments

    return plan_segments([i.owner for i in items], keys, sizes=[len(i.text) for i in items])


class Layout:
    """Segments of one edition: laid out, encoded, and named in the cache."""

    def __init__(
        self, cache: Cache, settings: Settings, slots: threading.Semaphore | None = None
    ) -> None:
        self.cache = cache
        self.settings = settings
        self.slots = slots  # a batch's bound on encoders at once, shared by its articles
        self.used: set[str] = set()  # the segment files this edition uses
        self.laid: list[Segment] = []

    def lay_out(
        self, items: list[Item], plan: list[list[int]], clips: list[ClipInfo]
    ) -> list[Segment]:
        """The edition's segments, once every clip is known (they give the times)."""
        self.laid = [self.segment([(items[n], clips[n]) for n in members]) for members in plan]
        return self.laid

    def segment(self, members: list[tuple[Item, ClipInfo]]) -> Segment:
        """A segment from its clips: each clip normalised on its own, pauses between."""
        from .assemble import make_segment

        clips = dict(members)
        return make_segment(list(self.segment_parts([item for item, _ in members], clips.get)))

    def segment_parts(
        self, items: list[Item], clip_of: Callable[[Item], ClipInfo]
    ) -> Iterator[Part]:
        """A segment's clips and pauses in order, asking ``clip_of`` for each clip only
        when it is reached (an encoder streaming the segment waits there for speech)."""
        from .assemble import Silence, Spoken, paragraph_parts
        from .loudness import clip_gain

        # Half a dB under the ceiling: lossy encoding overshoots peaks a little.
        ceiling = self.settings.true_peak_dbtp - 0.5
        target = self.settings.loudness_lufs
        for owner in dict.fromkeys(item.owner for item in items):
            said = [item for item in items if item.owner == owner]
            for part in paragraph_parts(said, self.settings.pauses):
                if isinstance(part, Silence):
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
        codecs: list[Codec],
        cached: dict[str, ClipInfo | None],
    ) -> Iterator[Callable[[str, ClipInfo], None]]:
        """Encode every segment in the background, in the edition's order, as speech goes.

        Yields the ``ready(key, info)`` callback that synthesis calls for every clip it
        makes.
        """
        from .segment_queue import ClipBoard, SegmentQueue

        board = ClipBoard({k: v for k, v in cached.items() if v is not None})
        with SegmentQueue(
            max(1, self.settings.jobs), 1, self.cache.entry_lock, self.slots
        ) as queue:
            try:
                for members in plan:
                    said = {items[n]: keys[n] for n in members}  # in order
                    for codec in codecs:
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

    def segment_file(self, segment: Segment, codec: Codec) -> Path:
        key = segment.recipe_key(codec, ffmpeg_version())
        return self.cache.segment_path(codec.name, key, codec.segment_ext)

    def encoded(self, codec: Codec) -> list[Path]:
        """Each laid-out segment's encoded file, encoding any the background did not (a
        safety net), and any whose bytes are not those written (discarded, with a notice)."""
        from .assemble import write_segment
        from .segment_queue import SegmentQueue

        paths = [self.segment_file(s, codec) for s in self.laid]
        self.used.update(p.stem for p in paths)
        with (
            self.cache.io("write"),
            SegmentQueue(
                max(1, self.settings.jobs), None, self.cache.entry_lock, self.slots
            ) as queue,
        ):
            for seg, path in zip(self.laid, paths, strict=True):
                if not self.cache.segment_ok(path):
                    queue.submit(
                        lambda sink, s=seg: write_segment(s, codec, self.cache, sink), codec, path
                    )
        return paths


def lay_out_edition(
    article: Article, segments: list[Segment], voice: Voice, settings: Settings, source: str
) -> Edition:
    """The edition laid out as ``segments``, with its predicted loudness."""
    from .edition import Loudness
    from .loudness import integrated_loudness
    from .manifest import build_manifest

    predicted = integrated_loudness(
        (p.clip.loudness, p.gain_db) for seg in segments for p in seg.clips()
    )
    loudness = Loudness(
        target_lufs=settings.loudness_lufs,
        # Silence has no loudness (-inf), and JSON has no infinity: null.
        predicted_lufs=round(predicted, 2) if math.isfinite(predicted) else None,
        true_peak_ceiling_dbtp=settings.true_peak_dbtp,
    )
    return build_manifest(article, segments, voice, loudness, source)
