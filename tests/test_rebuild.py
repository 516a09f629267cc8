"""Regenerating after edits: only what changed is synthesised; nothing changed, nothing written."""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest

from audio_edition.build import Builder
from audio_edition.config import load_settings
from audio_edition.engines.espeak import EspeakEngine
from audio_edition.errors import SynthesisError

from .conftest import build_json

pytestmark = pytest.mark.integration

FAST = ("--format", "mp3")  # one format keeps these tests quick; both share the code path


def _edition(report: dict) -> dict:
    [edition] = report["editions"]
    return edition


def _paragraphs(project):
    path = project / "text" / "gwadar-editorial.txt"
    return path, path.read_text(encoding="utf-8").split("\n")


def test_json_report_describes_the_cold_build(project):
    edition = _edition(build_json(project, *FAST))
    assert edition["paragraphs"] == 11
    assert edition["synthesized"] == edition["sentences"] + 2  # and the two announcements
    assert edition["reused"] == 0
    assert edition["outputs"] == {"mp3": "audio/gwadar-editorial.mp3"}
    assert edition["duration_ms"] > 60_000


def test_nothing_changed_synthesises_nothing_and_touches_nothing(project):
    build_json(project, *FAST)
    files = sorted((project / "audio").iterdir())
    stamps = {p: p.stat().st_mtime_ns for p in files}
    edition = _edition(build_json(project, *FAST))
    assert edition["synthesized"] == 0
    assert edition["changed"] is False
    assert {p: p.stat().st_mtime_ns for p in files} == stamps


def test_editing_one_sentence_resynthesises_that_sentence_only(project):
    build_json(project, *FAST)
    path, paras = _paragraphs(project)
    assert "daily wages" in paras[0]
    paras[0] = paras[0].replace("daily wages", "daily pay")
    path.write_text("\n".join(paras), encoding="utf-8")
    edition = _edition(build_json(project, *FAST))
    assert edition["synthesized"] == 1
    assert edition["changed"] is True


def test_inserting_deleting_and_moving_paragraphs_resynthesises_nothing_else(project):
    build_json(project, *FAST)
    path, paras = _paragraphs(project)
    inserted = "A new paragraph arrives. It has two sentences."
    path.write_text("\n".join([paras[0], inserted, *paras[1:]]), encoding="utf-8")
    assert _edition(build_json(project, *FAST))["synthesized"] == 2

    moved = [paras[2], paras[0], paras[1], *paras[4:]]  # moved, and paragraph 4 deleted
    path.write_text("\n".join(moved), encoding="utf-8")
    edition = _edition(build_json(project, *FAST))
    assert edition["synthesized"] == 0
    assert edition["paragraphs"] == 10


def test_status_lists_what_would_be_synthesised(project):
    from .conftest import run_cli

    build_json(project, *FAST)
    path, paras = _paragraphs(project)
    paras[2] = paras[2] + " One more sentence was added."
    path.write_text("\n".join(paras), encoding="utf-8")
    result = run_cli("status", cwd=project)
    assert result.returncode == 0
    assert "1 of" in result.stdout
    assert "paragraph 3" in result.stdout and "One more sentence was added." in result.stdout


def test_clean_removes_clips_no_article_uses(project):
    from .conftest import run_cli

    build_json(project, *FAST)
    path, paras = _paragraphs(project)
    path.write_text("\n".join(paras[:3]), encoding="utf-8")
    build_json(project, *FAST)
    result = run_cli("clean", cwd=project)
    assert result.returncode == 0
    assert int(result.stdout.split()[1]) > 0
    # What the current article needs is still cached: a rebuild synthesises nothing.
    assert _edition(build_json(project, *FAST, "--force"))["synthesized"] == 0


def test_a_shared_cache_lets_a_second_project_reuse_every_clip(project, tmp_path_factory):
    import shutil

    shared = tmp_path_factory.mktemp("shared-cache")
    env = {"AUDIO_EDITION_CACHE": str(shared)}
    build_json(project, *FAST, env=env)
    other = tmp_path_factory.mktemp("other-project")
    shutil.copytree(project / "text", other / "text")
    edition = _edition(build_json(other, *FAST, env=env))
    assert edition["synthesized"] == 0
    assert not (other / ".audio-edition" / "cache").exists()


def test_a_cover_image_is_embedded(project):
    import subprocess

    from mutagen.id3 import ID3

    from .conftest import run_cli

    cover = project / "cover.png"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "color=c=navy:s=64x64",
            "-frames:v",
            "1",
            str(cover),
        ],
        check=True,
    )
    build_json(project, *FAST, "--cover", "cover.png")
    assert ID3(project / "audio" / "gwadar-editorial.mp3").getall("APIC")
    missing = run_cli("build", *FAST, "--cover", "nope.png", cwd=project)
    assert missing.returncode == 1 and "nope.png" in missing.stderr


def test_audio_encoded_while_speaking_equals_audio_encoded_from_the_cache(project):
    """A cold build streams each segment into its encoder as the sentences are spoken;
    with every clip cached, segments are encoded whole. The listener gets the same file."""
    build_json(project, *FAST)
    streamed = (project / "audio" / "gwadar-editorial.mp3").read_bytes()
    segments = project / ".audio-edition" / "cache" / "segments"
    names = sorted(p.name for p in segments.rglob("*.mp3"))
    shutil.rmtree(segments)
    edition = _edition(build_json(project, *FAST, "--force"))
    assert edition["synthesized"] == 0
    assert sorted(p.name for p in segments.rglob("*.mp3")) == names
    assert (project / "audio" / "gwadar-editorial.mp3").read_bytes() == streamed
    assert not [p for p in segments.rglob("*") if p.name.startswith(".")]  # no temp left


class _GivesUpAfterSix:
    """The real engine, failing for good after six sentences, as after a fatal fault."""

    name = "espeak"

    def __init__(self) -> None:
        self.real = EspeakEngine()

    def identity(self) -> str:
        return self.real.identity()

    def settings_key(self, voice):
        return self.real.settings_key(voice)

    def voices(self):
        return self.real.voices()

    def synthesize(self, utterances, jobs):
        for made, clip in enumerate(self.real.synthesize(utterances, jobs)):
            if made == 6:
                raise SynthesisError("gwadar-editorial.txt: paragraph 2: speech failed")
            yield clip


def test_speech_failing_while_a_segment_streams_leaves_nothing_half_made(project):
    article = project / "text" / "gwadar-editorial.txt"
    settings = replace(load_settings(project), formats=("mp3",))
    builder = Builder(project, project / "audio", settings, engine=_GivesUpAfterSix())
    with pytest.raises(SynthesisError):
        builder.build(article)  # returns (no encoder left waiting for speech), then raises
    cache = project / ".audio-edition" / "cache"
    assert not [p for p in cache.rglob("*") if p.name.startswith(".")]  # no temp file
    assert not (project / "audio").exists() or not list((project / "audio").iterdir())
    edition = _edition(build_json(project, *FAST))
    assert edition["reused"] >= 6  # the clips made before the failure are kept
