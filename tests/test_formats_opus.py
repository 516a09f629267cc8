"""Ogg Opus: mono, chapters to the millisecond, and the manifest's timeline to the sample."""

from __future__ import annotations

import json

import numpy as np
import pytest
from mutagen.oggopus import OggOpus

from audio_edition.formats import opus

from . import editions
from .conftest import decode, ffprobe
from .test_formats_captions import MARKDOWN, build

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    audio = build(tmp_path_factory, "opus", {"tides.md": MARKDOWN}, "opus")
    manifest = json.loads((audio / "tides.json").read_text(encoding="utf-8"))
    return audio / "tides.opus", manifest


def test_it_is_mono_opus_in_ogg_with_the_book_tags(edition):
    path, manifest = edition
    info = ffprobe(path)
    [stream] = info["streams"]
    assert info["format"]["format_name"] == "ogg"
    assert stream["codec_name"] == "opus" and stream["channels"] == 1
    tags = OggOpus(path).tags
    assert tags["TITLE"] == [manifest["title"]] and tags["ARTIST"] == [manifest["author"]]


def test_ffprobe_reads_every_chapter_within_5_ms_of_the_manifest(edition):
    path, manifest = edition
    chapters = ffprobe(path)["chapters"]
    assert [c["tags"]["title"] for c in chapters] == [c["title"] for c in manifest["chapters"]]
    for got, want in zip(chapters, manifest["chapters"], strict=True):
        assert abs(float(got["start_time"]) * 1000 - want["start_ms"]) <= 5


def test_chapter_comments_keep_the_milliseconds():
    # ffmpeg 5.1's own writer would round 1.5 s to a whole second; ours must not.
    chapters = [{"index": 0, "title": "A"}, {"index": 1, "start_ms": 1500, "title": "B"}]
    comments = opus.comments(editions.edition({"title": "T", "chapters": chapters}))
    assert comments["CHAPTER002"] == ["00:00:01.500"] and comments["CHAPTER002NAME"] == ["B"]


def test_the_decoded_opus_is_as_long_as_the_manifest(edition):
    # Pre-skip and end trimming done right: no encoder delay left, no padding added.
    path, manifest = edition
    samples = len(decode(path, rate=48000))
    assert abs(samples / 48 - manifest["duration_samples"] / 22.05) <= 1  # within 1 ms


def _envelope(x: np.ndarray) -> np.ndarray:
    return np.convolve(np.abs(x.astype(float)), np.ones(22) / 22, mode="same")  # 1 ms


def _onset(envelope: np.ndarray, window: slice) -> float:
    """Milliseconds where the envelope first reaches 2 % of its peak in the window.

    A low threshold: Opus renders a soft onset (the "s" of "Spring") a little quieter than
    AAC, so a higher one would measure loudness, not time."""
    loud = envelope[window] > 0.02 * envelope[window].max()
    return (window.start + int(np.argmax(loud))) / 22.05


def test_speech_onsets_line_up_with_the_m4b_and_the_manifest(edition):
    path, manifest = edition
    ours, reference = _envelope(decode(path)), _envelope(decode(path.with_suffix(".m4b")))
    starts = [s["start_ms"] for p in manifest["paragraphs"] for s in p["sentences"]]
    starts += [p["heading_start_ms"] for p in manifest["paragraphs"] if p["heading"]]
    for start in sorted(starts):
        at = round(start * 22.05)
        window = slice(at - 1102, at + 4410)  # 50 ms before, 200 ms after
        lags = range(-110, 111)  # +-5 ms
        lag = max(
            lags, key=lambda k: float(np.dot(reference[window], ours[at - 1102 + k :][:5512]))
        )
        assert abs(lag) <= 44, f"sentence at {start} ms is {lag / 22.05:.1f} ms off"  # 2 ms
        # The speech itself starts where the M4B's does, just after the manifest's time
        # (eSpeak's clips open with about 15 ms of near-silence).
        ours_at, reference_at = _onset(ours, window), _onset(reference, window)
        assert abs(ours_at - reference_at) <= 3, f"speech at {ours_at:.1f} ms, M4B {reference_at}"
        assert start - 3 <= ours_at <= start + 40
