"""Small, dependency-free helpers: edition names, hashes, atomic writes, the one reader of
input files (articles, the cover), and a cache for slow look-ups that several threads may
ask for at once.

Kept apart from the heavy modules so that a no-change rebuild, which only needs these,
starts fast.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import stat
import tempfile
import threading
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from .errors import SourceError

ARTICLE_SUFFIXES = (".txt", ".md", ".markdown")

T = TypeVar("T")


def looked_up_once(look_up: Callable[[], T]) -> Callable[[], T]:
    """``look_up`` run at most once successfully; a caller arriving while it runs waits for
    its answer rather than running it again (the builder prefetches in a thread what its
    main thread then asks for). A failure is not kept: the next caller tries again."""
    cached = functools.lru_cache(maxsize=1)(look_up)
    lock = threading.Lock()

    @functools.wraps(look_up)
    def once() -> T:
        with lock:
            return cached()

    return once


def slugify(name: str) -> str:
    """File-name-safe edition name: "Gwadar Editorial!" -> "gwadar-editorial".

    Accents on Latin letters are folded ("Café" -> "cafe"); letters of other scripts are
    kept as they are ("مقالہ", "日本の記事"), so every article keeps a name of its own.
    """
    kept: list[str] = []
    for char in unicodedata.normalize("NFKD", name.casefold()):
        if unicodedata.combining(char) and kept and kept[-1].isascii():
            continue  # an accent on a Latin letter
        kept.append(char if unicodedata.category(char)[0] in "LNM" else " ")
    words = unicodedata.normalize("NFC", "".join(kept)).split()
    return "-".join(words) or "article"


def hash_key(payload: dict) -> str:
    """A content hash of a JSON-able payload: the same payload always gives the same key."""
    blob = json.dumps(
        payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def sha256_file(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def digest_path(path: Path) -> Path:
    """Where the SHA-256 of a file is recorded, in ``sha256sum``'s format."""
    return path.with_name(f"{path.name}.sha256")


def digest_line(digest: str, path: Path) -> str:
    return f"{digest}  {path.name}\n"


def record_digest(path: Path, digest: str) -> None:
    """Record ``path``'s content hash beside it (``sha256sum -c`` can check it)."""
    atomic_write_bytes(digest_path(path), digest_line(digest, path).encode("ascii"))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a temp file beside ``path``, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs are for sharing
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# What one input file may hold: far beyond any real article or cover, well short of
# what would exhaust memory (/dev/zero, a runaway log named .txt).
MAX_ARTICLE_BYTES = 20_000_000
MAX_COVER_BYTES = 10_000_000

_NOT_REGULAR = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def read_article_bytes(path: Path, project: Path | None = None) -> bytes:
    """An article file's bytes, or a one-line SourceError naming it.

    Given the ``project``, a symbolic link is followed only when it leads inside it."""
    if path.is_dir():
        raise SourceError(f"{path}: is a folder, not a file")
    if path.suffix.lower() not in ARTICLE_SUFFIXES:
        if not path.exists():
            raise SourceError(f"{path}: no such file")
        kind = repr(path.suffix) if path.suffix else "(no extension)"
        raise SourceError(f"{path}: unsupported file type {kind}; use .txt, .md or .markdown")
    return read_input_file(path, MAX_ARTICLE_BYTES, "an article", project)


def read_cover_bytes(path: Path) -> bytes:
    """A cover image's bytes (a regular file of at most MAX_COVER_BYTES), or a SourceError."""
    return read_input_file(path, MAX_COVER_BYTES, "a cover image")


def project_relative(path: Path, project: Path) -> str:
    """``path`` as the user knows it: relative to the project when inside it."""
    try:
        return str(path.resolve().relative_to(Path(project).resolve()))
    except ValueError:
        return str(path)


def cover_hash(path: Path | None) -> str | None:
    """The SHA-256 of a cover image (read through the one input reader), or None.

    Every article's input key holds it, so a batch would read one cover once per article:
    it is read again only when the file's identity (inode, size, change time) changes.
    """
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:  # the reader raises the right one-line error
        return hashlib.sha256(read_cover_bytes(path)).hexdigest()
    return _cover_hash(path, (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))


@functools.lru_cache(maxsize=8)
def _cover_hash(path: Path, identity: tuple) -> str:
    return hashlib.sha256(read_cover_bytes(path)).hexdigest()


def read_input_file(path: Path, limit: int, what: str, project: Path | None = None) -> bytes:
    """The bytes of the regular file at ``path`` (at most ``limit`` of them), or a
    one-line SourceError naming it; ``what`` names the file's role ("an article").

    The one door every input goes through: a named pipe would hang the build, a device
    would be read without end, and a link in the project could publish a file from
    anywhere. With a ``project``, a path inside it (or a link) must resolve inside it.
    """
    real = _inside(path, project) if project is not None else path
    try:
        _check_regular(path, os.stat(real), limit, what)
        # O_NONBLOCK: should a named pipe replace the file after the check, opening it
        # must not wait for a writer. O_NOFOLLOW: nor may a link replace it.
        flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC
        fd = os.open(real, flags | (os.O_NOFOLLOW if project is not None else 0))
        with os.fdopen(fd, "rb") as f:
            _check_regular(path, os.fstat(f.fileno()), limit, what)
            data = f.read(limit + 1)
    except FileNotFoundError:
        raise SourceError(f"{path}: no such file") from None
    except OSError as exc:
        raise SourceError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > limit:  # it grew while being read
        raise _too_big(path, len(data), limit, what)
    return data


def _inside(path: Path, project: Path) -> Path:
    """Where ``path`` really is, refusing a link out of the project."""
    try:
        real, root = path.resolve(), project.resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a link loop, before Python 3.13
        raise SourceError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    named_inside = Path(os.path.abspath(path)).is_relative_to(os.path.abspath(project))
    if (named_inside or path.is_symlink()) and not real.is_relative_to(root):
        raise SourceError(
            f"{path}: is a symbolic link to {real}, outside the project; not followed"
            if path.is_symlink()
            else f"{path}: leads through a symbolic link to {real}, outside the project; "
            "not followed"
        )
    return real


def _check_regular(path: Path, info: os.stat_result, limit: int, what: str) -> None:
    for test, kind in _NOT_REGULAR:
        if test(info.st_mode):
            raise SourceError(f"{path}: is {kind}, not a regular file; {what} must be one")
    if not stat.S_ISREG(info.st_mode):
        raise SourceError(f"{path}: is not a regular file; {what} must be one")
    if info.st_size > limit:
        raise _too_big(path, info.st_size, limit, what)


def _too_big(path: Path, size: int, limit: int, what: str) -> SourceError:
    return SourceError(
        f"{path}: is {size:,} bytes; {what} may be at most {limit // 1_000_000} MB "
        f"({limit:,} bytes)"
    )
