"""eSpeak NG through pyttsx3: the default engine, spoken in the worker pool.

Its identity is pyttsx3's and eSpeak NG's versions, read without starting eSpeak; its
voices and its speech come from worker processes running ``espeak_speaker``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path

from ..errors import ToolMissingError
from ..files import looked_up_once
from ..speech import SpokenClip, Utterance, Voice, VoiceSettings
from ..speech_pool import phonemes_in_worker, speak_in_workers, voices_in_worker

SPEAKER = Path(__file__).with_name("espeak_speaker.py")


def check_espeak() -> None:
    # The espeak-ng package brings the library pyttsx3 loads; its command is the sign of it.
    if shutil.which("espeak-ng") is None:
        raise ToolMissingError(
            "eSpeak NG is not installed: run `make run` (it installs it) "
            "or `sudo apt-get install espeak-ng`"
        )


@lru_cache(maxsize=1)
def _pyttsx3_version() -> str:
    """The installed pyttsx3's version, read from its ``.dist-info`` folder's name.

    importlib.metadata would cost every build, even one with nothing to do, 70 ms and
    7 MB (it imports the email package); it is only the fallback for unusual installs.
    """
    import pyttsx3

    found = list(Path(pyttsx3.__file__).resolve().parent.parent.glob("pyttsx3-*.dist-info"))
    if len(found) == 1:
        return found[0].name.removeprefix("pyttsx3-").removesuffix(".dist-info")
    import importlib.metadata

    return importlib.metadata.version("pyttsx3")


@lru_cache(maxsize=1)
def _espeak_version() -> str:
    check_espeak()
    try:
        from pyttsx3.drivers import _espeak  # loads the library; does not initialise it

        return _espeak.Info(None).decode()
    except Exception as exc:  # a broken install: say so rather than guess a version
        raise ToolMissingError(
            f"eSpeak NG could not be loaded ({exc}): reinstall espeak-ng"
        ) from exc


# IPA to eSpeak NG's phoneme mnemonics (its English phoneme table), longest first where
# one symbol starts another: a lexicon entry's IPA is said as ``[[mnemonics]]``.
IPA_TO_ESPEAK = {
    **{"tʃ": "tS", "dʒ": "dZ", "eɪ": "eI", "aɪ": "aI", "aʊ": "aU", "ɔɪ": "OI", "oʊ": "oU"},
    **{"əʊ": "@U", "ɪə": "i@", "eə": "e@", "ʊə": "U@", "ɜː": "3:", "ɑː": "A:", "ɔː": "O:"},
    **{"iː": "i:", "uː": "u:", "ɚ": "3", "ɝ": "3:"},
    # consonants
    **{c: c for c in "pbtdkfvszhmnlwjx"},
    **{"ɡ": "g", "θ": "T", "ð": "D", "ʃ": "S", "ʒ": "Z", "ŋ": "N", "ɹ": "r-", "r": "r"},
    **{"ɫ": "l", "ʔ": "?", "ɾ": "t"},
    # vowels
    **{"i": "i", "ɪ": "I", "e": "e", "ɛ": "E", "æ": "a", "a": "a", "ʌ": "V", "ə": "@"},
    **{"ɐ": "a#", "ɑ": "A:", "ɒ": "0", "ɔ": "O", "o": "o", "ʊ": "U", "u": "u:", "ɜ": "3:"},
    **{"ᵻ": "I#", "y": "y"},
    # stress, length, syllables, syllabic consonants, word breaks
    **{"ˈ": "'", "ˌ": ",", "ː": ":", ".": "", "\u0329": "-", " ": " "},
}
_IPA_LONGEST = max(len(k) for k in IPA_TO_ESPEAK)


def ipa_to_espeak(ipa: str) -> str:
    """IPA as eSpeak NG's phoneme mnemonics; ValueError naming a symbol it has none for."""
    import unicodedata

    ipa = unicodedata.normalize("NFC", " ".join(ipa.replace("/", " ").split()))
    out, at = [], 0
    while at < len(ipa):
        for size in range(_IPA_LONGEST, 0, -1):
            piece = ipa[at : at + size]
            if len(piece) == size and piece in IPA_TO_ESPEAK:
                out.append(IPA_TO_ESPEAK[piece])
                at += size
                break
        else:
            char = ipa[at]
            raise ValueError(f"unknown IPA symbol {char!r} (U+{ord(char):04X}) in /{ipa}/")
    return "".join(out)


class EspeakEngine:
    """pyttsx3 over eSpeak NG, run in a pool of persistent worker processes."""

    name = "espeak"

    def __init__(self, timeout_base: float = 20.0, timeout_per_char: float = 0.05) -> None:
        self.timeout_base = timeout_base
        self.timeout_per_char = timeout_per_char

    def identity(self) -> str:
        return f"pyttsx3-{_pyttsx3_version()}/espeak-ng-{_espeak_version()}"

    def settings_key(self, voice: VoiceSettings) -> dict:
        return asdict(voice)

    def voices(self) -> list[Voice]:
        return _list_voices()

    def phonemes(self, text: str, voice: VoiceSettings) -> str:
        """How eSpeak says ``text`` in IPA; each line of it phonemised on its own, one
        process for them all."""
        check_espeak()
        lines = phonemes_in_worker(
            SPEAKER, text.split("\n"), voice, "eSpeak NG", "reinstall espeak-ng"
        )
        return "\n".join(lines)

    def phoneme_markup(self, ipa: str) -> str:
        """IPA as eSpeak's inline phonemes, ``[[gw'A:d@r]]`` (the speaker synthesises with
        eSpeak's phoneme flag, as the espeak-ng command does); ValueError for a symbol
        eSpeak has no phoneme for."""
        return f"[[{ipa_to_espeak(ipa)}]]"

    def synthesize(
        self, utterances: Iterable[tuple[Utterance, Path]], jobs: int
    ) -> Iterator[SpokenClip]:
        check_espeak()
        yield from speak_in_workers(
            SPEAKER, utterances, jobs, self.timeout_base, self.timeout_per_char
        )


@looked_up_once
def _list_voices() -> list[Voice]:
    # Listing voices initialises eSpeak, so it runs in a throwaway worker process.
    check_espeak()
    return voices_in_worker(SPEAKER, "eSpeak NG", "reinstall espeak-ng")
