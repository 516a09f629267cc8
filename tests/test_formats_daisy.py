"""DAISY 2.02: what the DAISY Consortium's validator checks, checked here.

Every reference resolves (files and ids), ncc:totalTime is the sum of the SMIL files'
durations, each ncc:totalElapsedTime is the true running time, heading levels never skip,
and the MP3 is mono and constant bit rate.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import xml.etree.ElementTree as ET
import zipfile

import pytest

from .conftest import SAMPLE
from .test_formats_captions import MARKDOWN, build, spoken

pytestmark = pytest.mark.integration

X = "{http://www.w3.org/1999/xhtml}"
SLUGS = ["gwadar-editorial", "tides"]
REQUIRED = [
    "dc:title",
    "dc:creator",
    "dc:date",
    "dc:format",
    "dc:identifier",
    "dc:language",
    "dc:publisher",
    "ncc:charset",
    "ncc:pageFront",
    "ncc:pageNormal",
    "ncc:pageSpecial",
    "ncc:tocItems",
    "ncc:totalTime",
    "ncc:multimediaType",
    "ncc:depth",
    "ncc:files",
    "ncc:narrator",
]


@pytest.fixture(scope="module")
def editions(tmp_path_factory):
    files = {"gwadar-editorial.txt": SAMPLE, "tides.md": MARKDOWN}
    return build(tmp_path_factory, "daisy", files, "daisy")


class Book:
    """A DAISY zip, parsed strictly (any unescaped markup fails here)."""

    def __init__(self, audio, slug):
        self.manifest = json.loads((audio / f"{slug}.json").read_text(encoding="utf-8"))
        self.zip = zipfile.ZipFile(audio / f"{slug}.daisy.zip")
        self.names = self.zip.namelist()
        self.ncc = self.xml("ncc.html")
        self.meta = {m.get("name"): m.get("content") for m in self.ncc.iter(f"{X}meta")}
        self.headings = [e for e in self.ncc.find(f"{X}body") if e.tag[len(X) :][:1] == "h"]
        self.smils = sorted(n for n in self.names if n.endswith(".smil"))

    def xml(self, name: str) -> ET.Element:
        return ET.fromstring(self.zip.read(name))

    def ids(self, name: str) -> set[str]:
        return {e.get("id") for e in self.xml(name).iter() if e.get("id")}


def _clock_ms(value: str) -> int:
    h, m, s = value.split(":")
    return round((int(h) * 3600 + int(m) * 60 + float(s)) * 1000)


def _npt_ms(value: str) -> int:
    assert value.startswith("npt=") and value.endswith("s")
    return round(float(value[4:-1]) * 1000)


def _clips(smil: ET.Element) -> list[tuple[int, int]]:
    return [(_npt_ms(a.get("clip-begin")), _npt_ms(a.get("clip-end"))) for a in smil.iter("audio")]


@pytest.fixture(params=SLUGS)
def book(editions, request) -> Book:
    return Book(editions, request.param)


def test_the_ncc_has_the_metadata_daisy_2_02_requires(book):
    assert [name for name in REQUIRED if not book.meta.get(name)] == []
    assert book.meta["dc:format"] == "Daisy 2.02"
    assert book.meta["ncc:multimediaType"] == "audioFullText"
    assert book.meta["ncc:charset"] == "utf-8"
    assert book.manifest["voice"]["name"] in book.meta["ncc:narrator"]
    assert "synthetic" in book.meta["ncc:narrator"]
    assert book.meta["dc:title"] == book.manifest["title"]
    assert int(book.meta["ncc:files"]) == len(book.names)
    assert int(book.meta["ncc:tocItems"]) == len(book.headings)
    assert int(book.meta["ncc:depth"]) == max(int(h.tag[-1]) for h in book.headings)


def test_headings_start_with_the_title_and_never_skip_a_level(book):
    first = book.headings[0]
    assert first.tag == f"{X}h1" and first.get("class") == "title"
    assert "".join(first.itertext()) == book.manifest["title"]
    levels = [int(h.tag[-1]) for h in book.headings]
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels))


def test_every_reference_resolves_to_a_file_and_an_id(book):
    content_ids = book.ids("content.html")
    for heading in book.headings:
        target, _, fragment = heading.find(f"{X}a").get("href").partition("#")
        assert target in book.names and fragment in book.ids(target)
    for name in book.smils:
        for text in book.xml(name).iter("text"):
            target, _, fragment = text.get("src").partition("#")
            assert target == "content.html" and fragment in content_ids
        for audio in book.xml(name).iter("audio"):
            assert audio.get("src") in book.names


def test_every_spoken_element_is_a_par_with_its_text_and_clip(book):
    by_id = {e.get("id"): "".join(e.itertext()) for e in book.xml("content.html").iter()}
    pars = [p for name in book.smils for p in book.xml(name).iter("par")]
    elements = spoken(book.manifest)
    assert len(pars) == len(elements)
    for par, (eid, start, end, words) in zip(pars, elements, strict=True):
        assert par.find("text").get("src") == f"content.html#{eid}" and by_id[eid] == words
        begin, finish = _clips(par)[0]
        assert begin in (start, 0) and begin <= start < end <= finish


def test_times_add_up_as_a_daisy_player_counts_them(book):
    elapsed = 0  # the true running time: what a player has played before each SMIL
    declared = 0
    for name in book.smils:
        smil = book.xml(name)
        meta = {m.get("name"): m.get("content") for m in smil.iter("meta")}
        played = sum(end - begin for begin, end in _clips(smil))
        assert abs(_clock_ms(meta["ncc:totalElapsedTime"]) - elapsed) <= 500
        assert abs(_clock_ms(meta["ncc:timeInThisSmil"]) - played) <= 1
        assert smil.find("body/seq").get("dur") == f"{played / 1000:.3f}s"
        declared += _clock_ms(meta["ncc:timeInThisSmil"])
        elapsed += played
        # One MP3 for the book: a SMIL's first clip starts where the ones before it ended.
        assert _clips(smil)[0][0] == elapsed - played
    assert round(_clock_ms(book.meta["ncc:totalTime"]) / 1000) == round(declared / 1000)
    assert abs(elapsed - book.manifest["duration_ms"]) <= 1


def test_the_mp3_is_mono_and_constant_bit_rate(book, tmp_path):
    [mp3] = [n for n in book.names if n.endswith(".mp3")]
    path = tmp_path / "audio.mp3"
    path.write_bytes(book.zip.read(mp3))
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-of",
            "json",
            "-show_streams",
            "-show_entries",
            "packet=size",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    info = json.loads(out)
    [stream] = info["streams"]
    assert stream["codec_name"] == "mp3" and stream["channels"] == 1
    # CBR 48 kb/s at 22,050 Hz: every frame is 156 bytes, or 157 with a padding byte.
    assert {int(p["size"]) for p in info["packets"]} <= {156, 157}
    assert int(stream["bit_rate"]) == 48000


def test_the_markdown_headings_are_the_ncc_headings(editions):
    book = Book(editions, "tides")
    got = [(h.tag[len(X) :], "".join(h.itertext())) for h in book.headings]
    assert got == [("h1", book.manifest["title"]), ("h2", "Tides"), ("h3", "Spring tides")]
    assert len(book.smils) == 3


def test_a_plain_text_article_is_navigated_by_its_chapters(editions):
    book = Book(editions, "gwadar-editorial")
    chapters = [c["title"] for c in book.manifest["chapters"] if c["paragraphs"]]
    assert ["".join(h.itertext()) for h in book.headings] == [book.manifest["title"], *chapters]
    assert {h.tag for h in book.headings[1:]} == {f"{X}h2"}
