"""The speech worker process: one pyttsx3 engine, one utterance at a time.

Run as ``python -P .../audio_edition/speech_worker.py`` by ``speech``'s pool. It reads one JSON
job per line on stdin (``{"text", "settings", "path"}``) and answers one JSON line per
job. pyttsx3's driver prints on stdout, so the answers go out on a duplicate of the
original stdout and fd 1 itself is sent to /dev/null. ``--voices`` prints the voice list.
"""

from __future__ import annotations

import ctypes
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


def _settings_in_force():
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


def serve(engine, jobs, out, in_force=lambda settings: True) -> None:
    finished: list[bool] = []
    engine.connect(
        "finished-utterance", lambda name=None, completed=True: finished.append(completed)
    )
    failures: list[BaseException] = []
    hook, sys.unraisablehook = sys.unraisablehook, _catch_engine_errors(engine, failures)
    try:
        _serve(engine, jobs, out, in_force, finished, failures)
    finally:
        sys.unraisablehook = hook


def _serve(engine, jobs, out, in_force, finished: list[bool], failures: list) -> None:
    current: dict = {}
    for line in jobs:
        job = json.loads(line)
        answer: dict = {}
        for _ in range(2):
            if job["settings"] != current:
                _apply_settings(engine, job["settings"])
                current = job["settings"]
            answer = _speak(engine, job, finished, failures)
            if not answer["ok"] or in_force(job["settings"]):
                break
            # Spoken with other settings: set them again and speak it again; if that
            # fails too, the pool replaces this worker.
            current = {}
            answer = {"ok": False, "why": "eSpeak did not take the rate, volume or pitch asked for"}
        out.write(json.dumps(answer, allow_nan=False) + "\n")


def _catch_engine_errors(engine, failures: list):
    """pyttsx3's driver writes the clip inside eSpeak's callback, where an exception (a
    full disk) is only printed, and its loop then waits forever for an end it will never
    signal. Keep the error for the answer, print nothing, and end the loop."""
    driver = getattr(getattr(engine, "proxy", None), "_driver", None)

    def hook(unraisable) -> None:
        failures.append(unraisable.exc_value)
        if driver is not None:
            driver.endLoop()

    return hook


def _speak(engine, job: dict, finished: list[bool], failures: list) -> dict:
    finished.clear()
    failures.clear()
    engine.save_to_file(job["text"], job["path"])
    engine.runAndWait()
    # runAndWait can return before the file exists: completion is finished-utterance.
    while not finished and not failures:
        time.sleep(0.005)
    if failures:
        return _failure(failures[0])
    return {"ok": finished[0]}


def _failure(exc: BaseException) -> dict:
    cause = exc if isinstance(exc, OSError) else exc.__context__
    if isinstance(cause, OSError):
        # The clip could not be written: the pool reports it rather than retrying.
        return {"ok": False, "os_error": [cause.errno, cause.strerror or str(cause)]}
    return {"ok": False, "why": f"the engine failed ({exc})"}


def list_voices(engine, out) -> None:
    voices = [
        {"id": v.id, "name": v.name, "languages": list(v.languages or ()), "gender": v.gender}
        for v in engine.getProperty("voices")
    ]
    out.write(json.dumps(voices, allow_nan=False) + "\n")


def main() -> None:
    out = _protocol_out()
    import pyttsx3

    engine = pyttsx3.init("espeak")
    try:
        if "--voices" in sys.argv:
            list_voices(engine, out)
        else:
            serve(engine, sys.stdin, out, _settings_in_force())
    except BrokenPipeError:
        # The builder stopped listening (it failed early, or was interrupted): leave
        # without a traceback on the terminal the user shares with it.
        os._exit(1)


if __name__ == "__main__":
    main()
