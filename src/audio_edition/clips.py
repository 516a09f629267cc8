"""Clips: what an engine said, made ready for an edition before the cache keeps it.

An engine's WAV is read with pydub, which also brings any engine's output to the one
sample format the pipeline uses (mono, 16-bit, 22,050 Hz; a no-op for eSpeak NG), and is
cut to its speech with pydub's sample-exact slicing. The peak limiter and the loudness
measurement are numpy (``loudness.py``): they work on windows and filters that pydub
does not have. Gain is applied in numpy too: measured on a 5 s clip, pydub's
``apply_gain`` (audioop) took 0.40 ms against numpy's 0.14 ms, and it truncates where
numpy rounds (half the samples one step lower), so it would cost speed and change every
segment's bytes for no gain.

What this processing does is part of every clip's cache key (``processing_version``: a
hash of the code that does it), so changing the trim, the limiter or the measurement
re-makes the clips without anyone remembering to bump a version by hand.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import SynthesisError
from .pcm import SAMPLE_RATE

if TYPE_CHECKING:
    import numpy as np

    from .loudness import ClipLoudness

TRIM_THRESHOLD = 200  # |sample| below this (about -44 dBFS) counts as silence when trimming
TRIM_MARGIN = 330  # samples (15 ms) kept around speech so consonant edges are not cut

# The code whose behaviour decides a processed clip's samples and sidecar.
PROCESSING_SOURCES = (Path(__file__), Path(__file__).with_name("loudness.py"))


@lru_cache(maxsize=1)
def processing_version() -> str:
    """A hash of the clip-processing code (this module and the limiter's)."""
    digest = hashlib.sha256()
    for source in PROCESSING_SOURCES:
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Prepared:
    """A clip ready for the cache: its samples (trimmed, limited) and their loudness."""

    samples: np.ndarray
    loudness: ClipLoudness
    words: tuple[tuple[int, int, int], ...] = ()  # (offset, length, sample) in the clip


def prepare(wav: Path, words: Sequence[tuple[int, int, int]] = ()) -> Prepared:
    """Read an engine's WAV, cut it to its speech, limit its peaks and measure it; its
    word events ``(offset, length, sample)`` follow the cut (``trimmed_words``)."""
    import numpy as np

    from .loudness import limit_peaks, measure_clip

    said, rate = _read(wav)
    raw = np.frombuffer(said.raw_data, dtype=np.int16)
    start, end = speech_bounds(raw)
    speech = said.get_sample_slice(start, end)
    clip = limit_peaks(np.frombuffer(speech.raw_data, dtype=np.int16))
    kept = words_at_speech(trimmed_words(words, rate, start, end), clip)
    return Prepared(clip, measure_clip(clip), kept)


def trimmed_words(
    words: Sequence[tuple[int, int, int]], rate: int, start: int, end: int
) -> tuple[tuple[int, int, int], ...]:
    """Word events moved to the clip as kept: their samples brought from the engine's
    ``rate`` to SAMPLE_RATE, shifted by the cut's ``start`` and kept inside the clip."""
    out = []
    for offset, length, sample in words:
        at = round(sample * SAMPLE_RATE / rate) - start
        out.append((int(offset), int(length), min(max(at, 0), end - start - 1)))
    return tuple(out)


ONSET_WINDOW = 110  # samples (5 ms): a word whose first 5 ms are silent has not begun
PAUSE = 1102  # samples (50 ms) without sound: a pause, after which sound is an onset
ONSET_REACH = 1323  # samples (60 ms): how far before its event a word's onset may be


def words_at_speech(
    words: tuple[tuple[int, int, int], ...], clip: np.ndarray
) -> tuple[tuple[int, int, int], ...]:
    """Each word moved to where its sound starts, when the engine put it in the silence
    before (eSpeak and Piper both count a pause, or a plosive's closure, as the next
    word's) or just after a pause's end (Piper's alignment may give the onset to the
    pause): a listener hears the word when its sound begins. A word never moves past
    its neighbours' events."""
    import numpy as np

    loud = np.flatnonzero(np.abs(clip.astype(np.int32)) > TRIM_THRESHOLD)
    # Where sound starts: the clip's first sound, and the first after each pause.
    onsets = np.concatenate([loud[:1], loud[np.flatnonzero(np.diff(loud) >= PAUSE) + 1]])
    out = []
    for i, (offset, length, sample) in enumerate(words):
        low = out[-1][2] if out else -PAUSE
        limit = words[i + 1][2] if i + 1 < len(words) else len(clip)
        j = int(np.searchsorted(loud, sample))
        k = int(np.searchsorted(onsets, sample, side="right")) - 1
        if j < len(loud) and loud[j] >= sample + ONSET_WINDOW and loud[j] < limit:
            sample = int(loud[j])  # in a silence: forward to the sound
        elif k >= 0 and low + PAUSE <= onsets[k] and sample - onsets[k] <= ONSET_REACH:
            sample = int(onsets[k])  # just after a pause: back to its end
        out.append((offset, length, sample))
    return tuple(out)


def _read(wav: Path):  # -> (pydub.AudioSegment, the engine's rate); pydub imported late
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # pydub's audioop on 3.11-3.12
        from pydub import AudioSegment

    try:
        said = AudioSegment.from_wav(wav)
    except Exception as exc:  # pydub raises several kinds for a file that is not a WAV
        raise SynthesisError(f"{wav}: the engine's clip is not a readable WAV ({exc})") from None
    rate = said.frame_rate
    return said.set_channels(1).set_sample_width(2).set_frame_rate(SAMPLE_RATE), rate


def speech_bounds(samples: np.ndarray) -> tuple[int, int]:
    """Where speech starts and ends, with a small margin; the engine pads both ends."""
    import numpy as np

    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > TRIM_THRESHOLD)
    if loud.size == 0:
        return 0, len(samples)
    start = max(0, int(loud[0]) - TRIM_MARGIN)
    end = min(len(samples), int(loud[-1]) + 1 + TRIM_MARGIN)
    return start, end
