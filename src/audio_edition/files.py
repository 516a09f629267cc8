"""Small, dependency-free helpers: edition names, hashes, atomic writes, and a cache for
slow look-ups that several threads may ask for at once.

Kept apart from the heavy modules so that a no-change rebuild, which only needs these,
starts fast.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
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
    """File-name-safe edition name: "Gwadar Editorial!" -> "gwadar-editorial"."""
    # Fold accents to ASCII first so "Café" gives "cafe" rather than "caf".
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug or "article"


def hash_key(payload: dict) -> str:
    """A content hash of a JSON-able payload: the same payload always gives the same key."""
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
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


def read_article_bytes(path: Path) -> bytes:
    """An article file's bytes, or a one-line SourceError naming it."""
    if path.is_dir():
        raise SourceError(f"{path}: is a folder, not a file")
    if path.suffix.lower() not in ARTICLE_SUFFIXES:
        if not path.exists():
            raise SourceError(f"{path}: no such file")
        kind = repr(path.suffix) if path.suffix else "(no extension)"
        raise SourceError(f"{path}: unsupported file type {kind}; use .txt, .md or .markdown")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise SourceError(f"{path}: no such file") from None
    except OSError as exc:
        raise SourceError(f"{path}: cannot read: {exc.strerror or exc}") from None
