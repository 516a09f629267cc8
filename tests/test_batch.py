"""Builds of many articles at once: overlapping articles, one pool of speech workers, the
batch's progress, errors per article, and builds sharing one clip cache."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from audio_edition import speech_pool
from audio_edition.build import build
from audio_edition.cache import Cache
from audio_edition.cli import Bar
from audio_edition.config import load_settings
from audio_edition.engines.fake import FakeEngine
from audio_edition.files import digest_line, digest_path, record_digest, sha256_file
from audio_edition.script import Item
from audio_edition.speech import VoiceSettings
from audio_edition.synthesis import Synthesis

from .conftest import CLI, build_json, run_cli

SMALL = ("--format", "vtt", "--no-opening", "--no-closing")


def _articles(project: Path, count: int, tag: str = "") -> list[Path]:
    """Short articles, no sentence shared between them."""
    (project / "text").mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(1, count + 1):
        path = project / "text" / f"story-{n}.txt"
        path.write_text(
            f"Story {n}{tag}.\n\nThe ferry number {n} left the harbour late{tag}. "
            f"Its {n + 2} passengers waited on the quay in the rain.\n",
            encoding="utf-8",
        )
        paths.append(path)
    return paths


def _fake_settings(project: Path, **changes: object):
    base = load_settings(project)
    return replace(base, formats=("vtt",), opening="", closing="", jobs=2, **changes)


# ---------------------------------------------------------------- unit tier (fake engine)


def test_a_batch_keeps_its_speech_workers_from_article_to_article(tmp_path, monkeypatch):
    spawned = []
    real = speech_pool._spawn_worker
    monkeypatch.setattr(speech_pool, "_spawn_worker", lambda *a: spawned.append(a) or real(*a))
    paths = _articles(tmp_path, 4)
    results = build(
        paths,
        project=tmp_path,
        settings=_fake_settings(tmp_path),
        engine=FakeEngine(in_workers=True),
    )
    assert [Path(r.source).name for r in results] == [p.name for p in paths]
    assert all(r.synthesized == 3 for r in results)
    assert len(spawned) == 2  # one pool of --jobs 2 for the batch, not two per article


def test_a_sentence_two_articles_share_is_spoken_once_in_a_batch(tmp_path):
    """The second article waits for its turn while the first speaks: a sentence the first
    made meanwhile (a shared standfirst, a repeated disclaimer) is taken from the cache,
    not spoken again."""
    shared = "This story was corrected after publication to fix a name."
    text = tmp_path / "text"
    text.mkdir()
    long = " ".join(f"The first story's sentence number {n} is here." for n in range(1, 60))
    (text / "a.txt").write_text(f"{shared} {long}\n", encoding="utf-8")
    (text / "b.txt").write_text(f"Second story.\n\n{shared}\n", encoding="utf-8")
    results = build(
        project=tmp_path,
        settings=_fake_settings(tmp_path),
        engine=FakeEngine(in_workers=True),
    )
    # 59 of a's own, b's first line, and the shared sentence once (by whichever spoke first)
    assert sum(r.synthesized for r in results) == 61, [r.synthesized for r in results]


def test_the_batch_progress_counts_articles_and_sentences(tmp_path):
    out = io.StringIO()
    build(
        _articles(tmp_path, 3),
        project=tmp_path,
        settings=_fake_settings(tmp_path),
        engine=FakeEngine(),
        progress=Bar(out),
    )
    lines = out.getvalue().split("\r")
    assert any("] 1/3 articles, " in line and "sentences spoken, ETA " in line for line in lines)
    assert any("/3 articles, 9 sentences spoken" in line for line in lines)  # 3 each
    assert lines[-1] == "\033[K"  # cleared at the end


def test_after_ctrl_c_an_article_waiting_for_its_turn_speaks_nothing(tmp_path):
    """Ctrl-C while the first article speaks (the main thread sets the build's stop, as
    its handler does, and the article stops at its next clip): the second, waiting for
    its turn meanwhile, must not begin to speak once the first lets go."""
    from audio_edition.build import Builder
    from audio_edition.synthesis import Progress

    started: list[str] = []

    class CtrlC(Progress):
        def start(self, article: str, total: int) -> None:
            started.append(article)
            builder._stop.set()  # what build_all does when Ctrl-C reaches it
            raise KeyboardInterrupt

    paths = _articles(tmp_path, 3)
    settings = _fake_settings(tmp_path)
    builder = Builder(tmp_path, tmp_path / "audio", settings, FakeEngine(), CtrlC())
    (tmp_path / "audio").mkdir()
    with pytest.raises(KeyboardInterrupt), builder.sharing_cache():
        builder.build_all(paths)
    assert len(started) == 1, started  # the first; the next stopped before speaking


class _Waits(FakeEngine):
    """Speaks its clip, then waits until told to go on before handing it over."""

    def __init__(self, go_on: threading.Event, spoke: threading.Event) -> None:
        super().__init__()
        self.go_on, self.spoke = go_on, spoke

    def synthesize(self, utterances, jobs):
        for clip in super().synthesize(utterances, jobs):
            self.spoke.set()
            assert self.go_on.wait(30)
            yield clip


def test_two_builds_speaking_the_same_clip_at_once_both_keep_it(tmp_path):
    """Another build (or article) speaking the same sentence into the same cache at the same
    moment must not take or delete this one's scratch clip."""
    cache = Cache(tmp_path / "cache")
    settings = _fake_settings(tmp_path)
    voice = VoiceSettings(voice="fake/en-us")
    items = [Item("sentence", "The ferry left the harbour late.", 0, "p1 s1")]
    go_on, spoke = threading.Event(), threading.Event()
    slow = Synthesis(cache, _Waits(go_on, spoke), settings, _progress())
    [key] = slow.clip_keys(items, voice)
    answers: dict[str, object] = {}

    def first() -> None:
        try:
            answers["first"] = slow.clips(items, [key], voice, "a.txt", {key: None})
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            answers["first"] = exc

    thread = threading.Thread(target=first)
    thread.start()
    assert spoke.wait(30)
    other = Synthesis(cache, FakeEngine(), settings, _progress())
    [info], made = other.clips(items, [key], voice, "b.txt", {key: None})
    go_on.set()
    thread.join()
    assert not isinstance(answers["first"], Exception), answers["first"]
    assert made == 1 and answers["first"][1] == 1
    assert answers["first"][0] == [info]  # one entry won, both builds use it
    assert sha256_file(cache.clip_path(key)) == cache.clip_info(key).sha256


