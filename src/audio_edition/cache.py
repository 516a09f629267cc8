"""The content-addressed cache: sentence clips and encoded segments.

Like ccache or Bazel, a key is a hash of everything that changes the output: for a clip,
the spoken text after normalisation, the engine and its version, the voice settings, the
sample format and the code that processes clips (``clips.processing_version``); for an
encoded segment, its exact PCM recipe (clip keys, gains, silences), the code that writes
it and the encoder and its settings. The cache only keeps and checks entries: it does no
signal processing of its own. Nothing else (file names, paragraph numbers,
positions) enters a key, so inserting, deleting or moving paragraphs reuses every clip.

Writes are atomic (temp file, then rename), so a build killed at any moment leaves only
whole entries; an entry is put in place under its lock (``entry_lock``), and a whole one is
never replaced, so builds sharing the cache can make the same entry at once. Every entry
records the SHA-256 of its bytes when it is written (a clip in its sidecar, a segment in
``<segment>.sha256``) and is checked against it when it is used (hashing a clip costs about
0.1 ms, against 7 ms to process it): a damaged entry is discarded, named in a notice, and
made again.

Builds take the cache's lock shared and ``clean`` takes it exclusive, so builds of several
projects share one cache at once while ``clean`` waits for them. Each build records, per
project and output folder, which clips and segments its editions use (``projects/``);
``clean`` removes only what no live record lists.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import time
import unicodedata
import wave
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .clips import processing_version
from .errors import CacheError, DamagedEntry
from .files import atomic_write_bytes, digest_line, digest_path, hash_key, sha256_file
from .loudness import ClipLoudness
from .pcm import SAMPLE_RATE

if TYPE_CHECKING:
    import numpy as np

    from .clips import Prepared


# Bump when clip processing (trimming, limiting) or the layout on disk changes.
# 5: sidecars and segments record their content hashes; project records; a lock file.
# 6: sidecars record the clip's word events.
CACHE_VERSION = 6
CACHE_ENV = "AUDIO_EDITION_CACHE"
WAV_HEADER = 44  # the header ``wav_bytes`` writes: a clip's samples start there
DIFFERENT = "its bytes differ from those written"


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
    sha256: str = ""  # of the clip's WAV file, as written
    # The engine's word events in the clip as kept: (offset, length, sample).
    words: tuple[tuple[int, int, int], ...] = ()

    def to_json(self) -> dict:
        body = {
            "key": self.key,
            "samples": self.samples,
            "loudness": self.loudness.to_json(),
            "sha256": self.sha256,
            "words": [list(w) for w in self.words],
        }
        # The sidecar checks itself: a changed loudness would change the audio silently.
        return {**body, "check": hash_key(body)}

    @classmethod
    def from_json(cls, key: str, d: dict) -> ClipInfo:
        """The sidecar's content; ValueError if it is altered or another clip's."""
        body = {k: v for k, v in d.items() if k != "check"}
        if d.get("check") != hash_key(body) or d.get("key") != key:
            raise ValueError("sidecar altered")
        words = tuple((int(a), int(b), int(c)) for a, b, c in d["words"])
        return cls(
            key, int(d["samples"]), ClipLoudness.from_json(d["loudness"]), d["sha256"], words
        )


def wav_bytes(samples: np.ndarray) -> bytes:
    """A mono 16-bit WAV at SAMPLE_RATE: a 44-byte header, then the samples."""
    import io

    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(samples.astype("<i2").tobytes())
    return buf.getvalue()


class Cache:
    """Clips under ``clips/``, encoded segments under ``segments/<codec>/``.

    ``notify`` hears of every damaged entry found (one line each); an error reading or
    writing the cache becomes a one-line ``CacheError`` naming it.
    """

    def __init__(self, root: Path, notify: Callable[[str], None] = lambda message: None) -> None:
        self.root = root
        self.notify = notify
        self._verified: set[Path] = set()  # segments checked (or written) by this process

    @contextlib.contextmanager
    def io(self, verb: str) -> Iterator[None]:
        """Any OSError inside becomes one line naming the cache and the cause."""
        try:
            yield
        except OSError as exc:
            cause = exc.strerror or str(exc) or type(exc).__name__
            raise CacheError(f"{self.root}: cannot {verb} the clip cache ({cause})") from None

    # -- clips
    def clip_key(self, spoken: str, engine: str, voice: dict, sample_format: str) -> str:
        return hash_key(
            {
                "v": CACHE_VERSION,
                "processing": processing_version(),
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
        """The clip's sidecar if the clip is present and whole, else None (re-make it).

        Only the sidecar is read and the WAV's size checked here; its bytes are checked
        against the sidecar's hash when the clip is read (``read_clip``).
        """
        wav, side = self.clip_path(key), self._sidecar(key)
        try:
            raw = side.read_bytes()
            size = wav.stat().st_size
        except OSError:
            return None  # not there, or not whole: a build killed while writing it
        try:
            info = ClipInfo.from_json(key, json.loads(raw))
        except (ValueError, KeyError, TypeError, AttributeError):
            return self._damaged(side, "its record is altered", wav, side)
        if size != WAV_HEADER + 2 * info.samples:
            return self._damaged(wav, "its size changed", wav, side)
        return info

    def _damaged(self, path: Path, why: str, *entry: Path) -> None:
        """Discard a damaged entry (so it is reported once) and say so."""
        self.discard(*entry)
        self.notify(f"{DamagedEntry(path, why)}; re-making it")

    def scratch_dir(self) -> Path:
        path = self.root / "tmp"
        with self.io("write"):
            path.mkdir(parents=True, exist_ok=True)
        return path

    def put_clip(self, key: str, clip: Prepared) -> ClipInfo:
        """Keep a processed clip (see ``clips.prepare``) under its key, with its sidecar."""
        data = wav_bytes(clip.samples)
        digest = hashlib.sha256(data).hexdigest()
        info = ClipInfo(key, len(clip.samples), clip.loudness, digest, clip.words)
        with self.io("write"), self.entry_lock(self.clip_path(key)):
            if (made := self.clip_info(key)) is not None:
                return made  # another build made it meanwhile: its whole entry stays
            atomic_write_bytes(self.clip_path(key), data)
            # The sidecar lands last: a clip without one is incomplete and will be re-made.
            sidecar = json.dumps(info.to_json(), allow_nan=False).encode()
            atomic_write_bytes(self._sidecar(key), sidecar)
        return info

    def read_clip(self, info: ClipInfo) -> np.ndarray:
        """The clip's samples, checked against the hash written with it; a damaged clip
        is discarded and ``DamagedEntry`` raised (the builder makes it again)."""
        import numpy as np

        path = self.clip_path(info.key)
        with self.io("read"):
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                data = b""  # gone since its sidecar was read: make it again
        if hashlib.sha256(data).hexdigest() != info.sha256:
            self.discard(path, self._sidecar(info.key))
            raise DamagedEntry(path, DIFFERENT)
        return np.frombuffer(data, dtype="<i2", offset=WAV_HEADER)

    def check_clips(self, keys: Iterable[str]) -> None:
        """Read every one of these clips that is cached, discarding (with a notice) each
        that is damaged: after one damaged clip, look for the others in one pass."""
        for key in dict.fromkeys(keys):
            info = self.clip_info(key)
            if info is None:
                continue
            try:
                self.read_clip(info)
            except DamagedEntry as exc:
                self.notify(f"{exc}; re-making it")

    def discard(self, *paths: Path) -> None:
        with self.io("write"):
            for path in paths:
                path.unlink(missing_ok=True)

    # -- encoded segments
    def segment_dir(self, codec: str) -> Path:
        return self.root / "segments" / codec

    def segment_path(self, codec: str, key: str, ext: str) -> Path:
        return self.segment_dir(codec) / key[:2] / f"{key}.{ext}"

    def has_segment(self, path: Path) -> bool:
        """Whether a segment and its hash are there (cheap: not read, see ``segment_ok``)."""
        return path.exists() and digest_path(path).exists()

    def segment_ok(self, path: Path) -> bool:
        """Whether a cached segment is there and whole: its bytes hash to what was recorded
        when it was written. One that is not is discarded (with a notice if damaged)."""
        if path in self._verified:
            return True
        record = digest_path(path)
        with self.io("read"):
            try:
                recorded = record.read_text(encoding="ascii", errors="replace")
                actual = digest_line(sha256_file(path), path)
            except FileNotFoundError:
                with self.entry_lock(path):  # not while another build is writing it
                    made = self.has_segment(path)
                    if not made:
                        self.discard(path, record)  # incomplete (killed while writing)
                return made and self.segment_ok(path)
        if recorded != actual:
            self._damaged(path, DIFFERENT, path, record)
            return False
        self._verified.add(path)
        return True

    # -- sharing: the locks and the records of what each project uses
    @contextlib.contextmanager
    def entry_lock(self, path: Path) -> Iterator[None]:
        """Held while the entry at ``path`` (a clip or a segment) is put in place, or found
        incomplete and discarded. Builds of other projects, or on other machines sharing
        the cache, may make the same entry at the same moment: the first whole one stays,
        and no reader takes an entry being written for a damaged one. One lock file per
        first two hex digits of the key (``locks/``), taken with flock, which NFS honours."""
        folder = self.root / "locks"
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / path.name[:2], os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def lock(self, shared: bool, notify: Callable[[str], None]) -> Iterator[None]:
        """Builds hold the cache shared (several at once, even of other projects);
        ``clean`` holds it exclusive, so it never removes what a running build uses."""
        with self.io("write"):
            self.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.root / "lock", os.O_RDWR | os.O_CREAT, 0o666)
        try:
            mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
            if shared and _try_lock(fd, fcntl.LOCK_EX):
                # Alone with the cache: what stopped builds left half-written can go.
                self.remove_leftovers()
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
            except BlockingIOError:
                if shared:
                    notify(f"{self.root}: the cache is being cleaned; waiting for it to finish")
                else:
                    notify(f"{self.root}: builds are using the cache; waiting for them to finish")
                fcntl.flock(fd, mode)
            yield
        finally:
            os.close(fd)  # releases the lock

    def record_path(self, project: Path, out: Path) -> Path:
        where = hash_key({"project": str(project.resolve()), "out": str(out.resolve())})
        return self.root / "projects" / f"{where}.json"

    def record_use(self, project: Path, out: Path, editions: dict[str, dict]) -> None:
        """Note which clips and segments these editions (slug -> keys) use, keeping the
        record's other editions that still exist. Called before the build lets go of the
        cache, so ``clean`` never sees a build's entries unrecorded."""
        path = self.record_path(project, out)
        old = _read_record(path) or {}
        kept = {
            slug: keys
            for slug, keys in old.get("editions", {}).items()
            if slug not in editions and (out / f"{slug}.json").exists()
        }
        record = {
            "project": str(project.resolve()),
            "out": str(out.resolve()),
            "editions": {**kept, **editions},
            "written": time.time(),
        }
        with self.io("write"):
            atomic_write_bytes(path, json.dumps(record, sort_keys=True).encode())

    def in_use(self) -> set[str]:
        """Every key a live record lists; a record of a project folder or an edition that
        no longer exists is dead, and is removed."""
        keys: set[str] = set()
        folder = self.root / "projects"
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            record = _read_record(path) or {}
            if not (_folder(record.get("project")) and _folder(record.get("out"))):
                self.discard(path)
                continue
            out = Path(record["out"])
            try:
                for slug, used in record.get("editions", {}).items():
                    if (out / f"{slug}.json").exists():
                        keys.update(used.get("clips", []), used.get("segments", []))
            except (AttributeError, TypeError):
                self.discard(path)  # not a record this program wrote
        return keys

    # -- housekeeping
    def clean(self) -> tuple[int, int]:
        """Remove every clip and segment no live project record lists, and leftover temp
        files; return (files, bytes) freed. Call it holding the lock exclusive."""
        files = freed = 0
        with self.io("write"):
            keep = self.in_use()
            for path in self._entries():
                key = path.name.split(".")[0]
                if key in keep:
                    continue
                freed += path.stat().st_size
                path.unlink()
                files += 1
        return files, freed

    def remove_leftovers(self) -> int:
        """Remove the temp files stopped builds left (a killed build's scratch WAVs, a
        half-written clip or segment); call it only holding the lock exclusive."""
        removed = 0
        with self.io("write"):
            for path in self._entries():
                if path.parent.name == "tmp" or path.name.startswith("."):
                    path.unlink(missing_ok=True)
                    removed += 1
        return removed

    def _entries(self) -> Iterable[Path]:
        for sub in ("clips", "segments", "tmp"):
            base = self.root / sub
            if base.exists():
                yield from (p for p in base.rglob("*") if p.is_file())


def _try_lock(fd: int, mode: int) -> bool:
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _read_record(path: Path) -> dict | None:
    try:
        record = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _folder(path: object) -> bool:
    """Whether a record's path names a folder that exists (records hold absolute paths)."""
    return isinstance(path, str) and Path(path).is_absolute() and Path(path).is_dir()
