"""EPUB 3 with Media Overlays: the text, highlighted sentence by sentence as the audio plays.

One XHTML document (an id on every sentence, heading and announcement), the navigation
document (the headings, or the chapters), one SMIL overlay with a ``par`` per spoken element,
and the built MP3: AAC would do too, but Opus fails in Apple Books, Play Books and Kobo,
and the MP3 plays everywhere. The package carries the schema.org accessibility metadata
and claims EPUB Accessibility 1.1 at WCAG 2.2 AA, a claim the tests keep true: EPUBCheck
finds no error and no warning, Ace by DAISY no violation (tests/test_formats_epub.py).

An edition read with a pronunciation lexicon carries the entries it used as a W3C PLS 1.0
document (``lexicon.pls``), linked from the text as EPUB 3 says, so a reading system's own
text-to-speech says those words as the narration does.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from . import readalong as ra
from .base import Context, Format
from .readalong import esc

if TYPE_CHECKING:
    from ..edition import Edition

ACTIVE_CLASS = "-epub-media-overlay-active"
# True for every book written here while the tests pass: Ace by DAISY (axe-core's WCAG 2.2
# rules and its EPUB checks) finds no violation; the content is text, headings and one list.
CONFORMS_TO = "EPUB Accessibility 1.1 - WCAG 2.2 Level AA"
CERTIFIED_BY = "audio-edition (self-assessment)"
TEXT, NAV, SMIL, CSS, AUDIO = "text.xhtml", "nav.xhtml", "text.smil", "style.css", "audio.mp3"
PLS = "lexicon.pls"

CONTAINER = """<?xml version="1.0" encoding="UTF-8"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
 <rootfiles>
  <rootfile full-path="EPUB/package.opf" media-type="application/oebps-package+xml"/>
 </rootfiles>
