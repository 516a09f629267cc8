"""The background encoders: one while the edition is still being spoken, then all of them."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from audio_edition.encode import AAC, count_frames
from audio_edition.segment_queue import SegmentQueue

pytestmark = pytest.mark.integration  # each job is a real ffmpeg encode


class Renders:
    """Segment renders that note how many of them run at once."""

    def __init__(self) -> None:
        self.active = 0
        self.most = 0
        self._lock = threading.Lock()

    def __call__(self, sink) -> int:
        with self._lock:
            self.active += 1
            self.most = max(self.most, self.active)
        time.sleep(0.3)  # long enough for a second encoder, if there were one, to start
        sink.write(bytes(2 * 2205))
        with self._lock:
            self.active -= 1
        return 2205


def test_only_one_encoder_runs_while_speech_goes_on(tmp_path: Path) -> None:
    renders = Renders()
    with SegmentQueue(2, early=1) as queue:
        for i in range(3):
            queue.submit(renders, AAC, tmp_path / f"{i}.aac")
        time.sleep(1.5)  # the block is still running: the speech is not finished
        during = renders.most
    assert during == 1
    assert all(count_frames(tmp_path / f"{i}.aac", AAC) > 0 for i in range(3))


def test_every_encoder_takes_work_once_speech_is_done(tmp_path: Path) -> None:
    renders = Renders()
    with SegmentQueue(2, early=1) as queue:
        for i in range(4):
            queue.submit(renders, AAC, tmp_path / f"{i}.aac")
    assert renders.most == 2
    assert sorted(p.name for p in tmp_path.glob("*.aac")) == [f"{i}.aac" for i in range(4)]


def test_a_failed_block_stops_the_encoders_without_waiting_for_the_backlog(tmp_path: Path):
    renders = Renders()
    with pytest.raises(KeyboardInterrupt), SegmentQueue(2, early=1) as queue:
        for i in range(6):
            queue.submit(renders, AAC, tmp_path / f"{i}.aac")
        raise KeyboardInterrupt
    assert len(list(tmp_path.glob("*.aac"))) <= 1  # at most the one already under way
    # No partial file: only segments and their recorded hashes.
    assert not [p for p in tmp_path.iterdir() if p.suffix not in (".aac", ".sha256")]
