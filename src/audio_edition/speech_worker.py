"""A speech worker process: one engine's speaker, one utterance at a time.

Run by the pool (``speech_pool``) as ``python -P .../audio_edition/speech_worker.py
SPEAKER [--voices | --phonemes]``, where SPEAKER is the file of an engine's speaker module
(``engines/*_speaker.py``). The module is loaded by its path, so a worker never imports
the audio_edition package (whose ``__init__`` loads the builder: 0.1 s of CPU each); a
speaker module therefore imports only the standard library and its engine.

A speaker module has ``open_speaker()``, returning an object with ``voices()`` (a list of
``{"id", "name", "languages", "gender"}``) and ``speak(job)``, which answers a job
``{"text", "settings", "path"}`` with one of:

- ``{"ok": true, "words": [[offset, length, sample], ...]}``: the clip is written (word
  events as ``speech.WordEvent``; an empty list when the engine reports none);
- ``{"ok": false}``: the engine stopped before the end (the pool retries);
- ``{"ok": false, "why": ...}``: the engine is in a bad state (the pool replaces it);
- ``{"ok": false, "os_error": [errno, cause]}``: the clip could not be written.

The worker reads one JSON job per line on stdin and writes one JSON answer per line.
Engines may print on stdout (pyttsx3's driver does), so the answers go out on a
duplicate of the original stdout and fd 1 itself is sent to /dev/null. ``--voices``
prints the voice list instead. ``--phonemes`` reads one JSON object ``{"texts": [...],
"settings": {...}}`` and prints the JSON list of the module's ``phonemes(texts, settings)``:
the IPA of each text, without opening a speaker (no audio output is set up for it).
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys


def _protocol_out():
    out = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    return out


def serve(speaker, jobs, out) -> None:
    """Answer each job (a JSON line) with ``speaker``'s answer (a JSON line)."""
    for line in jobs:
        answer = speaker.speak(json.loads(line))
        out.write(json.dumps(answer, allow_nan=False) + "\n")


def load_speaker(path: str):
    spec = importlib.util.spec_from_file_location("audio_edition_speaker", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    out = _protocol_out()
    module = load_speaker(sys.argv[1])
    if "--phonemes" in sys.argv[2:]:
        out.write(json.dumps(module.phonemes(**json.loads(sys.stdin.read()))) + "\n")
        return
    speaker = module.open_speaker()
    try:
        if "--voices" in sys.argv[2:]:
            out.write(json.dumps(speaker.voices(), allow_nan=False) + "\n")
        else:
            serve(speaker, sys.stdin, out)
    except BrokenPipeError:
        # The builder stopped listening (it failed early, or was interrupted): leave
        # without a traceback on the terminal the user shares with it.
        os._exit(1)


if __name__ == "__main__":
    main()
