"""`audio-edition serve`: the output folder over HTTP, for previewing editions in a browser.

Starlette serves the files (its ``FileResponse`` answers range requests: 206 with
``Content-Range``, 416 past the end, so the web page can seek) and Uvicorn runs it. Only
files inside the output folder are reachable: a path is taken apart into names, any name
that is empty, ``.``, ``..`` or hidden (the output lock, staging folders) is refused, an
encoded slash is refused, and the file found must still lie inside the folder once
symlinks are followed. Everything is sent with ``Cache-Control: no-cache`` and an ETag,
so a browser asks again after every rebuild and never shows a stale edition.

With ``--watch``, ``/_events`` is a Server-Sent Events stream: each rebuild is announced,
and the web pages, served with a flag that tells their script it is here, reload.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import json
import socket
import threading
from collections.abc import AsyncIterator
from pathlib import Path

from .errors import AudioEditionError

DEFAULT_HOST = "127.0.0.1"
FIRST_PORT = 8000
PORTS_TRIED = 100
EVENTS = "/_events"
LIVE_FLAG = '<meta name="audio-edition-live" content="/_events">'

# By file name ending, longest first: ".daisy.zip" before ".zip".
MEDIA_TYPES = {
    "feed.xml": "application/rss+xml",  # the podcast feed (formats/feed.py)
    ".chapters.json": "application/json",
    ".chapters.vtt": "text/vtt; charset=utf-8",
    ".daisy.zip": "application/zip",
    ".m4b": "audio/mp4",
    ".mp3": "audio/mpeg",
    ".opus": "audio/ogg; codecs=opus",
    ".vtt": "text/vtt; charset=utf-8",
    ".srt": "application/x-subrip; charset=utf-8",
    ".epub": "application/epub+zip",
    ".zip": "application/zip",
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".xml": "application/xml",
}


def media_type(name: str) -> str:
    lower = name.lower()
    for ending, kind in MEDIA_TYPES.items():
        if lower.endswith(ending):
            return kind
    return "application/octet-stream"


def resolve(root: Path, path: str, raw_path: bytes) -> Path | None:
    """The file a request path names inside ``root``, or None (a 404) if it names none
    or tries to leave the folder. ``path`` is decoded; ``raw_path`` is as sent."""
    if b"%2f" in raw_path.lower() or b"%5c" in raw_path.lower() or "\x00" in path:
        return None  # an encoded slash or backslash: a name that is really a path
    names = path.lstrip("/").split("/") if path not in ("", "/") else ["index.html"]
    if any(n in ("", ".", "..") or n.startswith(".") or "\\" in n for n in names):
        return None
    base = root.resolve()
    found = base.joinpath(*names).resolve()
    if not found.is_relative_to(base) or not found.is_file():
        return None  # outside (a symlink pointing out) or not a file
    return found


class Broadcaster:
    """Hands each rebuild's news from the watcher's thread to every open event stream."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._streams: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue]] = []
        self.closed = threading.Event()

    def publish(self, event: dict) -> None:
        data = json.dumps(event, ensure_ascii=False)
        with self._lock:
            streams = list(self._streams)
        for loop, queue in streams:
            loop.call_soon_threadsafe(queue.put_nowait, data)

    async def stream(self) -> AsyncIterator[str]:
        loop, queue = asyncio.get_running_loop(), asyncio.Queue()
        with self._lock:
            self._streams.append((loop, queue))
        try:
            yield "retry: 1000\n\n"
            while not self.closed.is_set():
                try:
                    data = await asyncio.wait_for(queue.get(), timeout=0.5)
                except TimeoutError:
                    yield ": keep-alive\n\n"  # a comment: lets a closed connection show
                    continue
                yield f"event: rebuild\ndata: {data}\n\n"
        finally:
            with self._lock:
                self._streams.remove((loop, queue))


