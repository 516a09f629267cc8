"""How the edition is cut into segments, and how segments line up in every codec."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from audio_edition.assemble import CODECS, aligned_lead, aligned_length, pads, plan_segments
from audio_edition.encode import segment_samples


def _paragraphs(names: list[str]) -> tuple[list, list]:
    """Owners and clip keys for paragraphs of three sentences, keyed by their text."""
    owners, keys = ["opening"], ["opening"]
    for number, name in enumerate(names, start=1):
        for s in range(3):
            owners.append(number)
            keys.append(hashlib.sha256(f"{name}/{s}".encode()).hexdigest())
    return [*owners, "closing"], [*keys, "closing"]


def _segments_as_keys(names: list[str]) -> list[tuple[str, ...]]:
    owners, keys = _paragraphs(names)
    return [tuple(keys[i] for i in seg) for seg in plan_segments(owners, keys)]


NAMES = [f"paragraph {n}" for n in range(60)]


def test_every_utterance_is_in_exactly_one_segment_in_order():
    owners, keys = _paragraphs(NAMES)
    plan = plan_segments(owners, keys)
    assert [i for seg in plan for i in seg] == list(range(len(owners)))
    assert plan[0] == [0] and plan[-1] == [len(owners) - 1]  # the announcements alone


def test_segments_hold_several_paragraphs_and_never_split_one():
    owners, keys = _paragraphs(NAMES)
    plan = plan_segments(owners, keys)[1:-1]
    assert len(plan) < len(NAMES) / 2
    for seg in plan:
        assert len(seg) % 3 == 0  # whole paragraphs of three sentences


def test_an_edit_or_insert_changes_only_the_segments_around_it():
    before = set(_segments_as_keys(NAMES))
    edited = NAMES.copy()
    edited[30] = "paragraph 30, corrected"
    assert len(set(_segments_as_keys(edited)) - before) <= 2
    inserted = NAMES[:20] + ["a new paragraph"] + NAMES[20:]
    assert len(set(_segments_as_keys(inserted)) - before) <= 2


def test_no_segment_holds_more_text_than_the_cap_unless_one_paragraph_does():
    # Hashes alone can leave a short article in one long segment: an edit anywhere in it
    # would re-encode all of it.
    owners, keys = _paragraphs(NAMES)
    sizes = [200] * len(owners)  # 600 characters a paragraph
    plan = plan_segments(owners, keys, sizes=sizes, most_chars=1500)
    assert max(sum(sizes[i] for i in seg) for seg in plan) <= 1500
    assert [i for seg in plan for i in seg] == list(range(len(owners)))
    assert len(plan_segments(owners, keys, sizes=[5000] * len(owners))) == len(NAMES) + 2


@given(st.integers(min_value=1, max_value=3_000_000))
def test_a_segment_decodes_to_the_same_length_in_every_codec(content):
    length = aligned_length(content)
    lead = aligned_lead()
    for codec in CODECS:
        pre, post = pads(content, lead, length, codec)
        assert pre >= 0 and post >= 0
        assert codec.lead_samples + pre == lead  # content starts at the same sample
        assert segment_samples(pre + content + post, codec) == length
