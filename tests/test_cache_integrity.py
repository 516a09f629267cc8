"""The cache under damage, a full disk and sharing, through the real CLI, eSpeak NG and ffmpeg.

The property: whatever happens to a cached file (bytes flipped, cut short, zeroed, or
replaced by another entry), the next build's decoded audio equals a clean build's.
"""

from __future__ import annotations

import errno
import os
import random
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from audio_edition.cache import Cache
from audio_edition.encode import MP3, _scan, encode_segment

from .conftest import CLI, build_json, decode, run_cli
from .test_bad_input import _fails_cleanly
from .test_cache import _tiny_tmpfs

pytestmark = pytest.mark.integration

FLAGS = ("--format", "mp3", "--no-opening", "--no-closing")
ARTICLE = "The harbour opened at dawn. Its first ship carried salt and cloth.\n"
OTHER = "A second article, so the cache holds another segment.\n"


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[Path, np.ndarray, dict, dict]:
    """A project of two tiny articles built one after the other; the first one's decoded
    audio; and the cached files each article's build added."""
    root = tmp_path_factory.mktemp("clean")
    (root / "text").mkdir()
    (root / "text" / "a.txt").write_text(ARTICLE)
    build_json(root, "text/a.txt", *FLAGS)
    first = _cached(root)
    (root / "text" / "b.txt").write_text(OTHER)
    build_json(root, "text/b.txt", *FLAGS)
    second = {kind: sorted(set(paths) - set(first[kind])) for kind, paths in _cached(root).items()}
    return root, decode(root / "audio" / "a.mp3"), first, second


def _cached(project: Path) -> dict[str, list[Path]]:
    """The project's cached clips, their sidecars and its MP3 segments (relative paths)."""
    cache = project / ".audio-edition" / "cache"
    files = {
        "clip": cache.glob("clips/*/*.wav"),
        "sidecar": cache.glob("clips/*/*.json"),
        "segment": cache.glob("segments/mp3/*/*.mp3"),
    }
    return {kind: sorted(p.relative_to(project) for p in found) for kind, found in files.items()}


