"""Encode an edition's audio once per segment, then remux the cached segments into M4B / MP3.

Why segments
    Encoding 2 h of speech takes ~45 s (AAC) or ~40 s (MP3), too slow when an editor fixes a
    word. The edition's PCM is therefore cut into segments (runs of about six paragraphs,
    each starting and ending in silence); each is encoded on its own into a raw elementary
    stream (ADTS AAC, or bare MP3 frames with no Xing/LAME/ID3 header) and cached. The book
    is the byte concatenation of its segments' frames, remuxed by ``ffmpeg -c copy`` with
    chapters and tags. An edit re-encodes one segment and remuxes, which takes seconds.

Timing (measured with ffmpeg 5.1 / libmp3lame 3.100, see tests/test_encode.py)
    A segment of ``n`` PCM samples encodes to ``ceil(n / frame_samples) + extra_frames``
    frames and decodes to exactly that many frames times ``frame_samples`` samples, of which
    the first ``lead_samples`` precede the segment's PCM sample 0:

    ========  =============  ============  ============  ====================================
    codec     frame_samples  extra_frames  lead_samples  why
    ========  =============  ============  ============  ====================================
    AAC-LC    1024           1             1024          encoder priming (1024); ADTS cannot
                                                         say so, so every decoder outputs it
    MP3       576 (MPEG-2)   2             1105          LAME encoder delay 576 + the 529
                                                         samples of decoder filterbank delay
    ========  =============  ============  ============  ====================================

    Both hold for every length tried (1..2400 samples in steps of 37 and frame multiples);
    ``encode_segment`` re-checks the frame count on every call. Sample ``j`` of segment ``k``
    is therefore at ``segment_offsets(...)[k] + j`` in the decoded book, to the sample.

    Containers add nothing on top:

    - M4B: ffmpeg writes an edit list with media_time 0 (no priming is trimmed), so a player
      that honours edit lists and one that ignores them play the same samples.
    - MP3: the book gets no Xing/Info frame (``-write_xing 0``). With one, ffmpeg stores a LAME
      tag saying delay 0 and then skips 529 samples on decoding while decoders that ignore the
      tag skip nothing, so players would disagree by 24 ms. Without it every decoder outputs
      every frame. CBR keeps the duration and seeking exact without the Xing seek table.

Codec settings (measured on 396 s of eSpeak NG speech, 22,050 Hz mono)
    - AAC: native encoder, AAC-LC, ``-aac_coder fast``, ``-b:a 48k``. The fast coder is 5-6x
      faster than the default twoloop (2.4 s against 14.8 s for 396 s). It overshoots the
      nominal rate: 48k gives ~59 kb/s on speech (ADTS), which is within our 48-64 kb/s budget,
      while 64k would give ~75 kb/s. Waveform SNR 24 dB, band-limited at the 11 kHz Nyquist.
    - MP3: libmp3lame CBR 48 kb/s mono, MPEG-2 layer III (576-sample frames at 22,050 Hz).
      CBR mono because the DAISY writer needs it; 48 kb/s keeps ~10 kHz of bandwidth for
      speech at 21 MB per hour (SNR 19.7 dB; 64 kb/s buys 2.7 dB for a third more bytes).

Speed (2 h book as 200 segments of 36 s of low noise, 2 cores, shared machine)
    One-shot encode ~23 s per codec; the 200 segments take ~48 s with one worker (each ffmpeg
    start costs ~0.1 s) and ~23 s with two. mux takes 0.8-1.7 s; an edit (one segment
    re-encoded, then mux) 1.1-1.7 s. Speech costs about twice low noise to encode.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import math
import os
import re
import struct
import subprocess
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, BinaryIO

from audio_edition.errors import AudioEditionError
from audio_edition.files import digest_path, record_digest
from audio_edition.pcm import SAMPLE_RATE
from audio_edition.tools import ffmpeg_missing

MAX_CHAPTERS = 255  # the chapter limit of both MP4 (QuickTime, Nero) and ID3 CTOC in practice
FFMPEG = "ffmpeg"
_CHUNK = 1 << 20
_PCM_INPUT = ["-f", "s16le", "-ar", str(SAMPLE_RATE), "-ac", "1", "-i", "pipe:0"]


class EncodeError(AudioEditionError):
    """Encoding or muxing failed; the message is one line."""


@dataclass(frozen=True)
class Codec:
    """One output codec: its measured framing and timing constants, and how ffmpeg encodes,
    frames and muxes it. A new codec is one more instance (see AAC and MP3 below)."""

    name: str  # "aac" | "mp3": names its folder of cached segments
    frame_samples: int  # samples per codec frame
    segment_ext: str  # extension of a cached segment: "aac" (ADTS) | "mp3" (bare frames)
    lead_samples: int  # decoded samples before a segment's PCM sample 0 (priming + delays)
    extra_frames: int  # frames a segment has beyond ceil(pcm_samples / frame_samples)
    bitrate_kbps: int  # nominal; AAC's fast coder overshoots it (see module docstring)
    encoder: tuple[str, ...]  # ffmpeg encoder args, before the rate and channel args
    segment_muxer: tuple[str, ...]  # ffmpeg args writing a segment as bare frames
    demuxer: str  # ffmpeg input format of a concatenation of segments
    header_bytes: int  # a frame header's length
    frame_length: Callable[[bytes, int], int]  # (header, kbps) -> frame bytes; raises if not ours
    container: str  # ffmpeg output format of the book
    mux_args: tuple[str, ...]  # ffmpeg args for the book, before its format
    tag_fields: tuple[str, ...]  # Tags fields in the global metadata, after title..date
    fixed_tags: tuple[tuple[str, str], ...] = ()  # further global metadata
    language_on_stream: bool = False  # the language tag goes on the audio stream (MP4)
    id3_comment: bool = False  # the comment is written as an ID3 COMM frame by mux itself

    def encode_args(self) -> list[str]:
        """ffmpeg output args that encode s16le mono 22,050 Hz to this codec."""
        return [*self.encoder, "-ar", str(SAMPLE_RATE), "-ac", "1", "-b:a", f"{self.bitrate_kbps}k"]

    def segment_muxer_args(self) -> list[str]:
        """ffmpeg args that write a segment as a bare elementary stream."""
        return list(self.segment_muxer)


@dataclass(frozen=True)
class Chapter:
    """A chapter, in milliseconds of the decoded file (see segment_offsets)."""

    start_ms: int
    end_ms: int
    title: str


@dataclass(frozen=True)
class Tags:
    """Book-level tags. language is an ISO 639-2 code ("eng"), as both MP4 and ID3 need."""

    title: str
    author: str | None
    album: str
    genre: str = "Speech"
    date: str | None = None
    language: str | None = None
    comment: str | None = None


# --- timing ---------------------------------------------------------------------------------


def segment_frames(pcm_samples: int, codec: Codec) -> int:
    """Number of frames encode_segment produces for pcm_samples samples (measured formula)."""
    if pcm_samples <= 0:
        raise ValueError(f"a segment needs at least one sample, got {pcm_samples}")
    return math.ceil(pcm_samples / codec.frame_samples) + codec.extra_frames


def segment_samples(pcm_samples: int, codec: Codec) -> int:
    """Decoded length, in samples, that the segment occupies in the final file."""
    return segment_frames(pcm_samples, codec) * codec.frame_samples


def segment_offsets(segment_pcm_samples: list[int], codec: Codec) -> list[int]:
    """Decoded sample index of each segment's PCM sample 0 in the final file.

    Sample j of segment k is at ``offsets[k] + j``; divide by SAMPLE_RATE for seconds.
    """
    offsets = []
    start = 0
    for pcm_samples in segment_pcm_samples:
        offsets.append(start + codec.lead_samples)
        start += segment_samples(pcm_samples, codec)
    return offsets


def total_samples(segment_pcm_samples: list[int], codec: Codec) -> int:
    """Decoded length, in samples, of the final file made of these segments."""
    return sum(segment_samples(n, codec) for n in segment_pcm_samples)


# --- frame parsing --------------------------------------------------------------------------

_MPEG2_L3_KBPS = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)


def _adts_length(head: bytes, kbps: int = 0) -> int:
    """Length of the ADTS frame whose 7-byte header is head; raises if not ours (the rate
    is in the header: ``kbps`` is not used)."""
    ok = head[0] == 0xFF and head[1] & 0xF6 == 0xF0  # syncword, layer 0
    profile, rate_index = head[2] >> 6, (head[2] >> 2) & 0xF
    channels = ((head[2] & 1) << 2) | (head[3] >> 6)
    length = ((head[3] & 3) << 11) | (head[4] << 3) | (head[5] >> 5)
    # One raw data block per frame, else a frame would not be 1024 samples.
    if not (ok and profile == 1 and rate_index == 7 and channels == 1 and head[6] & 3 == 0):
        raise ValueError("not an AAC-LC 22,050 Hz mono ADTS frame")
    if length < 7:
        raise ValueError("ADTS frame shorter than its header")
    return length


def _mp3_length(head: bytes, kbps: int) -> int:
    """Length of the MP3 frame whose 4-byte header is head; raises if not ours."""
    ok = head[0] == 0xFF and head[1] & 0xFE == 0xF2  # sync, MPEG-2, layer III
    rate_ok = (head[2] >> 2) & 3 == 0 and head[3] >> 6 == 3  # 22,050 Hz, single channel
    if not (ok and rate_ok):
        raise ValueError("not an MPEG-2 layer III 22,050 Hz mono frame")
    if _MPEG2_L3_KBPS[head[2] >> 4] != kbps:
        raise ValueError(f"frame is not {kbps} kb/s (the MP3 must be CBR)")
    return 72_000 * kbps // SAMPLE_RATE + ((head[2] >> 1) & 1)


AAC = Codec(
    "aac",
    1024,
    "aac",
    lead_samples=1024,
    extra_frames=1,
    bitrate_kbps=48,
    encoder=("-c:a", "aac", "-profile:a", "aac_low", "-aac_coder", "fast"),
    segment_muxer=("-f", "adts"),
    demuxer="aac",
    header_bytes=7,
    frame_length=_adts_length,
    # ipod + M4B brand = a proper .m4b; faststart puts moov first for the web player.
    container="ipod",
    mux_args=("-movflags", "+faststart", "-brand", "M4B "),
    # MP4 has no global language atom (it goes on the audio track); stik 2 makes Apple
    # players file the book as an audiobook.
    tag_fields=("comment",),
    fixed_tags=(("media_type", "2"),),
    language_on_stream=True,
)
MP3 = Codec(
    "mp3",
    576,
    "mp3",
    lead_samples=1105,
    extra_frames=2,
    bitrate_kbps=48,
    # No -q:a and no -abr: libmp3lame is then strictly CBR.
    encoder=("-c:a", "libmp3lame"),
    # No Xing/LAME frame and no ID3: the segment must be only audio frames to concatenate.
    segment_muxer=("-write_xing", "0", "-id3v2_version", "0", "-write_id3v1", "0", "-f", "mp3"),
    demuxer="mp3",
    header_bytes=4,
    frame_length=_mp3_length,
    container="mp3",
    # No Xing/Info frame (see module docstring).
    mux_args=("-id3v2_version", "3", "-write_xing", "0", "-write_id3v1", "0"),
    # ffmpeg would write the comment as TXXX, not COMM: mux adds a COMM frame itself.
    tag_fields=("language",),
    id3_comment=True,
)


def _scan(buf: bytes | memoryview, codec: Codec) -> tuple[int, int]:
    """Count the whole frames at the start of buf; return (frames, bytes they span)."""
    head_size = codec.header_bytes
    frames = pos = 0
    while pos + head_size <= len(buf):
        head = bytes(buf[pos : pos + head_size])
        length = codec.frame_length(head, codec.bitrate_kbps)
        if pos + length > len(buf):
            break
        pos += length
        frames += 1
    return frames, pos


def _stream_frames(src: IO[bytes], codec: Codec, sink: IO[bytes] | None) -> int:
    """Count src's frames, chunk by chunk, copying the bytes to sink; raise on any stray byte."""
    frames, carry = 0, b""
    while chunk := src.read(_CHUNK):
        if sink is not None:
            sink.write(chunk)
        buf = carry + chunk
        count, used = _scan(buf, codec)
        frames, carry = frames + count, buf[used:]
    if carry:
        raise ValueError(f"{len(carry)} trailing bytes are not a whole frame")
    return frames