def test_a_segment_being_put_in_place_is_not_taken_for_an_incomplete_one(tmp_path):
    """Between a segment's rename and its hash's, another build checking it waits for the
    writer instead of discarding the new segment as a killed build's leftover."""
    cache = Cache(tmp_path / "cache")
    path = cache.segment_path("mp3", "ab" + "0" * 62, "mp3")
    path.parent.mkdir(parents=True)
    found: list[bool] = []
    with cache.entry_lock(path):  # the writer: the segment renamed in, its hash not yet
        path.write_bytes(b"frames")
        reader = threading.Thread(target=lambda: found.append(cache.segment_ok(path)))
        reader.start()
        reader.join(0.5)
        record_digest(path, hashlib.sha256(b"frames").hexdigest())
    reader.join()
    assert found == [True]
    assert path.read_bytes() == b"frames"


def _progress():
    from audio_edition.synthesis import Progress

    return Progress()


# ---------------------------------------------------------------- real eSpeak NG and ffmpeg


@pytest.mark.integration
def test_a_batch_with_a_bad_article_builds_the_others_and_names_it(tmp_path):
    from .test_bad_input import _fails_cleanly

    paths = _articles(tmp_path, 3)
    bad = tmp_path / "text" / "story-2b.txt"
    bad.write_bytes("Caf\u00e9 au lait.".encode("latin-1"))
    result = run_cli("build", "--json", *SMALL, cwd=tmp_path)
    _fails_cleanly(result, 1, "story-2b.txt", "UTF-8")
    report = json.loads(result.stdout)
    assert [Path(e["source"]).name for e in report["editions"]] == [p.name for p in paths]
    assert [f["error"].split(":")[0] for f in report["failed"]] == [f"text/{bad.name}"]
    for path in paths:
        assert (tmp_path / "audio" / f"{path.stem}.vtt").stat().st_size > 0


