"""DAISY 2.02 talking book, full text and full audio, zipped (for DAISY players).

The zip holds, at its top level (where players look for them): ``ncc.html`` (the metadata
and the headings a player navigates by), ``content.html`` (the text, an id on every spoken
element), one SMIL file per section (a ``par`` per sentence, heading and announcement) and
the built MP3, which is mono and constant bit rate: FSReader and the NLS player seek by byte
offset and need CBR for navigation. One MP3 for the book, not one per section: cutting the
MP3 would break the bit reservoir at every cut, and its clips can all point into one file.

Written here rather than with anemone-daisy-maker (see README): it expects one MP3 per
section and times per paragraph, re-encodes the audio, and does not escape text in XML.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from .. import __version__
from . import readalong as ra
from .base import Context, Format
from .readalong import esc

if TYPE_CHECKING:
    from ..edition import Edition

CONTENT, AUDIO = "content.html", "audio.mp3"
GENERATOR = f"audio-edition {__version__}"
XHTML_DOCTYPE = (
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
    '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">'
)
SMIL_DOCTYPE = (
    '<!DOCTYPE smil PUBLIC "-//W3C//DTD SMIL 1.0//EN" "http://www.w3.org/TR/REC-smil/SMIL10.dtd">'
)


def smil_name(index: int) -> str:
    return f"s{index + 1:03d}.smil"


class DAISY(Format):
    name = "daisy"
    suffix = ".daisy.zip"
    label = "DAISY talking book"
    description = (
        "DAISY players: Victor Reader, NLS player, FSReader, EasyReader, Thorium (full text)"
    )
    version = 1
    needs = ("mp3",)
    order = 90

    def write(self, context: Context) -> None:
        write(context.edition, context.outputs, context.dest)


def write(edition: Edition, audio: dict[str, Path], dest: Path) -> None:
    sections = ra.layout(edition)
    files = {"ncc.html": ncc(edition, sections), CONTENT: content(edition, sections)}
    elapsed = 0
    for i, section in enumerate(sections):
        files[smil_name(i)] = smil(edition, section, elapsed)
        elapsed += _duration(section)
    with zipfile.ZipFile(dest, "w") as zf:
        for name, text in files.items():
            ra.zip_bytes(zf, name, text.encode("utf-8"), zipfile.ZIP_DEFLATED)
        ra.zip_file(zf, AUDIO, audio["mp3"])


def _duration(section: ra.Section) -> int:
    """The section's playing time: its clips tile the timeline, so their sum."""
    return sum(p.clip_end_ms - p.clip_begin_ms for p in section.phrases)


def _meta(name: str, content: str, scheme: str | None = None) -> str:
    extra = f' scheme="{scheme}"' if scheme else ""
    return f'<meta name="{name}" content="{esc(content)}"{extra} />'


def _html(edition: Edition, title: str, head: list[str], body: str) -> str:
    lang = esc(edition.language)
    head_text = "\n".join(head)
    return f"""<?xml version="1.0" encoding="utf-8"?>
{XHTML_DOCTYPE}
<html xmlns="http://www.w3.org/1999/xhtml" lang="{lang}" xml:lang="{lang}">
<head>
<meta http-equiv="Content-type" content="text/html; charset=utf-8" />
<title>{esc(title)}</title>
{head_text}
</head>
<body>
{body}
</body>
</html>
"""


def ncc(edition: Edition, sections: list[ra.Section]) -> str:
    date = ra.article_date(edition) or ra.modified(edition)[:10]
    metas = [
        _meta("dc:title", edition.title),
        _meta("dc:creator", ra.creator(edition)),
        _meta("dc:date", date, "yyyy-mm-dd"),
        _meta("dc:format", "Daisy 2.02"),
        _meta("dc:identifier", f"urn:uuid:{ra.identifier(edition)}"),
        _meta("dc:language", edition.language, "ISO 639"),
        _meta("dc:publisher", edition.publisher or ra.creator(edition)),
        _meta("dc:type", "text"),
        _meta("ncc:charset", "utf-8"),
        _meta("ncc:generator", GENERATOR),
        _meta("ncc:narrator", ra.narrator(edition)),
        _meta("ncc:multimediaType", "audioFullText"),
        _meta("ncc:pageFront", "0"),
        _meta("ncc:pageNormal", "0"),
        _meta("ncc:pageSpecial", "0"),
        _meta("ncc:maxPageNormal", "0"),
        _meta("ncc:tocItems", str(len(sections))),
        _meta("ncc:depth", str(max(s.level for s in sections))),
        _meta("ncc:totalTime", ra.clock(sum(_duration(s) for s in sections))),
        # ncc.html, the text, the SMIL files and the MP3.
        _meta("ncc:files", str(3 + len(sections))),
    ]
    headings = []
    for i, section in enumerate(sections):
        tag = f"h{section.level}"
        cls = ' class="title"' if i == 0 else ""
        href = f"{smil_name(i)}#txt-{section.phrases[0].id}"
        headings.append(
            f'<{tag} id="nav-{i + 1}"{cls}><a href="{href}">{esc(section.label)}</a></{tag}>'
        )
    return _html(edition, edition.title, metas, "\n".join(headings))


def content(edition: Edition, sections: list[ra.Section]) -> str:
    return _html(edition, edition.title, [], ra.body(sections))


def smil(edition: Edition, section: ra.Section, elapsed_ms: int) -> str:
    duration = _duration(section)
    metas = [
        _meta("dc:format", "Daisy 2.02"),
        _meta("dc:title", section.label),
        _meta("dc:identifier", f"urn:uuid:{ra.identifier(edition)}"),
        _meta("ncc:generator", GENERATOR),
        _meta("ncc:totalElapsedTime", ra.clock(elapsed_ms)),
        _meta("ncc:timeInThisSmil", ra.clock(duration)),
    ]
    pars = "\n".join(
        f'<par endsync="last" id="par-{p.id}">'
        f'<text src="{CONTENT}#{p.id}" id="txt-{p.id}" />'
        f'<audio src="{AUDIO}" clip-begin="npt={p.clip_begin_ms / 1000:.3f}s" '
        f'clip-end="npt={p.clip_end_ms / 1000:.3f}s" id="aud-{p.id}" /></par>'
        for p in section.phrases
    )
    head = "\n".join(metas)
    return f"""<?xml version="1.0" encoding="utf-8"?>
{SMIL_DOCTYPE}
<smil>
<head>
{head}
<layout>
<region id="txtView" />
</layout>
</head>
<body>
<seq dur="{duration / 1000:.3f}s">
{pars}
</seq>
</body>
</smil>
"""
