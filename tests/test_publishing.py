"""Publishing editions: the one safe writer, the output folder's lock, leftovers, and a
batch in which one article fails."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import CLI, build_json, run_cli
from .test_bad_input import _fails_cleanly

pytestmark = pytest.mark.integration

SMALL = ("--format", "mp3,vtt", "--no-opening", "--no-closing")


def _project(root: Path, **articles: str) -> Path:
    (root / "text").mkdir(parents=True)
    for name, text in articles.items():
        (root / "text" / name).write_text(text, encoding="utf-8")
    return root


def _audio_files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}


def test_planted_symlinks_and_leftovers_are_never_written_through(tmp_path):
    project = _project(tmp_path / "p", **{"a.txt": "One short sentence. And another."})
    out = project / "audio"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    # Where the previous builder staged its outputs, and where writers leave temp files.
    for name in (".a.mp3.staging", ".a.vtt.staging", ".a.json.staging", ".a.mp3.1234.part"):
        os.symlink(victim, out / name)
    (out / ".staging-leftover").mkdir()
    (out / ".staging-leftover" / "a.mp3").write_bytes(b"half")
    (out / ".a.vtt.abcd.tmp").write_bytes(b"half")

    build_json(project, *SMALL)

    assert victim.read_text() == "precious"
    for name in ("a.mp3", "a.vtt", "a.json"):
        assert (out / name).is_file() and not (out / name).is_symlink()
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [
        ".audio-edition.lock"
    ]


def test_an_output_replaced_by_other_bytes_of_the_same_size_is_rebuilt(tmp_path):
    project = _project(tmp_path / "p", **{"a.txt": "One short sentence. And another."})
    build_json(project, *SMALL)
    mp3 = project / "audio" / "a.mp3"
    good = mp3.read_bytes()
    # What an interrupted rebuild left: another edition's audio, of the same size (CBR).
    mp3.write_bytes(good[: len(good) // 2] + bytes(len(good) - len(good) // 2))
    edition = build_json(project, *SMALL)["editions"][0]
    assert edition["changed"] is True
    assert mp3.read_bytes() == good
    manifest = json.loads((project / "audio" / "a.json").read_text())
    assert all("sha256" in o for o in manifest["outputs"].values())


def test_a_build_into_a_folder_another_project_is_writing_waits(tmp_path):
    first = _project(tmp_path / "one", **{"a.txt": "The first project."})
    second = _project(tmp_path / "two", **{"b.txt": "The second project."})
    shared = tmp_path / "shared-audio"
    build_json(first, "--out", str(shared), *SMALL)
    with open(shared / ".audio-edition.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # as a build of the first project would
        proc = subprocess.Popen(
            [*CLI, "build", "--out", str(shared), *SMALL],
            cwd=second,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(3)
        assert proc.poll() is None  # waiting for the other project's build
        fcntl.flock(fh, fcntl.LOCK_UN)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "waiting" in err and str(shared) in err
    assert {"a.mp3", "a.json", "b.mp3", "b.json"} <= set(os.listdir(shared))


def test_two_projects_building_into_one_folder_at_once_both_publish_whole_editions(tmp_path):
    shared = tmp_path / "shared-audio"
    projects = [
        _project(tmp_path / f"p{i}", **{f"art{i}.txt": f"Project {i} speaks. Twice over."})
        for i in range(2)
    ]
    procs = [
        subprocess.Popen(
            [*CLI, "build", "--json", "--out", str(shared), *SMALL],
            cwd=p,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for p in projects
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    names = set(os.listdir(shared))
    assert {"art0.mp3", "art1.mp3", "art0.json", "art1.json"} <= names
    assert not [n for n in names if n.startswith(".") and n != ".audio-edition.lock"]
    for i in range(2):
        manifest = json.loads((shared / f"art{i}.json").read_text())
        assert manifest["paragraphs"][0]["text"] == f"Project {i} speaks. Twice over."


def test_one_bad_article_does_not_stop_the_others(tmp_path):
    project = _project(
        tmp_path / "p",
        **{"a-draft.txt": "", "b.txt": "A good article.", "c.txt": "Another good one."},
    )
    result = run_cli("build", "--format", "mp3,html", "--no-opening", "--no-closing", cwd=project)
    _fails_cleanly(result, 1, "a-draft.txt", "empty")
    out = project / "audio"
    assert {"b.mp3", "c.mp3", "b.html", "c.html", "index.html"} <= set(os.listdir(out))
    assert "b.txt" in result.stdout and "c.txt" in result.stdout


def test_each_failure_is_named_on_its_own_line(tmp_path):
    project = _project(
        tmp_path / "p", **{"a.txt": "", "b.txt": "Fine.", "c.txt": "\n\n", "index.md": "# Hi"}
    )
    result = run_cli("build", *SMALL, "--json", cwd=project)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 3 and "Traceback" not in result.stderr
    assert ["a.txt" in lines[0], "c.txt" in lines[1], "index.md" in lines[2]] == [True] * 3
    assert "reserved" in lines[2]
    report = json.loads(result.stdout)
    assert [e["source"] for e in report["editions"]] == ["text/b.txt"]
    assert len(report["failed"]) == 3


def test_a_renamed_article_leaves_an_orphan_that_status_lists_and_clean_removes(tmp_path):
    project = _project(
        tmp_path / "p", **{"old.txt": "An article soon renamed.", "keep.txt": "Stays."}
    )
    build_json(project, "--format", "mp3,html", "--no-opening", "--no-closing")
    (project / "text" / "old.txt").rename(project / "text" / "new.txt")
    build_json(project, "--format", "mp3,html", "--no-opening", "--no-closing")
    out = project / "audio"
    assert "old.html" in (out / "index.html").read_text()  # still listed: an orphan

    status = run_cli("status", cwd=project)
    assert status.returncode == 0, status.stderr
    [line] = [x for x in status.stdout.splitlines() if "orphan" in x]
    assert "old.json" in line and "old.txt" in line and "clean --outputs" in line

    clean = run_cli("clean", "--outputs", cwd=project)
    assert clean.returncode == 0, clean.stderr
    assert not [p for p in out.iterdir() if p.name.startswith("old.")]
    assert {"new.mp3", "keep.mp3", "new.json", "keep.json"} <= set(os.listdir(out))
    assert "old.html" not in (out / "index.html").read_text()
    assert "new.html" in (out / "index.html").read_text()


def test_an_article_of_the_same_name_from_elsewhere_does_not_overwrite_an_edition(tmp_path):
    project = _project(tmp_path / "p", **{"a.txt": "The first a."})
    (project / "drafts").mkdir()
    (project / "drafts" / "a.md").write_text("The second a.\n", encoding="utf-8")
    build_json(project, *SMALL)
    before = _audio_files(project / "audio")
    result = run_cli("build", "drafts/a.md", *SMALL, cwd=project)
    _fails_cleanly(result, 1, "drafts/a.md", "same edition name", "a.txt")
    assert _audio_files(project / "audio") == before


def test_an_article_named_in_another_script_keeps_its_name(tmp_path):
    project = _project(tmp_path / "p", **{"مقالہ.txt": "A title in Urdu script.\n"})
    build_json(project, *SMALL)
    assert (project / "audio" / "مقالہ.mp3").is_file()


def test_what_a_stopped_build_left_in_the_cache_is_removed_by_the_next(tmp_path):
    project = _project(tmp_path / "p", **{"a.txt": "One short sentence."})
    build_json(project, *SMALL)
    cache = project / ".audio-edition" / "cache"
    planted = [
        cache / "tmp" / "0123.wav",
        cache / "clips" / "ab" / ".abcd.wav.x1y2.tmp",
        cache / "segments" / "mp3" / "cd" / ".cdef.mp3.0123456789ab.part",
    ]
    for path in planted:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half-written")
    (project / "text" / "a.txt").write_text("Another short sentence.")
    build_json(project, *SMALL)
    assert [p for p in planted if p.exists()] == []


def test_a_project_copied_whole_builds_in_its_new_place(tmp_path):
    import shutil

    first = _project(tmp_path / "p", **{"a.txt": "One short sentence."})
    build_json(first, *SMALL)
    copy = tmp_path / "copy"
    shutil.copytree(first, copy)
    (copy / "text" / "a.txt").write_text("One edited sentence.")
    edition = build_json(copy, *SMALL)["editions"][0]  # its own a.txt, not the original's
    assert edition["changed"] is True
