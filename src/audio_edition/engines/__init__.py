"""The speech engines behind ``speech.SpeechEngine``.

Each engine has a module the builder uses (``espeak``, ``fake``) and, when it speaks in
worker processes, a speaker module run inside them (``espeak_speaker``,
``fake_speaker``): standard library and the engine only, loaded by its file's path.
"""
