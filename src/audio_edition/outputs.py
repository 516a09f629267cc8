"""Publishing editions into the output folder: the one safe writer, its lock, its leftovers.

Every output of a build is first written into a staging folder that the build creates
fresh inside the output folder (``mkdtemp``: a new name, created exclusively, mode 0700),
so nothing a stranger put in the output folder (a symlink at a predictable name, say) is
ever written through. Staged files are renamed into place together at the end, the
manifest last; a build stopped at any moment leaves the previous edition's files at their
paths, and the next build removes what the stopped one left behind.

Each published file is recorded in the manifest with its size, content hash and identity
(modification time and inode), so the next build knows whether the file at the path is
still the one the manifest describes: by the identity at the cost of a ``stat``, and by
the hash when the identity differs (a file copied back, or renamed in from elsewhere).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import AudioEditionError
from .files import cover_hash, hash_key, sha256_file
from .manifest import content_key, write_manifest

if TYPE_CHECKING:
    from .config import Settings
    from .edition import Edition, Manifest
    from .encode import Codec

LOCK_NAME = ".audio-edition.lock"
STAGING_PREFIX = ".staging-"
# Names of the temporary files earlier versions and the writers leave while they work:
# ``.<name>.staging`` (earlier staging), ``.<name>.<random>.part`` (ffmpeg's output before
# its rename), ``.<name>.<random>.tmp`` (files.atomic_write_bytes).
LEFTOVER_SUFFIXES = (".staging", ".part", ".tmp")


@contextmanager
def output_lock(out: Path, notify: Callable[[str], None]) -> Iterator[None]:
    """One writer of an output folder at a time, whichever project it builds: a second
    build (or ``clean --outputs``) waits, and says so."""
    path = out / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        raise AudioEditionError(f"{path}: cannot take the output lock ({exc.strerror})") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            notify(f"another build is writing to {out}; waiting for it to finish")
            fcntl.flock(fd, fcntl.LOCK_EX)
        remove_leftovers(out)
        yield
    finally:
        os.close(fd)


def remove_leftovers(out: Path) -> int:
    """Remove what stopped builds left in ``out`` (call only under the output lock)."""
    removed = 0
    for entry in out.iterdir():
        name = entry.name
        stale_dir = name.startswith(STAGING_PREFIX)
        stale_file = name.startswith(".") and name.endswith(LEFTOVER_SUFFIXES)
        if not (stale_dir or stale_file):
            continue
        with contextlib.suppress(FileNotFoundError):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()  # a file, or a symlink planted here: the link, never its target
            removed += 1
    return removed


class Stage:
    """A fresh, private folder in ``out`` where one build writes its outputs."""

    def __init__(self, out: Path) -> None:
        self.out = out
        try:
            self.folder = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out))
        except OSError as exc:
            raise AudioEditionError(
                f"{out}: cannot write the output folder ({exc.strerror})"
            ) from None
        self.staged: list[str] = []

    def path(self, name: str) -> Path:
        """Where to write the output that will be published as ``out/name``."""
        if name not in self.staged:
            self.staged.append(name)
        return self.folder / name

    def current(self, name: str) -> Path:
        """Where an output's bytes are now: staged by this build, or already in place."""
        return self.folder / name if name in self.staged else self.out / name

    def record(self, name: str) -> dict:
        """The staged file's record for the manifest (see ``file_record``)."""
        return file_record(self.folder / name)

    def publish(self, names: list[str]) -> None:
        """Rename the named staged files into place, in order (put the manifest last)."""
        for name in names:
            final = self.out / name
            if final.is_dir() and not final.is_symlink():
                raise AudioEditionError(f"{final}: a folder stands where the output goes")
            os.replace(self.folder / name, final)

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Stage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def file_record(path: Path) -> dict:
    """What the manifest keeps of a published file: size, content hash, identity."""
    st = path.stat()
    return {"bytes": st.st_size, "sha256": sha256_file(path), "id": [st.st_mtime_ns, st.st_ino]}


