"""Tests of audio_edition.encode: the measured timing model, framing, tags, chapters, atomicity.

The integration tests encode synthetic segments (silence with a tone burst at a known sample),
mux them with the real ffmpeg, decode the book again and look for each burst where
segment_offsets says it is.
"""

from __future__ import annotations

import json
import struct
import subprocess
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest
from mutagen.id3 import ID3, CTOCFlags, PictureType
from mutagen.mp4 import MP4

from audio_edition import encode
from audio_edition.encode import (
    AAC,
    MP3,
    SAMPLE_RATE,
    Chapter,
    Codec,
    EncodeError,
    Tags,
    _scan,
    count_frames,
    encode_segment,
    ffmetadata,
    mux,
    segment_frames,
    segment_offsets,
    segment_samples,
    total_samples,
)

FULL_SCALE = 32768
ONE_MS = SAMPLE_RATE // 1000  # 22 samples
TAGS = Tags(
    title="Gwadar: an editorial’s title",
    author="Ayesha Khan",
    album="Editorials 2024",
    date="2024-05-01",
    language="eng",
    comment="Spoken by eSpeak NG; = # \\ all kept",
)
TRICKY_TITLE = "Two = ; # \\ and\na newline, ’quotes’"


# --- pure functions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("codec", "pcm_samples", "frames"),
    [
        (AAC, 1, 2),
        (AAC, 1024, 2),
        (AAC, 1025, 3),
        (AAC, 10240, 11),
        (MP3, 1, 3),
        (MP3, 576, 3),
        (MP3, 577, 4),
        (MP3, 5760, 12),
    ],
)
def test_segment_frames_formula(codec: Codec, pcm_samples: int, frames: int) -> None:
    assert segment_frames(pcm_samples, codec) == frames
    assert segment_samples(pcm_samples, codec) == frames * codec.frame_samples


def test_segment_frames_rejects_empty_segment() -> None:
    with pytest.raises(ValueError):
        segment_frames(0, AAC)


def test_offsets_add_lead_to_the_decoded_length_of_earlier_segments() -> None:
    assert segment_offsets([2048, 3072], AAC) == [1024, 3 * 1024 + 1024]
    assert total_samples([2048, 3072], AAC) == 3 * 1024 + 4 * 1024
    assert segment_offsets([576, 1152], MP3) == [1105, 3 * 576 + 1105]
    assert total_samples([576, 1152], MP3) == 3 * 576 + 4 * 576


def test_ffmetadata_escapes_special_characters() -> None:
    text = ffmetadata([Chapter(0, 1500, TRICKY_TITLE)], TAGS, MP3)
    assert "title=Two \\= \\; \\# \\\\ and\\\na newline, ’quotes’\n" in text
    assert "START=0\nEND=1500\n" in text
    assert "language=eng" in text


def _adts(length: int) -> bytes:
    """A fake AAC-LC 22,050 Hz mono ADTS frame of the given total length."""
    head = [0xFF, 0xF1, (1 << 6) | (7 << 2), (1 << 6) | (length >> 11), (length >> 3) & 0xFF]
    head += [((length & 7) << 5) | 0x1F, 0xFC]
    return bytes(head) + bytes(length - 7)


def _mp3(padding: int, bitrate_index: int = 6) -> bytes:
    """A fake MPEG-2 layer III 22,050 Hz mono frame (index 6 = 48 kb/s)."""
    kbps = encode._MPEG2_L3_KBPS[bitrate_index]
    length = 72_000 * kbps // SAMPLE_RATE + padding
    return bytes([0xFF, 0xF3, (bitrate_index << 4) | (padding << 1), 0xC4]) + bytes(length - 4)


def test_count_frames_across_chunk_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(encode, "_CHUNK", 50)  # frames straddle chunks
    (tmp_path / "a.aac").write_bytes(b"".join(_adts(n) for n in (120, 7, 300, 64)))
    (tmp_path / "a.mp3").write_bytes(b"".join(_mp3(p) for p in (0, 1, 1, 0, 1)))
    assert count_frames(tmp_path / "a.aac", AAC) == 4
    assert count_frames(tmp_path / "a.mp3", MP3) == 5


