"""Choosing an engine, and word timings from engine events to the manifest (unit tier)."""

from __future__ import annotations

import importlib.util
import json
from types import SimpleNamespace

import pytest

from audio_edition import cli
from audio_edition.cache import ClipInfo
from audio_edition.clips import trimmed_words
from audio_edition.edition import written_words
from audio_edition.engines import default_engine, piper_speaker
from audio_edition.loudness import ClipLoudness
from audio_edition.manifest import sentence_words
from audio_edition.pcm import samples_to_ms
from audio_edition.speech import ENGINE_ENV

from .test_bad_input import _fails_cleanly


def _run(argv, capsys) -> SimpleNamespace:
    code = cli.main(argv)
    out = capsys.readouterr()
    return SimpleNamespace(returncode=code, stdout=out.out, stderr=out.err)


def test_piper_without_the_extra_fails_with_one_line_saying_what_to_install(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.delenv(ENGINE_ENV, raising=False)
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "piper" else real(name, *a)
    )
    monkeypatch.chdir(tmp_path)
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "a.txt").write_text("One sentence.\n", encoding="utf-8")
    result = _run(["build", "--engine", "piper", "--format", "vtt"], capsys)
    _fails_cleanly(result, 1, "pip install 'audio-edition[natural]'", "make run")
    assert not list(tmp_path.glob("audio/a.*"))  # no edition, not even a part of one


