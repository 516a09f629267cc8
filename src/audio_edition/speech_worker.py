"""The speech worker process: one pyttsx3 engine, one utterance at a time.

Run as ``python -m audio_edition.speech_worker`` by ``speech``'s pool. It reads one JSON
job per line on stdin (``{"text", "settings", "path"}``) and answers one JSON line per
job. pyttsx3's driver prints on stdout, so the answers go out on a duplicate of the
original stdout and fd 1 itself is sent to /dev/null. ``--voices`` prints the voice list.
"""

from __future__ import annotations

import json
import os
import sys
import time


def _protocol_out():
    out = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    return out


def _apply_settings(engine, settings: dict) -> None:
    for name in ("voice", "rate", "volume", "pitch"):
        engine.setProperty(name, settings[name])


def serve(engine, jobs, out) -> None:
    finished: list[bool] = []
    engine.connect(
        "finished-utterance", lambda name=None, completed=True: finished.append(completed)
    )
    current: dict = {}
    for line in jobs:
        job = json.loads(line)
        if job["settings"] != current:
            _apply_settings(engine, job["settings"])
            current = job["settings"]
        finished.clear()
        engine.save_to_file(job["text"], job["path"])
        engine.runAndWait()
        # runAndWait can return before the file exists: completion is finished-utterance.
        while not finished:
            time.sleep(0.005)
        out.write(json.dumps({"ok": finished[0]}) + "\n")


def list_voices(engine, out) -> None:
    voices = [
        {"id": v.id, "name": v.name, "languages": list(v.languages or ()), "gender": v.gender}
        for v in engine.getProperty("voices")
    ]
    out.write(json.dumps(voices) + "\n")


def _let_espeak_settle() -> None:
    """Wait until eSpeak has applied the driver's start-up settings (rate 200 and so on).

    eSpeak applies parameters on a thread of its own, while pyttsx3 changes the voice
    from ours. Three times in about thirty cold builds, a fresh worker spoke every one of
    its sentences at the driver's start-up rate of 200 words a minute rather than the
    rate asked for. Letting eSpeak finish its queue first keeps the worker's own voice
    change from overlapping it.
    """
    from pyttsx3.drivers import _espeak

    _espeak.Synchronize()


def main() -> None:
    out = _protocol_out()
    import pyttsx3

    engine = pyttsx3.init("espeak")
    _let_espeak_settle()
    try:
        if "--voices" in sys.argv:
            list_voices(engine, out)
        else:
            serve(engine, sys.stdin, out)
    except BrokenPipeError:
        # The builder stopped listening (it failed early, or was interrupted): leave
        # without a traceback on the terminal the user shares with it.
        os._exit(1)


if __name__ == "__main__":
    main()
