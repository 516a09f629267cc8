"""The content-addressed cache: sentence clips and encoded segments.

Like ccache or Bazel, a key is a hash of everything that changes the output: for a clip,
the spoken text after normalisation, the engine and its version, the voice settings and
the sample format; for an encoded segment, its exact PCM recipe (clip keys, gains,
silences) and the encoder and its settings. Nothing else (file names, paragraph numbers,
positions) enters a key, so inserting, deleting or moving paragraphs reuses every clip.

Writes are atomic (temp file, then rename), so a build killed at any moment leaves only
whole entries; a clip that fails verification on read is treated as missing and re-made.
"""

from __future__ import annotations

import io
import json
import os
import unicodedata
import wave
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .files import atomic_write_bytes, hash_key
from .loudness import ClipLoudness, limit_peaks, measure_clip

if TYPE_CHECKING:
    import numpy as np

SAMPLE_RATE = 22050

CACHE_VERSION = 4  # bump when clip processing (trimming, limiting) changes
CACHE_ENV = "AUDIO_EDITION_CACHE"
TRIM_THRESHOLD = 200  # |sample| below this (about -44 dBFS) counts as silence when trimming
TRIM_MARGIN = 330  # samples (15 ms) kept around speech so consonant edges are not cut


def default_cache_dir(project: Path) -> Path:
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else project / ".audio-edition" / "cache"


def normalise_spoken(text: str) -> str:
    """The text as the engine gets it: NFC, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFC", text).split())


@dataclass(frozen=True)
class ClipInfo:
    """What the builder knows of a cached clip without decoding it (its sidecar)."""

    key: str
    samples: int  # length of the cached clip: speech, trimmed and peak-limited
    loudness: ClipLoudness

    def to_json(self) -> dict:
        return {"samples": self.samples, "loudness": self.loudness.to_json()}

    @classmethod
    def from_json(cls, key: str, d: dict) -> ClipInfo:
        return cls(key, int(d["samples"]), ClipLoudness.from_json(d["loudness"]))


def speech_bounds(samples: np.ndarray) -> tuple[int, int]:
    """Where speech starts and ends, with a small margin; the engine pads both ends."""
    import numpy as np

    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > TRIM_THRESHOLD)
    if loud.size == 0:
        return 0, len(samples)
    start = max(0, int(loud[0]) - TRIM_MARGIN)
    end = min(len(samples), int(loud[-1]) + 1 + TRIM_MARGIN)
    return start, end


def write_wav(path: Path, samples: np.ndarray) -> None:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(samples.astype("<i2").tobytes())
    atomic_write_bytes(path, buf.getvalue())


def read_wav(path: Path) -> np.ndarray:
    import numpy as np

    with wave.open(str(path), "rb") as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)


class Cache:
    """Clips under ``clips/``, encoded segments under ``segments/<codec>/``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    # -- clips
    def clip_key(self, spoken: str, engine: str, voice: dict, sample_format: str) -> str:
        return hash_key(
            {
                "v": CACHE_VERSION,
                "text": normalise_spoken(spoken),
                "engine": engine,
                "voice": voice,
                "format": sample_format,
            }
        )

    def clip_path(self, key: str) -> Path:
        return self.root / "clips" / key[:2] / f"{key}.wav"

    def _sidecar(self, key: str) -> Path:
        return self.clip_path(key).with_suffix(".json")

    def clip_info(self, key: str) -> ClipInfo | None:
        """The clip's sidecar if the clip is present and whole, else None (re-make it)."""
        wav, side = self.clip_path(key), self._sidecar(key)
        try:
            info = ClipInfo.from_json(key, json.loads(side.read_text()))
            if wav.stat().st_size != 44 + 2 * info.samples:
                return None
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return info

    def scratch_dir(self) -> Path:
        path = self.root / "tmp"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def add_clip(self, key: str, wav: Path) -> ClipInfo:
        """Store a verified engine WAV: trimmed, peak-limited, and measured once."""
        samples = read_wav(wav)
        start, end = speech_bounds(samples)
        clip = limit_peaks(samples[start:end])
        info = ClipInfo(key, len(clip), measure_clip(clip))
        write_wav(self.clip_path(key), clip)
        # The sidecar lands last: a clip without one is incomplete and will be re-made.
        atomic_write_bytes(self._sidecar(key), json.dumps(info.to_json(), allow_nan=False).encode())
        wav.unlink(missing_ok=True)
        return info

    def read_clip(self, info: ClipInfo) -> np.ndarray:
        samples = read_wav(self.clip_path(info.key))
        if len(samples) != info.samples:
            raise OSError(f"clip {info.key} changed on disk")
        return samples

    # -- encoded segments
    def segment_dir(self, codec: str) -> Path:
        return self.root / "segments" / codec

    def segment_path(self, codec: str, key: str, ext: str) -> Path:
        return self.segment_dir(codec) / key[:2] / f"{key}.{ext}"

    # -- housekeeping
    def clean(self, keep_clips: set[str], keep_segments: set[str]) -> tuple[int, int]:
        """Remove clips and segments no current article uses; return (files, bytes) freed."""
        files = freed = 0
        for path in self._entries():
            key = path.name.split(".")[0]
            if key in keep_clips or key in keep_segments:
                continue
            freed += path.stat().st_size
            path.unlink()
            files += 1
        return files, freed

    def _entries(self) -> Iterable[Path]:
        for sub in ("clips", "segments", "tmp"):
            base = self.root / sub
            if base.exists():
                yield from (p for p in base.rglob("*") if p.is_file())
