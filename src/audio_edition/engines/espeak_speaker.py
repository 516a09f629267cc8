"""eSpeak NG through pyttsx3, inside a speech worker process (see ``speech_worker``).

pyttsx3's Linux driver (2.99) has measured defects this speaker works around, beside
what the pool does for every engine (one utterance per worker, timeouts, retries, the
check of every clip):

- a failed write is swallowed inside eSpeak's callback and the driver's loop then waits
  forever: the error is caught and the loop ended (``_catch_engine_errors``);
- ``runAndWait()`` may return before the file exists, so the speaker waits for the
  ``finished-utterance`` callback;
- now and then a fresh engine keeps the driver's start-up rate (200 words a minute), so
  the speaker checks eSpeak's own parameters after every sentence, speaks it again if
  they were wrong, and asks to be replaced if that fails too.

Word events come from eSpeak's synth callback, which the driver registers: the speaker
registers its own, which notes each ``espeak_EVENT_WORD`` (its character position and
its sample) and hands everything on to the driver's.

eSpeak is asked to read ``[[...]]`` as phoneme mnemonics (its PHONEMES flag, which the
espeak-ng command sets and pyttsx3's driver does not): the lexicon's IPA entries are said
that way (``EspeakEngine.phoneme_markup``).

Only this module imports pyttsx3, and only inside worker processes (eSpeak can be
initialised once per process and never cleanly torn down).
"""

from __future__ import annotations

import ctypes
import sys
import time

KEYS = ("voice", "rate", "volume", "pitch")


def settings_in_force():
    """A check that eSpeak is using the rate, volume and pitch a job asked for.

    pyttsx3's driver sets rate 200 when it starts, then ours; eSpeak applies both on a
    thread of its own. Seen here 7 times in about 45 cold builds: a fresh worker's
    eSpeak kept 200 (espeak_GetParameter said so) and spoke every sentence too fast.
    """
    from pyttsx3.drivers import _espeak

    get = _espeak.dll.espeak_GetParameter  # pyttsx3's binding drops the second argument
    get.argtypes, get.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int

    def in_force(settings: dict) -> bool:
        wanted = {
            _espeak.RATE: int(settings["rate"]),
            _espeak.VOLUME: int(round(settings["volume"] * 100, 2)),  # as the driver sets it
            _espeak.PITCH: int(settings["pitch"]),
        }
        return all(get(parameter, 1) == value for parameter, value in wanted.items())

    return in_force


class EspeakSpeaker:
    """One pyttsx3 engine speaking one job at a time; ``in_force`` checks the settings."""

    def __init__(self, engine, in_force=lambda settings: True) -> None:
        self.engine = engine
        self.in_force = in_force
        self.current: dict = {}
        self.finished: list[bool] = []
        self.failures: list[BaseException] = []
        self.words: list[list[int]] = []
        engine.connect(
            "finished-utterance", lambda name=None, completed=True: self.finished.append(completed)
        )
        self._driver = getattr(getattr(engine, "proxy", None), "_driver", None)
        self._listen_for_words()

    def voices(self) -> list[dict]:
        return [
            {"id": v.id, "name": v.name, "languages": list(v.languages or ()), "gender": v.gender}
            for v in self.engine.getProperty("voices")
        ]

    def speak(self, job: dict) -> dict:
        hook, sys.unraisablehook = sys.unraisablehook, self._catch_engine_errors
        try:
            for _ in range(2):
                if job["settings"] != self.current:
                    for name in KEYS:
                        self.engine.setProperty(name, job["settings"][name])
                    self.current = job["settings"]
                answer = self._speak(job)
                if not answer["ok"] or self.in_force(job["settings"]):
                    return answer
                # Spoken with other settings: set them again and speak it again; if that
                # fails too, the pool replaces this worker.
                self.current = {}
            return {"ok": False, "why": "eSpeak did not take the rate, volume or pitch asked for"}
        finally:
            sys.unraisablehook = hook

    def _speak(self, job: dict) -> dict:
        self.finished.clear()
        self.failures.clear()
        self.words.clear()
        self.engine.save_to_file(job["text"], job["path"])
        self.engine.runAndWait()
        # runAndWait can return before the file exists: completion is finished-utterance.
        while not self.finished and not self.failures:
            time.sleep(0.005)
        if self.failures:
            return _failure(self.failures[0])
        return {"ok": self.finished[0], "words": list(self.words)}

    def _catch_engine_errors(self, unraisable) -> None:
        """pyttsx3's driver writes the clip inside eSpeak's callback, where an exception (a
        full disk) is only printed, and its loop then waits forever for an end it will
        never signal. Keep the error for the answer, print nothing, and end the loop."""
        self.failures.append(unraisable.exc_value)
        if self._driver is not None:
            self._driver.endLoop()

    def _listen_for_words(self) -> None:
        """Put a callback before the driver's that notes eSpeak's word events. A driver
        without the expected parts (another pyttsx3) is left alone: no words, no harm."""
        try:
            from pyttsx3.drivers import _espeak

            driver_callback = self._driver._onSynth
            word, end = _espeak.EVENT_WORD, _espeak.EVENT_LIST_TERMINATED
        except (AttributeError, ImportError):
            return

        def on_synth(wav, numsamples, events):
            i = 0
            while events[i].type != end:
                event = events[i]
                if event.type == word and self._driver._speaking:
                    # eSpeak counts characters from 1; ``sample`` is where the word starts.
                    self.words.append([event.text_position - 1, event.length, event.sample])
                i += 1
            return driver_callback(wav, numsamples, events)

        _espeak.SetSynthCallback(on_synth)  # kept alive by _espeak's module global


