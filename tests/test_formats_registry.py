"""The format registry: entry points, the Format interface, build order, versions."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from audio_edition.formats import (
    BUILTIN,
    DEFAULT_FORMATS,
    FORMATS,
    GROUP,
    Context,
    Format,
    Registry,
    with_needs,
)

REPO = Path(__file__).resolve().parent.parent


def test_pyproject_registers_exactly_the_built_in_formats():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["entry-points"][GROUP] == BUILTIN


def test_every_format_says_what_it_is():
    suffixes = set()
    for name, fmt in FORMATS.items():
        assert isinstance(fmt, Format) and fmt.name == name
        if fmt.index_only:  # no file per edition (the podcast feed)
            assert fmt.suffix == "" and fmt.needs
        else:
            assert fmt.suffix.startswith(".") and fmt.suffix not in suffixes
            suffixes.add(fmt.suffix)
        assert fmt.label and fmt.description
        assert isinstance(fmt.version, int) and fmt.version >= 1  # audio formats too
        assert all(n in FORMATS for n in fmt.needs)
    assert {n for n, f in FORMATS.items() if f.codec} == {"m4b", "mp3"}


def test_formats_are_built_after_what_they_read_and_the_page_last():
    order = with_needs(list(FORMATS))
    assert order[:2] == ["m4b", "mp3"]  # audio first
    assert order[-1] == "html"  # links every other format
    for i, name in enumerate(order):
        assert set(FORMATS[name].needs) <= set(order[:i])
    assert with_needs(["epub"]) == ["mp3", "epub"]
    assert with_needs(["opus"]) == ["m4b", "opus"]
    assert "opus" not in DEFAULT_FORMATS


class Shout(Format):
    """A plug-in's format, as a third-party package would write it."""

    name = "shout"
    suffix = ".shout.txt"
    label = "Shouted text"
    description = "the text in capitals"
    version = 1
    needs = ("mp3",)

    def write(self, context: Context) -> None:
        text = " ".join(s.text.upper() for s in context.edition.sentences)
        context.dest.write_text(text, encoding="utf-8")


class FakeMP3(Shout):
    name = "mp3"


def _entry_points(monkeypatch, **targets: str) -> None:
    points = [importlib.metadata.EntryPoint(n, t, GROUP) for n, t in targets.items()]

    def entry_points(group: str):
        return [p for p in points if p.group == group]

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)


def test_a_plug_in_is_found_by_its_entry_point_and_cannot_replace_a_built_in(monkeypatch):
    _entry_points(
        monkeypatch, **{**BUILTIN, "shout": f"{__name__}:Shout", "mp3": f"{__name__}:FakeMP3"}
    )
    registry = Registry()
    assert "shout" in registry and isinstance(registry["shout"], Shout)
    assert list(registry)[-2:] == ["shout", "html"]  # after the built-ins, before the page
    assert type(registry["mp3"]).__name__ == "MP3"
    assert "nothing" not in registry


def test_without_installed_entry_points_the_built_in_formats_are_there(monkeypatch):
    _entry_points(monkeypatch)  # a source checkout: the package's metadata not installed
    registry = Registry()
    assert list(registry) == list(FORMATS)
    assert registry["html"].links_all


def test_asking_for_built_in_formats_scans_no_entry_points():
    # The no-change rebuild asks for the default formats: it must not pay for the scan.
    code = (
        "import sys\n"
        "from audio_edition.formats import DEFAULT_FORMATS, FORMATS, with_needs\n"
        "with_needs(DEFAULT_FORMATS); FORMATS.loaded(); 'mp3' in FORMATS\n"
        "print('importlib.metadata' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.integration
def test_a_new_version_of_an_audio_format_rewrites_its_files(tmp_path, monkeypatch):
    from audio_edition import Settings, build

    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "a.txt").write_text("A short article.\n\nOne sentence.\n")
    settings = Settings(formats=("mp3",), opening=None, closing=None, jobs=1)
    first = build(project=tmp_path, settings=settings)[0]
    assert first.changed
    assert not build(project=tmp_path, settings=settings)[0].changed
    monkeypatch.setattr(type(FORMATS["mp3"]), "version", FORMATS["mp3"].version + 1)
    again = build(project=tmp_path, settings=settings)[0]
    assert again.changed and again.synthesized == 0
    assert not build(project=tmp_path, settings=settings)[0].changed
