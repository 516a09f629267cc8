"""Assembly: a segment's audio from its clips and pauses, and exact timings.

The edition is a sequence of segments, each a run of about six paragraphs chosen by
their content (``plan_segments``; the announcements are paragraphs of their own). Each
segment's audio is made with pydub from its clips: trimmed speech, sentence pauses, a
longer pause around a heading, and the paragraph pause after each paragraph. Each
segment is encoded on its own and cached (see ``encode``), so a segment's timing must
not depend on its neighbours: it starts and ends in silence, and it is padded so that it
decodes to the same whole number of samples in every codec. Then one timeline, counted
in samples, holds for the M4B and the MP3 alike, and every time in the manifest is an
exact sample position, converted to milliseconds once.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol, TypeVar

import numpy as np
from pydub import AudioSegment

from .cache import Cache, ClipInfo
from .config import Pauses
from .encode import AAC, MP3, SAMPLE_RATE, Codec, segment_samples
from .files import hash_key, sha256_file
from .loudness import apply_gain

if TYPE_CHECKING:
    from .spoken import SpokenText

CODECS: tuple[Codec, ...] = (AAC, MP3)  # every segment is aligned for all of them


@dataclass(frozen=True)
class Spoken:
    """One clip in a segment: a sentence, a heading or an announcement."""

    role: str  # "sentence" | "heading" | "announcement"
    text: str
    clip: ClipInfo
    gain_db: float
    owner: str | int  # its paragraph's number, or "opening" / "closing"
    spoken: SpokenText | None = None  # the text as said, when it differs from ``text``

    @property
    def samples(self) -> int:
        return self.clip.samples


@dataclass(frozen=True)
class Silence:
    """A pause in a segment, in samples."""

    samples: int


Part = Spoken | Silence  # what a segment is made of, in order


@dataclass(frozen=True)
class Segment:
    """A stretch of the edition encoded on its own: its parts and where each clip sits."""

    parts: tuple[Part, ...]
    lead: int  # silence before the content, so content starts at the same decoded sample
    length: int  # decoded length in samples, equal in every codec

    def spans(self) -> list[tuple[Spoken, int, int]]:
        """Each clip with its start and end, in samples from the segment's decoded start."""
        pos, out = self.lead, []
        for part in self.parts:
            if isinstance(part, Spoken):
                out.append((part, pos, pos + part.samples))
            pos += part.samples
        return out

    def clips(self) -> list[Spoken]:
        return [p for p in self.parts if isinstance(p, Spoken)]

    def content_samples(self) -> int:
        return sum(p.samples for p in self.parts)

    def recipe_key(self, codec: Codec, encoder: str) -> str:
        """The cache key of this segment encoded with ``codec``: its exact PCM and encoder."""
        # A silence as its length, a clip as [key, gain]: the recipe as it has always been
        # written, so the keys of segments already in caches stay the same.
        parts = [
            [p.clip.key, p.gain_db] if isinstance(p, Spoken) else p.samples for p in self.parts
        ]
        pre, post = pads(self.content_samples(), self.lead, self.length, codec)
        return hash_key(
            {
                "encoder": encoder,
                "writer": writer_version(),
                "args": codec.encode_args(),
                "pre": pre,
                "post": post,
                "parts": parts,
            }
        )


@lru_cache(maxsize=1)
def writer_version() -> str:
    """A hash of the code that turns clips into a segment's PCM (this module and the gain
    it applies), so a change to it re-encodes the segments it changes."""
    from .clips import processing_version

    return hash_key({"assemble": sha256_file(Path(__file__)), "clips": processing_version()})


def ms_to_samples(ms: float) -> int:
    return round(ms * SAMPLE_RATE / 1000)


class _Said(Protocol):
    role: str


S = TypeVar("S", bound=_Said)


def paragraph_parts(spoken: Sequence[S], pauses: Pauses) -> list[S | Silence]:
    """One paragraph's (or announcement's) utterances with the pauses between them.

    A heading (all its parts, if it was too long for one) gets a longer pause before and
    after it; the paragraph pause ends it.
    """
    parts: list[S | Silence] = []
    if spoken and spoken[0].role == "heading":
        parts.append(pause(pauses.heading_before_ms))
    for i, item in enumerate(spoken):
        parts.append(item)
        if i + 1 < len(spoken):
            after_heading = item.role == "heading" and spoken[i + 1].role != "heading"
            gap = pauses.heading_after_ms if after_heading else pauses.sentence_ms
            parts.append(pause(gap))
    parts.append(pause(pauses.paragraph_ms))
    return parts


def pause(ms: float) -> Silence:
    return Silence(ms_to_samples(ms))


def aligned_lead() -> int:
    """Silence each codec's decoder puts before a segment's first sample, at its largest."""
    return max(c.lead_samples for c in CODECS)


def aligned_length(content: int) -> int:
    """The smallest decoded length every codec can give a segment holding ``content``."""
    step = math.lcm(*(c.frame_samples for c in CODECS))
    lead = aligned_lead()
    length = step * math.ceil((content + lead) / step)
    while any(_fill(content, lead, length, c) is None for c in CODECS):
        length += step
    return length