def app(root: Path, events: Broadcaster | None = None):
    """The ASGI app serving ``root``; with ``events``, the live-reload stream too."""
    from starlette.applications import Starlette
    from starlette.responses import (
        FileResponse,
        HTMLResponse,
        PlainTextResponse,
        Response,
        StreamingResponse,
    )
    from starlette.routing import Route

    not_found = PlainTextResponse("Not found", status_code=404)

    async def stream(request):
        if events is None:
            return not_found
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(events.stream(), media_type="text/event-stream", headers=headers)

    async def serve_file(request):
        if request.method not in ("GET", "HEAD"):
            return PlainTextResponse("Method not allowed", status_code=405)
        found = resolve(root, request.url.path, request.scope.get("raw_path", b""))
        if found is None and request.url.path == "/":  # no web page built: list the files
            return HTMLResponse(listing(root), headers={"Cache-Control": "no-cache"})
        if found is None:
            return not_found
        headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
        if found.suffix.lower() == ".html":
            return _page(request, found, events is not None, headers, Response)
        kind, stat = media_type(found.name), found.stat()  # the stat sets the ETag now
        response = FileResponse(found, media_type=kind, headers=headers, stat_result=stat)
        if request.headers.get("if-none-match") == response.headers["etag"]:
            return Response(status_code=304, headers={**headers, "ETag": response.headers["etag"]})
        return response

    routes = [Route(EVENTS, stream), Route("/{path:path}", serve_file, methods=["GET", "HEAD"])]
    return Starlette(routes=routes)


def listing(root: Path) -> str:
    """The output folder's files as links, for a folder with no ``index.html`` (built
    without the web page): the root then still leads somewhere, and `--open` too."""
    from html import escape
    from urllib.parse import quote

    names = sorted(p.name for p in root.iterdir() if not p.name.startswith(".") and _is_file(p))
    items = "\n".join(f'<li><a href="{quote(n)}">{escape(n)}</a></li>' for n in names)
    return (
        '<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8">'
        "<title>Audio editions</title></head>\n<body>\n<h1>Audio editions</h1>\n"
        f"<p>No web page was built (add the html format); the files:</p>\n<ul>\n{items}\n</ul>\n"
        "</body>\n</html>\n"
    )


def _is_file(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()  # a link may point out of the folder


def _page(request, found: Path, live: bool, headers: dict, response_class):
    """A web page, with the live-reload flag (and the connection its script then makes
    allowed by its Content-Security-Policy) when the server watches; ETag from its bytes."""
    body = found.read_bytes()
    if live and b"<head>" in body:
        body = body.replace(b"<head>", f"<head>\n{LIVE_FLAG}".encode(), 1)
        body = body.replace(b"default-src 'none'", b"default-src 'none'; connect-src 'self'", 1)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {**headers, "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return response_class(status_code=304, headers=headers)
    return response_class(body, media_type=media_type(found.name), headers=headers)


def bind(host: str, port: int | None) -> socket.socket:
    """A listening socket: on ``port``, or (None) on the first free port from 8000."""
    ports = [port] if port is not None else range(FIRST_PORT, FIRST_PORT + PORTS_TRIED)
    for candidate in ports:
        try:
            return _listen(host, candidate)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise AudioEditionError(
                    f"cannot listen on {host}:{candidate}: {exc.strerror}"
                ) from None
    if port is not None:
        raise AudioEditionError(f"port {port} is in use on {host}; choose another with --port")
    last = FIRST_PORT + PORTS_TRIED - 1
    raise AudioEditionError(f"ports {FIRST_PORT}-{last} are all in use; choose one with --port")


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def url_for(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


class Server:
    """Uvicorn serving ``root`` on a bound socket; ``run`` blocks until Ctrl-C or ``stop``."""

    def __init__(self, root: Path, sock: socket.socket, events: Broadcaster | None = None):
        import uvicorn

        self.sock, self.events = sock, events
        config = uvicorn.Config(
            app(root, events),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        self.uvicorn = uvicorn.Server(config)
        handle_exit = self.uvicorn.handle_exit

        def on_signal(sig, frame) -> None:  # Ctrl-C: end the event streams at once too
            if events is not None:
                events.closed.set()
            handle_exit(sig, frame)

        self.uvicorn.handle_exit = on_signal

    @property
    def port(self) -> int:
        return self.sock.getsockname()[1]

    def run(self) -> None:
        try:
            self.uvicorn.run(sockets=[self.sock])
        finally:
            if self.events:
                self.events.closed.set()
            self.sock.close()

    def stop(self) -> None:
        if self.events:
            self.events.closed.set()  # ends the event streams, so shutting down is quick
        self.uvicorn.should_exit = True
