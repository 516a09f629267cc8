"""Hand-made editions for the formats' unit tests: write only what a test is about.

``edition(data)`` takes a manifest-shaped dict holding any part of an edition, fills in
the rest with plausible values, and reads it through ``Edition.from_json``, so the
tests go through the same reading as a manifest file.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path

from audio_edition.edition import SAMPLE_RATE, Edition

VOICE = {
    "voice": "gmw/en-us",
    "rate": 175,
    "volume": 1.0,
    "pitch": 50,
    "engine": "pyttsx3-2.99/espeak-ng-1.51",
    "name": "English (America)",
}
LOUDNESS = {"target_lufs": -18.0, "predicted_lufs": -18.1, "true_peak_ceiling_dbtp": -1.5}


def edition(data: dict) -> Edition:
    d = copy.deepcopy(data)
    paragraphs = [_paragraph(n, p) for n, p in enumerate(d.get("paragraphs", []), start=1)]
    ends = [p["end_ms"] for p in paragraphs] or [0]
    duration_ms = d.pop("duration_ms", max(ends) + 500)
    full = {
        "source": "text/demo.md",
        "slug": "demo",
        "title": "Demo",
        "author": None,
        "publisher": None,
        "date": None,
        "language": "en",
        "sample_rate": SAMPLE_RATE,
        "duration_samples": round(duration_ms * SAMPLE_RATE / 1000),
        "announcements": {"opening": None, "closing": None},
        "chapters": [],
        **d,
        "voice": {**VOICE, **d.get("voice", {})},
        "loudness": {**LOUDNESS, **d.get("loudness", {})},
        "paragraphs": paragraphs,
    }
    full["chapters"] = [
        {"start_ms": 0, "end_ms": duration_ms, "paragraphs": [], **c} for c in full["chapters"]
    ]
    return Edition.from_json(full)


def _paragraph(number: int, p: dict) -> dict:
    sentences = [{"spoken": None, "words": [], **s} for s in p.get("sentences", [])]
    times = [s["start_ms"] for s in sentences] + [s["end_ms"] for s in sentences]
    if p.get("heading") is not None:
        times += [p["heading_start_ms"], p["heading_end_ms"]]
    return {
        "index": number,
        "id": f"p{number}",
        "heading": None,
        "heading_level": None,
        "heading_start_ms": None,
        "heading_end_ms": None,
        "text": " ".join(s["text"] for s in sentences),
        "line": 1,
        "start_ms": min(times, default=0),
        "end_ms": max(times, default=0),
        "chapter": None,
        **p,
        "sentences": sentences,
    }


SCHEMA = Path(__file__).resolve().parent.parent / "docs" / "manifest.schema.json"


@cache
def _validator():
    import jsonschema

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def schema_errors(manifest: dict) -> list[str]:
    """What in ``manifest`` (a manifest file's JSON) breaks docs/manifest.schema.json."""
    errors = _validator().iter_errors(manifest)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]


def check_manifests(folder: Path) -> None:
    """Every manifest a build wrote in ``folder`` follows the schema."""
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and "manifest_version" in data:
            assert not schema_errors(data), f"{path}: {schema_errors(data)[:5]}"