@pytest.mark.parametrize(
    ("codec", "data"),
    [
        (AAC, _adts(100)[:-1]),  # truncated frame
        (AAC, _adts(100) + b"junk!!!!"),
        (MP3, _mp3(0) + _mp3(1, bitrate_index=8)),  # 64 kb/s frame: not CBR 48
        (MP3, b"ID3\x03\x00\x00\x00\x00\x00\x00" + _mp3(0)),  # a header must not be there
    ],
)
def test_count_frames_rejects_anything_but_whole_frames(
    tmp_path: Path, codec: Codec, data: bytes
) -> None:
    path = tmp_path / "seg"
    path.write_bytes(data)
    with pytest.raises(EncodeError, match="bad .* segment"):
        count_frames(path, codec)


def test_mux_refuses_more_than_255_chapters(tmp_path: Path) -> None:
    chapters = [Chapter(i * 10, i * 10 + 10, f"c{i}") for i in range(256)]
    with pytest.raises(EncodeError, match="256 chapters"):
        mux([tmp_path / "x.aac"], AAC, chapters, TAGS, tmp_path / "book.m4b")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("chapters", "tags"),
    [
        ([Chapter(0, 100, "a"), Chapter(0, 200, "b")], TAGS),
        ([Chapter(50, 50, "a")], TAGS),
        ([Chapter(0, 100, "a")], Tags("t", None, "a", language="en")),
    ],
)
def test_mux_rejects_bad_requests(tmp_path: Path, chapters: list[Chapter], tags: Tags) -> None:
    with pytest.raises(EncodeError):
        mux([tmp_path / "x.mp3"], MP3, chapters, tags, tmp_path / "book.mp3")


# --- integration: a small book per codec ----------------------------------------------------


def _chirp(seconds: float = 0.02, f0: float = 300, f1: float = 6000) -> np.ndarray:
    """A loud linear chirp: broadband, so its cross-correlation has one sharp peak."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    phase = 2 * np.pi * (f0 * t + (f1 - f0) * t**2 / (2 * seconds))
    return (np.sin(phase) * 0.4 * FULL_SCALE).astype(np.int16)


BURST = _chirp()
BURST_AT = [4000, 5000, 3500, 9000]  # PCM sample of each segment's burst
SEGMENT_FRAMES = {"aac": [40, 23, 57, 31], "mp3": [70, 41, 99, 55]}
EXTRA_SAMPLES = [0, 0, 100, 0]  # one segment is not a whole number of frames
EDGE = 2048  # silent samples checked either side of a boundary


@dataclass
class Book:
    codec: Codec
    lengths: list[int]
    segments: list[Path]
    chapters: list[Chapter]
    path: Path
    decoded: np.ndarray


def _ffmpeg_decode(path: Path) -> np.ndarray:
    cmd = ["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-"]
    out = subprocess.run(cmd, capture_output=True, check=True).stdout
    return np.frombuffer(out, dtype=np.int16)


def _ffprobe(path: Path) -> dict:
    cmd = ["ffprobe", "-v", "error", "-of", "json", "-show_format", "-show_streams"]
    cmd += ["-show_chapters", str(path)]
    return json.loads(subprocess.run(cmd, capture_output=True, check=True, text=True).stdout)


def _png(path: Path) -> Path:
    """A 1x1 red PNG, written by hand so the tests need no image tool."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels)
    path.write_bytes(png + chunk(b"IEND", b""))
    return path


def _chapters(lengths: list[int], codec: Codec) -> list[Chapter]:
    """One chapter per segment, starting at the segment's PCM sample 0."""
    starts = [round(o * 1000 / SAMPLE_RATE) for o in segment_offsets(lengths, codec)]
    end = total_samples(lengths, codec) * 1000 // SAMPLE_RATE
    titles = ["One", TRICKY_TITLE, "Three: ثلاثة", "Four"]
    return [Chapter(s, e, t) for s, e, t in zip(starts, starts[1:] + [end], titles, strict=True)]


