"""Errors that reach the user as one line: what went wrong and where."""


class AudioEditionError(Exception):
    """A build error: the CLI prints it as one line and exits 1."""

    exit_code = 1


class UsageError(AudioEditionError):
    """A usage error (bad flag, unknown voice or format): exit 2."""

    exit_code = 2


class SourceError(AudioEditionError):
    """An article that cannot be read or parsed; the message names the file."""


class SynthesisError(AudioEditionError):
    """The engine failed on a sentence even after retries."""


class ToolMissingError(AudioEditionError):
    """A system tool (eSpeak NG, ffmpeg) is not installed."""
