"""The built edition of the sample article, as a listener's player and a reader see it.

Integration tier: the real eSpeak NG (through pyttsx3), the real Piper and the real ffmpeg:
every check runs on the edition each engine reads (``any_sample_edition`` is the one at hand).
"""

from __future__ import annotations

import json
import re
import subprocess

import numpy as np
import pytest
from mutagen.id3 import ID3
from mutagen.mp4 import MP4

from .conftest import SAMPLE, decode, ffprobe

pytestmark = pytest.mark.integration


@pytest.fixture
def manifest(any_sample_edition) -> dict:
    return json.loads((any_sample_edition / "gwadar-editorial.json").read_text())


def test_every_paragraph_of_the_sample_is_in_the_manifest_in_order(manifest):
    lines = [line for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert [p["text"] for p in manifest["paragraphs"]] == [" ".join(x.split()) for x in lines]
    for p in manifest["paragraphs"]:
        assert " ".join(s["text"] for s in p["sentences"]) == p["text"]


def test_times_run_forward_and_sentences_sit_inside_their_paragraph(manifest):
    previous_end = 0
    for p in manifest["paragraphs"]:
        assert previous_end < p["start_ms"] < p["end_ms"] <= manifest["duration_ms"]
        assert p["sentences"][0]["start_ms"] == p["start_ms"]
        assert p["sentences"][-1]["end_ms"] == p["end_ms"]
        for a, b in zip(p["sentences"], p["sentences"][1:], strict=False):
            assert a["start_ms"] < a["end_ms"] < b["start_ms"]  # a pause between sentences
        previous_end = p["end_ms"]


def test_chapter_titles_tell_the_listener_where_they_are(manifest):
    titles = [c["title"] for c in manifest["chapters"]]
    assert titles[0] == "Opening announcement"
    assert titles[-1] == "Closing announcement"
    assert titles[3] == "3. Yet numbers alone cannot tell the full…"
    assert len(titles) == len(manifest["paragraphs"]) + 2


@pytest.mark.parametrize("suffix", [".m4b", ".mp3"])
def test_chapters_read_back_by_ffprobe_match_the_manifest(any_sample_edition, manifest, suffix):
    info = ffprobe(any_sample_edition / f"gwadar-editorial{suffix}")
    chapters = info["chapters"]
    assert [c["tags"]["title"] for c in chapters] == [c["title"] for c in manifest["chapters"]]
    for got, want in zip(chapters, manifest["chapters"], strict=True):
        assert abs(float(got["start_time"]) * 1000 - want["start_ms"]) <= 5
    for p in manifest["paragraphs"]:  # every paragraph's chapter starts where its speech does
        assert abs(float(chapters[p["chapter"]]["start_time"]) * 1000 - p["start_ms"]) <= 5
    duration_ms = float(info["format"]["duration"]) * 1000
    assert abs(duration_ms - manifest["duration_ms"]) <= 50


@pytest.mark.parametrize("suffix", [".m4b", ".mp3"])
def test_speech_starts_where_the_manifest_says(any_sample_edition, manifest, suffix):
    """Decoded audio is silent just before each sentence and speaking just after it starts."""
    samples = decode(any_sample_edition / f"gwadar-editorial{suffix}").astype(np.float64)
    rate = 22050

    def rms(start_ms: float, end_ms: float) -> float:
        chunk = samples[int(start_ms * rate / 1000) : int(end_ms * rate / 1000)]
        return float(np.sqrt(np.mean(chunk**2))) if len(chunk) else 0.0

    assert abs(len(samples) / rate * 1000 - manifest["duration_ms"]) <= 50
    for p in manifest["paragraphs"]:
        for s in p["sentences"]:
            assert rms(s["start_ms"] - 60, s["start_ms"] - 20) < 150, s["text"]
            assert rms(s["start_ms"], s["end_ms"]) > 1000, s["text"]
            assert rms(s["end_ms"] + 20, s["end_ms"] + 60) < 150, s["text"]


def test_mp3_has_id3v23_chap_and_ctoc_frames_and_tags(any_sample_edition, manifest):
    tags = ID3(any_sample_edition / "gwadar-editorial.mp3")
    assert tags.version[:2] == (2, 3)
    chaps = tags.getall("CHAP")
    assert len(chaps) == len(manifest["chapters"])
    toc = tags.getall("CTOC")[0]
    assert len(toc.child_element_ids) == len(chaps)
    assert str(tags["TIT2"]) == "Gwadar editorial"
    assert str(tags["TCON"]) == "Speech"


def test_m4b_has_nero_chapters_and_tags(any_sample_edition, manifest):
    audio = MP4(any_sample_edition / "gwadar-editorial.m4b")
    assert [c.title for c in audio.chapters] == [c["title"] for c in manifest["chapters"]]
    for got, want in zip(audio.chapters, manifest["chapters"], strict=True):
        assert abs(got.start * 1000 - want["start_ms"]) <= 5
    assert audio.tags["\xa9nam"] == ["Gwadar editorial"]
    assert audio.tags["\xa9gen"] == ["Speech"]
    assert audio.tags["\xa9alb"] == ["Gwadar editorial"]


def test_mp3_is_constant_bit_rate_mono(any_sample_edition):
    stream = ffprobe(any_sample_edition / "gwadar-editorial.mp3")["streams"][0]
    assert stream["channels"] == 1
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "a",
            "-show_entries",
            "packet=size",
            "-of",
            "csv=p=0",
            str(any_sample_edition / "gwadar-editorial.mp3"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    # CBR: every frame is the same size, give or take the one padding byte.
    assert max(map(int, out)) - min(map(int, out)) <= 1


@pytest.mark.parametrize("suffix", [".m4b", ".mp3"])
def test_loudness_is_on_target_and_peaks_stay_below_the_ceiling(any_sample_edition, suffix):
    err = subprocess.run(
        [
            "ffmpeg",
            "-nostats",
            "-i",
            str(any_sample_edition / f"gwadar-editorial{suffix}"),
            "-af",
            "ebur128=peak=true",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    summary = err[err.rindex("Summary:") :]
    integrated = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))
    peak = float(re.search(r"Peak:\s+(-?[\d.]+) dBFS", summary).group(1))
    assert abs(integrated - (-19.0)) <= 1.0
    assert peak <= -1.5
