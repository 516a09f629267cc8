"""The edition model and its manifest file: round trip, schema, versions, the build record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audio_edition.edition import (
    MANIFEST_VERSION,
    BuildRecord,
    Edition,
    Manifest,
    Word,
    load_editions,
    read_manifest,
)
from audio_edition.manifest import content_key, write_manifest

from .conftest import run_cli
from .editions import check_manifests, edition, schema_errors


def _rich() -> Edition:
    """An edition using every part of the model: headings, both announcements, words."""
    sentences = [
        {"id": "p1s1", "text": "Gwadar, 11 men.", "start_ms": 3000, "end_ms": 4000},
        {"id": "p1s2", "text": "Two.", "start_ms": 4500, "end_ms": 5000},
    ]
    ed = edition(
        {
            "title": "T & <T>",
            "author": "A",
            "date": "2026-11-30",
            "announcements": {
                "opening": {"text": "T. Read by a voice.", "start_ms": 50, "end_ms": 2000},
                "closing": {"text": "The end.", "start_ms": 6000, "end_ms": 7000},
            },
            "chapters": [
                {"index": 0, "title": "Opening announcement", "end_ms": 2500},
                {"index": 1, "title": "Part", "start_ms": 2500, "end_ms": 6000, "paragraphs": [1]},
                {"index": 2, "title": "Closing announcement", "start_ms": 6000},
            ],
            "paragraphs": [
                {
                    "heading": "Part",
                    "heading_level": 2,
                    "heading_start_ms": 2500,
                    "heading_end_ms": 2900,
                    "chapter": 1,
                    "line": 3,
                    "sentences": sentences,
                }
            ],
            "duration_ms": 7500,
        }
    )
    first = ed.paragraphs[0].sentences[0]
    first.spoken = "Gwah-dur, eleven men."
    first.words = [Word("Gwadar", 3000, 3400), Word("11", 3450, 3700), Word("men", 3700, 3950)]
    return ed


def test_an_edition_survives_json_and_back_unchanged():
    ed = _rich()
    text = json.dumps(ed.to_json(), ensure_ascii=False)
    again = Edition.from_json(json.loads(text))
    assert again == ed
    assert again.to_json() == ed.to_json()
    assert [u.id for u in again.utterances()] == ["opening", "p1h", "p1s1", "p1s2", "closing"]
    assert again.paragraphs[0].sentences[0].words[1] == Word("11", 3450, 3700)


def test_the_manifest_file_holds_the_edition_and_its_build_record(tmp_path):
    record = BuildRecord(
        outputs={
            "vtt": {
                "path": "demo.vtt",
                "bytes": 1,
                "sha256": "0" * 64,
                "version": 1,
                "fingerprint": "f",
            }
        },
        input="k",
        generator="audio-edition",
        article="../text/demo.md",
        utterances=5,
    )
    path = tmp_path / "demo.json"
    write_manifest(path, Manifest(_rich(), record))
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["manifest_version"] == MANIFEST_VERSION == 2
    assert data["build"] == {
        "input": "k",
        "generator": "audio-edition",
        "article": "../text/demo.md",
        "utterances": 5,
    }
    assert schema_errors(data) == []
    assert read_manifest(path) == Manifest(_rich(), record)


def test_the_schema_refuses_what_the_model_would_not_write():
    data = Manifest(_rich()).to_json()
    assert schema_errors(data) == []
    data["paragraphs"][0]["sentences"][0]["start"] = 1  # a field no reader knows
    del data["duration_ms"]
    errors = schema_errors(data)
    assert any("start" in e for e in errors) and any("duration_ms" in e for e in errors)


def test_a_version_1_or_malformed_manifest_is_no_previous_edition(tmp_path):
    data = Manifest(_rich()).to_json()
    path = tmp_path / "demo.json"
    path.write_text(json.dumps({**data, "manifest_version": 1}), encoding="utf-8")
    assert read_manifest(path) is None
    broken = {**data, "paragraphs": [{"id": "p1"}]}
    path.write_text(json.dumps(broken), encoding="utf-8")
    assert read_manifest(path) is None
    path.write_text(json.dumps({**data, "duration_samples": "long"}), encoding="utf-8")
    assert read_manifest(path) is None
    path.write_text(json.dumps(data), encoding="utf-8")
    assert read_manifest(path) == Manifest(_rich())


def test_the_content_key_is_the_edition_not_its_build_record():
    ed = _rich()
    key = content_key(ed)
    built = Manifest(ed, BuildRecord(outputs={"mp3": {"path": "x.mp3"}}, input="other"))
    assert content_key(built.edition) == key
    ed.paragraphs[0].sentences[1].end_ms += 1
    assert content_key(ed) != key
    ed.paragraphs[0].sentences[1].end_ms -= 1
    ed.paragraphs[0].sentences[0].words = []  # word timings are content: captions show them
    assert content_key(ed) != key


def _put(folder: Path, slug: str, title: str, outputs: dict, version: int = 2) -> None:
    data = Manifest(edition({"slug": slug, "title": title}), BuildRecord(outputs)).to_json()
    data["manifest_version"] = version
    (folder / f"{slug}.json").write_text(json.dumps(data), encoding="utf-8")


def test_load_editions_lists_every_built_edition_by_title(tmp_path):
    mp3 = {"mp3": {"path": "x.mp3"}}
    _put(tmp_path, "b", "beta", mp3)
    _put(tmp_path, "a", "Alpha", mp3)
    _put(tmp_path, "c", "Gamma", {})  # nothing built
    _put(tmp_path, "d", "Delta", mp3, version=1)  # an older build's
    (tmp_path / "e.json").write_text(json.dumps({"manifest_version": 2}), encoding="utf-8")
    _put(tmp_path, "f", "Zeta", mp3)
    (tmp_path / "f.json").rename(tmp_path / "renamed.json")  # not its slug's file
    assert [m.edition.slug for m in load_editions(tmp_path)] == ["a", "b"]
    assert load_editions(tmp_path / "none") == []


def test_reading_a_manifest_imports_nothing_heavy():
    import subprocess
    import sys

    code = (
        "import sys, audio_edition.edition as e, audio_edition.manifest\n"
        "heavy = {'numpy', 'pydub', 'pysbd', 'jsonschema', 'importlib.metadata'}\n"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.integration
def test_a_built_manifest_follows_the_schema_and_an_older_one_is_rebuilt(project):
    args = ("build", "--format", "vtt", "--no-opening", "--no-closing", "--json")
    first = run_cli(*args, cwd=project)
    assert first.returncode == 0, first.stderr
    check_manifests(project / "audio")
    path = project / "audio" / "gwadar-editorial.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["manifest_version"] == 2 and not schema_errors(data)
    path.write_text(json.dumps({**data, "manifest_version": 1}), encoding="utf-8")
    again = json.loads(run_cli(*args, cwd=project).stdout)["editions"][0]
    assert again["changed"] and again["synthesized"] == 0  # rebuilt, from cached clips
    rebuilt = json.loads(path.read_text(encoding="utf-8"))
    assert {**rebuilt, "outputs": None} == {**data, "outputs": None}  # the same edition
    assert rebuilt["outputs"]["vtt"]["sha256"] == data["outputs"]["vtt"]["sha256"]
