"""The README documents every command, option and format (as sqlite-utils checks its own)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from audio_edition.cli import _parser
from audio_edition.formats import FORMATS

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = _parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def _options() -> list[tuple[str, str]]:
    found = [("", o) for a in _parser()._actions for o in a.option_strings]
    for name, parser in _commands().items():
        found += [(name, o) for a in parser._actions for o in a.option_strings]
    return [(c, o) for c, o in found if o.startswith("--") and o != "--help"]


@pytest.mark.parametrize("command", list(_commands()))
def test_commands_are_documented(command):
    assert f"audio-edition {command}" in README


@pytest.mark.parametrize(("command", "option"), _options())
def test_options_are_documented(command, option):
    assert re.search(rf"`{re.escape(option)}\b", README), f"{command} {option}"


@pytest.mark.parametrize("name", list(FORMATS))
def test_formats_are_documented(name):
    assert f"| `{name}` |" in README  # a row of the Formats table
