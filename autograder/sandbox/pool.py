"""The local sandboxed pool: the embedded :class:`~autograder.jobs.JobRunner`.

One worker per core, each a pristine zygote (``zygote.py``) inside bubblewrap with its own job
folder, served by a thread of its own. For each job the thread writes the job's files, the
zygote forks a fresh process that runs it, and the thread reads back what the job left as
untrusted data (``autograder.untrusted``) and empties the folder. Every job runs under the
one failure policy (``autograder.jobs.run_with_policy``): a worker that dies during a job is
replaced and the job runs once more; a second loss ends it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import subprocess
import tempfile
import threading
from concurrent.futures import Future
from pathlib import Path

from ..jobs import Job, Limits, NoWorker, RunOutcome, WorkerLost, run_with_policy
from ..protocol import MAX_LOG_BYTES
from ..results import IsolationReport
from ..untrusted import read_capped
from .cleanup import empty_folder
from .environment import job_environment
from .isolation import (
    FOLDER_WATCH_SECONDS,
    POOL_PREFIX,
    Isolation,
    mount_job_folder,
    unmount_job_folder,
    unmount_orphaned_job_folders,
)

#: A worker imports TensorFlow before it is ready: seconds on a quiet machine, minutes on a
#: machine loaded many times over (measured: 138 s at a load of 20 on 2 cores).
READY_TIMEOUT = 600.0
#: After the wall-clock limit, the zygote may need this long to kill what a job left running.
CLEANUP_SECONDS = 120.0
MAX_STDOUT_BYTES = 64 << 10


class WorkerError(RuntimeError):
    """A worker did not start or stopped answering."""


class Worker:
    """One zygote process and its job folder. Used by one thread only."""

    def __init__(self, index: int, isolation: Isolation, scratch: Path, single_thread: bool):
        self.index = index
        self.name = f"local-{index}"
        self.isolation = isolation
        self.single_thread = single_thread
        self.uid = isolation.worker_uid()
        self.scratch = scratch
        self.folders = 0  # job folders this worker had (a new one when one cannot be emptied)
        self.folder_cap: tuple[int, int] | None = None  # its filesystem's (bytes, entries)
        self.job_dir = self._new_folder()
        self.log_path = scratch / f"worker-{index}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.jobs_done = 0

    def _new_folder(self) -> Path:
        self.folders += 1
        folder = self.scratch / f"worker-{self.index}-{self.folders}"
        folder.mkdir(mode=0o700)
        if self.isolation.folder_filesystems:
            limits = Limits()
            mount_job_folder(folder, limits.folder_bytes, limits.folder_entries)
            self.folder_cap = (limits.folder_bytes, limits.folder_entries)
        return folder

    def _cap_folder(self, limits: Limits) -> None:
        """Give the (empty) job folder's filesystem this job's limits, when they differ."""
        cap = (limits.folder_bytes, limits.folder_entries)
        if self.isolation.folder_filesystems and cap != self.folder_cap:
            mount_job_folder(self.job_dir, *cap, remount=True)
            self.folder_cap = cap

    def _clean_folder(self) -> None:
        """Empty the job folder; if that fails (or takes too long), leave it (the pool removes
        it when it closes) and replace the worker, which gets a fresh folder."""
        if not empty_folder(self.job_dir):
            self.stop()
            self.release_folder()
            self.job_dir = self._new_folder()

    def release_folder(self) -> None:
        """Unmount the job folder's own filesystem, if it has one (its content goes with it)."""
        if self.isolation.folder_filesystems:
            unmount_job_folder(self.job_dir)

    @property
    def job_dir_inside(self) -> str:
        return self.isolation.job_dir_inside or str(self.job_dir)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        # bubblewrap's --die-with-parent follows the *thread* that started it: each worker is
        # started by the pool's thread that serves it, which lives as long as the pool.
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("AUTOGRADER_", "UPSAMPLING_"))
        }
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.isolation.worker_command(self.job_dir),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=env,
                cwd=self.job_dir,
                close_fds=True,
            )
        line = self._read_line(READY_TIMEOUT)
        if not json.loads(line).get("ready"):
            raise WorkerError(f"worker {self.name} did not start: {line[:200]!r}")

    def _read_line(self, timeout: float) -> bytes:
        process = self.process
        assert process is not None and process.stdout is not None
        stdout = process.stdout
        result: list[bytes] = []
        reader = threading.Thread(target=lambda: result.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        if not result or not result[0]:
            log_tail = read_capped(self.log_path, 1 << 16)[-2000:].decode(errors="replace")
            self.stop()
            raise WorkerError(f"worker {self.name} stopped answering. Log:\n{log_tail}")
        return result[0]

    def _write_files(self, job: Job) -> None:
        cells = json.dumps({"cells": [dataclasses.asdict(c) for c in job.cells]}).encode()
        for name, content in {**job.files, "cells.json": cells}.items():
            path = self.job_dir / name
            path.write_bytes(content)
            if self.uid is not None:
                os.chown(path, self.uid, self.uid)
        if self.uid is not None:
            os.chown(self.job_dir, self.uid, self.uid)
        self.job_dir.chmod(0o700)

    def attempt(self, job: Job) -> RunOutcome:
        """Run ``job`` once (see ``jobs.run_with_policy`` for what the exceptions mean)."""
        self._clean_folder()
        self._cap_folder(job.limits)
        if not self.alive:
            try:
                self.start()
            except (OSError, ValueError, WorkerError) as exc:
                self.stop()
                raise NoWorker(f"the grading worker could not start: {exc}") from None
        self._write_files(job)
        request = {
            "job": self.jobs_done,
            "dir": self.job_dir_inside,
            "uid": self.uid,
            "env": job_environment(job.seed, self.single_thread),
            "limits": dataclasses.asdict(job.limits),
            "private_network": self.isolation.private_network,
            # Seconds between measures of the job folder, where it is no filesystem of its own.
            "watch_folder": None if self.isolation.folder_filesystems else FOLDER_WATCH_SECONDS,
        }
        assert self.process is not None and self.process.stdin is not None
        try:
            self.process.stdin.write((json.dumps(request) + "\n").encode())
            self.process.stdin.flush()
            answer = json.loads(self._read_line(job.limits.wall_seconds + CLEANUP_SECONDS))
        except (OSError, ValueError, WorkerError) as exc:
            self.stop()
            # Whatever of the job outlived its worker (without bubblewrap nothing ends it with
            # the worker) keeps the old user: the next worker's jobs get a new one.
            self.uid = self.isolation.worker_uid()
            raise WorkerLost(f"the grading worker {self.name} was lost: {exc}") from None
        self.jobs_done += 1
        if not answer.get("clean", False):
            # Something of the job survived: this worker's user is not clean any more.
            self.stop()
            self.uid = self.isolation.worker_uid()
        outcome = RunOutcome(
            exit_code=answer["exit_code"],
            signal=answer["signal"],
            timed_out=answer["timed_out"],
            wall_seconds=answer["wall_seconds"],
            cpu_seconds=answer["cpu_seconds"],
            max_rss_kb=answer["max_rss_kb"],
            reached_cells=answer["reached_cells"],
            folder_full=answer.get("folder_full", False),
            records=read_capped(self.job_dir / "records.jsonl", MAX_LOG_BYTES),
            stdout=read_capped(self.job_dir / "stdout.txt", MAX_STDOUT_BYTES),
            isolation=self.isolation.report(),
            worker=self.name,
        )
        self._clean_folder()
        return outcome

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None


#: A job, its future, and whether it runs once only (the caller applies the failure policy).
_Item = tuple[Job, "Future[RunOutcome]", bool]


class LocalPool:
    """``workers`` pristine workers on this machine, running jobs concurrently.

    The constructor returns once every worker has started (it raises ``WorkerError`` if one
    cannot); ``submit`` queues a job for the first free worker.
    """

    def __init__(self, isolation: Isolation, workers: int, *, wait: bool = True) -> None:
        """``wait=False`` returns at once: jobs queue while the workers start (a worker that
        cannot start then gives each job it takes the outcome ``RunFailure.NO_WORKER``)."""
        self._isolation = isolation
        if isolation.folder_filesystems:
            unmount_orphaned_job_folders()
        self.scratch = Path(tempfile.mkdtemp(prefix=f"{POOL_PREFIX}{os.getpid()}-"))
        self.scratch.chmod(0o711)  # workers' own users must reach their folder, nothing else
        self.workers = [Worker(i, isolation, self.scratch, workers > 1) for i in range(workers)]
        self._queue: queue.Queue[_Item | None] = queue.Queue()
        started: queue.Queue[Exception | None] = queue.Queue()
        self._threads = [
            threading.Thread(target=self._serve, args=(w, started, wait), daemon=True)
            for w in self.workers
        ]
        for thread in self._threads:  # all import TensorFlow at once, one per core
            thread.start()
        if not wait:
            return
        problems = [p for p in (started.get() for _ in self.workers) if p is not None]
        if problems:
            self.close()
            raise WorkerError(str(problems[0]))

    @property
    def isolation(self) -> IsolationReport:
        return self._isolation.report()

    def submit(self, job: Job) -> Future[RunOutcome]:
        future: Future[RunOutcome] = Future()
        self._queue.put((job, future, False))
        return future

    def attempt(self, job: Job) -> Future[RunOutcome]:
        """Run ``job`` once, without the failure policy: the future raises ``WorkerLost`` or
        ``NoWorker`` for the caller's policy to count (a Dask worker's pool: the policy is
        the coordinator's, which sees the losses of every machine)."""
        future: Future[RunOutcome] = Future()
        self._queue.put((job, future, True))
        return future

    def _serve(self, worker: Worker, started: queue.Queue[Exception | None], wait: bool) -> None:
        try:
            worker.start()
            started.put(None)
        except (OSError, ValueError, WorkerError) as exc:
            worker.stop()
            started.put(exc)
            if wait:
                return
        while (item := self._queue.get()) is not None:
            job, future, once = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                if once:
                    future.set_result(worker.attempt(job))
                else:
                    future.set_result(run_with_policy(job, worker.attempt, self.isolation))
            except Exception as exc:  # the grader's fault, or (once) a lost or missing worker
                future.set_exception(exc)
        worker.stop()

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()
        for worker in self.workers:
            worker.stop()
            worker.release_folder()
        if empty_folder(self.scratch):
            self.scratch.rmdir()

    def __enter__(self) -> LocalPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