def count_frames(path: Path, codec: Codec) -> int:
    """Number of frames in a segment file; EncodeError if it is not only whole frames."""
    return _frames_and_digest(path, codec)[0]


class _Hasher:
    """A sink that only hashes what is written to it."""

    def __init__(self) -> None:
        self.hash = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        return len(data)


def _frames_and_digest(path: Path, codec: Codec) -> tuple[int, str]:
    """A segment file's frame count and SHA-256, in one read."""
    hasher = _Hasher()
    try:
        with open(path, "rb") as src:
            frames = _stream_frames(src, codec, hasher)  # type: ignore[arg-type]
    except (OSError, ValueError) as err:
        raise EncodeError(f"bad {codec.name} segment {path}: {_one_line(err)}") from None
    return frames, hasher.hash.hexdigest()


# --- encoding -------------------------------------------------------------------------------


def encode_segment(pcm: bytes, codec: Codec, dest: Path) -> int:
    """Encode s16le mono 22,050 Hz PCM to dest atomically; return its frame count."""
    if not pcm or len(pcm) % 2:
        raise EncodeError(f"segment {dest.name}: PCM must be whole s16 samples, got {len(pcm)} B")
    return encode_stream(lambda sink: sink.write(pcm) // 2, codec, dest)


def encode_stream(
    render: Callable[[BinaryIO], int],
    codec: Codec,
    dest: Path | Callable[[], Path],
    scratch: Path | None = None,
    lock: Callable[[Path], contextlib.AbstractContextManager] | None = None,
) -> int:
    """Encode the PCM that ``render(sink)`` writes (returning its samples) to dest atomically.

    The PCM is piped straight into ffmpeg, so no segment is ever whole in memory or on
    disk. One ffmpeg process per segment: measured on 12 segments of 260 s, that costs
    1.3 s of CPU more than one long encode (ffmpeg's start-up), while one ffmpeg with 12
    inputs and 12 outputs cost 4-5 s more (its multi-input threads). Returns the frame
    count, checked against the timing model.

    ``dest`` may be a function called once ``render`` has returned: a segment streamed
    while its sentences are still being spoken is named by its recipe, known only at its
    end. Its temp file is then made in ``scratch``, on the same filesystem as dest.

    ``lock(dest)`` (a shared cache's entry lock) is held while the segment is put in
    place; a whole segment already there (another build made it) is then kept.
    """
    folder = dest.parent if isinstance(dest, Path) else scratch
    if folder is None:
        raise ValueError("a destination named later needs a scratch folder")
    folder.mkdir(parents=True, exist_ok=True)
    name = dest.name if isinstance(dest, Path) else "segment"
    tmp = _temp_in(folder, name)
    cmd = [*_ffmpeg(), *_PCM_INPUT, *codec.encode_args(), *codec.segment_muxer_args(), tmp]
    try:
        with tempfile.TemporaryFile() as errors:
            samples, returncode = _pipe_through(cmd, render, errors)
            errors.seek(0)
            said = errors.read()
        if failed := _os_error(said, tmp):
            raise failed  # ffmpeg could not write (a full disk): even with exit status 0
        message = _last_line(said)
        if returncode != 0:
            raise EncodeError(f"ffmpeg could not encode {name}: {message}")
        if samples <= 0:
            raise EncodeError(f"segment {name}: no audio to encode")
        final = dest if isinstance(dest, Path) else dest()
        frames, digest = _frames_and_digest(Path(tmp), codec)
        expected = segment_frames(samples, codec)
        if frames != expected:
            raise EncodeError(f"{final.name}: {frames} frames, timing model expects {expected}")
        final.parent.mkdir(parents=True, exist_ok=True)
        with lock(final) if lock is not None else contextlib.nullcontext():
            if lock is not None and final.exists() and digest_path(final).exists():
                return frames  # made by another build meanwhile: one whole entry stays
            os.replace(tmp, final)
            # Its hash lands last: a segment without one is incomplete and is made again.
            record_digest(final, digest)
        return frames
    finally:
        _unlink(tmp)


def _pipe_through(
    cmd: list[str], render: Callable[[BinaryIO], int], errors: IO[bytes]
) -> tuple[int, int]:
    """Run ffmpeg with ``render`` writing its stdin; return (what render returned, exit code).

    Whatever interrupts (an error, Ctrl-C), ffmpeg is killed and its stdin closed.
    """
    try:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors
        )
    except FileNotFoundError:
        raise ffmpeg_missing() from None
    samples = 0
    try:
        try:
            samples = render(proc.stdin)  # type: ignore[arg-type]
            proc.stdin.close()  # type: ignore[union-attr]
        except BrokenPipeError:
            pass  # ffmpeg stopped early: its return code and stderr say why
        return samples, proc.wait()
    finally:
        _stop(proc)


