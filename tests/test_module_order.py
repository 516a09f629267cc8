"""The layout shows the pipeline: every module has its place in the order data flows,
and none imports one that stands later (at the top of the file or inside a function).
A new module must be given its place here, which is the point: a reader should know from
the order what a module may touch."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "audio_edition"

ORDER = [
    # foundations: no stage of their own
    "errors",
    "pcm",
    "times",
    "scripts",
    "files",
    "tools",
    "registry",
    "config",
    # the article and what is said
    "source",
    "normalise",  # written forms said as words: numbers, money, dates, abbreviations
    "lexicon",  # how words are said: the project's pronunciations
    "spoken",  # a sentence as the engine is given it, mapped back to the written one
    "script",
    # speech: the interface, the pool, the engines behind it
    "speech",
    "speech_pool",
    "speech_worker",
    "engines.espeak_speaker",
    "engines.fake_speaker",
    "engines.piper_speaker",
    "engines.espeak",
    "engines.piper",
    "engines.fake",
    "engines",
    # clips, kept in the cache
    "loudness",
    "clips",
    "cache",
    "synthesis",
    # segments and the edition's times
    "encode",
    "assemble",
    "segment_queue",
    "edition",
    "manifest",
    "layout",
    "cluster",  # speech and encoding on a Dask cluster's workers
    # formats, written from the edition
    "formats.base",
    "formats",
    "formats.cues",
    "formats.readalong",
    "formats.chaptered_audio",
    "formats.m4b",
    "formats.mp3",
    "formats.vtt",
    "formats.srt",
    "formats.chapters_vtt",
    "formats.chapters_json",
    "formats.opus",
    "formats.epub",
    "formats.daisy",
    "formats.html",
    "formats.feed",
    # publishing, housekeeping, the front doors
    "outputs",
    "maintenance",
    "build",
    "words",  # the editor's pronunciation tools: the words to check, and say
    "watch",  # the editor's loop: rebuilds on save, and serves the output folder
    "serve",
    "cli",
    "",  # the package itself: `from audio_edition import build`
]


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    package = [p for p in package if p]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - node.level + 1]
            target = ".".join([*base, *(node.module or "").split(".")]).strip(".")
            # ``from . import __version__``: a constant the package sets before it imports
            # anything, not a stage.
            names = [f"{target}.{a.name}".strip(".") for a in node.names if a.name != "__version__"]
            if names:
                found |= {n for n in names if n in known} or {target}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("audio_edition"):
            found.add(node.module.removeprefix("audio_edition").strip("."))
    return found - {name}


def test_every_module_has_its_place_in_the_order():
    assert sorted(_modules()) == sorted(ORDER)


def test_no_module_imports_one_that_stands_later():
    modules = _modules()
    place = {name: n for n, name in enumerate(ORDER)}
    later = [
        f"{name} imports {dep}"
        for name, path in modules.items()
        for dep in _imports(name, path, set(modules))
        if dep in place and place[dep] > place[name]
    ]
    assert later == []
