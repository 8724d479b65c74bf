"""The local pool under the failure policy, with real workers killed from outside mid-job.

A worker killed while its job runs is the infrastructure's failure: the job runs once more on a
fresh worker. A job whose worker is killed twice is treated as the cause and not run again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from autograder.jobs import CodeCell, Job, Limits, RunFailure
from autograder.sandbox.isolation import (
    POOL_PREFIX,
    Isolation,
    detect,
    mount_job_folder,
    unmount_job_folder,
    unmount_orphaned_job_folders,
)
from autograder.sandbox.pool import LocalPool, Worker
from autograder.scoring import parse_log

pytestmark = pytest.mark.grading

#: Long enough to be killed in the middle of; short enough for a test.
SLOW = Job("slow", (CodeCell(0, "import time\ntime.sleep(4)\nprint('slept')"),), seed=1,
           limits=Limits(wall_seconds=30))  # fmt: skip


def _zygote_pid(worker: Worker) -> int:
    """The worker's zygote: the python process below the bwrap (or the process itself)."""
    assert worker.process is not None
    top = worker.process.pid
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    todo = [top]
    while todo:  # breadth first: the zygote comes before the children it forks
        pid = todo.pop(0)
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if b"autograder.sandbox.zygote" in f.read():
                return pid
        todo += sorted(children.get(pid, []))
    raise AssertionError("no zygote process found")


def _kill_when_started(pool: LocalPool, times: int, killed: list[int]) -> threading.Thread:
    """Kill the worker's zygote ``times`` times, each time once the job's first cell started."""
    worker = pool.workers[0]

    def watch() -> None:
        records = worker.job_dir / "records.jsonl"
        # Bounded, but longer than two worker restarts on a loaded machine (minutes each).
        deadline = time.monotonic() + 900
        killed_at = 0.0  # a log older than the last kill is the killed attempt's
        while len(killed) < times and time.monotonic() < deadline:
            time.sleep(0.05)
            try:
                fresh = records.stat().st_mtime > killed_at
                started = fresh and b'"start"' in records.read_bytes()
            except OSError:
                started = False
            if started:
                pid = _zygote_pid(worker)
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                killed_at = time.time()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.fixture(scope="module")
def pool():
    with LocalPool(detect(), 1) as pool:
        yield pool


@pytest.mark.parametrize("kills", [1, 2])
def test_a_killed_worker_is_replaced_and_the_job_runs_once_more(pool, kills):
    killed: list[int] = []
    watcher = _kill_when_started(pool, kills, killed)
    outcome = pool.submit(SLOW).result(timeout=1200)
    watcher.join()
    assert len(killed) == kills
    if kills == 1:  # the second attempt, on a fresh worker, ran to the end
        assert (outcome.failure, outcome.lost_workers, outcome.exit_code) == (None, 1, 0)
        assert parse_log(outcome.records).done and b"slept" in outcome.records
    else:  # the job is the cause: not run a third time
        assert (outcome.failure, outcome.lost_workers) == (RunFailure.WORKERS_LOST, 2)
        assert "was lost" in outcome.failure_detail
    # The pool goes on with a fresh worker.
    after = pool.submit(Job("after", (CodeCell(0, "print(6 * 7)"),), 1, Limits())).result(600)
    assert after.failure is None and b"42" in after.records


def test_an_honest_job_leaves_its_worker_for_the_next(pool):
    """The worker stays (no TensorFlow import again) after jobs that leave nothing behind,
    wherever the grader's code lives: a checkout under /tmp is mounted inside the sandbox's own
    /tmp, and the clean-up after each job must not take that for something a job left."""
    pool.submit(Job("warm", (CodeCell(0, "x = 1"),), 1, Limits())).result(600)
    first = _zygote_pid(pool.workers[0])
    for n in range(2):
        done = pool.submit(Job(f"honest-{n}", (CodeCell(0, "print(6 * 7)"),), 1, Limits()))
        assert done.result(600).exit_code == 0
    assert _zygote_pid(pool.workers[0]) == first


def test_a_pool_that_does_not_wait_gives_each_job_no_worker_when_none_starts(tmp_path):
    """``wait=False`` (the grader's: jobs queue while workers start) reports a worker that
    cannot start on each job, as the grader's failure, instead of leaving the jobs waiting."""
    broken = Isolation(bubblewrap=str(tmp_path / "no-such-bwrap"), root=False)
    with LocalPool(broken, 1, wait=False) as pool:
        outcome = pool.submit(SLOW).result(60)
    assert outcome.failure is RunFailure.NO_WORKER
    assert "could not start" in outcome.failure_detail


def _mounted(folder) -> bool:
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        return any(line.split()[4] == str(folder) for line in f)


@pytest.mark.skipif(not detect().folder_filesystems, reason="job folders are mounts only as root")
def test_job_folders_of_a_grader_killed_before_its_pool_closed_are_unmounted(pool, tmp_path):
    """Each holds up to a job folder's cap of RAM: the next pool unmounts those of graders that
    no longer run, and none of a grader that does (this one's)."""
    gone = subprocess.Popen(["true"])
    gone.wait()
    orphan = Path(tempfile.mkdtemp(prefix=f"{POOL_PREFIX}{gone.pid}-")) / "worker-0-1"
    orphan.mkdir()
    mount_job_folder(orphan, 1 << 20, 16)
    try:
        unmount_orphaned_job_folders()  # what a pool does as it starts
        assert not _mounted(orphan)
        assert _mounted(pool.workers[0].job_dir)
    finally:
        unmount_job_folder(orphan)
        orphan.rmdir()
        orphan.parent.rmdir()
