"""A Dask cluster on this machine for the cluster tests and the bench: a scheduler and
its workers, each a `dask` process on 127.0.0.1 (the real programs a user runs)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalCluster:
    """A scheduler and its workers, each a `dask` process on 127.0.0.1 (no nanny: a worker
    killed stays dead, as a machine that went away)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.scheduler = self._start(
            "scheduler",
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            self.address.rsplit(":", 1)[1],
            "--dashboard-address",
            ":0",
        )
        self.workers: list[subprocess.Popen] = []
        self.started = 0

    def _start(self, name: str, *args: str, env: dict | None = None) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115  (closed with the process)
        return subprocess.Popen(
            [sys.executable, "-m", "dask", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )

    def add_worker(self, env: dict | None = None) -> subprocess.Popen:
        self.started += 1
        name = f"worker{self.started}"  # a unique name: the scheduler refuses a taken one
        worker = self._start(
            name,
            "worker",
            self.address,
            "--nthreads",
            "1",
            "--no-nanny",
            "--host",
            "127.0.0.1",
            "--no-dashboard",
            "--name",
            name,
            env=env,
        )
        self.workers.append(worker)
        return worker

    def wait_for_workers(self, n: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=120, set_as_default=False) as client:
            client.wait_for_workers(n, timeout=120)
            while len(client.scheduler_info()["workers"]) != n:  # a killed one is gone
                time.sleep(0.2)

    def stop(self) -> None:
        for proc in [*self.workers, self.scheduler]:
            if proc.poll() is None:
                proc.terminate()
        for proc in [*self.workers, self.scheduler]:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