def _fill(content: int, lead: int, length: int, codec: Codec) -> tuple[int, int] | None:
    """PCM silence (pre, post) around the content so ``codec`` decodes to ``length``."""
    pre = lead - codec.lead_samples
    pcm = codec.frame_samples * math.floor((length - codec.lead_samples) / codec.frame_samples)
    while pcm >= pre + content and segment_samples(pcm, codec) > length:
        pcm -= codec.frame_samples
    if pcm < pre + content or segment_samples(pcm, codec) != length:
        return None
    return pre, pcm - pre - content


def pads(content: int, lead: int, length: int, codec: Codec) -> tuple[int, int]:
    fill = _fill(content, lead, length, codec)
    if fill is None:  # aligned_length guarantees a fill exists
        raise AssertionError(f"segment of {content} samples cannot be aligned for {codec.name}")
    return fill


def make_segment(parts: Sequence[Part]) -> Segment:
    content = sum(p.samples for p in parts)
    return Segment(tuple(parts), aligned_lead(), aligned_length(content))


SEGMENT_EVERY = 6  # paragraphs per segment, on average
SEGMENT_MOST = 24
# Characters of text per segment at most (about two and a half minutes of speech): a cut
# decided by hashes alone can, by chance, leave most of a short article in one segment,
# and an edit there re-encodes all of it (the sample's edit took 2.7 s instead of 1.0 s).
SEGMENT_MOST_CHARS = 2500


def plan_segments(
    owners: Sequence[str | int],
    keys: Sequence[str],
    every: int = SEGMENT_EVERY,
    most: int = SEGMENT_MOST,
    sizes: Sequence[int] | None = None,
    most_chars: int = SEGMENT_MOST_CHARS,
) -> list[list[int]]:
    """Cut the edition's utterances (by index) into segments, each encoded on its own.

    Starting an encoder costs ffmpeg about 70 ms of CPU, so a segment holds several
    paragraphs. Where one ends is decided by content, as in content-defined chunking: after
    a paragraph whose clips hash to 0 modulo ``every``, or after ``most`` paragraphs, or
    before the paragraph that would take it past ``most_chars`` characters of text
    (``sizes``: each utterance's length).
    Editing, inserting or moving a paragraph then changes the segment around it and
    leaves the others as they were, so a rebuild re-encodes a few minutes of audio at most.
    The announcements are segments of their own.
    """
    units: list[tuple[str | int, list[int]]] = []
    for index, owner in enumerate(owners):
        if units and units[-1][0] == owner:
            units[-1][1].append(index)
        else:
            units.append((owner, [index]))
    segments: list[list[int]] = []
    current: list[int] = []
    count = chars = 0
    for owner, members in units:
        if isinstance(owner, str):  # an announcement
            segments += [current, members] if current else [members]
            current, count, chars = [], 0, 0
            continue
        size = sum(sizes[i] for i in members) if sizes is not None else 0
        if current and chars + size > most_chars:
            segments.append(current)
            current, count, chars = [], 0, 0
        current += members
        count += 1
        chars += size
        digest = hashlib.sha256("".join(keys[i] for i in members).encode()).digest()
        if int.from_bytes(digest[:8], "big") % every == 0 or count >= most:
            segments.append(current)
            current, count, chars = [], 0, 0
    if current:
        segments.append(current)
    return segments


def write_segment(segment: Segment, codec: Codec, cache: Cache, sink: BinaryIO) -> int:
    """Write the segment's PCM (s16le mono) for one codec to ``sink``; return its samples."""
    return write_parts(segment.parts, codec, cache, sink)[1]


def write_parts(
    parts: Iterable[Part], codec: Codec, cache: Cache, sink: BinaryIO
) -> tuple[Segment, int]:
    """Write a segment's PCM for one codec as its parts come; return it and its samples.

    ``parts`` may be a generator that waits for each clip while it is still being spoken:
    the silence before the content does not depend on it, and the silence after it is
    worked out once the last part is in. Each clip and pause is a pydub AudioSegment
    written as it comes: never a whole segment in memory, and never repeated `+`
    (concatenating pairwise is quadratic).
    """
    pre = aligned_lead() - codec.lead_samples
    written = _write(_silence(pre), sink)
    done: list[Part] = []
    for part in parts:
        if isinstance(part, Silence):
            piece = _silence(part.samples)
        else:
            piece = _clip_segment(apply_gain(cache.read_clip(part.clip), part.gain_db))
        written += _write(piece, sink)
        done.append(part)
    segment = make_segment(done)
    _, post = pads(segment.content_samples(), segment.lead, segment.length, codec)
    written += _write(_silence(post), sink)
    return segment, written


def _write(piece: AudioSegment, sink: BinaryIO) -> int:
    sink.write(piece.raw_data)
    return len(piece.raw_data) // 2


def _silence(samples: int) -> AudioSegment:
    return AudioSegment(data=bytes(2 * samples), sample_width=2, frame_rate=SAMPLE_RATE, channels=1)


def _clip_segment(samples: np.ndarray) -> AudioSegment:
    return AudioSegment(
        data=samples.astype("<i2").tobytes(), sample_width=2, frame_rate=SAMPLE_RATE, channels=1
    )