def _build(codec: Codec, where: Path) -> Book:
    lengths, segments = [], []
    frames = SEGMENT_FRAMES[codec.name]
    for k, (n, extra, at) in enumerate(zip(frames, EXTRA_SAMPLES, BURST_AT, strict=True)):
        pcm = np.zeros(n * codec.frame_samples + extra, dtype=np.int16)
        pcm[at : at + len(BURST)] = BURST
        segment = where / f"{k:03d}.{codec.segment_ext}"
        assert encode_segment(pcm.tobytes(), codec, segment) == segment_frames(len(pcm), codec)
        lengths.append(len(pcm))
        segments.append(segment)
    chapters = _chapters(lengths, codec)
    path = where / ("book.m4b" if codec is AAC else "book.mp3")
    mux(segments, codec, chapters, TAGS, path, cover=_png(where / "cover.png"))
    return Book(codec, lengths, segments, chapters, path, _ffmpeg_decode(path))


@pytest.fixture(scope="module")
def m4b(tmp_path_factory: pytest.TempPathFactory) -> Book:
    return _build(AAC, tmp_path_factory.mktemp("m4b"))


@pytest.fixture(scope="module")
def mp3(tmp_path_factory: pytest.TempPathFactory) -> Book:
    return _build(MP3, tmp_path_factory.mktemp("mp3"))


@pytest.fixture(params=["m4b", "mp3"])
def book(request: pytest.FixtureRequest) -> Book:
    return request.getfixturevalue(request.param)


def _find_burst(decoded: np.ndarray, near: int) -> int:
    """Sample where BURST starts in decoded, searched 200 ms either side of near."""
    lo = max(0, near - 4410)
    window = decoded[lo : near + 4410 + len(BURST)].astype(np.float64)
    score = np.correlate(window, BURST.astype(np.float64), mode="valid")
    return lo + int(np.argmax(score))


def _written_starts(book: Book) -> list[int]:
    """Chapter starts as mux writes them: the first one moved back to 0."""
    return [0] + [c.start_ms for c in book.chapters[1:]]


@pytest.mark.integration
def test_each_burst_lands_where_segment_offsets_predict(book: Book) -> None:
    offsets = segment_offsets(book.lengths, book.codec)
    for offset, at in zip(offsets, BURST_AT, strict=True):
        assert abs(_find_burst(book.decoded, offset + at) - (offset + at)) <= ONE_MS


@pytest.mark.integration
def test_decoded_length_is_total_samples(book: Book) -> None:
    assert len(book.decoded) == total_samples(book.lengths, book.codec)


@pytest.mark.integration
def test_segment_boundaries_stay_silent(book: Book) -> None:
    offsets = segment_offsets(book.lengths, book.codec)
    head = book.decoded[: offsets[0] + EDGE]  # priming before the first segment, too
    assert np.abs(head.astype(np.int32)).max() < 0.01 * FULL_SCALE
    for k in range(len(offsets) - 1):
        # From segment k's last EDGE PCM samples to segment k+1's first EDGE: all silence.
        around = book.decoded[offsets[k] + book.lengths[k] - EDGE : offsets[k + 1] + EDGE]
        assert np.abs(around.astype(np.int32)).max() < 0.01 * FULL_SCALE


@pytest.mark.integration
def test_ffprobe_reads_chapters_and_duration(book: Book) -> None:
    probe = _ffprobe(book.path)
    found = [(float(c["start_time"]), c["tags"]["title"]) for c in probe["chapters"]]
    assert [t for _, t in found] == [c.title for c in book.chapters]
    for (start, _), expected in zip(found, _written_starts(book), strict=True):
        assert abs(start * 1000 - expected) <= 5
    seconds = total_samples(book.lengths, book.codec) / SAMPLE_RATE
    assert abs(float(probe["format"]["duration"]) - seconds) <= 0.05