def _flip(data: bytes, rng: random.Random, other: bytes) -> bytes:
    """Bits flipped at random in one byte of the header and in 64 bytes of the body."""
    out = bytearray(data)
    out[rng.randrange(8)] ^= 0xFF
    at = rng.randrange(len(data) // 2, len(data) - 64)
    for n in range(at, at + 64):
        out[n] ^= rng.randrange(1, 256)
    return bytes(out)


def _truncate(data: bytes, rng: random.Random, other: bytes) -> bytes:
    """Cut short; an MP3 segment at a frame boundary, so every frame left is whole."""
    cut = rng.randrange(1, len(data))
    if data[:2] == b"\xff\xf3":
        cut = _scan(data[:cut], MP3)[1] or len(data) // 2
    return data[:cut]


def _zero(data: bytes, rng: random.Random, other: bytes) -> bytes:
    return bytes(len(data))


def _replace(data: bytes, rng: random.Random, other: bytes) -> bytes:
    return other


def _sounds_the_same(audio: np.ndarray, expected: np.ndarray) -> bool:
    """The same length, and the same loudness every 20 ms within a quarter of the peak.

    eSpeak NG does not speak a sentence to the same sample every time: in 25 cold builds
    of the test article, 4 made a clip 1 or 9 samples longer, which moves the envelope by
    up to 10% of its peak here. Damage is far beyond that: zeroed or another sentence's
    samples give 100%, 64 random bytes in a clip about 45%.
    """
    if len(audio) != len(expected):
        return False
    window = 441
    n = len(audio) // window * window

    def envelope(x: np.ndarray) -> np.ndarray:
        return np.sqrt((x[:n].astype(float).reshape(-1, window) ** 2).mean(axis=1))

    got, want = envelope(audio), envelope(expected)
    return float(np.max(np.abs(got - want))) <= 0.25 * float(want.max())


CORRUPTIONS = {"flip": _flip, "truncate": _truncate, "zero": _zero, "replace": _replace}


@pytest.mark.parametrize("entry", ["clip", "sidecar", "segment"])
@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_any_damaged_cache_entry_is_remade_and_the_audio_is_right(
    clean, tmp_path, entry, corruption
):
    built, expected, a, b = clean
    project = tmp_path / "p"
    shutil.copytree(built, project)
    rng = random.Random(f"{entry}-{corruption}")
    target = project / rng.choice(a[entry])
    other = (project / b[entry][0]).read_bytes()
    target.write_bytes(CORRUPTIONS[corruption](target.read_bytes(), rng, other))
    if entry != "segment":  # so the clips are read: their segment must be made again
        shutil.rmtree(project / ".audio-edition" / "cache" / "segments")

    result = run_cli("build", "text/a.txt", *FLAGS, "--force", cwd=project)
    assert result.returncode == 0, result.stderr
    audio = decode(project / "audio" / "a.mp3")
    if entry == "segment":  # re-encoded from the same clips: the very same samples
        assert np.array_equal(audio, expected)
    else:  # a sentence spoken again: eSpeak NG is not bit-exact (see _sounds_the_same)
        assert _sounds_the_same(audio, expected)
    notices = result.stderr.strip().splitlines()  # and the user is told, one line each
    assert notices and all("damaged cache entry" in line for line in notices), notices
    assert str(target.relative_to(project)) in notices[0]


def test_a_full_cache_disk_is_one_line_and_the_edition_is_kept(clean, tmp_path):
    """Worker tracebacks, "the engine hung and was restarted" after a minute, then
    `internal error: OSError: [Errno 28]` with no path: now one line naming the cache."""
    built = clean[0]
    project = tmp_path / "p"
    shutil.copytree(built, project, ignore=shutil.ignore_patterns(".audio-edition"))
    before = (project / "audio" / "a.mp3").read_bytes()
    (project / "text" / "a.txt").write_text(ARTICLE + "A new sentence needs speaking.\n")
    with _tiny_tmpfs(tmp_path / "full") as cache:
        result = run_cli(
            "build", "text/a.txt", *FLAGS, cwd=project, env={"AUDIO_EDITION_CACHE": str(cache)}
        )
    _fails_cleanly(result, 1, f"{cache}: cannot write the clip cache (No space left on device)")
    assert (project / "audio" / "a.mp3").read_bytes() == before


def test_clean_in_one_project_keeps_the_clips_another_uses(clean, tmp_path):
    built = clean[0]
    env = {"AUDIO_EDITION_CACHE": str(tmp_path / "shared")}
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    for project, article in ((mine, "a.txt"), (theirs, "b.txt")):
        (project / "text").mkdir(parents=True)
        shutil.copy(built / "text" / article, project / "text")
        build_json(project, *FLAGS, env=env)

    cleaned = run_cli("clean", cwd=mine, env=env)
    assert cleaned.returncode == 0, cleaned.stderr
    [edition] = build_json(theirs, *FLAGS, "--force", env=env)["editions"]
    assert edition["synthesized"] == 0  # its clips were all still there

    shutil.rmtree(theirs)  # a project that is gone needs nothing
    cleaned = run_cli("clean", cwd=mine, env=env)
    assert cleaned.stdout.startswith("removed 4 cached files"), cleaned.stdout
    [edition] = build_json(mine, *FLAGS, "--force", env=env)["editions"]
    assert edition["synthesized"] == 0


def test_a_build_waits_while_the_cache_is_cleaned(clean, tmp_path):
    """`clean` holds the cache exclusive; a build takes it shared, so it waits, and says so."""
    project = tmp_path / "p"
    (project / "text").mkdir(parents=True)
    shutil.copy(clean[0] / "text" / "a.txt", project / "text")
    cache = Cache(tmp_path / "shared")
    env = {**os.environ, "AUDIO_EDITION_CACHE": str(cache.root)}
    with cache.lock(shared=False, notify=print):
        build = subprocess.Popen(
            [*CLI, "build", "--quiet", *FLAGS],
            cwd=project,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        said = build.stderr.readline()
        assert said == f"{cache.root}: the cache is being cleaned; waiting for it to finish\n"
        assert not list(cache.root.glob("clips/*/*"))  # nothing written while it waits
    _, rest = build.communicate(timeout=600)
    assert build.returncode == 0, rest
    assert (project / "audio" / "a.mp3").exists()


def test_ffmpeg_unable_to_write_a_segment_is_reported_as_the_os_error(tmp_path):
    """ffmpeg exits 0 when its output's disk is full; the encoder must still tell."""
    noise = np.random.default_rng(3).normal(0, 3000, 5 * 22050).astype(np.int16)
    with _tiny_tmpfs(tmp_path / "full", "16k") as root:
        with pytest.raises(OSError) as caught:
            encode_segment(noise.tobytes(), MP3, root / "seg.mp3")
        assert caught.value.errno == errno.ENOSPC
        assert not list(root.iterdir())  # no partial segment left
