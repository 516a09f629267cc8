"""Settings from every source are checked when read: errors name the file, key and values."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
from dataclasses import fields
from pathlib import Path

import pytest

from audio_edition.cli import main
from audio_edition.config import (
    CONFIG_FILE,
    FEED_RULES,
    RULES,
    FeedSettings,
    Pauses,
    Settings,
    load_settings,
)
from audio_edition.errors import AudioEditionError, SourceError, UsageError
from audio_edition.manifest import Manifest, write_manifest
from audio_edition.source import read_article
from audio_edition.speech import VoiceSettings

from .conftest import CLI
from .editions import edition

PNG = b"\x89PNG\r\n\x1a\n" + bytes(32)


def _toml_error(tmp_path: Path, text: str, error: type = UsageError) -> str:
    (tmp_path / CONFIG_FILE).write_text(text, encoding="utf-8")
    with pytest.raises(error) as caught:
        load_settings(tmp_path)
    assert caught.value.exit_code == error.exit_code
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / CONFIG_FILE}: "), message
    return message.removeprefix(f"{tmp_path / CONFIG_FILE}: ")


BAD_TOML = {
    'rate = "fast"': 'rate: must be a whole number from 80 to 450 (words per minute) (got "fast")',
    "rate = inf": "rate: must be a whole number from 80 to 450 (words per minute) (got inf)",
    "rate = 175.5": "rate: must be a whole number from 80 to 450",
    "rate = true": "rate: must be a whole number from 80 to 450 (words per minute) (got true)",
    "pitch = 100": "pitch: must be a whole number from 0 to 99",
    "volume = 0": "volume: must be a number from 0.1 to 2.0 (1.0 is normal; 0 would be silent)",
    "volume = nan": "volume: must be a number from 0.1 to 2.0",
    'voice = ""': "voice: must be text",
    "voice = [1, 2]": "voice: must be text (an engine voice id or name: see `audio-edition voices`)"
    " (got [1, 2])",
    "formats = 5": "formats: must be a list of formats from m4b, mp3,",
    'formats = ["mp3", "ogg"]': 'formats: unknown format "ogg": choose from m4b, mp3,',
    'formats = ""': "formats: no format given: choose from m4b",
    "cover = 5": "cover: must be the path of a JPEG or PNG image (got 5)",
    'opening = "{x}"': "opening: unknown placeholder {x}: use {title}, {byline}, {author},",
    'opening = "{title.upper}"': "opening: unknown placeholder {title.upper}",
    'closing = "{title"': "closing: must be text using only the placeholders {title},",
    "closing = true": "closing: must be text using only the placeholders",
    "[pauses]\nsentence_ms = -5": "pauses.sentence_ms: must be a whole number from 0 to 10000"
    " (milliseconds) (got -5)",
    "[pauses]\nparagraph_ms = 1.5": "pauses.paragraph_ms: must be a whole number from 0 to 10000",
    "[pauses]\nsentence = 5": 'pauses: unknown setting "sentence": use sentence_ms,',
    "pauses = 3": "pauses: must be a table of sentence_ms, paragraph_ms,",
    "jobs = 0": "jobs: must be a whole number from 1 to",
    "jobs = 100000": "jobs: must be a whole number from 1 to",
    "loudness_lufs = 50": "loudness_lufs: must be a number from -40 to -10 (LUFS) (got 50)",
    "true_peak_dbtp = 3": "true_peak_dbtp: must be a number from -10 to 0 (dBTP) (got 3)",
    "cache_dir = 5": "cache_dir: must be a path (a folder) (got 5)",
    "ratee = 3": 'unknown setting "ratee": use voice, rate, volume, pitch,',
}


@pytest.mark.parametrize("text", BAD_TOML)
def test_a_bad_value_in_the_project_file_names_the_file_key_and_allowed_values(tmp_path, text):
    assert _toml_error(tmp_path, text).startswith(BAD_TOML[text])


def test_cover_in_the_project_file_must_be_an_image_beside_it(tmp_path):
    missing = _toml_error(tmp_path, 'cover = "nope.jpg"', AudioEditionError)
    assert missing == f"cover: {tmp_path / 'nope.jpg'}: no such file"
    (tmp_path / "cover.gif").write_bytes(b"GIF89a" + bytes(20))
    gif = _toml_error(tmp_path, 'cover = "cover.gif"', AudioEditionError)
    assert gif.endswith("not a JPEG or PNG image")
    (tmp_path / "covers").mkdir()
    assert "not a regular file" in _toml_error(tmp_path, 'cover = "covers"', AudioEditionError)


def test_good_values_are_read_into_their_types(tmp_path):
    (tmp_path / "cover.png").write_bytes(PNG)
    (tmp_path / CONFIG_FILE).write_text(
        "rate = 175.0\nvolume = 1\nformats = 'MP3, .vtt,mp3'\nclosing = false\n"
        'opening = "{title}, {{read}} by {author}"\ncover = "cover.png"\n'
        'cache_dir = "cache"\njobs = 1\n[pauses]\nsentence_ms = 0\n'
    )
    settings = load_settings(tmp_path)
    voice = settings.project_voice  # the project's voice ranks below front matter
    assert voice["rate"] == 175 and isinstance(voice["rate"], int)
    assert voice["volume"] == 1.0 and isinstance(voice["volume"], float)
    assert settings.rate is None  # no flag given
    assert settings.formats == ("mp3", "vtt")
    assert settings.closing == ""
    assert settings.opening == "{title}, {{read}} by {author}"
    # Paths in the file are the project's, wherever the build is started from.
    assert settings.cover == tmp_path / "cover.png"
    assert settings.cache_dir == tmp_path / "cache"
    assert settings.pauses == Pauses(sentence_ms=0)


def test_every_setting_has_a_row_in_the_table():
    settable = {f.name for f in fields(Settings)} - {"force", "pauses", "project_voice", "feed"}
    assert set(RULES) == settable
    assert set(FEED_RULES) == {f.name for f in fields(FeedSettings)}  # the [feed] table


# ---------------------------------------------------------------- front matter


BAD_SPEECH = {
    "{voice: [1, 2]}": "speech.voice: must be text",
    "{rate: .inf}": "speech.rate: must be a whole number from 80 to 450 (words per minute)"
    " (got inf)",
    "{rate: fast}": "speech.rate: must be a whole number from 80 to 450 (words per minute)"
    ' (got "fast")',
    "{volume: 0}": "speech.volume: must be a number from 0.1 to 2.0",
    "{pitch: -1}": "speech.pitch: must be a whole number from 0 to 99",
    "{speed: 3}": 'speech: unknown setting "speed": use voice, rate, volume, pitch',
}


@pytest.mark.parametrize("speech", BAD_SPEECH)
def test_a_bad_speech_setting_in_front_matter_names_the_article_and_key(tmp_path, speech):
    path = tmp_path / "a.md"
    path.write_text(f"---\nspeech: {speech}\n---\nHello there.\n", encoding="utf-8")
    with pytest.raises(SourceError) as caught:
        read_article(path)
    assert str(caught.value).startswith(f"{path}: {BAD_SPEECH[speech]}")


def test_good_speech_settings_are_read_into_their_types(tmp_path):
    path = tmp_path / "a.md"
    path.write_text("---\nspeech: {rate: 200.0, volume: 2, pitch:}\n---\nHi.\n", encoding="utf-8")
    assert read_article(path).speech == {"rate": 200, "volume": 2.0}


def test_voice_settings_made_in_code_are_checked_by_the_same_table():
    with pytest.raises(UsageError, match="rate: must be a whole number from 80 to 450"):
        VoiceSettings(rate=5).validate()


# ---------------------------------------------------------------- the command line


def _run(capsys, *argv: str) -> tuple[int, str]:
    """``audio-edition ARGV`` in process: the exit code and stderr's one line."""
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse
        code = exc.code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    return code, err.strip()