# --- muxing ---------------------------------------------------------------------------------


def mux(
    segments: list[Path],
    codec: Codec,
    chapters: list[Chapter],
    tags: Tags,
    dest: Path,
    cover: Path | None = None,
    samples: int | None = None,
) -> None:
    """Concatenate encoded segments into a chaptered, tagged M4B (AAC) or MP3 at dest.

    ``samples``, when given, is the decoded length the edition must have (the manifest's):
    a file of any other length is never written (a damaged segment, say, would otherwise
    give a book shorter than its chapters).

    Segments are streamed to ffmpeg in chunks and checked frame by frame on the way. dest is
    replaced atomically: on any failure (even Ctrl-C) it keeps its old content and no
    temporary file is left.

    The first chapter is written as starting at 0 ms. ffmpeg's QuickTime chapter track
    cannot start later (it stretches the first chapter back to 0 whatever it is given), so
    doing the same for the Nero and ID3 lists keeps every reader in agreement, and leaves no
    unchaptered stretch of priming silence at the start.
    """
    _check_request(segments, chapters, tags)
    if chapters:
        chapters = [replace(chapters[0], start_ms=0), *chapters[1:]]
    comm = _comm_frame(tags) if codec.id3_comment and tags.comment else b""
    tmp = _temp_beside(dest)
    try:
        with tempfile.TemporaryDirectory(prefix="audio-edition-mux-") as work:
            meta = Path(work) / "metadata.txt"
            meta.write_text(ffmetadata(chapters, tags, codec), encoding="utf-8")
            cmd = _mux_command(codec, meta, tags, cover, tmp, len(comm))
            _run_mux(cmd, segments, codec, dest, samples)
        if comm:
            _put_in_id3_padding(Path(tmp), comm)
        os.replace(tmp, dest)
    finally:
        _unlink(tmp)


