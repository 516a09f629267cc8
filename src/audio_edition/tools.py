"""The system tools a build runs (ffmpeg and ffprobe): found, identified, and one message
for when they are missing. Light on purpose: the no-change rebuild asks who ffmpeg is."""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from .errors import ToolMissingError
from .files import looked_up_once

FFMPEG_MISSING = (
    "{tool} is not installed: run `make run` (it installs it) or `sudo apt-get install ffmpeg`"
)


def ffmpeg_missing(tool: str = "ffmpeg") -> ToolMissingError:
    return ToolMissingError(FFMPEG_MISSING.format(tool=tool))


def check_ffmpeg() -> None:
    for tool in ("ffmpeg", "ffprobe"):
        if shutil.which(tool) is None:
            raise ffmpeg_missing(tool)


@lru_cache(maxsize=1)
def ffmpeg_identity() -> list:
    """Which ffmpeg, cheaply (no process): its binary's path, size and time."""
    check_ffmpeg()
    binary = Path(shutil.which("ffmpeg")).resolve()
    stat = binary.stat()
    return [str(binary), stat.st_size, stat.st_mtime_ns]


@looked_up_once
def ffmpeg_version() -> str:
    check_ffmpeg()
    out = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout
    return out.split("\n", 1)[0]
