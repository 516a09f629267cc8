"""Web page: the article and its audio side by side, the sentence being read highlighted.

``audio/<slug>.html`` is one self-contained file: the style sheet and script (package data
in ``web/``) are inlined, so the page works opened from disk (``file://``) or from any
static server, with no network access. It is written from the edition alone: each
sentence is a ``<span class="cue">`` carrying its start and end in milliseconds, and the
script follows ``audio.currentTime`` through them. A Content-Security-Policy allows only
the page's own script and style (by hash) and same-origin media, so even a mistake in
escaping could not run injected script.

``WebPage.write_index`` keeps ``audio/index.html``: every edition in the folder with its
title, duration and a link.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from html import escape
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from ..edition import load_editions, written_words
from ..files import atomic_write_bytes
from ..times import short_clock
from .base import Context, Format, IndexContext

if TYPE_CHECKING:
    from ..edition import Announcement, Edition, Manifest, Paragraph, Utterance

NAME = "html"

INDEX = "index.html"
FEED = "feed.xml"  # the podcast feed's file (formats/feed.py), linked from the index
FEED_LINK = f'href="{FEED}" title="Podcast feed"'
GENERATOR = "audio-edition"
RATES = ("0.75", "1", "1.25", "1.5", "1.75", "2", "2.5", "3")
SHORTCUTS = (
    ("K", "Play or pause"),
    ("J", "Back 10 seconds"),
    ("L", "Forward 10 seconds"),
    ("P", "Previous paragraph (or the start of this one)"),
    ("N", "Next paragraph"),
    ("&lt; / &gt;", "Slower / faster"),
)
# Browsers try <source> elements in order: Opus (smallest) where it was built, then MP3.
SOURCE_TYPES = {"opus": "audio/ogg; codecs=opus", "mp3": "audio/mpeg"}


class WebPage(Format):
    name = NAME
    suffix = ".html"
    label = "Web page"
    description = "web browsers: the article beside its audio, the sentence being read highlighted"
    version = 3  # 2: each word timed, marked as it is read; 3: live.js (serve --watch)
    needs = ("mp3",)  # MP3 plays in every browser; seeking in CBR MP3 is exact
    links_all = True  # the page offers a download of every format built with it
    order = 100

    def write(self, context: Context) -> None:
        files = built_files(context.edition, context.outputs)
        context.dest.write_bytes(page(context.edition, files).encode("utf-8"))

    def write_index(self, index: IndexContext) -> None:
        write_index(index.out, index.editions)


# ---------------------------------------------------------------- the edition's page


def built_files(edition: Edition, outputs: dict[str, Path]) -> dict[str, tuple[str, int, str]]:
    """Each built format's final file name, size and download label, in build order.

    The builder hands a format with ``links_all`` every output built before it (the page
    is the last format), staged or in place, and rewrites the page when any of them
    changes.
    """
    from . import FORMATS, ordered

    return {
        name: (
            f"{edition.slug}{FORMATS[name].suffix}",
            Path(outputs[name]).stat().st_size,
            FORMATS[name].label,
        )
        for name in ordered(outputs)
        if name != NAME
    }


def page(edition: Edition, files: dict[str, tuple[str, int]]) -> str:
    css, js = _asset("page.css"), _asset("page.js")
    # Live reload, in the same script: it does nothing unless `serve --watch` served it.
    js += "\n" + _asset("live.js")
    title = escape(edition.title)
    lang = escape(edition.language or "en")
    return "\n".join(
        [
            *_head(
                _csp(css, js),
                f"{title} (audio edition)",
                css,
                f"Audio edition of {title}, with its text.",
            ),
            "<body>",
            '<a class="skip" href="#text">Skip to the text</a>',
            _masthead(edition, files, lang),
            '<main class="edition">',
            '<div class="side">',
            _player(edition, files),
            _chapters(edition),
            _shortcuts(),
            "</div>",
            _article(edition, lang),
            "</main>",
            _footer(edition),
            f"<script>{js}</script>",
            "</body>",
            "</html>",
            "",
        ]
    )


def _head(csp: str, title: str, css: str, description: str | None = None) -> list[str]:
    """The document start and head both pages share; ``title`` is already escaped."""
    return [
        "<!doctype html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">',
        f'<meta name="generator" content="{GENERATOR}">',
        *([f'<meta name="description" content="{description}">'] if description else []),
        f"<title>{title}</title>",
        '<link rel="icon" href="data:,">',  # no favicon request: the pages use no network
        f"<style>{css}</style>",
        "</head>",
    ]


@lru_cache
def _asset(name: str) -> str:
    return (resources.files(__package__) / "web" / name).read_text(encoding="utf-8")


def _csp(css: str, js: str) -> str:
    # Inline script and style are allowed by hash only, so nothing injected could run.
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src '{_sha256(js)}'",
            f"style-src '{_sha256(css)}'",
            "media-src 'self'",
            "img-src data:",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()


def _masthead(edition: Edition, files: dict[str, tuple[str, int]], lang: str) -> str:
    byline = [f"By {escape(edition.author)}"] if edition.author else []
    byline += [escape(v) for v in (edition.date, edition.publisher) if v]
    voice = edition.voice
    return "\n".join(
        [
            '<header class="masthead">',
            '<p class="kind">Audio edition</p>',
            f'<h1 lang="{lang}">{escape(edition.title)}</h1>',
            f'<p class="byline">{" · ".join(byline)}</p>' if byline else "",
            f'<p class="about">The audio version of this article, read by a synthetic voice '
            f"({escape(voice.name or voice.voice)}), {_spoken_duration(edition)}. "
            "The sentence being read is highlighted; select any sentence or chapter to listen "
            "from there.</p>",
            _downloads(files),
            "</header>",
        ]
    )


def _downloads(files: dict[str, tuple[str, int, str]]) -> str:
    items = "".join(
        f'<li><a href="{escape(final)}" download>{escape(label)}</a> ({_size(size)})</li>'
        for final, size, label in files.values()
    )
    return (
        '<div class="downloads"><span id="downloads">Download:</span> '
        f'<ul aria-labelledby="downloads">{items}</ul></div>'
    )


def _player(edition: Edition, files: dict[str, tuple[str, int]]) -> str:
    sources = "".join(
        f'<source src="{escape(files[n][0])}" type="{t}">'
        for n, t in SOURCE_TYPES.items()
        if n in files
    )
    mp3 = escape(files["mp3"][0]) if "mp3" in files else ""
    rates = "".join(
        f'<option value="{r}"{" selected" if r == "1" else ""}>{r}×</option>' for r in RATES
    )
    return "\n".join(
        [
            '<section class="player" id="player" aria-labelledby="listen">',
            '<h2 id="listen">Listen</h2>',
            f'<audio id="audio" controls preload="metadata">{sources}'
            f'<p>This browser cannot play the audio here: <a href="{mp3}">download the MP3</a>.</p>'
            "</audio>",
            '<div class="buttons" role="group" aria-label="Playback">',
            '<button type="button" id="play" data-keys="k">'
            '<span class="label">Play</span></button>',
            '<button type="button" id="back" data-keys="j">Back 10 s</button>',
            '<button type="button" id="forward" data-keys="l">Forward 10 s</button>',
            '<button type="button" id="prev" data-keys="p">Previous paragraph</button>',
            '<button type="button" id="next" data-keys="n">Next paragraph</button>',
            '<button type="button" id="show">Show the sentence being read</button>',
            "</div>",
            '<div class="settings">',
            f'<span><label for="rate">Speed</label> <select id="rate">{rates}</select></span>',
            '<label><input type="checkbox" id="keys" checked>Single-key shortcuts</label>',
            '<label><input type="checkbox" id="word-marks" checked>Mark each word as it is read'
            "</label>",
            "</div>",
            '<p class="status" id="status" role="status"></p>',
            "</section>",
        ]
    )


def _chapters(edition: Edition) -> str:
    items = "\n".join(
        f'<li><button type="button" data-start="{c.start_ms}">'
        f'<span>{escape(c.title)}</span> <span class="time">{short_clock(c.start_ms)}</span>'
        "</button></li>"
        for c in edition.chapters
    )
    return (
        '<nav id="chapters" aria-label="Chapters">\n<h2>Chapters</h2>\n'
        f"<ol>\n{items}\n</ol>\n</nav>"
    )


def _shortcuts() -> str:
    rows = "".join(f"<dt><kbd>{k}</kbd></dt><dd>{what}</dd>" for k, what in SHORTCUTS)
    return (
        '<section aria-labelledby="shortcuts">\n<h2 id="shortcuts">Keyboard shortcuts</h2>\n'
        f'<dl class="keys">{rows}</dl>\n'
        "<p>Tab moves between the controls; Enter or Space uses them. The shortcuts work "
        "anywhere but in the speed list, and can be turned off above.</p>\n</section>"
    )


def _article(edition: Edition, lang: str) -> str:
    parts = [
        f'<article id="text" lang="{lang}" aria-labelledby="text-title" tabindex="-1">',
        '<h2 id="text-title" class="visually-hidden">The text</h2>',
        _announcement(edition.opening),
        *(_paragraph(p) for p in edition.paragraphs),
        _announcement(edition.closing),
        "</article>",
    ]
    return "\n".join(p for p in parts if p)


def _announcement(spoken: Announcement | None) -> str:
    if not spoken:
        return ""
    label = f"{spoken.id.capitalize()} announcement"
    return (
        f'<p class="announcement" data-para="{label}" data-start="{spoken.start_ms}">'
        f"{_cue(spoken)}</p>"
    )


def _paragraph(para: Paragraph) -> str:
    label = f"Paragraph {para.index}"
    lines = []
    if para.heading:
        level = min((para.heading.level or 1) + 1, 6)  # the page's h1 is the title
        cue = _cue(para.heading)
        lines.append(f'<h{level} data-para="{label}" data-start="{para.start_ms}">{cue}</h{level}>')
    if para.sentences:
        para_attrs = "" if lines else f' data-para="{label}" data-start="{para.start_ms}"'
        cues = " ".join(_cue(s) for s in para.sentences)
        lines.append(f'<p id="{para.id}"{para_attrs}>{cues}</p>')
    return "\n".join(lines)


def _cue(spoken: Utterance) -> str:
    return (
        f'<span class="cue" id="{escape(spoken.id)}" data-start="{spoken.start_ms}" '
        f'data-end="{spoken.end_ms}">{_words(spoken)}</span>'
    )


# ---- word timing: each word of a sentence in its own span (page.js: the word highlight)
def _words(spoken: Utterance) -> str:
    """The text, each timed word in a ``<span class="word">`` with its times, the spaces
    and punctuation between them as plain text."""
    timed = getattr(spoken, "words", None)
    written = written_words(spoken.text)
    if not timed or len(timed) != len(written):
        return escape(spoken.text)
    out, at = [], 0
    for (start, end, text), word in zip(written, timed, strict=True):
        inner = start + spoken.text[start:end].index(text)
        out.append(escape(spoken.text[at:inner]))
        out.append(
            f'<span class="word" data-start="{word.start_ms}" data-end="{word.end_ms}">'
            f"{escape(text)}</span>"
        )
        at = inner + len(text)
    out.append(escape(spoken.text[at:]))
    return "".join(out)


# ---- end of word timing


def _footer(edition: Edition) -> str:
    voice = edition.voice
    return (
        "<footer>\n"
        f"<p>Made with {GENERATOR} from {escape(edition.source)}; voice "
        f"{escape(voice.name or voice.voice)} ({escape(str(voice.engine))}), "
        f"{voice.rate} words a minute.</p>\n"
        f'<p><a href="{INDEX}">All audio editions</a></p>\n</footer>'
    )


# ---------------------------------------------------------------- small formatting helpers


def _spoken_duration(edition: Edition) -> str:
    minutes = max(1, round(edition.duration_ms / 60_000))
    hours, minutes = divmod(minutes, 60)
    parts = [f"{hours} hour{'s' * (hours != 1)}"] if hours else []
    parts += [f"{minutes} minute{'s' * (minutes != 1)}"] if minutes or not hours else []
    return " ".join(parts)


def _size(size: int) -> str:
    # A no-break space: "(1 kB)" never splits across lines.
    if size >= 100_000:
        return f"{size / 1e6:.1f}\u00a0MB"
    return f"{max(1, round(size / 1e3))}\u00a0kB"


# ---------------------------------------------------------------- the list of editions


def write_index(out_dir: Path, editions: list[Manifest] | None = None) -> None:
    """Keep ``index.html`` listing every edition whose manifest is in ``out_dir``.

    Written only when its bytes change (an unchanged rebuild touches nothing), and only
    while some edition has a web page. The name is reserved (no article builds to it), but
    an edition named "index" built before it was keeps the file.
    """
    editions = load_editions(out_dir) if editions is None else editions
    path = out_dir / INDEX
    if any(m.edition.slug == "index" for m in editions):
        return
    if not any(NAME in m.record.outputs for m in editions):
        if path.is_file() and f'content="{GENERATOR}"' in path.read_text(errors="replace"):
            path.unlink()  # ours, and no page is left to list
        return
    # The feed (written just before: its format comes first) is linked while it exists.
    data = index_page(editions, feed=(out_dir / FEED).is_file()).encode("utf-8")
    if not path.is_file() or path.read_bytes() != data:
        atomic_write_bytes(path, data)


def index_page(editions: list[Manifest], feed: bool = False) -> str:
    """The list of editions; with ``feed``, it links the podcast feed (for browsers and
    feed readers in the head, for people in the masthead)."""
    css = _asset("page.css")
    items = "\n".join(_index_entry(m) for m in editions)
    head = _head(
        f"default-src 'none'; style-src '{_sha256(css)}'; img-src data:; base-uri 'none'",
        "Audio editions",
        css,
    )
    subscribe = ""
    if feed:
        head.insert(-1, f'<link rel="alternate" type="application/rss+xml" {FEED_LINK}>')
        subscribe = (
            f'<p class="about"><a {FEED_LINK}>Podcast feed</a>: '
            "add its address to a podcast app to hear every edition there.</p>"
        )
    return "\n".join(
        [
            *head,
            "<body>",
            '<header class="masthead"><h1>Audio editions</h1>'
            f'<p class="about">{len(editions)} edition{"s" * (len(editions) != 1)}, '
            f"each read by a synthetic voice.</p>{subscribe}</header>",
            f'<main>\n<ul class="editions">\n{items}\n</ul>\n</main>',
            "</body>",
            "</html>",
            "",
        ]
    )


def _index_entry(manifest: Manifest) -> str:
    edition, outputs = manifest.edition, manifest.record.outputs
    # Link the web page, or else the first audio file built.
    target = outputs.get(NAME) or next(iter(outputs.values()))
    author = f" by {escape(edition.author)}" if edition.author else ""
    lang = escape(edition.language or "en")
    return (
        f'<li><a href="{escape(target["path"])}" lang="{lang}">{escape(edition.title)}</a>'
        f'{author} <span class="time">({short_clock(edition.duration_ms)})</span></li>'
    )
