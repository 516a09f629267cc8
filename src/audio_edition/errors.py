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


class BuildFailed(AudioEditionError):
    """Some articles could not be built (the others were): one line per failure."""

    def __init__(self, failures: list[AudioEditionError], results: list) -> None:
        super().__init__("\n".join(str(f) for f in failures))
        self.failures = failures
        self.results = results  # the editions that were built
        self.exit_code = failures[0].exit_code if len(failures) == 1 else 1


class CacheError(AudioEditionError):
    """The cache cannot be written or read (a full disk, a missing folder)."""


class DamagedEntry(AudioEditionError):
    """A cache entry whose bytes are not those written; it has been discarded."""

    def __init__(self, path: object, why: str) -> None:
        super().__init__(f"{path}: damaged cache entry ({why})")
        self.path = path


class ClusterError(AudioEditionError):
    """The Dask cluster cannot be reached, or its workers cannot do this build's work: no
    other article could be built either, so a batch stops there."""