def _check_request(segments: list[Path], chapters: list[Chapter], tags: Tags) -> None:
    if not segments:
        raise EncodeError("nothing to mux: no segments")
    if len(chapters) > MAX_CHAPTERS:
        raise EncodeError(f"{len(chapters)} chapters: ID3 and MP4 allow at most {MAX_CHAPTERS}")
    previous = -1
    for chapter in chapters:
        if not previous < chapter.start_ms < chapter.end_ms:
            raise EncodeError(f"chapter {chapter.title!r}: times out of order or empty")
        previous = chapter.start_ms
    if tags.language is not None and not re.fullmatch("[a-z]{3}", tags.language):
        raise EncodeError(f"language {tags.language!r}: use an ISO 639-2 code such as 'eng'")


def _escape(value: str) -> str:
    """Escape a value for an ffmetadata file (=, ;, #, backslash and newline)."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return re.sub(r"([=;#\\\n])", r"\\\1", value)


def ffmetadata(chapters: list[Chapter], tags: Tags, codec: Codec) -> str:
    """The ffmetadata file giving the book's global tags and chapters."""
    fields = {"title": tags.title, "artist": tags.author, "album": tags.album}
    fields |= {"genre": tags.genre, "date": tags.date}
    fields |= {name: getattr(tags, name) for name in codec.tag_fields}
    fields |= dict(codec.fixed_tags)
    lines = [";FFMETADATA1"]
    lines += [f"{key}={_escape(value)}" for key, value in fields.items() if value is not None]
    for ch in chapters:
        lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={ch.start_ms}", f"END={ch.end_ms}"]
        lines.append(f"title={_escape(ch.title)}")
    return "\n".join(lines) + "\n"


