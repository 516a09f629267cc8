"""`--watch`: rebuild the articles whose files change, on save, and say what changed.

``watchfiles`` watches the folders holding the articles, the project's settings file and
the cover (not recursively: articles are found in their folder alone). It waits until the
saves stop for a moment (``STEP_MS``), so an editor's two quick saves build once. A saved
article is rebuilt alone, with the incremental build (a one-word edit re-speaks one
sentence); a change to the settings, the cover or a pronunciation lexicon rebuilds every
article. A save that leaves an article invalid prints its one-line error and changes
nothing: the last good edition stays, and the next good save builds.

Each rebuild is told in the editor's terms, found by comparing the edition's manifest
before and after: ``text/a.txt: paragraph 5, 1 sentence re-spoken (0.9 s)``, and handed
to ``publish`` (the server's live reload) with the ids of the sentences that changed.
"""

from __future__ import annotations

import difflib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .config import CONFIG_FILE, Settings
from .edition import Manifest, read_manifest
from .errors import AudioEditionError, BuildFailed
from .files import ARTICLE_SUFFIXES, project_relative, slugify
from .times import counted

STEP_MS = 100  # saves this close together are one change
LEXICONS = ("pronunciations.toml",)


@dataclass
class Changes:
    """What a rebuild changed in an edition: its paragraphs (1-based indexes) and the ids
    of its new or changed headings and sentences, and how many were removed."""

    paragraphs: list[int] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    removed: int = 0


