"""The fake engine, and through it the worker pool, without eSpeak (unit tier).

The pool is engine-agnostic: run with the fake engine's speaker, its fault handling
(a crashed, hung or killed worker) is tested here in seconds; ``test_speech`` tests the
same with eSpeak NG.
"""

from __future__ import annotations

import os
import signal
import wave
from pathlib import Path

import numpy as np
import pytest

from audio_edition.cache import Cache
from audio_edition.clips import TRIM_MARGIN, prepare
from audio_edition.engines import default_engine
from audio_edition.engines.fake import FakeEngine
from audio_edition.errors import SynthesisError
from audio_edition.speech import ENGINE_ENV, SpokenClip, Utterance, VoiceSettings

from .conftest import run_cli
from .test_speech import _worker_pids

VOICE = VoiceSettings(voice="fake/en-us")
TEXT = "Gulls circled, loudly. The tide turned."


def _jobs(tmp_path: Path, texts: list[str]) -> list[tuple[Utterance, Path]]:
    return [
        (Utterance(t, VOICE, f"test.txt: sentence {i}"), tmp_path / f"{i}.wav")
        for i, t in enumerate(texts, start=1)
    ]


def _samples(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 22050)
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


def _speak(tmp_path: Path, text: str = TEXT, **engine: object) -> SpokenClip:
    [clip] = FakeEngine(**engine).synthesize(_jobs(tmp_path, [text]), jobs=1)
    return clip


def test_a_word_event_marks_where_each_word_sounds(tmp_path):
    clip = _speak(tmp_path)
    samples = _samples(clip.path)
    words = [TEXT[w.offset : w.offset + w.length] for w in clip.words]
    assert words == TEXT.split()
    starts = [w.sample for w in clip.words]
    assert starts == sorted(starts)
    for start in starts:
        assert samples[start - 1] == 0 and np.abs(samples[start : start + 50]).max() > 1000
    # The silence before each next word: longer after a comma, longer still after a stop.
    ends = [int(np.flatnonzero(samples[:start])[-1]) + 1 for start in starts[1:]]
    silences = [start - end for start, end in zip(starts[1:], ends, strict=True)]
    assert silences[1] > 3 * silences[0] and silences[2] > silences[1]  # "circled," "loudly."


def test_every_setting_changes_the_sound_and_the_rate_the_length(tmp_path):
    base = _samples(_speak(tmp_path).path)
    for change in ({"voice": "fake/en"}, {"pitch": 70}, {"volume": 0.5}, {"rate": 350}):
        settings = VoiceSettings(**{**VOICE.__dict__, **change})
        job = (Utterance(TEXT, settings, "x"), tmp_path / "other.wav")
        [clip] = FakeEngine().synthesize([job], jobs=1)
        other = _samples(clip.path)
        assert len(other) != len(base) or not np.array_equal(other, base), change
    assert len(other) < 0.6 * len(base)  # twice the rate: about half as long


def test_the_cache_trims_a_fake_clip_as_it_trims_speech(tmp_path):
    clip = _speak(tmp_path)
    raw = _samples(clip.path)
    loud = np.flatnonzero(np.abs(raw.astype(np.int32)) > 200)
    info = Cache(tmp_path / "cache").put_clip("k" * 64, prepare(clip.path))
    kept = _samples(Cache(tmp_path / "cache").clip_path("k" * 64))
    assert info.samples == len(kept) == loud[-1] + 1 - loud[0] + 2 * TRIM_MARGIN
    assert info.loudness.true_peak_db > -20  # measured: a tone at -12 dBFS


def test_in_workers_the_fake_engine_speaks_the_same_clips(tmp_path):
    texts = [TEXT, "Short.", "A third sentence, somewhat longer than the second."]
    here = {c.utterance.text: c for c in FakeEngine().synthesize(_jobs(tmp_path, texts), 1)}
    there_dir = tmp_path / "workers"
    there_dir.mkdir()
    engine = FakeEngine(in_workers=True)
    there = {c.utterance.text: c for c in engine.synthesize(_jobs(there_dir, texts), 2)}
    assert set(there) == set(texts) and sorted(engine.spoken) == sorted(texts)
    for text in texts:
        assert there[text].words == here[text].words
        assert np.array_equal(_samples(there[text].path), _samples(here[text].path))


def test_a_worker_that_crashes_is_replaced_and_the_error_names_the_sentence(tmp_path):
    jobs = _jobs(tmp_path, ["Fine.", "This one [crash] every time."])
    engine = FakeEngine(in_workers=True)
    with pytest.raises(SynthesisError) as err:
        list(engine.synthesize(jobs, jobs=1))
    assert str(err.value).startswith("test.txt: sentence 2: speech failed 3 times")
    assert "crashed" in str(err.value)
    assert engine.spoken == ["Fine."]


def test_a_worker_that_hangs_is_killed_and_the_error_names_the_sentence(tmp_path):
    engine = FakeEngine(in_workers=True, timeout=0.5)
    with pytest.raises(SynthesisError) as err:
        list(engine.synthesize(_jobs(tmp_path, ["Nobody [hang] waits this long."]), jobs=1))
    assert "test.txt: sentence 1" in str(err.value) and "hung" in str(err.value)
    assert not _worker_pids()  # the pool leaves no worker behind


def test_a_worker_killed_mid_run_is_replaced_and_nothing_is_lost(tmp_path):
    texts = [f"Sentence number {n} of the article, spoken in full." for n in range(1, 13)]
    done = []
    for clip in FakeEngine(in_workers=True).synthesize(_jobs(tmp_path, texts), jobs=2):
        done.append(clip.utterance.text)
        if len(done) == 2:
            os.kill(_worker_pids()[0], signal.SIGKILL)
    assert sorted(done) == sorted(texts)


def test_the_fake_engine_is_chosen_by_the_environment_for_tests(tmp_path, monkeypatch):
    monkeypatch.setenv(ENGINE_ENV, "fake")
    assert isinstance(default_engine(), FakeEngine)
    result = run_cli("voices", cwd=tmp_path, env={ENGINE_ENV: "fake"})
    assert result.returncode == 0
    assert [line.split()[0] for line in result.stdout.splitlines()] == [
        "fake/en-us",
        "fake/en",
        "fake/fr",
    ]


def test_a_kept_pool_speaks_the_next_batch_with_the_same_worker(tmp_path):
    """A batch's articles, and a cluster worker's many small tasks: the speaker process is
    started once (about 0.1 s of CPU for eSpeak), not once a call; a pool that fails is
    not kept."""
    from audio_edition.speech_pool import keeping_workers

    engine = FakeEngine(in_workers=True)
    for batch in "abc":
        (tmp_path / batch).mkdir()
    with keeping_workers():
        list(engine.synthesize(_jobs(tmp_path / "a", ["First batch."]), 1))
        first = _worker_pids()
        list(engine.synthesize(_jobs(tmp_path / "b", ["Second batch, same worker."]), 1))
        assert _worker_pids() == first and len(first) == 1
        with pytest.raises(SynthesisError):
            list(engine.synthesize(_jobs(tmp_path / "c", ["It [crash] es."]), 1))
        assert not _worker_pids()  # closed, not kept
    assert not _worker_pids()