def _mux_command(
    codec: Codec, meta: Path, tags: Tags, cover: Path | None, out: str, id3_padding: int
) -> list[str]:
    # With several inputs ffmpeg 5.1 reads each in a thread and sleeps 10 ms whenever the
    # queue is empty; the default 8-packet queue makes a 2 h mux take 150 s instead of 1 s.
    cmd = [*_ffmpeg(), "-thread_queue_size", "4096", "-f", codec.demuxer, "-i", "pipe:0"]
    cmd += ["-i", str(meta)]
    if cover is not None:
        cmd += ["-i", str(cover)]
    cmd += ["-map", "0:a", "-map_metadata", "1", "-map_chapters", "1"]
    if cover is not None:
        cmd += ["-map", "2:v", "-disposition:v:0", "attached_pic"]
        cmd += ["-metadata:s:v:0", "title=Cover", "-metadata:s:v:0", "comment=Cover (front)"]
    # bitexact: no encoder version strings, so identical input gives identical bytes.
    cmd += ["-c", "copy", "-fflags", "+bitexact"]
    if codec.language_on_stream and tags.language is not None:
        cmd += ["-metadata:s:a:0", f"language={tags.language}"]
    cmd += codec.mux_args
    if codec.id3_comment:  # padding leaves room for the COMM frame
        cmd += ["-metadata_header_padding", str(max(id3_padding, 10))]
    return cmd + ["-f", codec.container, out]


