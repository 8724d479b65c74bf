"""The seam between the grader and whatever runs notebooks: jobs in, outcomes out.

A :class:`Job` is one notebook run as plain data (the cells to run, the files beside them, the
hidden inputs' seed, the limits); it holds no answer-key value. A :class:`RunOutcome` is what
the run left, as plain data, still untrusted. Both pickle, so a job can be shipped to another
process or machine. A :class:`JobRunner` turns jobs into outcomes: the local sandboxed pool
(:class:`autograder.sandbox.pool.LocalPool`) is the embedded one.

The one failure policy (:func:`run_with_policy`, shared by every runner):

* a job whose own process dies or hits a limit has that as its outcome: it is the
  submission's doing (a named status, 0 for what it did not prove) and is not run again;
* a job lost to the infrastructure (its worker died, or stopped answering, while the job's
  process was healthy as far as the grader can tell) runs once more, on a fresh worker;
* a job that loses a second worker is treated as the cause: its outcome says so
  (:attr:`RunFailure.WORKERS_LOST`, a named status) and it is not run again. Losses count
  across layers: a job the submission service already lost with one of its processes
  (:attr:`Job.prior_losses`) has used its one retry, so losing a sandbox worker as well
  makes it the cause;
* a job that no worker could be started for is the grader's failure
  (:attr:`RunFailure.NO_WORKER`, "grader error"), never the student's.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Protocol

from .results import IsolationReport

#: How many times a job lost to the infrastructure runs again.
RETRIES_AFTER_LOSS = 1
#: File names the sandbox uses in a job's folder: a job's own files may not take them.
RESERVED_FILE_NAMES = frozenset({"cells.json", "records.jsonl", "stdout.txt"})


@dataclass(frozen=True)
class Limits:
    """What one notebook's run may use. The wall-clock time is enforced from outside."""

    wall_seconds: float = 120.0
    cpu_seconds: int = 240
    memory_bytes: int = 6 * 1024**3  # address space: TensorFlow alone maps about 1.3 GB
    processes: int = 256  # threads count too, and TensorFlow starts dozens
    file_bytes: int = 64 * 1024**2  # each file written, the captured output included
    #: All the job folder holds at once (its temporary folder inside it included), and how
    #: many files and folders: a cap on what a job can put on the grader's disk or RAM.
    folder_bytes: int = 256 * 1024**2
    folder_entries: int = 50_000
    open_files: int = 512
    output_chars: int = 20_000  # captured output kept per cell for feedback

    @classmethod
    def for_timeout(cls, wall_seconds: float, memory_bytes: int) -> Limits:
        """Limits for a wall-clock timeout: twice as much CPU time (TensorFlow uses threads)."""
        return cls(
            wall_seconds=wall_seconds, cpu_seconds=int(wall_seconds * 2), memory_bytes=memory_bytes
        )

    @classmethod
    def chosen(
        cls, timeout: float | None, stored: float | None, memory_bytes: int | None = None
    ) -> Limits:
        """The limits a grading run uses: ``timeout`` (``--timeout``) when given, else the time
        limit stored with the answer key at release (``keybuild.time_limit_for``), else the
        default (a key built before limits were stored)."""
        wall = cls.wall_seconds if stored is None else stored
        return cls.for_timeout(
            wall if timeout is None else timeout,
            cls.memory_bytes if memory_bytes is None else memory_bytes,
        )


@dataclass(frozen=True)
class CodeCell:
    index: int  # the run cell's index: records name cells by it
    source: str


@dataclass(frozen=True)
class Job:
    """One notebook run. Plain data: safe to pickle and to hand to a machine that grades."""

    label: str  # who and what, for logs and reports ("ada/upsampling-by-hand")
    cells: tuple[CodeCell, ...]
    seed: int  # of the hidden inputs
    limits: Limits
    files: dict[str, bytes] = field(default_factory=dict)  # beside the notebook
    #: Times this job was already lost to the infrastructure before it reached this runner
    #: (a submission service process that died while grading it): they count in the policy.
    prior_losses: int = 0


