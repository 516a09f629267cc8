"""`audio-edition serve` over real HTTP (Uvicorn in a thread, or the CLI in a process)
and the `--watch` rebuilder (with the fake engine: the speech does not matter here)."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from audio_edition.serve import Server, bind

from .conftest import CLI

DATA = bytes(range(256)) * 40  # 10240 bytes, each position recognisable

FILES = {
    "a.m4b": "audio/mp4",
    "a.mp3": "audio/mpeg",
    "a.opus": "audio/ogg; codecs=opus",
    "a.vtt": "text/vtt; charset=utf-8",
    "a.chapters.vtt": "text/vtt; charset=utf-8",
    "a.srt": "application/x-subrip; charset=utf-8",
    "a.epub": "application/epub+zip",
    "a.daisy.zip": "application/zip",
    "a.json": "application/json",
    "a.chapters.json": "application/json",
    "a.html": "text/html; charset=utf-8",
    "feed.xml": "application/rss+xml",
}


@pytest.fixture
def out(tmp_path: Path) -> Path:
    folder = tmp_path / "audio"
    folder.mkdir()
    for name in FILES:
        (folder / name).write_bytes(DATA)
    (folder / "index.html").write_text("<html><head></head><body>editions</body></html>")
    (folder / ".audio-edition.lock").write_text("")
    (folder / ".staging-1").mkdir()
    (folder / ".staging-1" / "a.mp3").write_bytes(b"staged")
    (tmp_path / "secret.txt").write_text("not for the web")
    return folder


@pytest.fixture
def served(out: Path) -> Iterator[int]:
    server = Server(out, bind("127.0.0.1", 0))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    _wait_for(lambda: server.uvicorn.started)
    yield server.port
    server.stop()
    thread.join(timeout=10)


def _wait_for(condition, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def get(port: int, path: str, **headers: str) -> http.client.HTTPResponse:
    """A request sent exactly as written: http.client neither normalises nor re-encodes."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    response.body = response.read()
    conn.close()
    return response


# ---------------------------------------------------------------- ranges


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-99", 0, 99),  # the first bytes
        ("bytes=5000-5999", 5000, 5999),  # the middle
        ("bytes=10000-", 10000, 10239),  # from a point to the end
        ("bytes=10200-10239", 10200, 10239),  # the last bytes
        ("bytes=-300", 9940, 10239),  # a suffix: the last 300
        ("bytes=10000-99999", 10000, 10239),  # an end past the end: cut to it
    ],
)
def test_range_requests_get_those_bytes(served, header, start, end):
    r = get(served, "/a.mp3", Range=header)
    assert r.status == 206
    assert r.getheader("Content-Range") == f"bytes {start}-{end}/{len(DATA)}"
    assert r.body == DATA[start : end + 1]


def test_a_range_past_the_end_gets_416(served):
    r = get(served, "/a.mp3", Range="bytes=20000-20099")
    assert r.status == 416
    assert r.getheader("Content-Range") == f"bytes */{len(DATA)}"


def test_no_range_gets_the_whole_file_and_says_ranges_work(served):
    r = get(served, "/a.opus")
    assert r.status == 200 and r.body == DATA
    assert r.getheader("Accept-Ranges") == "bytes"


# ---------------------------------------------------------------- types and caching


@pytest.mark.parametrize(("name", "kind"), FILES.items())
def test_every_format_has_its_media_type(served, name, kind):
    r = get(served, f"/{name}")
    assert r.status == 200
    assert r.getheader("Content-Type") == kind


def test_nothing_is_served_stale(served, out):
    """Pages, manifests and audio are revalidated every time; a rebuilt file gets a new
    ETag, and an unchanged one answers 304."""
    for name in ("a.html", "a.json", "a.mp3"):
        first = get(served, f"/{name}")
        assert first.getheader("Cache-Control") == "no-cache"
        etag = first.getheader("ETag")
        assert etag
        assert get(served, f"/{name}", **{"If-None-Match": etag}).status == 304
        new = out / f"new-{name}"
        new.write_bytes(DATA[::-1])
        os.replace(new, out / name)  # as a build publishes it
        again = get(served, f"/{name}", **{"If-None-Match": etag})
        assert again.status == 200 and again.body == DATA[::-1]
        assert again.getheader("ETag") != etag


def test_the_root_is_the_list_of_editions(served):
    r = get(served, "/")
    assert r.status == 200 and b"editions" in r.body