def _run_mux(
    cmd: list[str], segments: list[Path], codec: Codec, dest: Path, samples: int | None
) -> None:
    """Run ffmpeg, feeding it the segments on stdin; kill it if anything goes wrong."""
    # stderr goes to a file, not a pipe, so a chatty ffmpeg cannot block our writes.
    with tempfile.TemporaryFile() as errors:
        frames, returncode = _pipe_through(cmd, lambda sink: _feed(sink, segments, codec), errors)
        if returncode != 0:
            errors.seek(0)
            raise EncodeError(f"ffmpeg could not write {dest.name}: {_last_line(errors.read())}")
    if samples is not None and frames * codec.frame_samples != samples:
        got, want = frames * codec.frame_samples / SAMPLE_RATE, samples / SAMPLE_RATE
        raise EncodeError(
            f"{dest.name}: the encoded segments last {got:.2f} s, the edition {want:.2f} s; "
            "not written (a damaged cache entry? `audio-edition clean`, then build again)"
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Make sure ffmpeg is gone and its stdin closed, whatever interrupted it."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    with contextlib.suppress(BrokenPipeError):
        proc.stdin.close()  # type: ignore[union-attr]


def _feed(sink: BinaryIO, segments: list[Path], codec: Codec) -> int:
    """Write every segment to ffmpeg's stdin, checking that each is only whole frames;
    return how many frames were written."""
    return sum(_feed_segment(path, codec, sink) for path in segments)


def _feed_segment(path: Path, codec: Codec, sink: IO[bytes]) -> int:
    try:
        with open(path, "rb") as src:
            return _stream_frames(src, codec, sink)
    except (FileNotFoundError, IsADirectoryError, PermissionError, ValueError) as err:
        raise EncodeError(f"bad {codec.name} segment {path}: {_one_line(err)}") from None


# --- ID3 COMM -------------------------------------------------------------------------------


def _comm_frame(tags: Tags) -> bytes:
    """An ID3v2.3 COMM frame holding tags.comment (UTF-16, the only Unicode v2.3 has)."""
    assert tags.comment is not None
    lang = (tags.language or "XXX").encode("ascii")  # "XXX": language unknown (ID3 spec)
    body = b"\x01" + lang + "".encode("utf-16") + b"\x00\x00" + tags.comment.encode("utf-16")
    return b"COMM" + struct.pack(">IH", len(body), 0) + body


def _put_in_id3_padding(path: Path, frame: bytes) -> None:
    """Write frame into the padding ffmpeg reserved at the end of the ID3v2.3 tag.

    Done by hand because re-saving with mutagen reorders the CHAP frames by size, and ffmpeg
    lists chapters in file order.
    """
    with open(path, "r+b") as f:
        head = f.read(10)
        if head[:4] != b"ID3\x03" or head[5] != 0:
            raise EncodeError(f"{path.name}: ffmpeg wrote an unexpected ID3 header")
        size = sum(b << (7 * (3 - i)) for i, b in enumerate(head[6:10]))  # syncsafe
        tag = f.read(size)
        pos = 0
        while pos + 10 <= len(tag) and tag[pos : pos + 4] != b"\0\0\0\0":
            pos += 10 + struct.unpack(">I", tag[pos + 4 : pos + 8])[0]
        if len(tag) - pos < len(frame):
            raise EncodeError(f"{path.name}: no room for the COMM frame in the ID3 tag")
        f.seek(10 + pos)
        f.write(frame)


# --- helpers --------------------------------------------------------------------------------


def _ffmpeg() -> list[str]:
    return [FFMPEG, "-hide_banner", "-nostats", "-loglevel", "error", "-y"]


def _temp_beside(dest: Path) -> str:
    """A fresh temp name next to dest, so os.replace onto dest is atomic (same filesystem)."""
    return _temp_in(dest.parent, dest.name)


def _temp_in(folder: Path, name: str) -> str:
    """A fresh temp name for ``name`` in folder (hidden, so no reader takes it for output).

    ffmpeg creates the file, so it gets the usual umask permissions (mkstemp's are 0600).
    """
    return str(folder / f".{name}.{uuid.uuid4().hex[:12]}.part")


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


# What ffmpeg says when it cannot write its output, as the OS error the caller reports.
_WRITE_ERRORS = (
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EROFS,
    errno.EACCES,
    errno.EPERM,
    errno.EIO,
    errno.ENOENT,
    errno.ENOTDIR,
)


def _os_error(stderr: bytes, path: str) -> OSError | None:
    text = stderr.decode("utf-8", "replace")
    for code in _WRITE_ERRORS:
        if os.strerror(code) in text:
            return OSError(code, os.strerror(code), path)
    return None


def _last_line(stderr: bytes) -> str:
    lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    return lines[-1] if lines else "no error message"


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


__all__ = [
    "AAC",
    "MP3",
    "SAMPLE_RATE",
    "Chapter",
    "Codec",
    "EncodeError",
    "MAX_CHAPTERS",
    "Tags",
    "count_frames",
    "encode_segment",
    "ffmetadata",
    "mux",
    "segment_frames",
    "segment_offsets",
    "segment_samples",
    "total_samples",
]