@pytest.mark.integration
def test_ctrl_c_stops_every_article_under_way(project):
    """Interrupted while one article speaks and the next waits for its turn: the build
    stops at once (neither finishes its edition), with one line and no worker left."""
    import signal
    import time

    from .conftest import SAMPLE
    from .test_bad_input import _alive, _workers_of

    for k in (2, 3):  # more long articles, none sharing a sentence
        text = SAMPLE.read_text(encoding="utf-8").replace(". ", f", in copy {k}. ")
        (project / "text" / f"copy-{k}.txt").write_text(text, encoding="utf-8")
    proc = subprocess.Popen(
        [*CLI, "build", "--format", "mp3", "--jobs", "1"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    clips = project / ".audio-edition" / "cache" / "clips"
    while len(list(clips.rglob("*.json"))) < 5 and proc.poll() is None:
        time.sleep(0.05)  # an article is being spoken
    workers = _workers_of(proc.pid)
    assert workers
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert "Traceback" not in err and "interrupted" in err
    assert not list((project / "audio").glob("*.mp3"))  # no article went on to the end
    assert not [pid for pid in workers if _alive(pid)]


def _manifests(out: Path) -> dict[str, dict]:
    """Each manifest, less what differs between two builds of the same edition (the
    files' identities: inode and time)."""
    found = {}
    for path in sorted(out.glob("*.json")):
        manifest = json.loads(path.read_text(encoding="utf-8"))
        for output in manifest["outputs"].values():
            output.pop("id", None)
        found[path.name] = manifest
    return found


@pytest.mark.integration
def test_a_batch_builds_the_same_editions_as_one_article_at_a_time(tmp_path):
    """Same clips, same editions. eSpeak NG's clips are not byte-for-byte repeatable (6 of
    20 differed between two cold builds of these articles), so the one-at-a-time builds
    use the clips the batch made: they must speak nothing and write the same editions."""
    paths = _articles(tmp_path, 4)
    fmt = ("--format", "mp3,vtt")
    batch = run_cli("build", *fmt, "--out", "batch", cwd=tmp_path)
    assert batch.returncode == 0, batch.stderr
    for path in paths:
        report = build_json(tmp_path, *fmt, "--out", "single", f"text/{path.name}")
        assert [e["synthesized"] for e in report["editions"]] == [0]
    batch_manifests = _manifests(tmp_path / "batch")
    assert len(batch_manifests) == 4
    assert batch_manifests == _manifests(tmp_path / "single")


def _cache_is_whole(root: Path) -> int:
    """Check every clip and segment against the hash written with it; return the count."""
    entries = 0
    for sidecar in (root / "clips").rglob("*.json"):
        record = json.loads(sidecar.read_bytes())
        wav = sidecar.with_suffix(".wav")
        assert sha256_file(wav) == record["sha256"], wav
        assert wav.stat().st_size == 44 + 2 * record["samples"], wav
        entries += 1
    for digest in (root / "segments").rglob("*.sha256"):
        segment = digest.with_name(digest.name.removesuffix(".sha256"))
        assert digest_path(segment) == digest
        assert digest.read_text() == digest_line(sha256_file(segment), segment), segment
        entries += 1
    for sub in ("clips", "segments"):  # every clip has its record, every segment its hash
        for path in (root / sub).rglob("*"):
            assert path.is_dir() or path.suffix in (".json", ".wav", ".sha256", ".aac", ".mp3")
            assert not path.name.startswith("."), path  # no temp file left behind
    return entries


@pytest.mark.integration
def test_two_builders_sharing_one_cache_at_once_leave_it_whole(tmp_path):
    """Two projects with the same articles, built at the same moment by two processes
    into one cache (AUDIO_EDITION_CACHE, as on a shared folder)."""
    shared = tmp_path / "shared-cache"
    env = {**os.environ, "AUDIO_EDITION_CACHE": str(shared)}
    projects = [tmp_path / "one", tmp_path / "two"]
    for project in projects:
        _articles(project, 3)
    builds = [
        subprocess.Popen(
            [*CLI, "build", "--format", "mp3", "--no-opening"],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for project in projects
    ]
    for proc in builds:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        assert "damaged" not in err, err
    assert _cache_is_whole(shared) >= 3 * 4  # three articles' clips, and their segments
    one, two = (_manifests(p / "audio") for p in projects)
    assert len(one) == 3 and one == two
    again = run_cli("build", "--json", "--format", "mp3", "--no-opening", cwd=projects[0])
    assert again.returncode == 0 and "damaged" not in again.stderr
