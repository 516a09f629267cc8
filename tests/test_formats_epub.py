"""EPUB 3 with Media Overlays: EPUBCheck passes it, and every sentence reads along."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zipfile

import pytest

from .conftest import REPO, SAMPLE
from .test_formats_captions import MARKDOWN, build, spoken

pytestmark = pytest.mark.integration

EPUBCHECK = "/usr/share/java/epubcheck.jar"  # Debian's epubcheck (4.2.6): a bare jar
ACE = REPO / ".tools" / "ace" / "node_modules" / ".bin" / "ace-cli"  # `make test` installs it
# Ace launches Chromium with --no-sandbox itself; as root, without these Chromium keeps
# calling out to the (closed) network.
CHROMIUM = """#!/bin/sh
exec /usr/bin/chromium --disable-gpu --disable-background-networking \\
  --disable-component-update "$@"
"""
# Named by Ace as missing, and rightly absent: a self-assessment has no credential to
# name and no report to link to (both optional in EPUB Accessibility 1.1).
NOTHING_TO_CLAIM = {"a11y:certifierCredential", "a11y:certifierReport"}
NS = {
    "opf": "http://www.idpf.org/2007/opf",
    "dc": "http://purl.org/dc/elements/1.1/",
    "smil": "http://www.w3.org/ns/SMIL",
    "x": "http://www.w3.org/1999/xhtml",
    "epub": "http://www.idpf.org/2007/ops",
}
SLUGS = ["gwadar-editorial", "tides"]


@pytest.fixture(scope="module")
def editions(tmp_path_factory):
    files = {"gwadar-editorial.txt": SAMPLE, "tides.md": MARKDOWN}
    return build(tmp_path_factory, "epub", files, "epub")


def _book(audio, slug):
    manifest = json.loads((audio / f"{slug}.json").read_text(encoding="utf-8"))
    return zipfile.ZipFile(audio / f"{slug}.epub"), manifest


def _xml(book: zipfile.ZipFile, name: str) -> ET.Element:
    return ET.fromstring(book.read(name))  # strict: any unescaped markup fails here


def _ms(clock: str) -> int:
    h, m, s = clock.split(":")
    return round((int(h) * 3600 + int(m) * 60 + float(s)) * 1000)


# The plain-text case is checked on the markup article (test_formats_rebuild.py): one JVM
# start less.
@pytest.mark.parametrize("slug", ["tides"])
def test_epubcheck_finds_no_error_and_no_warning(editions, slug):
    if shutil.which("java") is None:
        pytest.fail("java is missing: `make test` installs default-jre-headless and epubcheck")
    result = subprocess.run(
        ["java", "-jar", EPUBCHECK, str(editions / f"{slug}.epub")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert "0 errors / 0 warnings" in report, report


@pytest.mark.parametrize("slug", SLUGS)
def test_ace_by_daisy_finds_no_violation_and_no_missing_accessibility_metadata(
    editions, slug, tmp_path
):
    if not ACE.exists():
        pytest.fail(f"Ace by DAISY is missing ({ACE}): run `make test`, which installs it")
    chromium = tmp_path / "chromium"
    chromium.write_text(CHROMIUM)
    chromium.chmod(0o755)
    result = subprocess.run(
        [str(ACE), "--silent", "--force", "--outdir", str(tmp_path / "ace")]
        + [str(editions / f"{slug}.epub")],
        env={**os.environ, "PUPPETEER_EXECUTABLE_PATH": str(chromium)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "ace" / "report.json").read_text(encoding="utf-8"))
    violations = [
        (doc["earl:testSubject"]["url"], a["earl:test"]["dct:title"])
        for doc in report["assertions"]
        for a in doc["assertions"]
        if a["earl:result"]["earl:outcome"] == "fail"
    ]
    assert violations == [] and report["earl:result"]["earl:outcome"] == "pass"
    metadata = report["a11y-metadata"]
    assert set(metadata["missing"]) <= NOTHING_TO_CLAIM and metadata["empty"] == []
    assert {"dcterms:conformsTo", "a11y:certifiedBy"} <= set(metadata["present"])


@pytest.mark.parametrize("slug", SLUGS)
def test_the_package_has_the_metadata_readers_and_publishers_expect(editions, slug):
    book, manifest = _book(editions, slug)
    opf = _xml(book, "EPUB/package.opf")
    meta = opf.find("opf:metadata", NS)
    assert meta.findtext("dc:title", namespaces=NS) == manifest["title"]
    assert meta.findtext("dc:language", namespaces=NS) == manifest["language"]
    assert meta.findtext("dc:creator", namespaces=NS) == (manifest["author"] or "Unknown")
    assert meta.findtext("dc:identifier", namespaces=NS).startswith("urn:uuid:")
    props: dict[str, list[str]] = {}
    for m in meta.findall("opf:meta", NS):
        if m.get("property"):
            key = m.get("property") + (f"@{m.get('refines')}" if m.get("refines") else "")
            props.setdefault(key, []).append(m.text)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", props["dcterms:modified"][0])
    assert set(props["schema:accessMode"]) == {"textual", "auditory"}
    assert "textual" in props["schema:accessModeSufficient"]
    assert "synchronizedAudioText" in props["schema:accessibilityFeature"]
    assert props["schema:accessibilityHazard"] == ["none"]
    assert props["schema:accessibilitySummary"][0]
    assert props["dcterms:conformsTo"] == ["EPUB Accessibility 1.1 - WCAG 2.2 Level AA"]
    assert props["a11y:certifiedBy"][0]
    total = _ms(props["media:duration"][0])
    overlay = _ms(props["media:duration@#overlay"][0])
    assert abs(total - overlay) <= 1000 and abs(total - manifest["duration_ms"]) <= 1000
    active = props["media:active-class"][0]
    assert f".{active}" in book.read("EPUB/style.css").decode()


@pytest.mark.parametrize("slug", SLUGS)
def test_every_spoken_element_has_an_id_and_a_par_with_its_clip(editions, slug):
    book, manifest = _book(editions, slug)
    text = _xml(book, "EPUB/text.xhtml")
    by_id = {e.get("id"): "".join(e.itertext()) for e in text.iter() if e.get("id")}
    pars = _xml(book, "EPUB/text.smil").findall(".//smil:par", NS)
    elements = spoken(manifest)
    assert len(pars) == len(elements)
    previous_end = 0
    for par, (eid, start, end, words) in zip(pars, elements, strict=True):
        src = par.find("smil:text", NS).get("src")
        audio = par.find("smil:audio", NS)
        assert src == f"text.xhtml#{eid}" and by_id[eid] == words  # text as written
        assert audio.get("src") == "audio.mp3"
        begin, finish = _ms(audio.get("clipBegin")), _ms(audio.get("clipEnd"))
        # Clips tile the timeline (pauses included) so that players do not skip the pauses.
        assert begin == previous_end
        assert begin <= start and finish >= end
        assert begin == start or begin == 0
        previous_end = finish
    assert previous_end == manifest["duration_ms"]


def test_the_nav_lists_the_headings_of_a_markdown_article_without_skipping(editions):
    book, manifest = _book(editions, "tides")
    nav = _xml(book, "EPUB/nav.xhtml")
    toc = nav.find(".//x:nav", NS)
    assert toc.get(f"{{{NS['epub']}}}type") == "toc" and toc.get("role") == "doc-toc"
    labels = [a.text for a in toc.iter(f"{{{NS['x']}}}a")]
    assert labels == [manifest["title"], "Tides", "Spring tides"]
    depth = {a.text: _depth(toc, a) for a in toc.iter(f"{{{NS['x']}}}a")}
    # "#### Spring tides" under "## Tides": a level skipped in the source, not in the book.
    assert [depth[label] for label in labels] == [1, 2, 3]
    text = book.read("EPUB/text.xhtml").decode()
    assert '<h2 id="p2h">Tides</h2>' in text and '<h3 id="p3h">Spring tides</h3>' in text


def test_a_plain_text_article_is_navigated_by_its_chapters(editions):
    book, manifest = _book(editions, "gwadar-editorial")
    toc = _xml(book, "EPUB/nav.xhtml").find(".//x:nav", NS)
    labels = [a.text for a in toc.iter(f"{{{NS['x']}}}a")]
    chapters = [c["title"] for c in manifest["chapters"] if c["paragraphs"]]
    assert labels == [manifest["title"], *chapters]


def test_the_audio_is_the_built_mp3(editions):
    book, _ = _book(editions, "tides")
    assert book.namelist()[0] == "mimetype"
    assert book.getinfo("mimetype").compress_type == zipfile.ZIP_STORED
    assert book.read("EPUB/audio.mp3") == (editions / "tides.mp3").read_bytes()


def _depth(root: ET.Element, target: ET.Element) -> int:
    parents = {child: parent for parent in root.iter() for child in parent}
    depth, node = 0, target
    while node in parents:
        node = parents[node]
        depth += node.tag == f"{{{NS['x']}}}ol"
    return depth
