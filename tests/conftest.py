"""Shared fixtures: a throwaway project with the sample article, and the real CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "text" / "gwadar-editorial.txt"
CLI = [sys.executable, "-m", "audio_edition.cli"]


def require(tool: str, how: str = "run `make test`, which installs it") -> str:
    """The path of a tool the tests use (a name on PATH, or an absolute path). The project
    installs its own tools (`make test`), so a missing one fails the test that needs it,
    saying how to install it: it is never skipped in silence."""
    found = tool if Path(tool).is_absolute() and Path(tool).exists() else shutil.which(tool)
    if not found:
        pytest.fail(f"{tool} is missing: {how}")
    return found


def run_cli(*args: str, cwd: Path, env: dict | None = None, timeout: float = 600):
    """Run `audio-edition ARGS` as a user would; return the completed process."""
    full_env = {**os.environ, **(env or {})}
    result = subprocess.run(
        [*CLI, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode == 0 and (not args or args[0] not in _NOT_BUILDS):
        from .editions import check_manifests

        out = args[args.index("--out") + 1] if "--out" in args else "audio"
        check_manifests(Path(cwd) / out)  # every manifest a build writes follows the schema
    return result


_NOT_BUILDS = ("status", "voices", "formats", "clean", "words", "say", "--version", "--help", "-h")


def build_json(project: Path, *args: str, env: dict | None = None) -> dict:
    result = run_cli("build", "--json", *args, cwd=project, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder holding text/ with the sample article and its own cold cache."""
    (tmp_path / "text").mkdir()
    shutil.copy(SAMPLE, tmp_path / "text")
    return tmp_path


@pytest.fixture(scope="session")
def sample_edition(tmp_path_factory) -> Path:
    """The sample article built once with the default settings (both formats)."""
    root = tmp_path_factory.mktemp("sample")
    (root / "text").mkdir()
    shutil.copy(SAMPLE, root / "text")
    result = run_cli("build", "--quiet", cwd=root)
    assert result.returncode == 0, result.stderr
    return root / "audio"


@pytest.fixture(scope="session")
def piper_sample_edition(tmp_path_factory) -> Path:
    """The sample article built once with Piper (the natural voice): the audio formats,
    the captions and the web page."""
    root = tmp_path_factory.mktemp("piper-sample")
    (root / "text").mkdir()
    shutil.copy(SAMPLE, root / "text")
    formats = "m4b,mp3,vtt,html"
    result = run_cli("build", "--quiet", "--engine", "piper", "--format", formats, cwd=root)
    assert result.returncode == 0, result.stderr
    return root / "audio"


@pytest.fixture(scope="session", params=["espeak", "piper"])
def any_sample_edition(request) -> Path:
    """The sample's edition by each engine in turn (eSpeak's is the default build)."""
    name = "sample_edition" if request.param == "espeak" else "piper_sample_edition"
    return request.getfixturevalue(name)


def ffprobe(path: Path) -> dict:
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_chapters",
            "-show_streams",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


def decode(path: Path, rate: int = 22050):
    """The decoded samples of an audio file, as ffmpeg (any player's decoder) gives them."""
    import numpy as np

    raw = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(path),
            "-f",
            "s16le",
            "-ac",
            "1",
            "-ar",
            str(rate),
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(raw, dtype=np.int16)
