"""The command line: parse flags, call the library, print. Exit 0 built, 1 build error, 2 usage."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import __version__
from .build import Builder, Progress, build, find_articles, json_report
from .config import Settings, load_settings, parse_formats
from .errors import AudioEditionError, UsageError
from .formats import FORMATS
from .speech import Pyttsx3Engine


class Bar(Progress):
    """A one-line progress bar on the terminal: sentences synthesised, with an ETA."""

    def __init__(self, stream) -> None:
        self.stream = stream

    def start(self, article: str, total: int) -> None:
        self.article, self.total, self.done, self.t0 = article, total, 0, time.monotonic()
        self._draw()

    def advance(self) -> None:
        self.done += 1
        self._draw()

    def finish(self) -> None:
        self.stream.write("\r\033[K")
        self.stream.flush()

    def _draw(self) -> None:
        width = 30
        filled = width * self.done // max(self.total, 1)
        elapsed = time.monotonic() - self.t0
        eta = elapsed / self.done * (self.total - self.done) if self.done else 0
        self.stream.write(
            f"\r\033[K{self.article} [{'#' * filled}{'.' * (width - filled)}] "
            f"{self.done}/{self.total} sentences, ETA {eta:.0f}s"
        )
        self.stream.flush()


def _duration(ms: int) -> str:
    s = round(ms / 1000)
    return (
        f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
    )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="audio-edition", description=__doc__)
    p.add_argument("--version", action="version", version=f"audio-edition {__version__}")
    sub = p.add_subparsers(dest="command")

    b = sub.add_parser("build", help="build audio editions (default: every article in text/)")
    b.add_argument("paths", nargs="*", type=Path, help="articles or folders (default: text/)")
    b.add_argument("--out", type=Path, help="output folder (default: audio/)")
    b.add_argument("--format", dest="formats", help=f"comma-separated: {', '.join(FORMATS)}")
    _voice_flags(b)
    b.add_argument("--jobs", type=int, help="speech workers (default: one per CPU)")
    b.add_argument("--cover", type=Path, help="cover image (JPEG or PNG) for the audio files")
    b.add_argument("--no-opening", action="store_true", help="no opening announcement")
    b.add_argument("--no-closing", action="store_true", help="no closing announcement")
    b.add_argument("--force", action="store_true", help="rewrite outputs even if up to date")
    b.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    b.add_argument("--quiet", action="store_true", help="print nothing but errors")

    s = sub.add_parser("status", help="dry run: what a build would synthesise, per article")
    s.add_argument("paths", nargs="*", type=Path)
    _voice_flags(s)

    v = sub.add_parser("voices", help="list the voices the engine offers")
    v.add_argument("--language", help="only voices for this language (e.g. en, en-gb)")

    sub.add_parser("formats", help="list the output formats and what each is for")
    sub.add_parser("clean", help="remove cached clips no current edition uses")
    return p


def _voice_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--voice", help="engine voice id or name (see `audio-edition voices`)")
    p.add_argument("--rate", type=int, help="speaking rate, words per minute (80-450)")
    p.add_argument("--volume", type=float, help="volume, 0.0-2.0 (default 1.0)")
    p.add_argument("--pitch", type=int, help="pitch, 0-99 (default 50)")


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(Path.cwd())
    changes: dict = {k: getattr(args, k, None) for k in ("voice", "rate", "volume", "pitch")}
    if getattr(args, "formats", None):
        changes["formats"] = tuple(parse_formats(args.formats))
    if getattr(args, "jobs", None) is not None:
        if args.jobs < 1:
            raise UsageError("--jobs must be at least 1")
        changes["jobs"] = args.jobs
    changes["cover"] = getattr(args, "cover", None)
    settings = settings.with_overrides(**changes)
    if getattr(args, "no_opening", False):
        settings = settings.with_overrides(opening="")
    if getattr(args, "no_closing", False):
        settings = settings.with_overrides(closing="")
    if getattr(args, "force", False):
        settings = settings.with_overrides(force=True)
    return settings


def cmd_build(args: argparse.Namespace) -> int:
    settings = _settings(args)
    progress = Bar(sys.stderr) if sys.stderr.isatty() and not args.quiet and not args.json else None
    results = build(
        args.paths,
        out=args.out,
        settings=settings,
        progress=progress,
        notify=lambda m: print(m, file=sys.stderr),
    )
    if args.json:
        print(json_report(results))
    elif not args.quiet:
        for r in results:
            state = "" if r.changed else " (up to date, nothing written)"
            print(
                f"{r.source}: {r.paragraphs} paragraphs, {r.sentences} sentences "
                f"({r.synthesized} synthesised, {r.reused} reused), {_duration(r.duration_ms)}"
                f"{state}\n  -> " + ", ".join(r.outputs.values())
            )
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    project = Path.cwd()
    builder = Builder(project, project / "audio", _settings(args))
    for path in find_articles(args.paths, project):
        todo, total = builder.status(path)
        print(f"{path}: {len(todo)} of {total} utterances to synthesise")
        for item in todo:
            print(f"  {item.label}: {item.text[:70]}")
    return 0


def cmd_voices(args: argparse.Namespace) -> int:
    for v in Pyttsx3Engine().voices():
        if args.language and not any(
            lang.lower() == args.language.lower()
            or lang.lower().startswith(args.language.lower() + "-")
            for lang in v.languages
        ):
            continue
        print(f"{v.id:28} {v.name:40} {', '.join(v.languages)}")
    return 0


def cmd_formats(args: argparse.Namespace) -> int:
    for name, module in FORMATS.items():
        print(f"{name:14} {module.FOR}")
    return 0


def cmd_clean(args: argparse.Namespace) -> int:
    project = Path.cwd()
    notify = lambda m: print(m, file=sys.stderr)  # noqa: E731
    builder = Builder(project, project / "audio", _settings(args), notify=notify)
    files, freed = builder.clean()
    print(f"removed {files} cached files ({freed / 1e6:.1f} MB) no current edition uses")
    return 0


COMMANDS = {
    "build": cmd_build,
    "status": cmd_status,
    "voices": cmd_voices,
    "formats": cmd_formats,
    "clean": cmd_clean,
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    command = COMMANDS.get(args.command or "build")
    if args.command is None:
        args = _parser().parse_args(["build", *(argv if argv is not None else sys.argv[1:])])
    try:
        return command(args)
    except AudioEditionError as exc:
        print(f"audio-edition: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("audio-edition: interrupted; earlier outputs are intact", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: still one line, never a traceback for the user
        print(f"audio-edition: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
