"""Builds on a Dask cluster (`build --cluster`): a real `dask scheduler` and `dask worker`
processes on 127.0.0.1, started here, with the real eSpeak NG and ffmpeg.

eSpeak's clips of one text are not always bit-identical from one cold start to the next,
so a cluster build is compared with a local build that starts from the cluster build's
clips (copied into its own cache, without the segments): the local build then lays out
and encodes every segment itself, and the two editions must be equal to the sample.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import CLI, run_cli
from .local_cluster import LocalCluster, free_port

pytestmark = pytest.mark.integration

ARTICLES = {
    "harbour": "The harbour opened in spring. Ships came from the south. The quay was long.",
    "market": "The market sells fish at dawn. Prices rose this week. Traders were unhappy.",
    "school": "A new school was built. It has twelve rooms. The children moved in on Monday.",
    "bridge": "The bridge is closed for repairs. Buses take the long road. It opens in May.",
}
FLAGS = ("--format", "mp3,vtt", "--no-opening", "--no-closing", "--jobs", "1")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two workers of one thread each, for the module."""
    found = LocalCluster(tmp_path_factory.mktemp("dask"))
    try:
        for _ in range(2):
            found.add_worker()
        found.wait_for_workers(2)
        yield found
    finally:
        found.stop()


def _project(root: Path, articles: dict[str, str] = ARTICLES) -> Path:
    (root / "text").mkdir(parents=True)
    for name, text in articles.items():
        (root / "text" / f"{name}.txt").write_text(f"# The {name}\n\n{text}\n", encoding="utf-8")
    return root


