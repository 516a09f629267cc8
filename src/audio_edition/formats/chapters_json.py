"""Podcasting 2.0 JSON chapters (<podcast:chapters>): the edition's chapters for feeds."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ..files import atomic_write_bytes
from .base import Context, Format

if TYPE_CHECKING:
    from ..edition import Edition

SPEC_VERSION = "1.2.0"  # of the Podcasting 2.0 JSON chapters format


def render(edition: Edition) -> dict:
    chapters = [
        {"startTime": ch.start_ms / 1000, "endTime": ch.end_ms / 1000, "title": ch.title}
        for ch in edition.chapters
    ]
    doc = {"version": SPEC_VERSION, "title": edition.title}
    if edition.author:
        doc["author"] = edition.author
    return {**doc, "chapters": chapters}


class ChaptersJSON(Format):
    name = "chapters-json"
    suffix = ".chapters.json"
    label = "Chapters (JSON)"
    description = (
        "podcast apps reading <podcast:chapters> (Podcast Addict, Fountain, AntennaPod, Podverse)"
    )
    version = 1
    order = 60

    def write(self, context: Context) -> None:
        text = json.dumps(render(context.edition), ensure_ascii=False, indent=1, allow_nan=False)
        atomic_write_bytes(context.dest, (text + "\n").encode("utf-8"))