</container>
"""

# The active class must be defined for reading systems to highlight with it. No fonts or
# sizes are forced: readers (dyslexic readers above all) choose their own.
STYLE = f""".{ACTIVE_CLASS} {{ background-color: #ffe066; color: #000; }}
.announcement {{ font-style: italic; }}
p {{ line-height: 1.5; }}
"""


class EPUB(Format):
    name = "epub"
    suffix = ".epub"
    label = "EPUB read-along"
    description = (
        "read-along e-book (EPUB 3 Media Overlays): Thorium, EasyReader; any EPUB 3 reader (text)"
    )
    version = 2
    needs = ("mp3",)
    order = 80

    def write(self, context: Context) -> None:
        write(context.edition, context.outputs, context.dest)


def write(edition: Edition, audio: dict[str, Path], dest: Path) -> None:
    sections = ra.layout(edition)
    files = {
        "META-INF/container.xml": CONTAINER,
        "EPUB/package.opf": package(edition, sections),
        f"EPUB/{NAV}": nav(edition, sections),
        f"EPUB/{TEXT}": text(edition, sections),
        f"EPUB/{SMIL}": overlay(sections),
        f"EPUB/{CSS}": STYLE,
    }
    if edition.pronunciations:
        files[f"EPUB/{PLS}"] = pls(edition)
    with zipfile.ZipFile(dest, "w") as zf:
        # The mimetype comes first and stored, so that a reader can sniff the file type.
        ra.zip_bytes(zf, "mimetype", b"application/epub+zip", zipfile.ZIP_STORED)
        for name, content in files.items():
            ra.zip_bytes(zf, name, content.encode("utf-8"), zipfile.ZIP_DEFLATED)
        ra.zip_file(zf, f"EPUB/{AUDIO}", audio["mp3"])


def _xhtml(edition: Edition, title: str, body: str, extra_head: str = "") -> str:
    lang = esc(edition.language)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" \
lang="{lang}" xml:lang="{lang}">
<head>
<meta charset="UTF-8"/>
<title>{esc(title)}</title>
{extra_head}</head>
<body>
{body}
</body>
</html>
"""


def text(edition: Edition, sections: list[ra.Section]) -> str:
    head = f'<link rel="stylesheet" type="text/css" href="{CSS}"/>\n'
    if edition.pronunciations:
        lang = esc(edition.language)
        head += (
            f'<link rel="pronunciation" type="application/pls+xml" hreflang="{lang}" '
            f'href="{PLS}"/>\n'
        )
    return _xhtml(edition, edition.title, ra.body(sections), head)


def pls(edition: Edition) -> str:
    """The lexicon entries the edition was read with, as a PLS 1.0 document: the IPA where
    the entry gives it, else the respelling as an alias."""
    lexemes = []
    for entry in edition.pronunciations:
        said = (
            f"<phoneme>{esc(entry.ipa)}</phoneme>"
            if entry.ipa
            else f"<alias>{esc(entry.respelling)}</alias>"
        )
        lexemes.append(f"<lexeme><grapheme>{esc(entry.written)}</grapheme>{said}</lexeme>")
    body = "\n".join(lexemes)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<lexicon version="1.0" xmlns="http://www.w3.org/2005/01/pronunciation-lexicon" \
alphabet="ipa" xml:lang="{esc(edition.language)}">
{body}
</lexicon>
"""


def nav(edition: Edition, sections: list[ra.Section]) -> str:
    items = [(s.level, s.label, f"{TEXT}#{s.blocks[0].id}") for s in sections]
    # The role, as well as the epub:type, tells assistive technology that this is the toc.
    toc = (
        '<nav epub:type="toc" role="doc-toc" id="toc">\n'
        f"<h1>Contents</h1>\n{_nested(items)}\n</nav>"
    )
    return _xhtml(edition, "Contents", toc)


def _nested(items: list[tuple[int, str, str]]) -> str:
    """Nested <ol> lists for (level, label, href) items whose levels never skip."""
    out, depth = [], 0
    for level, label, href in items:
        if level > depth:
            out += ["<ol>\n<li>"] * (level - depth)
        else:
            out += ["</li>\n</ol>\n"] * (depth - level) + ["</li>\n<li>"]
        out.append(f'<a href="{esc(href)}">{esc(label)}</a>')
        depth = level
    out += ["</li>\n</ol>"] * depth
    return "".join(out)


def overlay(sections: list[ra.Section]) -> str:
    pars = "\n".join(
        f'<par id="par-{p.id}"><text src="{TEXT}#{p.id}"/>'
        f'<audio src="{AUDIO}" clipBegin="{ra.clock(p.clip_begin_ms)}" '
        f'clipEnd="{ra.clock(p.clip_end_ms)}"/></par>'
        for s in sections
        for p in s.phrases
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<smil xmlns="http://www.w3.org/ns/SMIL" xmlns:epub="http://www.idpf.org/2007/ops" version="3.0">
<body>
{pars}
</body>
</smil>
"""


def _has_headings(sections: list[ra.Section]) -> bool:
    return any(b.level and b.level > 1 for s in sections for b in s.blocks)


def _summary(edition: Edition, sections: list[ra.Section]) -> str:
    navigation = "its headings" if _has_headings(sections) else "its chapters"
    return (
        f"The full text of the article with a narration by {ra.narrator(edition)}, "
        "synchronised sentence by sentence: each sentence is highlighted as it is read. "
        f"The table of contents lists {navigation}. No images, no hazards. "
        f"It meets {CONFORMS_TO}, as assessed by its builder, whose tests check its books "
        "with Ace by DAISY and EPUBCheck."
    )


def accessibility(edition: Edition, sections: list[ra.Section]) -> list[tuple[str, str]]:
    features = [
        "synchronizedAudioText",
        "tableOfContents",
        "readingOrder",
        "displayTransformability",
    ]
    if _has_headings(sections):
        features.append("structuralNavigation")
    return [
        ("schema:accessMode", "textual"),
        ("schema:accessMode", "auditory"),
        # The text alone, the audio alone (it reads every word), or both, each suffice.
        ("schema:accessModeSufficient", "textual"),
        ("schema:accessModeSufficient", "auditory"),
        ("schema:accessModeSufficient", "textual,auditory"),
        *(("schema:accessibilityFeature", f) for f in features),
        ("schema:accessibilityHazard", "none"),
        ("schema:accessibilitySummary", _summary(edition, sections)),
        # The claim, and who made it. No certifier credential or report: there is none.
        ("dcterms:conformsTo", CONFORMS_TO),
        ("a11y:certifiedBy", CERTIFIED_BY),
    ]


def _pls_item(edition: Edition) -> str:
    if not edition.pronunciations:
        return ""
    return f'<item id="lexicon" href="{PLS}" media-type="application/pls+xml"/>\n'


def package(edition: Edition, sections: list[ra.Section]) -> str:
    duration = ra.clock(edition.duration_ms)
    dc = [
        f'<dc:identifier id="uid">urn:uuid:{ra.identifier(edition)}</dc:identifier>',
        f"<dc:title>{esc(edition.title)}</dc:title>",
        f'<dc:creator id="creator">{esc(ra.creator(edition))}</dc:creator>',
        f"<dc:language>{esc(edition.language)}</dc:language>",
    ]
    if edition.publisher:
        dc.append(f"<dc:publisher>{esc(edition.publisher)}</dc:publisher>")
    if ra.article_date(edition):
        dc.append(f"<dc:date>{ra.article_date(edition)}</dc:date>")
    dc += [
        f'<dc:contributor id="narrator">{esc(ra.narrator(edition))}</dc:contributor>',
        '<meta refines="#narrator" property="role" scheme="marc:relators">nrt</meta>',
    ]
    metas = [
        ("dcterms:modified", ra.modified(edition)),
        ("media:duration", duration),
        ("media:narrator", ra.narrator(edition)),
        ("media:active-class", ACTIVE_CLASS),
        *accessibility(edition, sections),
    ]
    dc += [f'<meta property="{p}">{esc(v)}</meta>' for p, v in metas]
    # The overlay plays the whole timeline (its clips tile it), so the durations agree.
    dc.append(f'<meta property="media:duration" refines="#overlay">{duration}</meta>')
    metadata = "\n".join(dc)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="uid" \
xml:lang="{esc(edition.language)}">
<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
{metadata}
</metadata>
<manifest>
<item id="nav" href="{NAV}" media-type="application/xhtml+xml" properties="nav"/>
<item id="text" href="{TEXT}" media-type="application/xhtml+xml" media-overlay="overlay"/>
<item id="overlay" href="{SMIL}" media-type="application/smil+xml"/>
<item id="css" href="{CSS}" media-type="text/css"/>
<item id="audio" href="{AUDIO}" media-type="audio/mpeg"/>
{_pls_item(edition)}</manifest>
<spine>
<itemref idref="text"/>
</spine>
</package>
"""