def _failure(exc: BaseException) -> dict:
    cause = exc if isinstance(exc, OSError) else exc.__context__
    if isinstance(cause, OSError):
        # The clip could not be written: the pool reports it rather than retrying.
        return {"ok": False, "os_error": [cause.errno, cause.strerror or str(cause)]}
    return {"ok": False, "why": f"the engine failed ({exc})"}


def read_phonemes() -> None:
    """Have the driver's every ``Synth`` call read ``[[...]]`` as eSpeak phonemes."""
    from pyttsx3.drivers import _espeak

    synth = _espeak.Synth
    if getattr(synth, "reads_phonemes", False):
        return

    def with_phonemes(*args, **kwargs):
        kwargs["flags"] = kwargs.get("flags", 0) | _espeak.PHONEMES
        return synth(*args, **kwargs)

    with_phonemes.reads_phonemes = True
    _espeak.Synth = with_phonemes  # the driver looks it up on the module at each call


def open_speaker() -> EspeakSpeaker:
    import pyttsx3

    read_phonemes()
    return EspeakSpeaker(pyttsx3.init("espeak"), settings_in_force())


# ---------------------------------------------------------------- phonemes
# (``speech_worker --phonemes``: no pyttsx3, eSpeak NG's library straight through ctypes)

_SYNCHRONOUS, _CHARS_UTF8, _PHONEMES, _IPA = 2, 1, 0x100, 0x02


def phonemes(texts: list[str], settings: dict) -> list[str]:
    """The IPA eSpeak says each text with, clauses joined by spaces.

    Taken from eSpeak's phoneme trace while it synthesises the text (the audio is thrown
    away), as ``espeak-ng --ipa`` does: ``espeak_TextToPhonemes`` would be lighter but
    reads ``[[...]]`` phoneme input as letters, and the lexicon's phonemes come that way.
    """
    import os
    import tempfile

    lib, libc = _libraries()
    callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p)(
        lambda wav, n, events: 0
    )
    lib.espeak_SetSynthCallback(callback)
    if lib.espeak_SetVoiceByName(settings["voice"].encode()) != 0:
        raise SystemExit(f"eSpeak has no voice {settings['voice']!r}")
    fd, trace = tempfile.mkstemp(suffix=".ipa")
    os.close(fd)
    try:
        return [_traced(lib, libc, text, trace) for text in texts]
    finally:
        os.unlink(trace)


def _traced(lib, libc, text: str, trace: str) -> str:
    f = libc.fopen(trace.encode(), b"w")
    lib.espeak_SetPhonemeTrace(_IPA, f)
    data = text.encode("utf-8") + b"\0"
    lib.espeak_Synth(data, len(data), 0, 1, 0, _CHARS_UTF8 | _PHONEMES, None, None)
    lib.espeak_Synchronize()
    lib.espeak_SetPhonemeTrace(0, None)
    libc.fclose(f)
    with open(trace, encoding="utf-8", errors="replace") as lines:
        return " ".join(line.strip() for line in lines if line.strip())


def _libraries():
    import ctypes.util

    lib = ctypes.CDLL(ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1")
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    libc.fopen.argtypes, libc.fopen.restype = [ctypes.c_char_p, ctypes.c_char_p], ctypes.c_void_p
    libc.fclose.argtypes = [ctypes.c_void_p]
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetPhonemeTrace.argtypes = [ctypes.c_int, ctypes.c_void_p]
    lib.espeak_Synth.argtypes = [
        ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
        ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
    ]  # fmt: skip
    lib.espeak_SetSynthCallback.argtypes = [ctypes.c_void_p]
    if lib.espeak_Initialize(_SYNCHRONOUS, 0, None, 0) <= 0:
        raise SystemExit("eSpeak NG could not be initialised")
    return lib, libc