class RunFailure(Enum):
    """Why a job has no run to show (``RunOutcome.failure``)."""

    WORKERS_LOST = "workers-lost"  # two workers died while running it: the job is the cause
    NO_WORKER = "no-worker"  # no worker could be started: the grader's failure


@dataclass(frozen=True)
class RunOutcome:
    """What one run left behind. ``records`` and ``stdout`` are untrusted bytes."""

    exit_code: int | None
    signal: int | None
    timed_out: bool
    wall_seconds: float
    cpu_seconds: float | None
    max_rss_kb: int | None
    records: bytes  # the run's log (see autograder.protocol)
    stdout: bytes  # the end of the process's own output, for a process that could not start
    isolation: IsolationReport  # what was in force where it ran
    #: Whether the job's process got as far as running cells (told by the worker, which no job
    #: can write to): only a process that did not may be one that "could not start".
    reached_cells: bool = True
    #: Whether the job filled its folder (``Limits.folder_bytes`` or ``folder_entries``), as
    #: the worker measured it once the job ended or while it ran (then it was stopped).
    folder_full: bool = False
    worker: str = ""  # which worker ran it (last attempt)
    lost_workers: int = 0  # attempts this runner lost to the infrastructure before this outcome
    lost_detail: str = ""  # which workers those were, and how they were lost
    failure: RunFailure | None = None
    failure_detail: str = ""

    @classmethod
    def not_run(
        cls, failure: RunFailure, detail: str, isolation: IsolationReport, lost_workers: int
    ) -> RunOutcome:
        return cls(
            exit_code=None,
            signal=None,
            timed_out=False,
            wall_seconds=0.0,
            cpu_seconds=None,
            max_rss_kb=None,
            records=b"",
            stdout=b"",
            isolation=isolation,
            reached_cells=False,
            lost_workers=lost_workers,
            failure=failure,
            failure_detail=detail,
        )


class WorkerLost(Exception):
    """The worker died or stopped answering while it ran the job (raised by an attempt)."""


class NoWorker(Exception):
    """No worker could be started to run the job (raised by an attempt)."""


def run_with_policy(
    job: Job, attempt: Callable[[Job], RunOutcome], isolation: IsolationReport
) -> RunOutcome:
    """Run ``job`` with ``attempt`` under the failure policy (see the module's docstring).

    ``attempt`` runs the job once on a healthy worker, starting one if needed; it raises
    :class:`WorkerLost` or :class:`NoWorker`. Runners that retry by themselves (a Dask
    scheduler's ``allowed-failures``) use :data:`RETRIES_AFTER_LOSS` and
    :meth:`RunOutcome.not_run` to the same effect.
    """
    lost: list[str] = []  # this runner's losses; job.prior_losses happened before it
    while True:
        try:
            outcome = attempt(job)
        except WorkerLost as exc:
            lost.append(str(exc))
            if job.prior_losses + len(lost) > RETRIES_AFTER_LOSS:
                earlier = [f"lost {job.prior_losses} time(s) before"] if job.prior_losses else []
                detail = "; ".join(earlier + lost)
                return RunOutcome.not_run(RunFailure.WORKERS_LOST, detail, isolation, len(lost))
            continue
        except NoWorker as exc:
            return RunOutcome.not_run(RunFailure.NO_WORKER, str(exc), isolation, len(lost))
        return replace(outcome, lost_workers=len(lost), lost_detail="; ".join(lost))


class JobRunner(Protocol):
    """Runs jobs somewhere, sandboxed, under the failure policy.

    ``submit`` returns at once; the future's result is the job's :class:`RunOutcome` (never an
    exception for anything the job did). ``isolation`` describes the protections in force
    (each outcome also carries those of the worker that ran it).
    """

    @property
    def isolation(self) -> IsolationReport: ...

    def submit(self, job: Job) -> Future[RunOutcome]: ...

    def close(self) -> None: ...