def test_an_unknown_engine_is_a_usage_error_naming_the_flag(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    result = _run(["build", "--engine", "festival"], capsys)
    _fails_cleanly(result, 2, "--engine", "espeak, piper")


def test_an_unknown_engine_in_the_project_file_names_the_file_and_key(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "audio-edition.toml").write_text('engine = "festival"\n', encoding="utf-8")
    result = _run(["build"], capsys)
    _fails_cleanly(result, 2, "audio-edition.toml", "engine", "espeak, piper")


def test_an_unknown_engine_in_front_matter_names_the_article(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(ENGINE_ENV, "fake")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "text").mkdir()
    article = "---\ntitle: T\nspeech:\n  engine: festival\n---\nOne sentence.\n"
    (tmp_path / "text" / "a.md").write_text(article, encoding="utf-8")
    result = _run(["build", "--format", "vtt"], capsys)
    _fails_cleanly(result, 1, "a.md", "speech.engine", "espeak, piper")


def test_the_default_engine_is_espeak(monkeypatch):
    monkeypatch.delenv(ENGINE_ENV, raising=False)
    assert default_engine().name == "espeak"


# ---------------------------------------------------------------- word timings


def test_word_events_follow_the_trim_and_the_engines_sample_rate():
    # A 16 kHz engine: its samples are brought to 22,050 Hz, then shifted by the cut.
    words = trimmed_words([(0, 3, 1600), (4, 5, 16000), (10, 2, 40000)], 16000, 1000, 30000)
    assert words == ((0, 3, 2205 - 1000), (4, 5, 22050 - 1000), (10, 2, 28999))
    assert trimmed_words([(0, 1, 10)], 22050, 500, 900) == ((0, 1, 0),)  # before the cut


def test_a_sidecar_keeps_its_words_and_a_changed_word_is_caught():
    info = ClipInfo("k", 1000, ClipLoudness((1e-3,), -20.0), "abc", ((0, 2, 5), (3, 4, 400)))
    data = json.loads(json.dumps(info.to_json()))
    assert ClipInfo.from_json("k", data) == info
    data["words"][1][2] = 300
    with pytest.raises(ValueError):
        ClipInfo.from_json("k", data)


def test_events_inside_one_written_word_merge_and_every_word_is_there():
    text = "In 1,234 cases, (the) port failed."
    # eSpeak reads "1,234" as four words; it gave "port" no event.
    events = [(0, 2, 100), (3, 1, 2000), (5, 3, 4000), (5, 3, 6000), (7, 1, 8000)]
    events += [(9, 5, 11000), (17, 3, 15000), (26, 6, 21000)]
    words = sentence_words(text, events, 22050, 22050 + 25000)
    assert [w.text for w in words] == ["In", "1,234", "cases", "the", "port", "failed"]
    assert words[1].start_ms == samples_to_ms(22050 + 2000)
    starts = [w.start_ms for w in words]
    assert starts == sorted(set(starts))
    assert words[3].start_ms < words[4].start_ms < words[5].start_ms  # "port" between
    assert words[-1].end_ms == samples_to_ms(22050 + 25000)
    assert all(a.end_ms == b.start_ms for a, b in zip(words, words[1:], strict=False))


def test_words_that_the_engine_put_at_one_sample_still_start_in_order():
    words = sentence_words("a b c", [(0, 1, 50), (2, 1, 50), (4, 1, 50)], 0, 5000)
    assert [w.start_ms for w in words] == [2, 3, 4]


def test_written_words_set_punctuation_aside():
    assert [w for _, _, w in written_words("“Well,” she said — it's 3.5%.")] == [
        "Well",
        "she",
        "said",
        "it's",
        "3.5",
    ]


def test_piper_alignments_give_a_start_after_each_space():
    a = SimpleNamespace
    alignments = [a(phoneme="^", num_samples=1000)]
    alignments += [a(phoneme=p, num_samples=n) for p, n in [("h", 500), ("i", 500)]]
    alignments += [a(phoneme=",", num_samples=300), a(phoneme=" ", num_samples=3000)]
    alignments += [a(phoneme="j", num_samples=400), a(phoneme="u", num_samples=600)]
    alignments += [a(phoneme=".", num_samples=200), a(phoneme="$", num_samples=900)]
    assert piper_speaker.word_starts(alignments) == [1000, 1000 + 1000 + 300 + 3000]


def test_a_word_put_in_the_silence_before_it_moves_to_where_its_sound_starts():
    import numpy as np

    from audio_edition.clips import words_at_speech

    clip = np.zeros(10_000, dtype=np.int16)
    clip[1000:3000] = 5000  # the first word
    clip[6000:9000] = 5000  # the second, after a pause its event sits in (at 4000)
    words = ((0, 3, 1000), (4, 5, 4000))
    assert words_at_speech(words, clip) == ((0, 3, 1000), (4, 5, 6000))
    # A word starting quietly but within 5 ms of sound stays; none moves past the next.
    assert words_at_speech(((0, 3, 950), (4, 5, 1100)), clip) == ((0, 3, 950), (4, 5, 1100))
    assert words_at_speech(((0, 3, 3500), (4, 5, 5000)), clip)[0] == (0, 3, 3500)
    # Just after a pause's end (within 60 ms): back to where the sound starts.
    assert words_at_speech(((0, 3, 1000), (4, 5, 6500)), clip)[1] == (4, 5, 6000)
    assert words_at_speech(((0, 3, 1000), (4, 5, 7500)), clip)[1] == (4, 5, 7500)
    assert words_at_speech(((0, 3, 1300), (4, 5, 6000)), clip)[0] == (0, 3, 1000)  # the first


def test_the_opening_names_a_piper_voice_in_plain_words_and_espeaks_reads_as_before():
    from audio_edition.config import DEFAULT_OPENING
    from audio_edition.engines.piper import PiperEngine
    from audio_edition.script import announcement

    article = SimpleNamespace(title="Tides", author=None, publisher=None, date=None)
    words = PiperEngine().voice_words("en_US-joe-medium")
    assert announcement(DEFAULT_OPENING, article, words) == (
        "Tides. This is an audio edition, read by a synthetic voice, Joe, "
        "a natural-sounding voice made with Piper."
    )
    assert announcement(DEFAULT_OPENING, article) == (
        "Tides. This is an audio edition, read by a synthetic voice."
    )


def test_a_long_sentence_is_read_in_runs_cut_at_its_clauses():
    words = ["ab", "cd,", "ef", "gh;", "ij", "kl", "mn"]
    phonemes = list(" ".join(words) + ".")
    runs = piper_speaker.runs(phonemes, limit=12)
    assert ["".join(r) for r in runs] == ["ab cd,", "ef gh;", "ij kl mn."]
    assert all(len(r) <= 12 for r in runs)
    assert piper_speaker.runs(phonemes, limit=100) == [phonemes]  # short enough: one run
    # No clause near the even cut: at a space; no space at all: inside the word.
    assert ["".join(r) for r in piper_speaker.runs(list("ab cd ef gh"), limit=6)] == [
        "ab cd",
        "ef gh",
    ]
    assert ["".join(r) for r in piper_speaker.runs(list("abcdefgh"), limit=5)] == ["abcde", "fgh"]


_LETTERS = {c: [10 + i] for i, c in enumerate("abcdefghijklmnopqrstuvwxyz")}


class _Voice:
    """Piper's voice as read_aloud uses it: phonemes are letters, each id takes 100
    samples of a tone, and the model's output is at half scale."""

    config = SimpleNamespace(
        phoneme_id_map={"_": [0], "^": [1], "$": [2], " ": [3], ",": [4], **_LETTERS},
        sample_rate=22050,
    )

    def __init__(self) -> None:
        self.runs: list[str] = []

    def phonemize(self, text):
        return [list(text)]

    def phonemes_to_ids(self, phonemes):
        ids = [1, 0]
        for p in phonemes:
            ids += [*self.config.phoneme_id_map[p], 0]
        return [*ids, 2]

    def phoneme_ids_to_audio(self, ids, config, include_alignments):
        import numpy as np

        self.runs.append(len(ids))
        audio = np.where(np.array(ids).repeat(100) > 4, 0.5, 0.0).astype(np.float32)
        return audio, np.full(len(ids), 100)


def test_the_runs_of_a_long_sentence_join_into_one_clip_with_every_word_in_place():
    import numpy as np

    voice = _Voice()
    text = "ab cd, ef gh, ij kl"
    audio, starts = piper_speaker.read_aloud(
        voice, text, SimpleNamespace(volume=1.0, length_scale=1.0), 12
    )
    samples = np.frombuffer(audio, dtype=np.int16)
    assert len(voice.runs) == 2
    assert samples.max() == 32767  # scaled to full range as one clip
    # Each word starts where its first letter sounds, after silence, the join included.
    assert len(starts) == 6 and starts == sorted(starts)
    assert all(samples[s] == 32767 and samples[s - 1] == 0 for s in starts)
    events = piper_speaker.word_events(_WordVoice(), text, starts)
    assert [text[o : o + n] for o, n, _ in events] == ["ab", "cd,", "ef", "gh,", "ij", "kl"]
    # At the cut after a clause the pause is as long as the voice's pause at a comma.
    loud = np.flatnonzero(samples)
    assert starts[2] - loud[loud < starts[2]][-1] - 1 == piper_speaker.CLAUSE_PAUSE


class _WordVoice:
    def phonemize(self, word):
        return [list(word)]


PIPER_ARTICLE = "---\ntitle: T\nspeech:\n  engine: piper\n---\nOne sentence. And another one.\n"


@pytest.fixture
def engines_by_name(tmp_path, monkeypatch) -> dict:
    """Each engine name a fake engine of its own identity (``fake-espeak``, ``fake-piper``
    and a version), in the builder and the CLI; an article that chooses Piper in its front
    matter. The dict sets each name's version."""
    from audio_edition.engines.fake import FakeEngine

    build_module = importlib.import_module("audio_edition.build")  # the package's build()

    versions = {"espeak": "espeak-1", "piper": "piper-1"}

    def by_name(name=None):
        return FakeEngine(version=versions[name or "espeak"])

    monkeypatch.delenv(ENGINE_ENV, raising=False)
    monkeypatch.setattr(build_module, "default_engine", by_name)
    monkeypatch.setattr(cli, "default_engine", by_name, raising=False)  # as before the fix
    monkeypatch.chdir(tmp_path)
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "a.md").write_text(PIPER_ARTICLE, encoding="utf-8")
    return versions


