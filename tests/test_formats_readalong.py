"""The read-along layout (EPUB and DAISY share it), on small hand-made manifests: no audio."""

from __future__ import annotations

from audio_edition.formats import readalong as ra

from .editions import edition


def _para(n: int, start: int, heading=None, level=None, sentences=1, chapter=None) -> dict:
    spoken = [
        {
            "id": f"p{n}s{i}",
            "text": f"Sentence {i}.",
            "start_ms": start + 1000 * i,
            "end_ms": start + 1000 * i + 800,
        }
        for i in range(1, sentences + 1)
    ]
    return {
        "index": n,
        "id": f"p{n}",
        "heading": heading,
        "heading_level": level,
        "heading_start_ms": start if heading else None,
        "heading_end_ms": start + 500 if heading else None,
        "text": " ".join(s["text"] for s in spoken),
        "chapter": chapter or n,
        "sentences": spoken,
    }


def _manifest(paragraphs, title="T", opening=True) -> dict:
    chapters = [
        {"index": p["chapter"], "title": f"Chapter {p['index']}", "paragraphs": [p["index"]]}
        for p in paragraphs
    ]
    announcement = {"text": "Opening.", "start_ms": 50, "end_ms": 900}
    return {
        "title": title,
        "slug": "t",
        "author": None,
        "date": None,
        "language": "en",
        "duration_ms": paragraphs[-1]["sentences"][-1]["end_ms"] + 500,
        "announcements": {"opening": announcement if opening else None, "closing": None},
        "chapters": [{"index": 0, "title": "Opening announcement", "paragraphs": []}, *chapters],
        "paragraphs": paragraphs,
    }


def test_heading_levels_are_renumbered_under_the_title_without_skipping():
    levels = [2, 4, 4, 3, 2, 5, 1]
    assert list(ra._levels(levels)) == [2, 3, 3, 3, 2, 3, 2]


def _layout(manifest: dict) -> list[ra.Section]:
    return ra.layout(edition(manifest))


def test_a_plain_text_article_gets_the_title_then_its_chapters():
    sections = _layout(_manifest([_para(1, 1000), _para(2, 5000)]))
    assert [(s.level, s.label) for s in sections] == [(1, "T"), (2, "Chapter 1"), (2, "Chapter 2")]
    assert [p.id for p in sections[0].phrases] == ["opening"]
    assert sections[0].blocks[0].id == "title" and not sections[0].blocks[0].phrases


def test_without_an_opening_the_unspoken_title_takes_in_the_first_section():
    sections = _layout(_manifest([_para(1, 1000), _para(2, 5000)], opening=False))
    assert [(s.level, s.label) for s in sections] == [(1, "T"), (2, "Chapter 2")]
    assert [p.id for p in sections[0].phrases] == ["p1s1"]


def test_a_first_heading_that_is_the_title_is_the_title():
    paragraphs = [_para(1, 1000, "T", 1), _para(2, 5000, "Part", 2), _para(3, 9000, "Sub", 4)]
    sections = _layout(_manifest(paragraphs))
    blocks = [(b.tag, b.id) for s in sections for b in s.blocks]
    assert blocks[:3] == [("p", "opening"), ("h1", "p1h"), ("p", "p1")]
    assert [(s.level, s.label) for s in sections] == [(1, "T"), (2, "Part"), (3, "Sub")]


def test_clips_tile_the_whole_timeline():
    manifest = _manifest([_para(1, 1000, sentences=3), _para(2, 6000)])
    phrases = [p for s in _layout(manifest) for p in s.phrases]
    assert phrases[0].clip_begin_ms == 0 and phrases[-1].clip_end_ms == manifest["duration_ms"]
    for a, b in zip(phrases, phrases[1:], strict=False):
        assert a.clip_end_ms == b.clip_begin_ms == b.start_ms and a.clip_end_ms >= a.end_ms


def test_modified_is_the_article_date_and_a_time_from_the_content():
    manifest = _manifest([_para(1, 1000)])
    assert ra.modified(edition(manifest)).startswith("2000-01-01T")
    manifest["date"] = "2024-02-29"
    stamp = ra.modified(edition(manifest))
    assert stamp.startswith("2024-02-29T") and stamp == ra.modified(edition(manifest))
    manifest["paragraphs"][0]["sentences"][0]["text"] = "Changed."
    assert ra.modified(edition(manifest)) != stamp
    manifest["date"] = "29 February 2024"  # not a W3C date: not used
    assert ra.article_date(edition(manifest)) is None
