"""Podcasting 2.0 JSON chapters (<podcast:chapters>): the edition's chapters for feeds."""

from __future__ import annotations

import json
from pathlib import Path

from ..files import atomic_write_bytes

NAME = "chapters-json"
SUFFIX = ".chapters.json"
FOR = "podcast apps reading <podcast:chapters> (Podcast Addict, Fountain, AntennaPod, Podverse)"
NEEDS: tuple[str, ...] = ()
VERSION = 1
SPEC_VERSION = "1.2.0"  # of the Podcasting 2.0 JSON chapters format


def render(manifest: dict) -> dict:
    chapters = [
        {"startTime": ch["start_ms"] / 1000, "endTime": ch["end_ms"] / 1000, "title": ch["title"]}
        for ch in manifest["chapters"]
    ]
    doc = {"version": SPEC_VERSION, "title": manifest["title"]}
    if manifest.get("author"):
        doc["author"] = manifest["author"]
    return {**doc, "chapters": chapters}


def write(manifest: dict, audio: dict[str, Path], dest: Path) -> None:
    text = json.dumps(render(manifest), ensure_ascii=False, indent=1, allow_nan=False)
    atomic_write_bytes(dest, (text + "\n").encode("utf-8"))