def test_status_counts_with_the_engine_an_article_chooses_in_front_matter(engines_by_name, capsys):
    assert _run(["build", "--format", "vtt"], capsys).returncode == 0
    result = _run(["status"], capsys)
    assert result.returncode == 0
    assert "a.md: 0 of" in result.stdout, result.stdout  # all made by its engine: none to do


def test_a_new_version_of_the_engine_an_article_chooses_rebuilds_it(engines_by_name, capsys):
    argv = ["build", "--format", "vtt", "--json"]
    assert json.loads(_run(argv, capsys).stdout)["editions"][0]["synthesized"] > 0
    engines_by_name["piper"] = "piper-2"  # Piper upgraded; the project's engine is not
    [edition] = json.loads(_run(argv, capsys).stdout)["editions"]
    assert edition["changed"] and edition["synthesized"] > 0


def test_counts_of_one_are_singular_in_what_the_cli_prints(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(ENGINE_ENV, "fake")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "a.txt").write_text("One sentence.\n", encoding="utf-8")
    (tmp_path / "audio-edition.toml").write_text('opening = ""\nclosing = ""\n', encoding="utf-8")
    built = _run(["build", "--format", "vtt"], capsys)
    assert built.returncode == 0, built.stderr
    assert ": 1 paragraph, 1 sentence (1 synthesised" in built.stdout, built.stdout
    (tmp_path / "text" / "a.txt").write_text("Another sentence.\n", encoding="utf-8")
    status = _run(["status"], capsys)
    assert "a.txt: 1 of 1 utterance to synthesise" in status.stdout, status.stdout


def test_a_new_reading_of_the_piper_speaker_re_speaks_its_clips(monkeypatch) -> None:
    """The speaker's way of reading (long sentences in runs) is in Piper's identity, so
    clips it read another way are not reused from the cache."""
    from audio_edition.cache import Cache
    from audio_edition.engines.piper import PiperEngine
    from audio_edition.speech import SAMPLE_FORMAT

    engine = PiperEngine()
    voice = {"voice": "en_US-joe-medium"}
    key = Cache.clip_key.__get__(object.__new__(Cache))  # the key needs no cache folder
    before = key("A sentence.", engine.identity(), voice, SAMPLE_FORMAT)
    monkeypatch.setattr(piper_speaker, "READING", piper_speaker.READING + 1)
    after = key("A sentence.", engine.identity(), voice, SAMPLE_FORMAT)
    assert before != after
