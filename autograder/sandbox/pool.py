"""The grader's side of the workers: start them, hand them jobs, read back what a job left.

One worker per core, each with its own job folder. The grader writes a job's files, the worker
forks a fresh process that runs it, and the grader then reads the job's files as untrusted data
(regular files only, never through a link, with size caps) and empties the folder.
"""
from __future__ import annotations

import json
import os
import queue
import shutil
import stat
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .isolation import Isolation, Limits

READY_TIMEOUT = 180.0


@dataclass
class JobOutcome:
    exit_code: int | None
    signal: int | None
    timed_out: bool
    wall_seconds: float
    cpu_seconds: float | None
    max_rss_kb: int | None
    records: bytes
    stdout: bytes
    worker_error: str | None = None


class WorkerError(RuntimeError):
    pass


def read_untrusted(path: Path, cap: int) -> bytes:
    """The first ``cap`` bytes of a regular file, without following links; b"" if absent."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return b""
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return b""
        chunks, size = [], 0
        while size < cap:
            chunk = os.read(fd, min(1 << 20, cap - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def empty_folder(path: Path) -> None:
    """Remove everything in ``path`` (a job may leave read-only or odd files behind)."""
    def make_writable(func, target, _exc):
        try:
            os.chmod(os.path.dirname(target), 0o700)
            os.chmod(target, 0o700)
        except OSError:
            pass
        try:
            func(target)
        except OSError:
            pass

    for entry in os.scandir(path):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, onerror=make_writable)
        else:
            try:
                os.unlink(entry.path)
            except OSError:
                pass


class Worker:
    def __init__(self, index: int, isolation: Isolation, scratch: Path) -> None:
        self.index = index
        self.isolation = isolation
        self.uid = isolation.worker_uid(index)
        self.job_dir = scratch / f"worker-{index}"
        self.job_dir.mkdir(mode=0o700)
        self.log_path = scratch / f"worker-{index}.log"
        self.process: subprocess.Popen | None = None
        self.jobs_done = 0

    @property
    def job_dir_inside(self) -> str:
        return self.isolation.job_dir_inside or str(self.job_dir)

    def start(self) -> None:
        self.spawn()
        self.wait_ready()

    def spawn(self) -> None:
        # bubblewrap's --die-with-parent follows the *thread* that started it: spawn workers
        # from a thread that lives as long as they are needed.
        log = open(self.log_path, "ab")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOGRADER_", "UPSAMPLING_"))}
        self.process = subprocess.Popen(
            self.isolation.worker_command(self.job_dir), stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=log, env=env, cwd=self.job_dir, close_fds=True)
        log.close()

    def wait_ready(self) -> None:
        line = self._read_line(READY_TIMEOUT)
        if not json.loads(line).get("ready"):
            raise WorkerError(f"worker {self.index} did not start: {line[:200]!r}")

    def _read_line(self, timeout: float) -> bytes:
        assert self.process and self.process.stdout
        result: list[bytes] = []
        reader = threading.Thread(target=lambda: result.append(self.process.stdout.readline()),
                                  daemon=True)
        reader.start()
        reader.join(timeout)
        if not result or not result[0]:
            log_tail = read_untrusted(self.log_path, 1 << 16)[-2000:].decode(errors="replace")
            self.stop()
            raise WorkerError(f"worker {self.index} stopped answering. Log:\n{log_tail}")
        return result[0]

    def run(self, files: dict[str, bytes], env: dict[str, str], limits: Limits,
            private_network: bool) -> JobOutcome:
        if self.process is None or self.process.poll() is not None:
            self.start()
        empty_folder(self.job_dir)
        for name, content in files.items():
            (self.job_dir / name).write_bytes(content)
        if self.uid is not None:
            os.chown(self.job_dir, self.uid, self.uid)
            for name in files:
                os.chown(self.job_dir / name, self.uid, self.uid)
        self.job_dir.chmod(0o700)
        job = {"job": self.jobs_done, "dir": self.job_dir_inside, "uid": self.uid, "env": env,
               "limits": limits.as_dict(), "private_network": private_network}
        assert self.process and self.process.stdin
        try:
            self.process.stdin.write((json.dumps(job) + "\n").encode())
            self.process.stdin.flush()
            # The worker enforces the wall time, then may need up to 30 s to kill what is left.
            answer = json.loads(self._read_line(limits.wall_seconds + 120))
        except (OSError, ValueError, WorkerError) as exc:
            self.stop()
            return JobOutcome(None, None, False, 0.0, None, None, b"", b"",
                              worker_error=f"the grading worker failed: {exc}")
        self.jobs_done += 1
        if not answer.get("clean", False):
            # Something of the job survived: this worker's user is not clean any more.
            self.stop()
            self.uid = self.isolation.worker_uid(self.index)
        outcome = JobOutcome(
            exit_code=answer["exit_code"], signal=answer["signal"], timed_out=answer["timed_out"],
            wall_seconds=answer["wall_seconds"], cpu_seconds=answer["cpu_seconds"],
            max_rss_kb=answer["max_rss_kb"],
            records=read_untrusted(self.job_dir / "records.jsonl", 32 << 20),
            stdout=read_untrusted(self.job_dir / "stdout.txt", 64 << 10))
        empty_folder(self.job_dir)
        return outcome

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None


class WorkerPool:
    """``workers`` pristine workers running jobs concurrently; results come back in any order."""

    def __init__(self, isolation: Isolation, workers: int) -> None:
        self.isolation = isolation
        self.scratch = Path(tempfile.mkdtemp(prefix="autograder-"))
        self.scratch.chmod(0o711)  # workers' own users must reach their folder, nothing else
        self.workers = [Worker(i, isolation, self.scratch) for i in range(workers)]
        self.started = time.monotonic()
        for worker in self.workers:  # all import TensorFlow at once, one per core
            worker.spawn()
        for worker in self.workers:
            worker.wait_ready()

    def map(self, jobs, run):
        """Run ``run(worker, job)`` for every job on free workers; yield (job, result) as done."""
        jobs = list(jobs)
        todo: queue.Queue = queue.Queue()
        for job in jobs:
            todo.put(job)
        done: queue.Queue = queue.Queue()

        def loop(worker: Worker) -> None:
            while True:
                try:
                    job = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    done.put((job, run(worker, job), None))
                except Exception as exc:  # noqa: BLE001 - reported per job, never lost
                    done.put((job, None, exc))

        threads = [threading.Thread(target=loop, args=(w,), daemon=True) for w in self.workers]
        for t in threads:
            t.start()
        remaining = len(jobs)
        while remaining:
            yield done.get()
            remaining -= 1
        for t in threads:
            t.join()

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
        shutil.rmtree(self.scratch, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