@pytest.fixture
def here(tmp_path, monkeypatch) -> Path:
    """An empty project folder as the working directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


BAD_FLAGS = {
    ("--volume", "0"): "--volume: must be a number from 0.1 to 2.0 (1.0 is normal; 0 would be"
    " silent) (got 0.0)",
    ("--volume", "inf"): "--volume: must be a number from 0.1 to 2.0",
    ("--rate", "5000"): "--rate: must be a whole number from 80 to 450",
    ("--pitch", "100"): "--pitch: must be a whole number from 0 to 99",
    ("--jobs", "0"): "--jobs: must be a whole number from 1 to",
    ("--jobs", str(4 * (os.cpu_count() or 1) + 1)): "--jobs: must be a whole number from 1 to",
    ("--format", "m4b,wma"): '--format: unknown format "wma": choose from',
}


@pytest.mark.parametrize("flags", BAD_FLAGS, ids=" ".join)
def test_a_bad_flag_is_a_usage_error_naming_it_and_its_allowed_values(here, capsys, flags):
    (here / "text.txt").write_text("Not an image.\n")
    code, err = _run(capsys, "build", *flags, "text.txt")
    assert code == 2
    assert err.startswith(f"audio-edition: error: {BAD_FLAGS[flags]}"), err
    assert not (here / "audio").exists()


BAD_COVERS = {
    "nope.jpg": "--cover: nope.jpg: no such file",
    "text.txt": "--cover: text.txt: not a JPEG or PNG image",
    "/dev/zero": (
        "--cover: /dev/zero: is a character device, not a regular file; a cover image must be one"
    ),
}


@pytest.mark.parametrize("cover", BAD_COVERS)
def test_a_bad_cover_is_refused_before_anything_is_built(here, capsys, cover):
    # A build error (exit 1), as a missing article is: the flag is well formed, the file not.
    (here / "text.txt").write_text("Not an image.\n")
    code, err = _run(capsys, "build", "--cover", cover, "text.txt")
    assert (code, err) == (1, f"audio-edition: error: {BAD_COVERS[cover]}")
    assert not (here / "audio").exists()


def test_a_bad_project_setting_is_blamed_on_the_project_file_not_the_article(here, capsys):
    (here / "text").mkdir()
    (here / "text" / "a.txt").write_text("Hello there.\n")
    (here / CONFIG_FILE).write_text('rate = "fast"\n')
    code, err = _run(capsys, "build", "text/a.txt")
    assert code == 2
    assert err == (
        "audio-edition: error: audio-edition.toml: rate: must be a whole number from 80 to 450"
        ' (words per minute) (got "fast")'
    )


@pytest.mark.parametrize(
    "argv",
    [["nonexistent.txt"], ["--quiet", "nonexistent.txt"], ["--json", "nonexistent.txt"]]
    + [["--force", "nonexistent.txt"], ["--format", "vtt", "nonexistent.txt"]],
    ids=" ".join,
)
def test_no_command_is_build_whatever_the_arguments(here, capsys, argv):
    code, err = _run(capsys, *argv)
    assert (code, err) == (1, "audio-edition: error: nonexistent.txt: no such file or folder")


def test_no_arguments_at_all_is_build_of_text(here, capsys):
    assert _run(capsys) == (1, "audio-edition: error: text: no such file or folder")


def test_version_and_help_are_still_the_programs(here, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out.startswith("audio-edition ")
    with pytest.raises(SystemExit) as caught:
        main(["--help"])
    assert caught.value.code == 0
    assert "{build,status,voices,formats,clean,serve,words,say}" in capsys.readouterr().out


def test_an_error_naming_a_file_with_a_line_break_stays_on_one_line(here, capsys):
    code, err = _run(capsys, "text/a\nb.txt")
    assert (code, err) == (1, "audio-edition: error: text/a\\nb.txt: no such file or folder")


# ---------------------------------------------------------------- JSON


def test_the_manifest_writer_refuses_a_non_finite_number_and_writes_nothing(tmp_path):
    path = tmp_path / "a.json"
    with pytest.raises(ValueError):
        write_manifest(path, Manifest(edition({"loudness": {"predicted_lufs": -math.inf}})))
    assert list(tmp_path.iterdir()) == []


def _strict_json(text: str) -> dict:
    def refuse(name: str) -> None:
        raise ValueError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.integration
def test_a_silent_edition_has_no_infinity_in_its_manifest(tmp_path):
    # eSpeak says nothing for "...": without announcements the edition is silence, whose
    # loudness is -inf. The build may refuse it; it must not write invalid JSON.
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "dots.txt").write_text("...\n")
    args = ["build", "--format", "vtt", "--no-opening", "--no-closing", "--json"]
    result = subprocess.run([*CLI, *args], cwd=tmp_path, capture_output=True, text=True)
    if result.returncode != 0:
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "internal error" not in result.stderr
        return
    _strict_json(result.stdout)
    manifest = _strict_json((tmp_path / "audio" / "dots.json").read_text())
    assert manifest["loudness"]["predicted_lufs"] is None


# ---------------------------------------------------------------- a read-only project


def _can_mount_read_only() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount --bind / /mnt && mount -o remount,bind,ro /mnt"],
        capture_output=True,
    )
    return probe.returncode == 0


@pytest.mark.integration
@pytest.mark.skipif(not _can_mount_read_only(), reason="needs unshare and mount (root)")
def test_a_read_only_project_builds_with_out_and_the_cache_elsewhere(tmp_path):
    # Tests run as root, whom chmod does not stop: the project is mounted read-only instead,
    # in a mount namespace of the build's own (gone when it ends).
    project, out, cache = tmp_path / "project", tmp_path / "out", tmp_path / "cache"
    (project / "text").mkdir(parents=True)
    (project / "text" / "a.txt").write_text("Hello there.\n")
    before = sorted(project.rglob("*"))
    build = [*CLI, "build", "--format", "vtt", "--no-opening", "--no-closing", "--out", str(out)]
    script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && cd "$0" && exec "$@"'
    result = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, str(project), *build],
        env={**os.environ, "AUDIO_EDITION_CACHE": str(cache)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert (out / "a.vtt").exists()
    assert sorted(project.rglob("*")) == before


@pytest.mark.integration
def test_front_matter_speech_ranks_above_the_project_file_and_flags_above_both(tmp_path):
    from audio_edition.config import settings_with_flags
    from audio_edition.engines import default_engine
    from audio_edition.source import read_article
    from audio_edition.synthesis import voice_for

    (tmp_path / CONFIG_FILE).write_text("rate = 300\npitch = 20\n")
    article = tmp_path / "a.md"
    article.write_text("---\nspeech:\n  rate: 150\n---\nHello.\n")
    settings = load_settings(tmp_path)
    engine = default_engine()
    voice = voice_for(read_article(article), settings, engine)
    assert (voice.rate, voice.pitch) == (150, 20)
    flagged = settings_with_flags(settings, {"rate": 200})
    voice = voice_for(read_article(article), flagged, engine)
    assert (voice.rate, voice.pitch) == (200, 20)
