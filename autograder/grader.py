"""Grading an assignment: the orchestration, and nothing else.

For each submitted notebook, :meth:`Grader.prepare` reads the submission (untrusted) and
assembles the notebook to run (``notebook.assemble``) into a :class:`~autograder.jobs.Job`; a
:class:`~autograder.jobs.JobRunner` (default: the local sandboxed pool) runs it;
:meth:`Grader.finish` scores the outcome (``scoring.score_notebook``, pure); once a student's
notebooks are all scored, the :class:`~autograder.results.StudentResult` goes to the gradebook
(``gradebook.CourseGradebook.store``) and to the notebooks formgrader shows
(``formgrader.write_autograded``). Data flows one way: grader -> runner -> scoring ->
gradebook; the views (feedback, summary, CSV) read the gradebook.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .assignment import Assignment
from .cluster import Cluster
from .course import Course
from .display import quoted
from .jobs import RESERVED_FILE_NAMES, Job, JobRunner, Limits, RunOutcome
from .notebook import Assembled, InvalidNotebook, assemble, load_submission
from .results import IsolationReport, Note, NotebookResult, NoteKind, Status, StudentResult
from .runners import start_runner
from .sandbox.isolation import detect
from .scoring import score_notebook
from .untrusted import is_plain_file, read_capped

if TYPE_CHECKING:
    from .gradebook import CourseGradebook

#: Files beside a notebook that are copied into its job folder (data a student's code reads).
MAX_EXTRA_FILE_BYTES = 50 * 1024**2
MAX_EXTRA_TOTAL_BYTES = 100 * 1024**2
MAX_TIMESTAMP_BYTES = 200
#: Slightly more than the notebook limit, so an oversized file is reported as such.
READ_NOTEBOOK_BYTES = 17 * 1024**2
#: How often the grader looks whether the first job runs yet (``Grader._first_job_running``).
FIRST_JOB_POLL_SECONDS = 0.02


@dataclass
class Prepared:
    """One submitted notebook, read and assembled: a job to run, or already a result."""

    student: str
    name: str
    job: Job | None = None
    assembled: Assembled | None = None
    notes: list[Note] = field(default_factory=list)
    result: NotebookResult | None = None  # when there is nothing to run (missing, invalid)


@dataclass(frozen=True)
class Rerun:
    """A job that ran again because a worker was lost under it (the failure policy)."""

    label: str  # student/notebook
    lost: int  # workers lost
    detail: str  # which, and how
    worker: str  # where it ran in the end ("" if it did not)


def _extra_files(folder: Path, name: str) -> tuple[dict[str, bytes], list[Note]]:
    """The files beside the notebook that its job gets, and a note on each file."""
    files, notes, total = {}, [], 0
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.name.endswith(".ipynb") or entry.name == "timestamp.txt":
            continue
        if entry.is_symlink() or not entry.is_file(follow_symlinks=False):
            notes.append(
                Note(
                    NoteKind.FILE_NOT_COPIED,
                    f"{quoted(entry.name)} was not copied: only plain files are",
                )
            )
            continue
        size = entry.stat(follow_symlinks=False).st_size
        if entry.name in RESERVED_FILE_NAMES:
            notes.append(
                Note(
                    NoteKind.FILE_NOT_COPIED,
                    f"{quoted(entry.name)} was not copied: the grader uses that name",
                )
            )
        elif size > MAX_EXTRA_FILE_BYTES or total + size > MAX_EXTRA_TOTAL_BYTES:
            notes.append(
                Note(
                    NoteKind.FILE_NOT_COPIED,
                    f"{quoted(entry.name)} ({size / 1024**2:.0f} MB) was not copied: files "
                    f"beside the notebook are limited to "
                    f"{MAX_EXTRA_FILE_BYTES // 1024**2} MB each",
                )
            )
        else:
            files[entry.name] = read_capped(entry.path, MAX_EXTRA_FILE_BYTES)
            total += size
            notes.append(
                Note(
                    NoteKind.FILE_COPIED,
                    f"{quoted(entry.name)} ({size:,} bytes) was copied beside the notebook",
                )
            )
    return files, notes


class Grader:
    def __init__(
        self,
        course: Course,
        assignment: str,
        *,
        workers: int | None = None,
        limits: Limits | None = None,
        timeout: float | None = None,
        memory_bytes: int | None = None,
        require_sandbox: bool = False,
        cluster: Cluster | None = None,
    ) -> None:
        """``limits`` as given, else those of ``timeout`` (default: the time limit stored
        with the answer key, ``Limits.chosen``) and ``memory_bytes``."""
        self.course = course
        self.cluster = cluster
        self.assignment = Assignment.load(course, assignment)
        self.workers = workers or os.cpu_count() or 1
        self.limits = limits or Limits.chosen(timeout, self.assignment.key.time_limit, memory_bytes)
        self.require_sandbox = require_sandbox
        self.isolation: IsolationReport | None = None  # of the last run
        #: Of the last run: each worker that ran a job, and its isolation; the reruns.
        self.worker_isolation: dict[str, IsolationReport] = {}
        self.reruns: list[Rerun] = []
        self.elapsed = 0.0
        self.first_job_started_at: float | None = None  # of the last run (time.time())

    @property
    def notebooks(self) -> list[str]:
        return self.assignment.key.notebook_names

    # --- one notebook ---------------------------------------------------------------------
    def _not_run(self, name: str, status: Status, reason: str) -> NotebookResult:
        return NotebookResult(name, status, reason, self.assignment.key.notebooks[name].max_score)

    def prepare(self, student: str, name: str, folder: Path | None = None) -> Prepared:
        """Read one submitted notebook and build its job (or its result, if nothing can run).

        ``folder`` holds the submission (default: the student's ``submitted/`` folder; the
        submission service passes an upload's own folder)."""
        prepared = Prepared(student, name)
        if folder is None:
            folder = self.course.submitted_dir(student, self.assignment.name)
        path = folder / f"{name}.ipynb"
        if not is_plain_file(path):
            others = sorted(p.name for p in folder.glob("*.ipynb")) if folder.is_dir() else []
            found = f" (found: {', '.join(quoted(o) for o in others)})" if others else ""
            prepared.result = self._not_run(
                name, Status.MISSING, f"no {name}.ipynb was submitted{found}"
            )
            return prepared
        try:
            submitted = load_submission(read_capped(path, READ_NOTEBOOK_BYTES))
        except InvalidNotebook as exc:
            prepared.result = self._not_run(name, Status.INVALID, str(exc))
            return prepared
        prepared.assembled = assemble(self.assignment.notebooks[name], submitted)
        files, prepared.notes = _extra_files(folder, name)
        prepared.job = Job(
            f"{student}/{name}",
            prepared.assembled.code_cells(),
            self.assignment.key.seed,
            self.limits,
            files,
        )
        return prepared

    def finish(self, prepared: Prepared, outcome: RunOutcome) -> NotebookResult:
        """Score one run (pure: see ``scoring.score_notebook``)."""
        assert prepared.assembled is not None
        key = self.assignment.key.notebooks[prepared.name]
        return score_notebook(
            prepared.name, prepared.assembled, outcome, key, self.limits, prepared.notes
        )

    def grader_error(self, name: str, exc: BaseException) -> NotebookResult:
        return self._not_run(name, Status.ERROR, f"grader error: {type(exc).__name__}: {exc}")

    # --- one student ----------------------------------------------------------------------
    def _timestamp(self, student: str) -> str | None:
        stamp = self.course.submitted_dir(student, self.assignment.name) / "timestamp.txt"
        text = read_capped(stamp, MAX_TIMESTAMP_BYTES).decode("utf-8", "replace").strip()
        try:
            return dt.datetime.fromisoformat(text).isoformat() if text else None
        except ValueError:
            return None

    def student_result(
        self,
        student: str,
        notebooks: list[NotebookResult],
        isolation: IsolationReport,
        timestamp: str | None = None,
    ) -> StudentResult:
        """``timestamp`` defaults to the one in the student's ``submitted/`` folder."""
        return StudentResult(
            assignment=self.assignment.name,
            student=student,
            notebooks=sorted(notebooks, key=lambda n: n.name),
            isolation=isolation,
            timestamp=timestamp or self._timestamp(student),
        )

    def _store(
        self,
        gradebook: CourseGradebook,
        student: str,
        notebooks: list[NotebookResult],
        isolation: IsolationReport,
    ) -> StudentResult:
        """Store one student's result; if that fails, the failure is that student's status
        (grader error) and the run goes on with the others."""
        result = self.student_result(student, notebooks, isolation)
        from .formgrader import write_autograded

        try:
            gradebook.store(result)
            write_autograded(self.course, result)
        except Exception as exc:  # a fault of the grader: that student's status
            errors = [self.grader_error(n.name, exc) for n in notebooks]
            result = self.student_result(student, errors, isolation)
            try:
                gradebook.store(result)
            except Exception:  # noqa: BLE001 - the result is still reported and in the CSV
                pass
        return result

    # --- everyone -------------------------------------------------------------------------
    def _start_runner(self, jobs: int) -> JobRunner:
        """The local pool, returning at once: its workers import TensorFlow (the floor of the
        time to the first job) while submissions are read and the gradebook is opened."""
        return start_runner(
            cluster=self.cluster,
            workers=min(self.workers, max(1, jobs)),
            require_sandbox=self.require_sandbox,
            wait=False,
        )

    def _submit_all(
        self, students: list[str], runner: JobRunner | None
    ) -> tuple[list[Prepared], dict[Future[RunOutcome], Prepared], JobRunner | None]:
        """Read and assemble every submission, handing each job to ``runner`` as soon as it is
        ready; without one, a local pool is started at the first job (the caller closes it)."""
        prepared, futures, given = [], {}, runner
        try:
            for student in students:
                for name in self.notebooks:
                    try:
                        p = self.prepare(student, name)
                    except Exception as exc:  # a fault of the grader: that notebook's status
                        p = Prepared(student, name, result=self.grader_error(name, exc))
                    prepared.append(p)
                    if p.job is None:
                        continue
                    if runner is None:
                        runner = self._start_runner(len(students) * len(self.notebooks))
                    futures[runner.submit(p.job)] = p
        except BaseException:  # interrupted: no pool of ours outlives the run
            if given is None and runner is not None:
                runner.close()
            raise
        return prepared, futures, runner

    def _note_run(self, outcome: RunOutcome, label: str) -> None:
        if outcome.worker:
            self.worker_isolation[outcome.worker.split("/")[0]] = outcome.isolation
        if outcome.lost_workers:
            detail = outcome.lost_detail or outcome.failure_detail
            self.reruns.append(Rerun(label, outcome.lost_workers, detail, outcome.worker))

    def _notebook_results(
        self, prepared: list[Prepared], futures: dict[Future[RunOutcome], Prepared]
    ) -> Iterator[tuple[str, NotebookResult, IsolationReport | None]]:
        """(student, a notebook's result, where it ran) as each is ready: the results that
        needed no run first, then the runs'."""
        for p in prepared:
            if p.result is not None:
                yield p.student, p.result, None
        for future in as_completed(futures):
            p = futures[future]
            try:
                outcome = future.result()
                self._note_run(outcome, f"{p.student}/{p.name}")
                yield p.student, self.finish(p, outcome), outcome.isolation
            except Exception as exc:  # a fault of the grader: that notebook's status
                yield p.student, self.grader_error(p.name, exc), None

    def _first_job_running(self, futures: dict[Future[RunOutcome], Prepared]) -> None:
        """Wait until a job runs (or all are done); note when. The gradebook and the
        notebooks for formgrader (nbgrader, nbformat: seconds of imports) are opened after
        that, so they do not compete with the workers' start for the cores."""
        while futures and not any(f.running() or f.done() for f in futures):
            time.sleep(FIRST_JOB_POLL_SECONDS)
        self.first_job_started_at = time.time() if futures else None

    def grade(
        self,
        students: list[str] | None = None,
        *,
        progress: bool = True,
        runner: JobRunner | None = None,
        on_result: Callable[[StudentResult], None] | None = None,
    ) -> list[StudentResult]:
        """Grade ``students`` (default: everyone who submitted) on ``runner`` (default: a local
        sandboxed pool, started here and closed at the end); store and return their results."""
        started = time.monotonic()
        self.worker_isolation, self.reruns = {}, []
        if students is None:
            students = self.course.students_submitted(self.assignment.name)
        own_runner = runner is None
        prepared, futures, runner = self._submit_all(students, runner)
        done: dict[str, list[NotebookResult]] = {s: [] for s in students}
        ran_on: dict[str, IsolationReport] = {}
        results: list[StudentResult] = []
        isolation = runner.isolation if runner else detect(self.require_sandbox).report()
        try:
            self._first_job_running(futures)
            from tqdm import tqdm

            from .gradebook import CourseGradebook

            bar = tqdm(
                total=len(students),
                desc=f"grading {self.assignment.name}",
                unit="student",
                disable=not progress,
                file=sys.stderr,
            )
            with bar, CourseGradebook(self.course) as gradebook:
                for student, notebook, where in self._notebook_results(prepared, futures):
                    done[student].append(notebook)
                    if where is not None:
                        ran_on.setdefault(student, where)
                    if len(done[student]) < len(self.notebooks):
                        continue
                    where_run = ran_on.get(student, isolation)
                    result = self._store(gradebook, student, done[student], where_run)
                    results.append(result)
                    if on_result:
                        on_result(result)
                    bar.update(1)
        finally:
            if own_runner and runner is not None:
                runner.close()
        self.elapsed = time.monotonic() - started
        self.isolation = isolation
        return sorted(results, key=lambda r: r.student)
