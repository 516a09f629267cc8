"""Housekeeping: what a build would do (``status``), and what no edition needs any more
(``clean``: cached clips and segments; with ``--outputs``, orphaned editions)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .config import Settings
from .edition import read_manifest
from .outputs import edition_article, output_lock, write_indexes
from .script import Item, utterance_script
from .speech import SpeechEngine
from .synthesis import Progress, Synthesis, voice_for, voice_words

if TYPE_CHECKING:
    from .source import Article


def project_cache(project: Path, settings: Settings, notify: Callable[[str], None]):
    from .cache import Cache, default_cache_dir

    return Cache(settings.cache_dir or default_cache_dir(project), notify)


def status(
    path: Path,
    project: Path,
    settings: Settings,
    engine_for: Callable[[Article], SpeechEngine],
    notify: Callable[[str], None] = lambda message: None,
) -> tuple[list[Item], int]:
    """The utterances a build would synthesise (each distinct one once), and the total;
    ``engine_for`` is the article's engine (the builder's: its front matter may choose)."""
    from .lexicon import lexicon_for, project_lexicon
    from .source import read_article

    article = read_article(path, project)
    engine = engine_for(article)
    voice = voice_for(article, settings, engine)
    lexicon, markup = lexicon_for(project_lexicon(project, settings), article, engine)
    items = utterance_script(article, settings, voice_words(engine, voice.voice), lexicon, markup)
    synthesis = Synthesis(project_cache(project, settings, notify), engine, settings, Progress())
    keys = synthesis.clip_keys(items, voice)
    todo = {
        k: i
        for k, i in reversed(list(zip(keys, items, strict=True)))
        if synthesis.cache.clip_info(k) is None
    }
    return sorted(todo.values(), key=items.index), len(items)


def clean_cache(
    project: Path, settings: Settings, notify: Callable[[str], None]
) -> tuple[int, int]:
    """Remove cached clips and segments that no edition of any project using this cache
    needs (as the projects' records say), once no build is using the cache."""
    cache = project_cache(project, settings, notify)
    with cache.lock(shared=False, notify=notify):
        return cache.clean()


@dataclass(frozen=True)
class Orphan:
    """An edition in the output folder whose article no longer exists (renamed, deleted)."""

    manifest: Path
    article: str
    files: tuple[Path, ...]  # its outputs, the manifest last


def orphaned_editions(out: Path) -> list[Orphan]:
    """Editions in ``out`` built from an article that is gone. Editions from before the
    manifest recorded its article's path are left alone: they cannot be told apart."""
    found = []
    for path in sorted(out.glob("*.json")) if out.is_dir() else []:
        manifest = read_manifest(path)
        article = edition_article(manifest.record.article if manifest else None, out)
        if manifest is None or article is None or article.is_file():
            continue
        files = [out / o["path"] for o in manifest.record.outputs.values()]
        found.append(Orphan(path, str(article), (*files, path)))
    return found


def remove_orphans(
    out: Path, notify: Callable[[str], None], settings: Settings | None = None
) -> list[Orphan]:
    """Remove every edition in ``out`` whose article is gone (``clean --outputs``); the
    lists of every edition (``settings``: the project's) then drop them."""
    if not out.is_dir():
        return []
    with output_lock(out, notify):
        orphans = orphaned_editions(out)
        for orphan in orphans:
            for path in orphan.files:
                path.unlink(missing_ok=True)
        write_indexes(out, settings, notify, changed=bool(orphans))
    return orphans