def intact(path: Path, record: dict) -> bool:
    """Whether the file at ``path`` is the one ``record`` describes.

    The identity check costs one ``stat`` (the no-change rebuild's fast path); when it
    differs, the content hash decides. Size alone is not enough: two editions' CBR MP3s of
    the same length have the same size.
    """
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    if not os.path.isfile(path) or os.path.islink(path) or st.st_size != record.get("bytes"):
        return False
    if record.get("id") == [st.st_mtime_ns, st.st_ino]:
        return True
    try:
        return "sha256" in record and sha256_file(path) == record["sha256"]
    except OSError:
        return False


def article_from_out(article: Path, out: Path) -> str:
    """Where an edition's article is, as the manifest records it: relative to the output
    folder, so a project copied or moved whole (text/ and audio/ together) still knows it."""
    return os.path.relpath(article.resolve(), out.resolve())


def edition_article(article: str | None, out: Path) -> Path | None:
    """The article an edition in ``out`` was built from, given as its build record has it
    (None: not recorded)."""
    return (out / article).resolve() if isinstance(article, str) else None


def write_formats(
    edition: Edition,
    old: Manifest | None,
    formats: list[str],
    slug: str,
    stage: Stage,
    settings: Settings,
    encoded: Callable[[Codec], list[Path]],
) -> dict[str, dict]:
    """Stage every format whose content changed; keep the others as they are.

    ``encoded(codec)`` gives the edition's segment files in that codec (the audio formats
    are muxed from them). Returns every output's record for the manifest; what was staged
    is in ``stage.staged``.
    """
    from .formats import FORMATS, Context, with_needs

    outputs: dict[str, dict] = {}
    previous = old.record.outputs if old else {}
    content = content_key(edition)
    for name in with_needs(formats):
        fmt = FORMATS[name]
        if fmt.index_only:  # no file per edition: written by write_indexes
            continue
        final = stage.out / f"{slug}{fmt.suffix}"
        inputs: dict = {"version": fmt.version}
        paths = encoded(fmt.codec) if fmt.codec is not None else []
        if fmt.codec is not None:
            inputs |= {"segments": [p.stem for p in paths], "cover": cover_hash(settings.cover)}
        else:
            # A format that links every output (the web page) changes when any does.
            reads = outputs if fmt.links_all else fmt.needs
            inputs |= {"needs": {n: outputs[n]["fingerprint"] for n in reads}}
        fingerprint = hash_key({**inputs, "manifest": content})
        prev = previous.get(name)
        unchanged = prev and prev.get("fingerprint") == fingerprint and intact(final, prev)
        if unchanged and not settings.force:
            outputs[name] = prev
            continue
        context = Context(
            edition,
            stage.path(final.name),
            outputs={n: stage.current(o["path"]) for n, o in outputs.items()},
            segments=paths,
            cover=settings.cover,
        )
        fmt.write(context)
        outputs[name] = {"path": final.name, **stage.record(final.name)}
        outputs[name] |= {"version": fmt.version, "fingerprint": fingerprint}
    return outputs


def commit(slug: str, manifest: Manifest, old: Manifest | None, stage: Stage) -> bool:
    """Rename every staged output into place, the manifest last; remove stale ones."""
    out = stage.out
    stage.publish(stage.staged)
    changed = bool(stage.staged)
    outputs = manifest.record.outputs
    same = old is not None and content_key(old.edition) == content_key(manifest.edition)
    for name, info in (old.record.outputs if old else {}).items():
        if name in outputs:
            continue
        if same and intact(out / info["path"], info):
            outputs[name] = info  # not asked for this time, and still this edition's audio
        else:
            (out / info["path"]).unlink(missing_ok=True)  # stale: another edition's
            changed = True
    if changed or old != manifest:
        write_manifest(out / f"{slug}.json", manifest)
        changed = True
    return changed


def write_indexes(
    out: Path,
    settings: Settings | None = None,
    notify: Callable[[str], None] = lambda message: None,
    changed: bool = True,
) -> None:
    """Files that list every edition in ``out`` (the web page's index, the podcast feed):
    each format's ``write_index`` hook, for the built-in formats and the plug-ins this
    process used. Without ``settings``, what needs them (the feed) is left as it is;
    ``changed``: this run added, rewrote or removed an edition."""
    from .formats import FORMATS, IndexContext

    index = IndexContext(out, settings, notify, changed)
    for fmt in FORMATS.loaded():
        fmt.write_index(index)
