"""The editor's loop in a real browser: `audio-edition serve --watch` (the real CLI, in a
process) and Debian's Chromium through Playwright. The fake engine speaks (the speech does
not matter here, and it is fast); ffmpeg encodes the MP3 the page plays."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import playwright.sync_api as playwright_api
import pytest
from axe_playwright_python.sync_playwright import Axe

from .conftest import CLI, SAMPLE
from .test_serve import get
from .test_web_page import AUDIO, WCAG, Opened, browser  # noqa: F401 (browser: a fixture)

pytestmark = pytest.mark.integration

PAGE = "gwadar-editorial.html"


class Serving:
    """`audio-edition serve --watch` on a project with the sample; its output, line by line."""

    def __init__(self, root: Path) -> None:
        (root / "text").mkdir()
        shutil.copy(SAMPLE, root / "text")
        (root / "audio-edition.toml").write_text('formats = ["html"]\n')
        self.root, self.article = root, root / "text" / SAMPLE.name
        self.lines: list[str] = []
        env = {**os.environ, "AUDIO_EDITION_ENGINE": "fake"}
        self.process = subprocess.Popen(
            [*CLI, "serve", "--watch"],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        line = self.wait_for("Serving ")
        self.port = int(line.split("127.0.0.1:")[1].split("/")[0])
        self.url = f"http://127.0.0.1:{self.port}/{PAGE}"

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, after: int = 0, timeout: float = 300) -> str:
        deadline = time.monotonic() + timeout
        while True:
            found = [line for line in self.lines[after:] if text in line]
            if found:
                return found[0]
            assert self.process.poll() is None, "\n".join(self.lines)
            assert time.monotonic() < deadline, f"no {text!r} in:\n" + "\n".join(self.lines)
            time.sleep(0.05)

    def manifest(self) -> dict:
        return json.loads((self.root / "audio" / "gwadar-editorial.json").read_text())

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        finally:
            self.process.kill()


@pytest.fixture
def serving(tmp_path) -> Iterator[Serving]:
    s = Serving(tmp_path)
    yield s
    s.stop()
    assert s.process.returncode == 0, "\n".join(s.lines)
    assert not any("Traceback" in line for line in s.lines)


@pytest.fixture
def opened(browser, serving) -> Iterator[Opened]:  # noqa: F811
    o = Opened(browser, serving.url, viewport={"width": 1280, "height": 800})
    o.audio_ready()
    yield o
    o.context.close()


def _wait_across_reload(opened: Opened, expression: str, timeout: float = 60) -> None:
    """Poll, as Opened.wait does, through the page's own reload (while it navigates, an
    evaluation fails: try again)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if opened.page.evaluate(expression):
                return
        except playwright_api.Error as exc:
            if "context was destroyed" not in str(exc) and "navigat" not in str(exc):
                raise
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        time.sleep(0.05)


def _edit(serving: Serving, old: str, new: str) -> None:
    text = serving.article.read_text(encoding="utf-8")
    assert old in text
    serving.article.write_text(text.replace(old, new, 1), encoding="utf-8")


def _sentence_with(manifest: dict, words: str) -> dict:
    found = [s for p in manifest["paragraphs"] for s in p["sentences"] if words in s["text"]]
    assert len(found) == 1
    return found[0]


def test_the_page_seeks_to_chapter_3_with_the_audio_over_http(opened, serving):
    start = serving.manifest()["chapters"][3]["start_ms"] / 1000
    opened.page.locator("#chapters button").nth(3).click()
    opened.wait(f"!{AUDIO}.paused && !{AUDIO}.seeking && {AUDIO}.readyState >= 3")
    assert start <= opened.js(f"{AUDIO}.currentTime") < start + 2
    assert opened.js(f"{AUDIO}.currentSrc").startswith("http://127.0.0.1:")
    assert "cannot jump" not in opened.page.locator("#status").inner_text()
    assert opened.errors == []


def test_an_edit_reloads_the_page_with_the_change_marked_and_playable(opened, serving):
    """The editor saves a one-word edit: the open page reloads where it was, at its speed,
    with the changed sentence marked (for the eye and for screen readers); "Play changes"
    plays exactly it."""
    opened.js(f"{AUDIO}.playbackRate = 1.5")
    opened.js(f"{AUDIO}.currentTime = 30")
    opened.wait(f"!{AUDIO}.seeking")
    opened.js("window.notReloaded = true")
    assert opened.page.locator("#play-changes").count() == 0  # nothing changed yet
    mark = len(serving.lines)
    _edit(serving, "Gwadar", "Gwadur")
    line = serving.wait_for("re-spoken", after=mark)
    assert line.startswith("text/gwadar-editorial.txt: paragraph ")
    changed = _sentence_with(serving.manifest(), "Gwadur")
    _wait_across_reload(opened, "!window.notReloaded && document.querySelector('.cue.changed')")
    opened.audio_ready()
    assert opened.js("[...document.querySelectorAll('.cue.changed')].map(e => e.id)") == [
        changed["id"]
    ]
    note = opened.js(f"document.getElementById('{changed['id']}').nextElementSibling.textContent")
    assert note.strip() == "(changed)"
    opened.wait(f"{AUDIO}.currentTime > 29")
    assert opened.js(f"{AUDIO}.currentTime") == pytest.approx(30, abs=0.5)
    assert opened.js(f"{AUDIO}.playbackRate") == 1.5
    results = Axe().run(opened.page, options={"runOnly": {"type": "tag", "values": WCAG}})
    assert results.violations_count == 0, results.generate_report()

    opened.page.locator("#play-changes").click()
    start, end = changed["start_ms"] / 1000, changed["end_ms"] / 1000
    opened.wait(f"!{AUDIO}.paused && {AUDIO}.currentTime > {start}")
    assert start <= opened.js(f"{AUDIO}.currentTime") < end
    opened.wait(f"{AUDIO}.paused", timeout=60)  # at the change's end, it stops
    assert end <= opened.js(f"{AUDIO}.currentTime") < end + 1
    assert "End of the changes" in opened.page.locator("#status").inner_text()
    assert opened.errors == []


def test_a_half_written_save_leaves_the_page_and_server_working(opened, serving):
    text = serving.article.read_text(encoding="utf-8")
    mark = len(serving.lines)
    with serving.article.open("w", encoding="utf-8") as f:  # the editor truncates...
        f.flush()
        serving.wait_for("is empty", after=mark)  # ...the watcher sees it half-written
        f.write(text.replace("Gwadar", "Gwadur", 1))  # ...then the save completes
    serving.wait_for("re-spoken", after=mark)
    assert get(serving.port, f"/{PAGE}").status == 200
    _wait_across_reload(opened, "document.querySelector('.cue.changed')")
    opened.audio_ready()
    opened.page.locator("#chapters button").nth(2).click()
    opened.wait(f"!{AUDIO}.paused")
    assert opened.errors == []


def test_opened_from_disk_the_page_has_no_live_controls(browser, serving):  # noqa: F811
    o = Opened(browser, (serving.root / "audio" / PAGE).as_uri())
    try:
        o.audio_ready()
        o.page.wait_for_timeout(300)
        assert o.js("document.querySelector('meta[name=\"audio-edition-live\"]')") is None
        assert o.page.locator("#play-changes").count() == 0
        assert o.errors == []
    finally:
        o.context.close()
