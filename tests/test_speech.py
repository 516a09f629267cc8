"""The speech worker pool with the real engine: verified clips, and faults survived."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import wave
from dataclasses import asdict
from pathlib import Path

import pytest

from audio_edition.engines import espeak_speaker
from audio_edition.engines.espeak import EspeakEngine
from audio_edition.errors import SynthesisError, UsageError
from audio_edition.speech import Utterance, VoiceSettings, resolve_voice
from audio_edition.speech_pool import verify_clip

from .conftest import run_cli

pytestmark = pytest.mark.integration

VOICE = VoiceSettings(voice="gmw/en-us")


def _jobs(tmp_path: Path, texts: list[str]) -> list[tuple[Utterance, Path]]:
    return [
        (Utterance(t, VOICE, f"test.txt: sentence {i}"), tmp_path / f"{i}.wav")
        for i, t in enumerate(texts, start=1)
    ]


def _seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def test_every_sentence_comes_back_as_its_own_verified_clip(tmp_path):
    texts = [
        "Short.",
        "A somewhat longer sentence, with a clause or two in it.",
        "Medium length here.",
    ]
    clips = EspeakEngine().synthesize(_jobs(tmp_path, texts), jobs=2)
    done = {clip.utterance.text: clip.path for clip in clips}
    assert set(done) == set(texts)
    for text, path in done.items():
        assert verify_clip(path, text, VOICE.rate) is None
    # Not swapped: the longest text has the longest clip.
    assert _seconds(done[texts[1]]) > _seconds(done[texts[2]]) > _seconds(done[texts[0]])


def test_a_call_that_crashes_the_driver_is_retried_then_named(tmp_path):
    # A call of some 13,500 characters or more segfaults pyttsx3's espeak driver
    # (measured here: 14,000 characters of the sample survive, 20,000 crash).
    sample = (Path(__file__).parent.parent / "text" / "gwadar-editorial.txt").read_text()
    huge = (sample.replace("\n", " ") * 4)[:30_000]
    with pytest.raises(SynthesisError) as err:
        list(EspeakEngine().synthesize(_jobs(tmp_path, [huge]), jobs=1))
    assert "test.txt: sentence 1" in str(err.value)
    assert "3 times" in str(err.value)


def test_a_hung_engine_is_killed_and_the_error_names_the_sentence(tmp_path):
    engine = EspeakEngine(timeout_base=0.0, timeout_per_char=0.0)
    with pytest.raises(SynthesisError) as err:
        list(engine.synthesize(_jobs(tmp_path, ["Nobody waits this long."]), jobs=1))
    assert "test.txt: sentence 1" in str(err.value) and "hung" in str(err.value)


def _worker_pids() -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            cmd = (proc / "cmdline").read_bytes()
            if (
                b"audio_edition/speech_worker.py" in cmd
                and int((proc / "stat").read_text().split()[3]) == os.getpid()
            ):
                pids.append(int(proc.name))
        except (OSError, ValueError):
            continue
    return pids


def test_a_worker_killed_mid_build_is_replaced_and_nothing_is_lost(tmp_path):
    texts = [f"Sentence number {n} of the article, spoken in full." for n in range(1, 13)]
    done = []
    for clip in EspeakEngine().synthesize(_jobs(tmp_path, texts), jobs=2):
        done.append(clip.utterance.text)
        if len(done) == 2:
            os.kill(_worker_pids()[0], signal.SIGKILL)
    assert sorted(done) == sorted(texts)


def test_voices_are_listed_and_an_unknown_voice_names_close_matches():
    engine = EspeakEngine()
    ids = {v.id for v in engine.voices()}
    assert {"gmw/en-us", "gmw/en"} <= ids
    assert resolve_voice(engine, None, "en") == "gmw/en-us"
    assert resolve_voice(engine, "English (Great Britain)", "en") == "gmw/en"
    with pytest.raises(UsageError, match="en-us"):
        resolve_voice(engine, "gmw/en-usa", "en")


def test_voices_command_filters_by_language(tmp_path):
    result = run_cli("voices", "--language", "en", cwd=tmp_path)
    assert result.returncode == 0
    lines = result.stdout.strip().splitlines()
    assert any(line.startswith("gmw/en-us ") for line in lines)
    assert all("en" in line.split()[-1] for line in lines)


CHECK_SETTINGS = """
import json, sys
from audio_edition import speech_worker
from audio_edition.engines import espeak_speaker
import pyttsx3
engine = pyttsx3.init("espeak")
in_force = espeak_speaker.settings_in_force()
asked = {"voice": "gmw/en-us", "rate": 230, "volume": 0.8, "pitch": 40}
jobs = [json.dumps({"text": "Checked.", "settings": asked, "path": sys.argv[1]})]
speaker = espeak_speaker.EspeakSpeaker(engine, in_force)
speech_worker.serve(speaker, jobs, sys.stdout)
print(in_force(asked), in_force({**asked, "rate": 175}), in_force({**asked, "pitch": 50}))
"""


def test_a_worker_checks_that_espeak_took_the_settings_it_asked_for(tmp_path):
    """The check reads eSpeak's own parameters: true for what was set, false otherwise."""
    result = subprocess.run(
        [sys.executable, "-c", CHECK_SETTINGS, str(tmp_path / "c.wav")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = [ln for ln in result.stdout.splitlines() if not ln.startswith("Audio saved")]
    answer = json.loads(lines[0])
    assert answer["ok"] is True and [w[:2] for w in answer["words"]] == [[0, 7]]  # "Checked"
    assert lines[1] == "True False False"


class _Engine:
    """Stands in for pyttsx3 in the worker's protocol loop (unit tier: no speech)."""

    def __init__(self) -> None:
        self.applied: list[dict] = []
        self._finished = None

    def connect(self, topic, callback) -> None:
        self._finished = callback

    def setProperty(self, name, value) -> None:
        if name == "voice":
            self.applied.append({})
        self.applied[-1][name] = value

    def save_to_file(self, text, path) -> None:
        Path(path).write_bytes(b"")

    def runAndWait(self) -> None:
        self._finished(completed=True)


@pytest.mark.parametrize(
    ("checks", "answer", "times_applied"),
    [
        ([True], {"ok": True}, 1),
        ([False, True], {"ok": True}, 2),  # set again and spoken again: mended in place
        ([False, False], {"ok": False, "why": "eSpeak did not take"}, 2),
    ],
)
def test_a_clip_spoken_with_other_settings_is_spoken_again_or_refused(
    tmp_path, checks, answer, times_applied
):
    from audio_edition import speech_worker

    engine, out = _Engine(), io.StringIO()
    job = {"text": "A sentence.", "settings": dict(asdict(VOICE)), "path": str(tmp_path / "a")}
    results = iter(checks)
    speaker = espeak_speaker.EspeakSpeaker(engine, lambda settings: next(results))
    speech_worker.serve(speaker, [json.dumps(job)], out)
    got = json.loads(out.getvalue())
    assert got["ok"] == answer["ok"]
    assert answer.get("why", "") in got.get("why", "")
    assert len(engine.applied) == times_applied


def test_espeak_reports_where_each_word_starts(tmp_path):
    """Word events from eSpeak's synth callback: every word, in order, where it sounds."""
    import numpy as np

    text = "Gulls circled, loudly. The tide turned at 1,234 metres."
    [clip] = EspeakEngine().synthesize(_jobs(tmp_path, [text]), jobs=1)
    with wave.open(str(clip.path)) as w:
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    said = [text[e.offset : e.offset + e.length] for e in clip.words]
    # "1,234" is read as several words, at offsets inside it.
    assert [s for s in said if s.isalpha()] == [
        "Gulls", "circled", "loudly", "The", "tide", "turned", "at", "metres"
    ]  # fmt: skip
    starts = [e.sample for e in clip.words]
    assert starts == sorted(starts) and starts[0] >= 0 and starts[-1] < len(samples)
    # After the comma, the next word starts once the pause is over: silence just before.
    loudly = starts[said.index("loudly")]
    assert np.abs(samples[loudly - 1500 : loudly - 200].astype(int)).max() < 200