def _local_reference(cluster_cache: Path, root: Path, articles: dict[str, str] = ARTICLES) -> dict:
    """A local build of the same articles from the cluster build's clips (not segments)."""
    project = _project(root, articles)
    shutil.copytree(cluster_cache / "clips", root / "cache" / "clips")
    result = run_cli(
        "build", "--json", *FLAGS, cwd=project, env={"AUDIO_EDITION_CACHE": str(root / "cache")}
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert all(e["synthesized"] == 0 for e in report["editions"])  # every clip reused
    return _editions(project / "audio", articles)


def _editions(out: Path, articles: dict[str, str] = ARTICLES) -> dict:
    """Each edition's manifest (without its build record, which names the article), its
    decoded MP3 samples and its captions."""
    found = {}
    for name in articles:
        manifest = json.loads((out / f"{name}.json").read_text(encoding="utf-8"))
        manifest.pop("build")  # the input key, the article path
        for output in manifest["outputs"].values():
            output.pop("id")  # the file's inode and time: this output folder's
        pcm = subprocess.run(
            ["ffmpeg", "-v", "error", "-i", str(out / f"{name}.mp3"), "-f", "s16le", "-"],
            capture_output=True,
            check=True,
        ).stdout
        found[name] = (manifest, pcm, (out / f"{name}.vtt").read_text(encoding="utf-8"))
    return found


def _assert_equal(built: dict, reference: dict) -> None:
    assert built.keys() == reference.keys()
    for name in built:
        manifest, pcm, vtt = built[name]
        assert manifest == reference[name][0], name
        assert len(pcm) > 22050 and pcm == reference[name][1], name
        assert vtt == reference[name][2], name


def test_a_batch_built_on_the_cluster_equals_a_local_build(cluster, tmp_path):
    project = _project(tmp_path / "p")
    env = {"AUDIO_EDITION_CACHE": str(tmp_path / "shared")}
    result = run_cli("build", "--json", "--cluster", cluster.address, *FLAGS, cwd=project, env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert len(report["editions"]) == len(ARTICLES)
    assert all(e["synthesized"] > 0 for e in report["editions"])  # spoken on the workers
    built = _editions(project / "audio")
    _assert_equal(built, _local_reference(tmp_path / "shared", tmp_path / "ref"))
    # A rebuild has nothing to do, and needs no cluster: none is reached.
    again = run_cli(
        "build", "--json", "--cluster", "tcp://127.0.0.1:1", *FLAGS, cwd=project, env=env
    )
    assert again.returncode == 0, again.stderr
    assert not any(e["changed"] for e in json.loads(again.stdout)["editions"])


def test_a_long_article_saying_a_sentence_twice_equals_a_local_build(cluster, tmp_path):
    """A long article is spoken by several tasks. Its big first segment (46 sentences)
    is spoken by several and encoded once they are all back; its last repeats the first
    sentence, which another task speaks, so it too is encoded once both are back. The
    edition is still the local build's."""
    refrain = "The tide comes in twice a day."
    paragraphs = [
        " ".join(f"Fishermen of the bay number {n}{k} mend nets by lamplight." for k in "abcd")
        for n in range(1, 17)
    ]
    paragraphs[-1] = f"{refrain} {paragraphs[-1]}"
    articles = {"tide": f"{refrain} " + "\n\n".join(paragraphs)}
    project = _project(tmp_path / "p", articles)
    env = {"AUDIO_EDITION_CACHE": str(tmp_path / "shared")}
    result = run_cli("build", "--json", "--cluster", cluster.address, *FLAGS, cwd=project, env=env)
    assert result.returncode == 0, result.stderr
    (edition,) = json.loads(result.stdout)["editions"]
    assert edition["synthesized"] == 66  # the title, the refrain once, 64 sentences
    built = _editions(project / "audio", articles)
    _assert_equal(built, _local_reference(tmp_path / "shared", tmp_path / "ref", articles))


def test_a_worker_killed_mid_batch_costs_nothing(cluster, tmp_path):
    project = _project(tmp_path / "p")
    shared = tmp_path / "shared"
    env = {**os.environ, "AUDIO_EDITION_CACHE": str(shared)}
    victim = cluster.workers[0]
    build = subprocess.Popen(
        [*CLI, "build", "--json", "--cluster", cluster.address, *FLAGS],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while build.poll() is None and not list((shared / "clips").rglob("*.wav")):
            time.sleep(0.01)
        assert build.poll() is None, "the build ended before any clip was made"
        victim.send_signal(signal.SIGKILL)  # mid-batch: the first clip is just in
        out, err = build.communicate(timeout=600)
    finally:
        if build.poll() is None:
            build.kill()
        cluster.workers.remove(victim)
        victim.wait()
        cluster.add_worker()  # the next test has two workers again
    assert build.returncode == 0, err
    assert len(json.loads(out)["editions"]) == len(ARTICLES)
    built = _editions(project / "audio")
    _assert_equal(built, _local_reference(shared, tmp_path / "ref"))
    cluster.wait_for_workers(2)


def test_an_unreachable_scheduler_is_one_line_naming_it(tmp_path):
    project = _project(tmp_path / "p")
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    result = run_cli(
        "build",
        "--cluster",
        address,
        *FLAGS,
        cwd=project,
        env={"AUDIO_EDITION_CACHE": str(tmp_path / "cache")},
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # one article's error stops the batch: one line
    assert lines[0].startswith(f"audio-edition: error: {address}: cannot reach the Dask scheduler")
    assert not list((project / "audio").glob("*.json"))  # nothing half-built


def test_a_worker_with_another_engine_is_refused(tmp_path):
    """A worker whose engine is not the client's (here the test engine, which any worker
    started with AUDIO_EDITION_ENGINE=fake runs) must not cache clips under its keys."""
    other = LocalCluster(tmp_path)
    try:
        other.add_worker(env={"AUDIO_EDITION_ENGINE": "fake"})
        other.wait_for_workers(1)
        project = _project(tmp_path / "p")
        cache = tmp_path / "cache"
        result = run_cli(
            "build",
            "--cluster",
            other.address,
            *FLAGS,
            cwd=project,
            env={"AUDIO_EDITION_CACHE": str(cache)},
        )
    finally:
        other.stop()
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "its engine is fake-1, the client's is pyttsx3-" in lines[0]
    assert "install the same audio-edition, engine, voice and ffmpeg on every worker" in lines[0]
    assert not list((cache / "clips").rglob("*.wav"))  # nothing cached under its keys


def test_two_builders_sharing_one_cache_at_once_both_build_it_whole(tmp_path):
    """Two builds (two processes: as two machines, or two workers) make the same clips
    into one cache at the same time: each clip is kept once, whole, and both editions are
    built from the clips kept, so they are the same."""
    from audio_edition.cache import Cache

    shared = tmp_path / "shared"
    env = {**os.environ, "AUDIO_EDITION_CACHE": str(shared)}
    projects = [_project(tmp_path / name) for name in ("one", "two")]
    builds = [
        subprocess.Popen([*CLI, "build", "--quiet", *FLAGS], cwd=p, env=env, stderr=subprocess.PIPE)
        for p in projects
    ]
    for build in builds:
        assert build.wait(timeout=600) == 0, build.stderr.read()
    one, two = (_editions(p / "audio") for p in projects)
    _assert_equal(one, two)
    cache = Cache(shared)
    sidecars = list((shared / "clips").rglob("*.json"))
    assert sidecars and not list((shared / "clips").rglob(".*"))  # no temp file left
    for sidecar in sidecars:
        info = cache.clip_info(sidecar.stem)
        assert info is not None and len(cache.read_clip(info)) == info.samples
