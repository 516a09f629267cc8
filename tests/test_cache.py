"""The cache without the engine: verified entries, one-line I/O errors, the lock, clean."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

from audio_edition.cache import Cache, wav_bytes
from audio_edition.clips import prepare
from audio_edition.errors import CacheError, DamagedEntry
from audio_edition.files import record_digest

from .conftest import CLI


def _engine_wav(tmp_path: Path, seed: int = 1) -> Path:
    """A WAV as the engine leaves it in the scratch folder: a second of noisy 'speech'."""
    rng = np.random.default_rng(seed)
    samples = (rng.standard_normal(22050) * 3000).astype(np.int16)
    path = tmp_path / f"engine-{seed}.wav"
    path.write_bytes(wav_bytes(samples))
    return path


@pytest.fixture
def notices() -> list[str]:
    return []


@pytest.fixture
def cache(tmp_path: Path, notices: list[str]) -> Cache:
    return Cache(tmp_path / "cache", notices.append)


def _add(cache: Cache, key: str, wav: Path):
    return cache.put_clip(key, prepare(wav))


def _clip(cache: Cache, tmp_path: Path, key: str = "ab" * 32):
    return _add(cache, key, _engine_wav(tmp_path))


# ---------------------------------------------------------------- verified entries


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[:44] + bytes(len(b) - 44),  # zeroed samples: a silent sentence
        lambda b: b[:44] + np.random.default_rng(5).bytes(len(b) - 44),  # white noise
        lambda b: b"JUNK" + b[4:],  # a broken header ("file does not start with RIFF id")
    ],
    ids=["zeroed", "noise", "header"],
)
def test_a_clip_damaged_at_the_same_size_is_refused_and_discarded(cache, tmp_path, damage):
    info = _clip(cache, tmp_path)
    wav = cache.clip_path(info.key)
    good = cache.read_clip(info)
    wav.write_bytes(damage(wav.read_bytes()))
    assert cache.clip_info(info.key) == info  # same size: only its hash can tell
    with pytest.raises(DamagedEntry, match=str(wav)):
        cache.read_clip(info)
    assert not wav.exists() and cache.clip_info(info.key) is None  # made again next time
    again = _clip(cache, tmp_path)
    assert np.array_equal(cache.read_clip(again), good)


def test_a_sidecar_altered_or_of_another_clip_is_not_trusted(cache, tmp_path, notices):
    info = _clip(cache, tmp_path)
    other = _add(cache, "cd" * 32, _engine_wav(tmp_path, seed=2))
    side = cache.clip_path(info.key).with_suffix(".json")
    record = json.loads(side.read_text())
    record["loudness"] = {**record["loudness"], "integrated": -70.0}  # a quieter clip
    side.write_text(json.dumps(record))
    assert cache.clip_info(info.key) is None
    assert not cache.clip_path(info.key).exists()  # discarded: said once, made again
    info = _clip(cache, tmp_path)
    side.write_bytes(cache.clip_path(other.key).with_suffix(".json").read_bytes())
    assert cache.clip_info(info.key) is None
    assert len(notices) == 2 and all("damaged cache entry" in n for n in notices)


def _segment(cache: Cache, data: bytes = b"\xff\xf3" + bytes(300)) -> Path:
    path = cache.segment_path("mp3", "ef" * 32, "mp3")
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    record_digest(path, hashlib.sha256(data).hexdigest())
    return path


def test_a_segment_is_checked_against_its_recorded_hash(tmp_path, notices):
    path = _segment(Cache(tmp_path / "cache", notices.append))
    assert Cache(tmp_path / "cache").segment_ok(path)
    path.write_bytes(path.read_bytes()[:150])  # cut short, say at a frame boundary
    assert not Cache(tmp_path / "cache", notices.append).segment_ok(path)
    assert not path.exists() and not Path(f"{path}.sha256").exists()
    assert notices == [
        f"{path}: damaged cache entry (its bytes differ from those written); re-making it"
    ]


def test_a_segment_without_its_hash_is_made_again_quietly(cache, notices):
    path = _segment(cache)
    Path(f"{path}.sha256").unlink()  # killed between the two renames
    assert not cache.has_segment(path) and not cache.segment_ok(path)
    assert notices == []


# ---------------------------------------------------------------- a full or missing disk


@contextlib.contextmanager
def _tiny_tmpfs(where: Path, size: str = "64k"):
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


def test_a_full_cache_is_one_line_naming_it(tmp_path):
    with _tiny_tmpfs(tmp_path / "full") as root:
        cache = Cache(root)
        with pytest.raises(CacheError) as caught:
            for n in range(10):  # 44 kB a clip
                _add(cache, f"{n:02d}" * 32, _engine_wav(tmp_path, seed=n))
    assert str(caught.value) == f"{root}: cannot write the clip cache (No space left on device)"


def test_a_file_where_the_cache_folder_should_be_is_one_line(tmp_path):
    root = tmp_path / "cache"
    root.write_text("not a folder")
    with pytest.raises(CacheError, match=f"^{root}: cannot write the clip cache"):
        Cache(root).scratch_dir()


# ---------------------------------------------------------------- the lock


def test_builds_share_the_cache_and_clean_waits_for_them(tmp_path):
    cache, said = Cache(tmp_path / "cache"), []
    cleaned = threading.Event()

    def clean() -> None:
        with cache.lock(shared=False, notify=said.append):
            cleaned.set()

    with cache.lock(shared=True, notify=said.append), cache.lock(True, said.append):
        assert said == []  # two builds at once: neither waits
        cleaner = threading.Thread(target=clean)
        cleaner.start()
        cleaner.join(timeout=0.5)
        assert not cleaned.is_set()
        assert said == [f"{cache.root}: builds are using the cache; waiting for them to finish"]
    cleaner.join()
    assert cleaned.is_set()


def test_the_clean_command_waits_for_a_build_using_the_cache(tmp_path):
    """`clean` took no lock: it deleted what a running build was writing."""
    cache = Cache(tmp_path / "shared")
    env = {"AUDIO_EDITION_CACHE": str(cache.root)}
    (tmp_path / "project").mkdir()
    with cache.lock(shared=True, notify=print):
        clean = subprocess.Popen(
            [*CLI, "clean"],
            cwd=tmp_path / "project",
            env={**os.environ, **env},
            stderr=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        first = clean.stderr.readline()  # it says it waits, and does
        assert "waiting" in first and str(cache.root) in first
        assert clean.poll() is None
    out, _ = clean.communicate(timeout=600)
    assert clean.returncode == 0 and out.startswith("removed 0 cached files")


# ---------------------------------------------------------------- clean and the records


def _used(cache: Cache, tmp_path: Path, prefix: str) -> tuple[str, str]:
    clip = _add(cache, prefix * 32, _engine_wav(tmp_path, seed=len(prefix) + ord(prefix[0])))
    segment = _segment_named(cache, prefix[::-1] * 32)
    return clip.key, segment


def _segment_named(cache: Cache, key: str) -> str:
    path = cache.segment_path("mp3", key, "mp3")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"frames")
    record_digest(path, "0" * 64)
    return key


def _project(tmp_path: Path, name: str) -> tuple[Path, Path]:
    project = tmp_path / name
    (project / "audio").mkdir(parents=True)
    (project / "audio" / "a.json").write_text("{}")  # the edition's manifest
    return project, project / "audio"


def test_clean_keeps_what_any_live_project_uses(tmp_path):
    """With a shared cache, clean in one project deleted another project's clips."""
    cache = Cache(tmp_path / "shared")
    mine, theirs, stale = (_used(cache, tmp_path, p) for p in ("1a", "2b", "3c"))
    for name, (clip, segment) in (("mine", mine), ("theirs", theirs)):
        project, out = _project(tmp_path, name)
        cache.record_use(project, out, {"a": {"clips": [clip], "segments": [segment]}})

    files, _ = cache.clean()
    assert files == 4  # the stale clip and its sidecar, the stale segment and its hash
    assert cache.clip_info(mine[0]) and cache.clip_info(theirs[0])
    assert cache.clip_info(stale[0]) is None

    shutil.rmtree(tmp_path / "theirs")  # a project gone: its record is dead
    cache.clean()
    assert cache.clip_info(theirs[0]) is None and cache.clip_info(mine[0])
    (tmp_path / "mine" / "audio" / "a.json").unlink()  # an edition gone: its entries too
    cache.clean()
    assert cache.clip_info(mine[0]) is None


