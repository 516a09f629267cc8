"""The command line in process (no subprocess, no engine, no ffmpeg): paths and folders
that cannot be built get one line and the right exit code. Bad flag values are in
test_settings.py; failures that need a build (an edition to keep intact) in
test_bad_input.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_settings import _run


@pytest.fixture
def here(tmp_path, monkeypatch) -> Path:
    """A project with one article, as the working directory."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "a.txt").write_text("A short article.\n")
    return tmp_path


def test_a_missing_article_is_named(here, capsys):
    code, err = _run(capsys, "build", "text/nope.txt")
    assert code == 1 and "text/nope.txt" in err and "no such" in err


def test_a_folder_without_articles_is_named(here, capsys):
    (here / "empty").mkdir()
    code, err = _run(capsys, "build", "empty")
    assert code == 1 and "empty" in err and "no articles" in err


def test_an_output_folder_that_cannot_be_written_is_named(here, capsys):
    (here / "blocked").write_text("a file, not a folder")
    code, err = _run(capsys, "build", "--format", "vtt", "--out", "blocked/audio")
    assert code == 1 and "blocked" in err and "cannot write" in err


def test_a_file_that_is_not_an_article_is_named(here, capsys):
    (here / "notes.docx").write_bytes(b"PK")
    code, err = _run(capsys, "build", "notes.docx")
    assert code == 1 and "notes.docx" in err and ".txt or .md" in err


def test_two_articles_of_one_edition_name_are_refused_together(here, capsys):
    (here / "text" / "A.md").write_text("Another.\n")
    code, err = _run(capsys, "build", "--format", "vtt")
    assert code == 1 and "same edition name" in err
    assert not (here / "audio" / "a.vtt").exists()