@pytest.mark.integration
@pytest.mark.parametrize("codec", [AAC, MP3], ids=["aac", "mp3"])
@pytest.mark.parametrize("pcm_samples", [1, 575, 1024, 5000, 576 * 7])
def test_encode_segment_matches_the_frame_model(
    tmp_path: Path, codec: Codec, pcm_samples: int
) -> None:
    noise = np.random.default_rng(pcm_samples).normal(0, 3000, pcm_samples).astype(np.int16)
    dest = tmp_path / f"seg.{codec.segment_ext}"
    frames = encode_segment(noise.tobytes(), codec, dest)
    assert frames == segment_frames(pcm_samples, codec) == count_frames(dest, codec)
    assert len(_ffmpeg_decode(dest)) == segment_samples(pcm_samples, codec)
    # No temp file left; the segment's content hash recorded beside it.
    assert sorted(p.name for p in tmp_path.iterdir()) == [dest.name, f"{dest.name}.sha256"]


def _boxes(data: bytes, start: int = 0, end: int | None = None) -> list[tuple[bytes, bytes]]:
    """(type, payload) of each MP4 box between start and end."""
    end = len(data) if end is None else end
    found = []
    while start + 8 <= end:
        size, kind = struct.unpack(">I4s", data[start : start + 8])
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", data[start + 8 : start + 16])[0], 16
        found.append((kind, data[start + header : start + (size or end - start)]))
        start += size or end - start
    return found


def _find(data: bytes, *path: bytes) -> list[bytes]:
    """Payloads of every box at path (a box list per level, so every trak is searched)."""
    if not path:
        return [data]
    return [
        found
        for kind, payload in _boxes(data)
        if kind == path[0]
        for found in _find(payload, *path[1:])
    ]


def _audio_edit_list(data: bytes) -> list[tuple[int, int]]:
    """(segment duration, media time) entries of the audio track's edit list."""
    (trak,) = [
        t for t in _find(data, b"moov", b"trak") if _find(t, b"mdia", b"hdlr")[0][8:12] == b"soun"
    ]
    (elst,) = _find(trak, b"edts", b"elst")
    version, count = elst[0], struct.unpack(">I", elst[4:8])[0]
    entry = ">Qq" if version else ">Ii"
    step = struct.calcsize(entry) + 4  # + media rate
    return [struct.unpack_from(entry, elst, 8 + i * step) for i in range(count)]


@pytest.mark.integration
def test_m4b_tags_cover_and_both_chapter_lists(m4b: Book) -> None:
    tags = MP4(m4b.path).tags
    assert tags["©nam"] == [TAGS.title] and tags["©ART"] == [TAGS.author]
    assert tags["©alb"] == [TAGS.album] and tags["©gen"] == ["Speech"]
    assert tags["©day"] == [TAGS.date] and tags["©cmt"] == [TAGS.comment]
    assert tags["stik"] == [2]  # audiobook
    assert tags["covr"][0].startswith(b"\x89PNG")
    # Nero chpl, as mutagen reads it
    nero = MP4(m4b.path).chapters
    assert [c.title for c in nero] == [c.title for c in m4b.chapters]
    for found, expected in zip(nero, _written_starts(m4b), strict=True):
        assert abs(found.start * 1000 - expected) <= 5
    # QuickTime chapter track (the one ffprobe reads), the brand and faststart
    data = m4b.path.read_bytes()
    assert data[8:12] == b"M4B "
    assert _find(data, b"moov", b"trak", b"tref", b"chap")
    top = [kind for kind, _ in _boxes(data)]
    assert top.index(b"moov") < top.index(b"mdat")
    audio = next(s for s in _ffprobe(m4b.path)["streams"] if s["codec_type"] == "audio")
    assert audio["tags"]["language"] == "eng"
    assert (audio["codec_name"], audio["profile"], audio["channels"]) == ("aac", "LC", 1)
    assert int(audio["sample_rate"]) == SAMPLE_RATE


@pytest.mark.integration
def test_m4b_edit_list_trims_no_priming(m4b: Book) -> None:
    # media_time 0: players that honour the edit list start at the same sample as those
    # that ignore it, so lead_samples (1024) holds for both.
    edits = _audio_edit_list(m4b.path.read_bytes())
    assert [media_time for _, media_time in edits] == [0]