# ---------------------------------------------------------------- clip processing


def test_the_clip_key_follows_the_clip_processing_code(tmp_path, monkeypatch):
    from audio_edition import clips

    cache = Cache(tmp_path / "cache")
    key = cache.clip_key("Hello.", "engine-1", {"rate": 175}, "s16le")
    source = tmp_path / "loudness.py"
    source.write_text("LIMIT = 14.8\n")
    monkeypatch.setattr(clips, "PROCESSING_SOURCES", (source,))
    clips.processing_version.cache_clear()
    try:
        changed = cache.clip_key("Hello.", "engine-1", {"rate": 175}, "s16le")
        source.write_text("LIMIT = 14.0\n")  # the limiter changed: no version bumped by hand
        clips.processing_version.cache_clear()
        again = cache.clip_key("Hello.", "engine-1", {"rate": 175}, "s16le")
    finally:
        clips.processing_version.cache_clear()
    assert len({key, changed, again}) == 3


def test_an_engine_clip_in_another_sample_format_is_brought_to_the_editions(tmp_path):
    import wave

    rng = np.random.default_rng(3)
    stereo = (rng.standard_normal((44100, 2)) * 3000).astype("<i2")
    path = tmp_path / "stereo-44k.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(44100)
        w.writeframes(stereo.tobytes())
    clip = prepare(path)
    assert abs(len(clip.samples) - 22050) <= 2  # one second at 22,050 Hz, mono


# ---------------------------------------------------------------- two writers of one clip


def test_two_writers_of_one_clip_never_mix_their_files(tmp_path, cache, monkeypatch):
    """An engine's clips of one text can differ by a few samples. A second writer (another
    builder, a cluster worker) making the same clip while the first is between its WAV and
    its sidecar must not leave one writer's WAV under the other's sidecar: the first WAV
    in place wins, and the second writer gets the first's clip."""
    import audio_edition.cache as cache_module

    key = "cd" * 32
    first, second = prepare(_engine_wav(tmp_path, 1)), prepare(_engine_wav(tmp_path, 2))
    assert len(first.samples) == len(second.samples)  # so only the hash tells them apart
    got: list = []
    write, threads = cache_module.atomic_write_bytes, []

    def write_with_a_second_writer(path: Path, data: bytes) -> None:
        if path.suffix == ".json" and not threads:  # the first writer's sidecar is next
            threads.append(threading.Thread(target=lambda: got.append(cache.put_clip(key, second))))
            threads[0].start()
            threads[0].join(timeout=1.0)  # it does what it can before the sidecar lands
        write(path, data)

    monkeypatch.setattr(cache_module, "atomic_write_bytes", write_with_a_second_writer)
    kept = cache.put_clip(key, first)
    threads[0].join()
    assert got == [kept]  # the second writer took the first's clip
    assert cache.clip_info(key) == kept
    assert (cache.read_clip(kept) == first.samples).all()  # WAV and sidecar agree
