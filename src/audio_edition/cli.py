"""The command line: parse flags, call the library, print. Exit 0 built, 1 build error, 2 usage."""

from __future__ import annotations

import argparse
import os
import re
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from . import __version__
from .build import Builder, Progress, build, find_articles, json_report
from .config import VOICE_KEYS, Settings, load_settings, settings_with_flags
from .engines import installed_engines
from .errors import AudioEditionError, BuildFailed
from .formats import BUILTIN, FORMATS
from .maintenance import clean_cache, orphaned_editions, remove_orphans, status
from .speech import voices_for_language
from .times import counted, short_clock


class Bar(Progress):
    """A one-line progress bar on the terminal: sentences synthesised, with an ETA; for a
    batch, articles done of all, sentences spoken so far, and the batch's ETA."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.articles = self.spoken = 0  # articles of a batch (0: one article)
        self._lock = threading.Lock()  # articles of a batch report from their threads

    def batch(self, articles: int) -> None:
        self.articles, self.built, self.spoken = articles, 0, 0
        self.t_batch = time.monotonic()

    def start(self, article: str, total: int) -> None:
        with self._lock:
            self.article, self.total, self.done, self.t0 = article, total, 0, time.monotonic()
            self._draw()

    def advance(self) -> None:
        with self._lock:
            self.done += 1
            self.spoken += 1
            self._draw()

    def finish(self) -> None:
        if not self.articles:
            self._clear()

    def article_done(self, article: str) -> None:
        with self._lock:
            self.built += 1
            self._clear() if self.built == self.articles else self._draw()

    def _clear(self) -> None:
        self.stream.write("\r\033[K")
        self.stream.flush()

    def _draw(self) -> None:
        width = 30
        if self.articles:
            done, total, unit, t0 = self.built, self.articles, "article", self.t_batch
            said = f", {counted(self.spoken, 'sentence')} spoken"
        else:
            done, total, unit, t0, said = self.done, self.total, "sentence", self.t0, ""
        filled = width * done // max(total, 1)
        elapsed = time.monotonic() - t0
        eta = f"{elapsed / done * (total - done):.0f}s" if done else "--"
        name = "" if self.articles else f"{self.article} "
        self.stream.write(
            f"\r\033[K{name}[{'#' * filled}{'.' * (width - filled)}] "
            f"{done}/{counted(total, unit)}{said}, ETA {eta}"
        )
        self.stream.flush()


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="audio-edition", description=__doc__)
    p.add_argument("--version", action="version", version=f"audio-edition {__version__}")
    sub = p.add_subparsers(dest="command")

    b = sub.add_parser("build", help="build audio editions (default: every article in text/)")
    b.add_argument("paths", nargs="*", type=Path, help="articles or folders (default: text/)")
    b.add_argument("--out", type=Path, help="output folder (default: audio/)")
    b.add_argument(
        "--format",
        dest="formats",
        help=f"comma-separated: {', '.join(BUILTIN)}, or a plug-in's (see `formats`)",
    )
    _voice_flags(b)
    b.add_argument("--jobs", type=int, help="speech workers (default: one per CPU)")
    b.add_argument("--cover", type=Path, help="cover image (JPEG or PNG) for the audio files")
    b.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="speak and encode on a Dask cluster: its scheduler, e.g. tcp://HOST:8786",
    )
    b.add_argument("--no-opening", action="store_true", help="no opening announcement")
    b.add_argument("--no-closing", action="store_true", help="no closing announcement")
    b.add_argument("--force", action="store_true", help="rewrite outputs even if up to date")
    b.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    b.add_argument("--quiet", action="store_true", help="print nothing but errors")
    _watch_flag(b)

    s = sub.add_parser("status", help="dry run: what a build would synthesise, per article")
    s.add_argument("paths", nargs="*", type=Path)
    _voice_flags(s)

    v = sub.add_parser("voices", help="list the voices of every installed engine")
    v.add_argument("--language", help="only voices for this language (e.g. en, en-gb)")

    sub.add_parser("formats", help="list the output formats and what each is for")
    c = sub.add_parser("clean", help="remove cached clips no current edition uses")
    c.add_argument(
        "--outputs", action="store_true", help="also remove editions whose article is gone"
    )
    _serve_parser(sub)
    _words_parsers(sub)
    return p


def _voice_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--engine", help="speech engine: espeak (default) or piper (natural voice)")
    p.add_argument("--voice", help="engine voice id or name (see `audio-edition voices`)")
    p.add_argument("--rate", type=int, help="speaking rate, words per minute (80-450)")
    p.add_argument("--volume", type=float, help="volume, 0.0-2.0 (default 1.0)")
    p.add_argument("--pitch", type=int, help="pitch, 0-99 (default 50)")


def _settings(args: argparse.Namespace) -> Settings:
    """The project's settings with the flags given, each checked like the file's values."""
    names = (*VOICE_KEYS, "engine", "formats", "jobs", "cover", "cluster")
    flags = {k: getattr(args, k, None) for k in names}
    settings = settings_with_flags(load_settings(Path()), flags)  # names relative
    if getattr(args, "no_opening", False):
        settings = settings.with_overrides(opening="")
    if getattr(args, "no_closing", False):
        settings = settings.with_overrides(closing="")
    if getattr(args, "force", False):
        settings = settings.with_overrides(force=True)
    return settings


def cmd_build(args: argparse.Namespace) -> int:
    if args.watch:
        return cmd_build_watch(args)
    settings = _settings(args)
    progress = Bar(sys.stderr) if sys.stderr.isatty() and not args.quiet and not args.json else None
    failed: BuildFailed | None = None
    try:
        results = build(
            args.paths,
            out=args.out,
            settings=settings,
            progress=progress,
            notify=_notify,
        )
    except BuildFailed as exc:  # the others were built: report them, then the failures
        results, failed = exc.results, exc
    if args.json:
        print(json_report(results, failed.failures if failed else ()))
    elif not args.quiet:
        for r in results:
            state = "" if r.changed else " (up to date, nothing written)"
            length = short_clock(r.duration_ms, rounded=True)
            print(
                f"{r.source}: {counted(r.paragraphs, 'paragraph')}, "
                f"{counted(r.sentences, 'sentence')} "
                f"({r.synthesized} synthesised, {r.reused} reused), {length}"
                f"{state}\n  -> " + ", ".join(r.outputs.values())
            )
    if failed:
        raise failed
    return 0


def _notify(message: str) -> None:
    print(message, file=sys.stderr)


def cmd_status(args: argparse.Namespace) -> int:
    settings = _settings(args)
    project = Path.cwd()
    engine_for = Builder(project, project / "audio", settings).engine_for
    for path in find_articles(args.paths, project):
        todo, total = status(path, project, settings, engine_for, _notify)
        print(f"{path}: {len(todo)} of {counted(total, 'utterance')} to synthesise")
        for item in todo:
            print(f"  {item.label}: {item.text[:70]}")
    for orphan in orphaned_editions(project / "audio"):
        print(
            f"{orphan.manifest}: orphaned edition (its article {orphan.article} is gone); "
            "`audio-edition clean --outputs` removes it"
        )
    return 0


def cmd_voices(args: argparse.Namespace) -> int:
    for engine in installed_engines():
        voices = engine.voices()
        for v in voices_for_language(voices, args.language) if args.language else voices:
            print(f"{v.id:28} {v.name:40} {engine.name:7} {', '.join(v.languages)}")
    return 0


def cmd_formats(args: argparse.Namespace) -> int:
    for name, fmt in FORMATS.items():
        print(f"{name:14} {fmt.description}")
    return 0


def cmd_clean(args: argparse.Namespace) -> int:
    project, settings = Path.cwd(), _settings(args)
    if args.outputs:
        for orphan in remove_orphans(project / "audio", _notify, settings):
            print(f"removed the orphaned edition {orphan.manifest} ({orphan.article} is gone)")
    files, freed = clean_cache(project, settings, _notify)
    print(f"removed {counted(files, 'cached file')} ({freed / 1e6:.1f} MB) no current edition uses")
    return 0


COMMANDS = {
    "build": cmd_build,
    "status": cmd_status,
    "voices": cmd_voices,
    "formats": cmd_formats,
    "clean": cmd_clean,
    "serve": lambda args: cmd_serve(args),
    "words": lambda args: cmd_words(args),
    "say": lambda args: cmd_say(args),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # No command: `build`, whatever follows (`audio-edition text/a.txt`, `audio-edition
    # --quiet`); only the top level's own --help and --version are not build's.
    if not argv or argv[0] not in (*COMMANDS, "-h", "--help", "--version"):
        argv = ["build", *argv]
    args = _parser().parse_args(argv)
    try:
        code = COMMANDS[args.command](args)
        sys.stdout.flush()  # a closed pipe shows here, not as a traceback at exit
        return code
    except BrokenPipeError:  # `audio-edition words | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # as a shell tool killed by SIGPIPE
    except AudioEditionError as exc:
        for failure in exc.failures if isinstance(exc, BuildFailed) else [exc]:
            print(f"audio-edition: error: {_one_line(str(failure))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("audio-edition: interrupted; earlier outputs are intact", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: still one line, never a traceback for the user
        message = _one_line(f"{type(exc).__name__}: {exc}")
        print(f"audio-edition: internal error: {message}", file=sys.stderr)
        return 1


# ---------------------------------------------------------------- serve and --watch
# (the editor's loop: serve.py serves the output folder, watch.py rebuilds on save)


def _watch_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--watch", action="store_true", help="rebuild the articles whose files change, on save"
    )


def _serve_parser(sub) -> None:
    s = sub.add_parser("serve", help="preview the editions in a browser (build, then serve)")
    s.add_argument("paths", nargs="*", type=Path, help="articles or folders (default: text/)")
    s.add_argument("--out", type=Path, help="output folder to serve (default: audio/)")
    s.add_argument("--port", type=int, help="port (default: the first free one from 8000)")
    s.add_argument("--host", default=None, help="address to listen on (default: 127.0.0.1)")
    s.add_argument("--open", action="store_true", help="open the list of editions in a browser")
    _watch_flag(s)


def cmd_serve(args: argparse.Namespace) -> int:
    from .serve import DEFAULT_HOST, Broadcaster, Server, bind, url_for

    host = args.host or DEFAULT_HOST
    if host not in (DEFAULT_HOST, "localhost", "::1"):
        print(
            f"audio-edition: warning: listening on {host}: the editions become visible to "
            "the network",
            file=sys.stderr,
        )
    out = args.out or Path("audio")
    sock = bind(host, args.port)  # first, so a port in use fails before any build
    events = Broadcaster() if args.watch else None
    watcher = _watcher(args, out, events.publish if events else None)
    watcher.build_all()  # bring the editions up to date before serving them
    server = Server(out, sock, events)
    url = url_for(host, server.port)
    print(f"Serving {out}/ at {url} (Ctrl-C stops)", flush=True)
    if args.watch:
        watcher.start()
    if args.open:
        import webbrowser

        webbrowser.open(url)
    return _until_stopped(server.run, watcher)


def cmd_build_watch(args: argparse.Namespace) -> int:
    watcher = _watcher(args, args.out or Path("audio"), None)
    watcher.build_all()
    watcher.start()

    def watch() -> None:
        watcher.ready.wait()
        print("Watching for changes (Ctrl-C stops)", flush=True)
        watcher.wait()

    return _until_stopped(watch, watcher)


def _until_stopped(run: Callable[[], object], watcher) -> int:
    """Run until Ctrl-C (or the end), then stop the watcher: a clean stop, exit 0."""
    try:
        run()
    except KeyboardInterrupt:
        pass
    finally:
        watcher.stop()
    print("audio-edition: stopped", file=sys.stderr)
    return 0


def _watcher(args: argparse.Namespace, out: Path, publish):
    from .watch import Watcher

    return Watcher(
        args.paths,
        project=Path(),
        out=out,
        settings=lambda: _settings(args),
        publish=publish,
        say=lambda line: print(line, flush=True),
        warn=lambda line: print(f"audio-edition: error: {_one_line(line)}", file=sys.stderr),
    )


# ---------------------------------------------------------------- end of serve and --watch

# ---------------------------------------------------------------- words and say
# (the editor's pronunciation tools: words.py)


def _words_parsers(sub) -> None:
    w = sub.add_parser("words", help="the words to check: neither in the dictionary nor lexicon")
    w.add_argument("paths", nargs="*", type=Path, help="articles or folders (default: text/)")
    w.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    w.add_argument("--lexicon", action="store_true", help="print them as pronunciations.toml lines")
    w.add_argument("--engine", help="whose phonemes to show: espeak (default) or piper")
    w.add_argument("--voice", help="engine voice id or name (see `audio-edition voices`)")
    s = sub.add_parser("say", help="speak a word or sentence with the lexicon applied")
    s.add_argument("text", help="a word or a sentence")
    _voice_flags(s)
    where = s.add_mutually_exclusive_group()
    where.add_argument("--play", action="store_true", help="play it (the default), with ffplay")
    where.add_argument("--out", type=Path, help="write it to FILE (.wav, .mp3 or .ogg)")


def cmd_words(args: argparse.Namespace) -> int:
    import json

    from .words import lexicon_lines, words_report

    reports = words_report(args.paths, Path(), _settings(args))
    if args.json:
        print(json.dumps({"articles": [r.to_json() for r in reports]}, ensure_ascii=False))
    elif args.lexicon:
        print("\n".join(lexicon_lines(reports)))
    else:
        _print_words(reports)
    return 0


def _print_words(reports) -> None:
    for r in reports:
        if not r.checked:
            print(f"{r.source}: no pronouncing dictionary for language {r.language!r}")
            continue
        print(f"{r.source}: {len(r.words)} words to check")
        for w in r.words:
            lines = ", ".join(map(str, w.lines))
            ipa = f"  /{w.ipa}/" if w.ipa else ""
            read = f"  (acronym, read as {'a word' if w.reading == 'word' else 'letters'})"
            print(f"  {w.word:20} {w.count:3}x  line {lines}{ipa}{read if w.reading else ''}")


def cmd_say(args: argparse.Namespace) -> int:
    from .words import say

    said = say(args.text, out=args.out, settings=_settings(args))
    ipa = f" /{said.ipa}/" if said.ipa else ""
    print(f"said: {said.spoken.text}{ipa}" + (f" -> {said.out}" if said.out else ""))
    return 0


# ---------------------------------------------------------------- end of words and say

# Line breaks and other control characters, which a file name may hold ("a\nb.txt").
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _one_line(message: str) -> str:
    """The message on one line: control characters shown as escapes, as Python writes them."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], message)


if __name__ == "__main__":
    sys.exit(main())