# ---------------------------------------------------------------- only the output folder


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/a.mp3/../../secret.txt",
        "/..%2fsecret.txt",
        "/%2e%2e%2fsecret.txt",
        "/..%5csecret.txt",
        "//etc/passwd",
        "/%2fetc%2fpasswd",
        "/etc/passwd",
        "/.audio-edition.lock",
        "/.staging-1/a.mp3",
        "/out.mp3",  # the symlink pointing out
        "/_events",  # no live reload unless watching
    ],
)
def test_nothing_outside_the_output_folder_is_reachable(served, out, path):
    (out / "out.mp3").symlink_to(out.parent / "secret.txt")
    r = get(served, path)
    assert r.status == 404
    assert b"not for the web" not in r.body and b"root:" not in r.body


def test_an_absolute_path_outside_is_not_served(served, out):
    secret = out.parent / "secret.txt"
    for path in (str(secret), f"/{secret}", f"http://127.0.0.1{secret}"):
        assert get(served, path).status == 404


# ---------------------------------------------------------------- the command


def _serve(project: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "AUDIO_EDITION_ENGINE": "fake"}
    return subprocess.Popen(
        [*CLI, "serve", *args],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def tiny_project(root: Path) -> Path:
    (root / "text").mkdir(parents=True)
    (root / "text" / "note.txt").write_text("A note\n\nThe first sentence. The second one.\n")
    (root / "audio-edition.toml").write_text(
        'formats = ["vtt"]\nopening = false\nclosing = false\n'  # text only: no ffmpeg
    )
    return root


def test_serve_listens_on_loopback_and_stops_cleanly_on_ctrl_c(tmp_path):
    """By default only this machine can connect; Ctrl-C stops it without a traceback."""
    process = _serve(tiny_project(tmp_path))
    try:
        line = ""
        while "Serving" not in line:
            line = process.stdout.readline()
            assert line, process.stderr.read()
        assert "http://127.0.0.1:" in line
        port = int(line.split("127.0.0.1:")[1].split("/")[0])
        assert get(port, "/note.vtt").status == 200
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "Traceback" not in err


def test_a_port_in_use_gets_one_line_naming_it(tmp_path):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        process = _serve(tiny_project(tmp_path), "--port", str(port))
        _, err = process.communicate(timeout=60)
    finally:
        taken.close()
    assert process.returncode == 1
    assert err.strip().splitlines() == [
        f"audio-edition: error: port {port} is in use on 127.0.0.1; choose another with --port"
    ]
    assert not (tmp_path / "audio").exists()  # it stopped before building


def test_without_port_the_next_free_one_is_taken(out):
    first = bind("127.0.0.1", None)
    try:
        second = bind("127.0.0.1", None)
        assert second.getsockname()[1] > first.getsockname()[1] >= 8000
        second.close()
    finally:
        first.close()


def test_another_host_is_warned_about(tmp_path):
    process = _serve(tiny_project(tmp_path), "--host", "0.0.0.0")
    try:
        line = ""
        while "Serving" not in line:
            line = process.stdout.readline()
            assert line
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert "visible to the network" in err.splitlines()[0]


# ---------------------------------------------------------------- the watcher


class Watching:
    """A Watcher on a tiny project, in a thread, with the fake engine; what it said."""

    def __init__(self, project: Path) -> None:
        from audio_edition.engines.fake import FakeEngine
        from audio_edition.watch import Watcher

        self.said: list[str] = []
        self.errors: list[str] = []
        self.events: list[dict] = []
        self.watcher = Watcher(
            [],
            project=project,
            engine=FakeEngine(),
            say=self.said.append,
            warn=self.errors.append,
            publish=self.events.append,
        )
        self.watcher.build_all()
        self.watcher.start()
        assert self.watcher.ready.wait(30)

    def settle(self, builds: int) -> None:
        """Wait for that many rebuild rounds, then a while longer for any extra one."""
        _wait_for(lambda: self.watcher.builds >= builds + 1, timeout=120)  # +1: build_all
        time.sleep(1.5)


@pytest.fixture
def watching(tmp_path) -> Iterator[Watching]:
    w = Watching(tiny_project(tmp_path))
    yield w
    w.watcher.stop()


def test_two_quick_saves_build_once(watching, tmp_path):
    article = tmp_path / "text" / "note.txt"
    article.write_text("A note\n\nThe first sentence. The second won.\n")
    article.write_text("A note\n\nThe first sentence. The second one, edited.\n")
    watching.settle(1)
    assert watching.watcher.builds == 2  # the first build, then one for both saves
    assert watching.said[-1].startswith("text/note.txt: paragraph 2, 1 sentence re-spoken (")
    assert watching.events[-1]["changed"] == ["p2s2"]
    manifest = (tmp_path / "audio" / "note.json").read_text()
    assert "edited" in manifest


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        (b"", "empty"),
        (b"A note\n\nThe first \xff\xfe sentence.\n", "UTF-8"),
        (b"---\ntitle: [unclosed\n---\nText.\n", "front matter"),
    ],
)
def test_an_invalid_save_then_a_valid_one_builds_the_valid_one(watching, tmp_path, bad, why):
    article = tmp_path / "text" / "note.txt"
    manifest = tmp_path / "audio" / "note.json"
    before = manifest.read_bytes()
    article.write_bytes(bad)
    _wait_for(lambda: watching.errors, timeout=120)
    assert len(watching.errors) == 1 and "text/note.txt" in watching.errors[0]
    assert "\n" not in watching.errors[0]
    assert manifest.read_bytes() == before  # the last good edition stays
    article.write_text("A note\n\nThe first sentence. A corrected second one.\n")
    _wait_for(lambda: "re-spoken" in watching.said[-1], timeout=120)
    assert watching.said[-1].startswith("text/note.txt: paragraph 2, 1 sentence re-spoken (")
    assert "corrected" in manifest.read_text()


