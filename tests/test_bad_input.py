"""Bad input and faults: one clear line, a non-zero exit, no traceback, nothing lost."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import CLI, build_json, run_cli

pytestmark = pytest.mark.integration


def _fails_cleanly(result, code: int, *words: str) -> str:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def built(project: Path) -> Path:
    """A project with an edition already built, to check that failures leave it intact."""
    build_json(project, "--format", "mp3")
    return project


def _snapshot(project: Path) -> dict:
    return {p.name: p.read_bytes() for p in (project / "audio").iterdir() if p.is_file()}


BAD_FILES = {
    "empty.txt": (b"", "empty"),
    "blank.txt": (b"  \n\n \t\n", "empty"),
    "latin1.txt": ("Caf\u00e9 au lait.".encode("latin-1"), "UTF-8"),
    "binary.txt": (bytes(range(256)) * 4, "binary"),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_unreadable_article_is_one_line_naming_the_file(built, name):
    data, word = BAD_FILES[name]
    before = _snapshot(built)
    (built / "text" / name).write_bytes(data)
    result = run_cli("build", f"text/{name}", cwd=built)
    _fails_cleanly(result, 1, name, word)
    assert _snapshot(built) == before


def test_invalid_utf8_names_the_byte(built):
    (built / "text" / "bad.txt").write_bytes(b"Good start.\nThen \xff\xfe bad.")
    line = _fails_cleanly(run_cli("build", "text/bad.txt", cwd=built), 1, "bad.txt")
    assert "byte 17" in line


def test_unknown_voice_names_close_matches(built):
    before = _snapshot(built)
    line = _fails_cleanly(run_cli("build", "--voice", "en-uss", cwd=built), 2, "unknown voice")
    assert "en-us" in line
    assert _snapshot(built) == before


def test_missing_ffmpeg_says_how_to_install_it(built, tmp_path):
    # A PATH holding only python: eSpeak NG's library is still there, ffmpeg is not.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    os.symlink(sys.executable, bin_dir / "python3")
    result = run_cli("build", cwd=built, env={"PATH": str(bin_dir)})
    _fails_cleanly(result, 1, "ffmpeg", "apt-get install ffmpeg")


def test_missing_espeak_says_how_to_install_it(built, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("ffmpeg", "ffprobe"):
        os.symlink(shutil.which(tool), bin_dir / tool)
    result = run_cli("build", "--force", cwd=built, env={"PATH": str(bin_dir)})
    _fails_cleanly(result, 1, "eSpeak NG", "apt-get install espeak-ng")


def test_markup_is_spoken_as_text(project):
    (project / "text" / "gwadar-editorial.txt").unlink()
    (project / "text" / "markup.txt").write_text(
        "Type <speak>hello</speak> & see.\nThen <b>bold</b> &amp; <script>alert(1)</script>.\n"
    )
    report = build_json(project, "--format", "mp3")
    import json

    manifest = json.loads((project / "audio" / "markup.json").read_text())
    assert manifest["paragraphs"][0]["text"] == "Type <speak>hello</speak> & see."
    assert manifest["paragraphs"][1]["text"] == "Then <b>bold</b> &amp; <script>alert(1)</script>."
    # Spoken, not swallowed as markup: the symbols make the sentence long when read out.
    first = manifest["paragraphs"][0]["sentences"][0]
    assert first["end_ms"] - first["start_ms"] > 2000
    assert report["editions"][0]["synthesized"] == 4


def _start_rebuild_after_an_edit(built: Path, word: str) -> tuple[subprocess.Popen, int]:
    """Edit every sentence, start a build, and return once it has cached a few new clips."""
    article = built / "text" / "gwadar-editorial.txt"
    article.write_text(article.read_text().replace(".", f" {word}."), encoding="utf-8")
    clips = built / ".audio-edition" / "cache" / "clips"
    start = len(list(clips.rglob("*.json")))
    proc = subprocess.Popen(
        [*CLI, "build", "--format", "mp3", "--jobs", "1"],
        cwd=built,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while len(list(clips.rglob("*.json"))) < start + 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    return proc, len(list(clips.rglob("*.json"))) - start


def test_a_killed_build_leaves_earlier_outputs_and_the_next_build_reuses_its_clips(built):
    before = _snapshot(built)
    proc, made = _start_rebuild_after_an_edit(built, "indeed")
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert made >= 5
    assert _snapshot(built) == before  # nothing half-written at a final path
    edition = build_json(built, "--format", "mp3")["editions"][0]
    assert edition["reused"] >= made + 2  # the clips made before the kill, and the announcements
    assert not list((built / "audio").glob(".*staging*"))


def test_a_second_build_waits_for_the_first(built):
    import fcntl

    lock = built / "audio" / ".audio-edition.lock"
    with open(lock, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        proc = subprocess.Popen(
            [*CLI, "build", "--format", "mp3", "--json"],
            cwd=built,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(3)
        assert proc.poll() is None  # still waiting
        fcntl.flock(fh, fcntl.LOCK_UN)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0
    assert "waiting" in err


def test_ctrl_c_stops_cleanly_and_leaves_no_workers_behind(built):
    before = _snapshot(built)
    proc, _ = _start_rebuild_after_an_edit(built, "again")
    workers = _workers_of(proc.pid)
    assert workers  # speaking when interrupted
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "interrupted" in err
    assert _snapshot(built) == before
    assert not [pid for pid in workers if _alive(pid)]


def _workers_of(parent: int) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            is_worker = b"audio_edition/speech_worker.py" in (proc / "cmdline").read_bytes()
            if is_worker and int((proc / "stat").read_text().split()[3]) == parent:
                found.append(int(proc.name))
        except (OSError, ValueError):
            continue
    return found


def _alive(pid: int) -> bool:
    try:
        return (Path(f"/proc/{pid}/stat").read_text().split()[2]) != "Z"
    except OSError:
        return False