@pytest.mark.integration
def test_mp3_id3v23_tags_and_chapters(mp3: Book) -> None:
    id3 = ID3(mp3.path)
    assert id3.version == (2, 3, 0)
    texts = {key: id3[key].text[0] for key in ("TIT2", "TPE1", "TALB", "TCON", "TLAN")}
    assert texts == {
        "TIT2": TAGS.title,
        "TPE1": TAGS.author,
        "TALB": TAGS.album,
        "TCON": "Speech",
        "TLAN": "eng",
    }
    assert str(id3["TDRC"].text[0]) == TAGS.date  # written as TYER + TDAT in v2.3
    assert id3.getall("COMM")[0].text == [TAGS.comment]
    assert id3.getall("APIC")[0].type == PictureType.COVER_FRONT
    chaps = sorted(id3.getall("CHAP"), key=lambda c: c.start_time)
    assert [c.sub_frames["TIT2"].text[0] for c in chaps] == [c.title for c in mp3.chapters]
    assert [c.start_time for c in chaps] == _written_starts(mp3)
    assert [c.end_time for c in chaps] == [c.end_ms for c in mp3.chapters]
    (toc,) = id3.getall("CTOC")
    assert toc.flags == CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED
    assert toc.child_element_ids == [c.element_id for c in chaps]


@pytest.mark.integration
def test_mp3_is_cbr_mono_frames_with_no_xing_frame(mp3: Book) -> None:
    data = mp3.path.read_bytes()
    size = sum(b << (7 * (3 - i)) for i, b in enumerate(data[6:10]))
    audio = data[10 + size :]
    assert b"Xing" not in audio[:200] and b"Info" not in audio[:200]
    # _scan insists on 48 kb/s mono 22,050 Hz frames; an Info frame would add one frame.
    frames, used = encode._scan(audio, MP3)
    assert used == len(audio)
    assert frames * MP3.frame_samples == total_samples(mp3.lengths, MP3)


@pytest.mark.integration
def test_mux_is_deterministic(book: Book, tmp_path: Path) -> None:
    again = tmp_path / book.path.name
    mux(book.segments, book.codec, book.chapters, TAGS, again, cover=_png(tmp_path / "c.png"))
    assert again.read_bytes() == book.path.read_bytes()


# --- integration: atomicity -----------------------------------------------------------------


def _old_dest(tmp_path: Path, codec: Codec) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    dest = out / ("book.m4b" if codec is AAC else "book.mp3")
    dest.write_bytes(b"previous edition")
    return dest


def _assert_untouched(dest: Path) -> None:
    assert dest.read_bytes() == b"previous edition"
    assert [p.name for p in dest.parent.iterdir()] == [dest.name]  # no temp file left


@pytest.mark.integration
@pytest.mark.parametrize("damage", ["garbage", "missing", "truncated"])
def test_failed_mux_leaves_dest_untouched(book: Book, tmp_path: Path, damage: str) -> None:
    dest = _old_dest(tmp_path, book.codec)
    bad = tmp_path / f"bad.{book.codec.segment_ext}"
    if damage == "garbage":
        bad.write_bytes(b"not audio at all" * 100)
    elif damage == "truncated":
        bad.write_bytes(book.segments[1].read_bytes()[:-10])
    segments = [book.segments[0], bad, *book.segments[2:]]
    with pytest.raises(EncodeError, match="bad .* segment"):
        mux(segments, book.codec, book.chapters, TAGS, dest)
    _assert_untouched(dest)