def test_a_settings_change_rebuilds_every_article(watching, tmp_path):
    (tmp_path / "text" / "other.txt").write_text("Other\n\nAnother article.\n")
    watching.settle(1)
    (tmp_path / "audio-edition.toml").write_text(
        'formats = ["vtt"]\nopening = false\nclosing = false\nrate = 200\n'
    )
    watching.settle(2)
    assert {line.split(":")[0] for line in watching.said[-2:]} == {
        "text/note.txt",
        "text/other.txt",
    }


def test_open_opens_the_list_of_editions_in_the_browser(tmp_path):
    project = tiny_project(tmp_path / "project")
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser"  # the default browser, as $BROWSER names it
    browser.write_text(f'#!/bin/sh\necho "$1" >> {opened}\n')
    browser.chmod(0o755)
    env = {**os.environ, "AUDIO_EDITION_ENGINE": "fake", "BROWSER": str(browser)}
    process = subprocess.Popen(
        [*CLI, "serve", "--open"], cwd=project, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        line = ""
        while "Serving" not in line:
            line = process.stdout.readline()
            assert line
        url = line.split(" at ")[1].split()[0]
        _wait_for(lambda: opened.is_file() and opened.read_text().strip(), timeout=60)
        assert opened.read_text().split() == [url]
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    finally:
        process.kill()


def test_build_watch_rebuilds_on_save_and_stops_on_ctrl_c(tmp_path):
    project = tiny_project(tmp_path)
    env = {**os.environ, "AUDIO_EDITION_ENGINE": "fake"}
    process = subprocess.Popen(
        [*CLI, "build", "--watch"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = []
        while not lines or "Watching" not in lines[-1]:
            lines.append(process.stdout.readline())
            assert lines[-1], process.stderr.read()
        assert lines[0].startswith("text/note.txt: built, 2 paragraphs, 3 sentences (")
        (project / "text" / "note.txt").write_text("A note\n\nThe first sentence. A second.\n")
        line = process.stdout.readline()
        assert line.startswith("text/note.txt: paragraph 2, 1 sentence re-spoken (")
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0
    assert "Traceback" not in err


def test_without_a_web_page_the_root_lists_the_files(out):
    """Built without the html format, `serve --open` still opens something useful: the
    editions' files, linked, and nothing hidden or linked out of the folder."""
    (out / "index.html").unlink()
    (out / "out.mp3").unlink(missing_ok=True)
    (out / "out.mp3").symlink_to(out.parent / "secret.txt")
    server = Server(out, bind("127.0.0.1", 0))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        _wait_for(lambda: server.uvicorn.started)
        r = get(server.port, "/")
        assert r.status == 200 and r.getheader("Content-Type").startswith("text/html")
        page = r.body.decode()
        assert 'href="a.mp3"' in page and 'href="a.epub"' in page
        assert "out.mp3" not in page and ".audio-edition.lock" not in page
        assert get(server.port, "/a.mp3").status == 200
    finally:
        server.stop()
        thread.join(timeout=10)
