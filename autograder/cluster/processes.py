"""A Dask cluster of real processes on this machine, over TLS on loopback: a trial before
the real cluster, and what the tests and the cluster benchmark grade on.

``dask scheduler`` and each ``dask worker`` run as processes of their own (the same commands
as on separate machines: ``certs.start_commands``), started without a nanny so that a worker
killed is gone, as a machine that fails is.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import SCHEDULER_ENV, WORKER_ENV
from .certs import CA_FILE, role_files

START_SECONDS = 120.0
STOP_SECONDS = 30.0


def _dask() -> list[str]:
    """The ``dask`` command of this Python environment."""
    return [str(Path(sys.executable).with_name("dask"))]


@dataclass
class LocalCluster:
    """A scheduler and workers started as processes; ``close`` ends what it started."""

    tls_dir: Path
    folder: Path  # logs and the scheduler file
    scheduler: subprocess.Popen[bytes] | None = None
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def scheduler_file(self) -> Path:
        return self.folder / "scheduler.json"

    @property
    def address(self) -> str:
        return str(json.loads(self.scheduler_file.read_text())["address"])

    def _tls(self, role: str) -> list[str]:
        files = role_files(self.tls_dir, role)
        return [
            "--tls-ca-file",
            str(self.tls_dir / CA_FILE),
            "--tls-cert",
            str(files.cert),
            "--tls-key",
            str(files.key),
        ]

    def _start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = open(self.folder / f"{name}.log", "ab")  # noqa: SIM115 - the process keeps it
        process = subprocess.Popen(
            command,
            env=env,
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        return process

    def start_scheduler(self, extra_env: dict[str, str] | None = None) -> str:
        """Start the scheduler on loopback; returns its ``tls://`` address. ``extra_env``:
        Dask settings of its own (``DASK_...`` variables) over ``SCHEDULER_ENV``."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.scheduler_file.unlink(missing_ok=True)
        command = _dask() + [
            "scheduler",
            "--protocol", "tls",
            "--host", "127.0.0.1",
            "--port", "0",
            "--no-dashboard",
            "--scheduler-file", str(self.scheduler_file),
        ] + self._tls("scheduler")  # fmt: skip
        env = {**os.environ, **SCHEDULER_ENV, **(extra_env or {})}
        self.scheduler = self._start("scheduler", command, env)
        deadline = time.monotonic() + START_SECONDS
        while not self.scheduler_file.is_file():
            if self.scheduler.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the scheduler did not start: see {self.folder}")
            time.sleep(0.2)
        return self.address

    def start_worker(
        self,
        name: str,
        *,
        nthreads: int = 1,
        cpus: set[int] | None = None,
        path: str | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start a worker named ``name``; ``cpus`` pins it (taskset) to those cores;
        ``path`` replaces its PATH (one without bwrap: a worker without the sandbox)."""
        env = {**os.environ, **WORKER_ENV}
        if path is not None:
            env["PATH"] = path
        command = _dask() + [
            "worker",
            "--scheduler-file", str(self.scheduler_file),
            "--name", name,
            "--nthreads", str(nthreads),
            "--no-nanny",
            "--no-dashboard",
            "--host", "127.0.0.1",
        ] + self._tls("worker")  # fmt: skip
        if cpus is not None:  # the worker and everything it starts (its sandboxes)
            command = ["taskset", "-c", ",".join(map(str, sorted(cpus)))] + command
        self.workers[name] = self._start(f"worker-{name}", command, env)
        return self.workers[name]

    def kill_worker(self, name: str) -> None:
        """``kill -9`` the worker (its sandboxes die with it: bubblewrap's --die-with-parent)."""
        process = self.workers[name]
        process.send_signal(signal.SIGKILL)
        process.wait()

    def close(self) -> None:
        """Stop the workers, then the scheduler (a worker closes cleanly while it is there)."""
        for group in (list(self.workers.values()), [self.scheduler]):
            for process in group:
                if process is not None and process.poll() is None:
                    process.terminate()
            for process in group:
                if process is None:
                    continue
                try:
                    process.wait(timeout=STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