@pytest.mark.integration
def test_a_segment_cut_at_a_frame_boundary_is_never_muxed(book: Book, tmp_path: Path) -> None:
    # Whole frames, so every frame check passes; only the length gives it away.
    dest = _old_dest(tmp_path, book.codec)
    cut = tmp_path / f"cut.{book.codec.segment_ext}"
    data = book.segments[1].read_bytes()
    frames, used = _scan(data, book.codec)
    _, keep = _scan(data[: used // 2], book.codec)
    cut.write_bytes(data[:keep])
    segments = [book.segments[0], cut, *book.segments[2:]]
    samples = total_samples(book.lengths, book.codec)
    with pytest.raises(EncodeError, match="last .* s, the edition .* s") as err:
        mux(segments, book.codec, book.chapters, TAGS, dest, samples=samples)
    assert "\n" not in str(err.value)
    _assert_untouched(dest)
    mux(book.segments, book.codec, book.chapters, TAGS, dest, samples=samples)  # whole: fine


@pytest.mark.integration
def test_ffmpeg_failure_is_one_line_and_leaves_dest_untouched(book: Book, tmp_path: Path) -> None:
    dest = _old_dest(tmp_path, book.codec)
    cover = tmp_path / "cover.png"
    cover.write_bytes(b"this is not an image")
    with pytest.raises(EncodeError, match="ffmpeg could not write") as err:
        mux(book.segments, book.codec, book.chapters, TAGS, dest, cover=cover)
    assert "\n" not in str(err.value)
    _assert_untouched(dest)


@pytest.mark.integration
def test_interrupted_mux_leaves_dest_untouched(
    book: Book, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = _old_dest(tmp_path, book.codec)
    fed = []

    def feed_then_interrupt(path: Path, codec: Codec, sink) -> int:  # noqa: ANN001
        if fed:
            raise KeyboardInterrupt
        fed.append(path)
        return real_feed(path, codec, sink)

    real_feed = encode._feed_segment
    monkeypatch.setattr(encode, "_feed_segment", feed_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        mux(book.segments, book.codec, book.chapters, TAGS, dest)
    _assert_untouched(dest)


@pytest.mark.integration
def test_encode_segment_rejects_odd_bytes_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(EncodeError, match="whole s16 samples"):
        encode_segment(b"\x00\x00\x00", AAC, tmp_path / "s.aac")
    broken = replace(MP3, bitrate_kbps=-48)  # ffmpeg refuses it
    with pytest.raises(EncodeError, match="ffmpeg could not encode"):
        encode_segment(bytes(2048), broken, tmp_path / "s.mp3")
    assert list(tmp_path.iterdir()) == []


def test_encode_segment_makes_the_cache_folder_it_writes_into(tmp_path: Path) -> None:
    frames = encode_segment(bytes(2048), MP3, tmp_path / "ab" / "s.mp3")
    assert (tmp_path / "ab" / "s.mp3").stat().st_size > 0 and frames > 0


@pytest.mark.integration
@pytest.mark.parametrize("codec", [AAC, MP3], ids=["aac", "mp3"])
def test_a_streamed_segment_encodes_exactly_as_one_given_whole(tmp_path: Path, codec: Codec):
    """Streaming the PCM in pieces only saves memory: the segment's bytes are the same."""
    rng = np.random.default_rng(7)
    pcm = (rng.standard_normal(22050 * 3) * 3000).astype("<i2").tobytes()
    encode.encode_segment(pcm, codec, tmp_path / f"whole.{codec.segment_ext}")

    def render(sink) -> int:
        for start in range(0, len(pcm), 10_000):
            sink.write(pcm[start : start + 10_000])
        return len(pcm) // 2

    encode.encode_stream(render, codec, tmp_path / "streamed" / f"s.{codec.segment_ext}")
    whole = (tmp_path / f"whole.{codec.segment_ext}").read_bytes()
    assert (tmp_path / "streamed" / f"s.{codec.segment_ext}").read_bytes() == whole


@pytest.mark.integration
def test_a_segment_whose_audio_fails_midway_leaves_no_file(tmp_path: Path) -> None:
    def render(sink) -> int:
        sink.write(bytes(4096))
        raise OSError("clip vanished")

    with pytest.raises(OSError, match="clip vanished"):
        encode.encode_stream(render, AAC, tmp_path / "s.aac")
    assert list(tmp_path.iterdir()) == []