def changes(old: Manifest | None, new: Manifest) -> Changes:
    """The utterances of ``new`` whose text differs from ``old``'s, in reading order."""
    after = [(p.index, u) for p in new.edition.paragraphs for u in p.utterances()]
    before = [u.text for p in old.edition.paragraphs for u in p.utterances()] if old else []
    found = Changes()
    matcher = difflib.SequenceMatcher(None, before, [u.text for _, u in after], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        found.removed += max(0, (i2 - i1) - (j2 - j1))
        for index, utterance in after[j1:j2]:
            found.ids.append(utterance.id)
            if index not in found.paragraphs:
                found.paragraphs.append(index)
        if j1 == j2 and after and j1 <= len(after):  # removed only: where they were
            index = after[min(j1, len(after) - 1)][0]
            if index not in found.paragraphs:
                found.paragraphs.append(index)
    found.paragraphs.sort()
    return found


def describe(source: str, found: Changes, synthesized: int, seconds: float) -> str:
    """The editor's line: ``text/a.txt: paragraph 5, 1 sentence re-spoken (0.9 s)``."""
    paras = found.paragraphs
    where = []
    if paras:
        numbers = ", ".join(map(str, paras[:-1])) + (" and " if len(paras) > 1 else "")
        where.append(f"paragraph{'s' * (len(paras) > 1)} {numbers}{paras[-1]}")
    count = len(found.ids) or synthesized
    if count or not found.removed:
        where.append(f"{counted(count, 'sentence')} re-spoken")
    if found.removed:
        where.append(f"{found.removed} removed")
    return f"{source}: {', '.join(where)} ({seconds:.1f} s)"


class Watcher:
    """Rebuilds on save; ``run`` blocks, ``start``/``stop`` run it in a thread."""

    def __init__(
        self,
        paths: Sequence[Path],
        *,
        project: Path = Path(),
        out: Path | None = None,
        settings: Callable[[], Settings] | None = None,
        publish: Callable[[dict], None] | None = None,
        say: Callable[[str], None] = print,
        warn: Callable[[str], None] = print,
        engine=None,
    ) -> None:
        from .config import load_settings
        from .engines import default_engine

        self.paths = list(paths) or [project / "text"]
        self.project, self.out = project, out or project / "audio"
        self.settings = settings or (lambda: load_settings(project))
        self.publish = publish or (lambda event: None)
        self.say, self.warn = say, warn
        self.engine = engine or default_engine()  # one engine for every rebuild
        self.builds = 0  # rebuild rounds run (for tests)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._cover_path: Path | None = None
        self._lexicon_path: Path | None = None
        self.ready = threading.Event()  # set once the saves are being watched

    # -- what is watched
    def _folders(self) -> list[Path]:
        folders = {self.project.resolve()}
        for path in self.paths:
            folders.add((path if path.is_dir() else path.parent).resolve())
        self._cover_path = cover = self._cover()
        self._lexicon_path = lexicon = self._named("lexicon")
        for path in (cover, lexicon):
            if path is not None:
                folders.add(path.parent)
        return sorted(f for f in folders if f.is_dir())

    def _cover(self) -> Path | None:
        return self._named("cover")

    def _named(self, key: str) -> Path | None:
        """A file the settings name (``cover``, ``lexicon``), if they can be read."""
        try:
            path = getattr(self.settings(), key)
        except AudioEditionError:
            return None
        return Path(path).resolve() if path else None

    def _is_setting(self, path: Path) -> bool:
        top = path.parent == self.project.resolve()
        named = (self._cover_path, self._lexicon_path)
        return (top and path.name in (CONFIG_FILE, *LEXICONS)) or path in named

    def _is_article(self, path: Path) -> bool:
        if path.name.startswith(".") or path.suffix.lower() not in ARTICLE_SUFFIXES:
            return False
        return any(
            path == p.resolve() or (p.is_dir() and path.parent == p.resolve()) for p in self.paths
        )

    def relevant(self, change, name: str) -> bool:
        path = Path(name)
        return self._is_article(path) or self._is_setting(path)

    # -- building
    def _articles(self) -> list[Path]:
        from .build import find_articles

        return find_articles(self.paths, self.project)

    def build_all(self) -> None:
        try:
            self.rebuild(self._articles())
        except AudioEditionError as exc:
            self.warn(str(exc))

    def on_change(self, changed: set[Path]) -> None:
        """One batch of saves: rebuild what they touch."""
        try:
            articles = self._articles()
        except AudioEditionError as exc:
            self.warn(str(exc))
            return
        if not any(self._is_setting(p) for p in changed):
            articles = [a for a in articles if a.resolve() in changed]
        if articles:
            self.rebuild(articles)

    def rebuild(self, articles: list[Path]) -> None:
        from .build import build

        self.builds += 1
        try:
            settings = self.settings()
        except AudioEditionError as exc:
            self.warn(str(exc))
            return
        for article in articles:  # one by one: each gets its own line and event
            manifest = self.out / f"{slugify(article.stem)}.json"
            old = read_manifest(manifest)
            t0 = time.monotonic()
            try:
                results = build(
                    [article], project=self.project, out=self.out, settings=settings,
                    engine=self.engine, notify=self.say,
                )  # fmt: skip
            except BuildFailed as exc:
                for failure in exc.failures:
                    self.warn(str(failure))
                continue
            except AudioEditionError as exc:
                self.warn(str(exc))
                continue
            self._report(article, results[0], old, read_manifest(manifest), t0)

    def _report(self, article: Path, result, old, new, t0: float) -> None:
        seconds = time.monotonic() - t0
        if not result.changed or new is None:
            self.say(f"{project_relative(article, self.project)}: up to date")
            return
        if old is None:
            edition = new.edition
            self.say(
                f"{project_relative(article, self.project)}: built, "
                f"{counted(len(edition.paragraphs), 'paragraph')}, "
                f"{counted(len(edition.sentences), 'sentence')} ({seconds:.1f} s)"
            )
        found = changes(old, new) if old is not None else Changes()
        if old is not None:
            self.say(
                describe(
                    project_relative(article, self.project), found, result.synthesized, seconds
                )
            )
        page = result.outputs.get("html")
        self.publish(
            {
                "source": project_relative(article, self.project),
                "slug": new.edition.slug,
                "page": Path(page).name if page else None,
                "changed": found.ids,
                "paragraphs": found.paragraphs,
            }
        )

    # -- the loop
    def run(self) -> None:
        import watchfiles

        for batch in watchfiles.watch(
            *self._folders(),
            watch_filter=self.relevant,
            recursive=False,
            step=STEP_MS,
            stop_event=self._stop,
            raise_interrupt=True,
            yield_on_timeout=True,  # an empty batch at first: the watch has begun
            rust_timeout=500,
        ):
            self.ready.set()
            if batch:
                self.on_change({Path(name).resolve() for _, name in batch})

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="watch", daemon=True)
        self._thread.start()

    def wait(self) -> None:
        """Until the watch ends; in short joins, so Ctrl-C reaches the main thread."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(0.5)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
