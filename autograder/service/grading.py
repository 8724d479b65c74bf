"""The service's one link to the grading core: a queued submission in, a graded result out.

Everything the service needs from the grader goes through :class:`GradingCore`, and no other
module of the service imports the grader's modules. It adds no grading logic of its own: a
submission is graded as ``autograder grade`` grades one (``grader.Grader.prepare`` -> the local
sandboxed pool, ``sandbox.pool.LocalPool``, under the one failure policy of ``jobs`` ->
``Grader.finish``, pure scoring), the result is a ``results.StudentResult``, the submission that
counts is stored by ``gradebook.CourseGradebook`` (and shown to formgrader by
``formgrader.write_autograded``), and marks, the marks CSV and releases are the core's.

What a student is shown of a result (:class:`ResultView`) is built here: score per question,
the checks as the feedback pages show them (``feedback.check_views``: visible checks' messages,
hidden checks numbered, a failed one with the kind of difference only), the type of an error a
test cell raised (never its message), every text that came out of the run redacted
(``redaction.Redactor``). Never a hidden input, an expected value or a hidden test's source.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import tempfile
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, replace
from pathlib import Path

from ..assignment import Assignment
from ..cluster import Cluster
from ..course import Course
from ..feedback import CheckView, check_views, exception_name
from ..formgrader import write_autograded
from ..gradebook import CourseGradebook, NoSuchGrade
from ..grader import Grader, Prepared
from ..jobs import RETRIES_AFTER_LOSS, JobRunner, RunFailure, RunOutcome
from ..marks import export_marks
from ..notebook import MAX_NOTEBOOK_BYTES, InvalidNotebook, load_submission
from ..redaction import Redactor
from ..release import release
from ..results import (
    CellKind,
    IsolationReport,
    NotebookResult,
    Origin,
    Status,
    StudentResult,
)
from ..runners import start_runner
from ..sandbox.isolation import Isolation, detect

#: How often a grading waiting for its run looks whether the service is stopping.
POLL_SECONDS = 1.0
#: Service processes a job may lose before it is taken for the cause: the core's failure
#: policy (``jobs.run_with_policy``), applied by the persisted queue to whole processes.
PROCESS_RETRIES = RETRIES_AFTER_LOSS


class PoolClosed(RuntimeError):
    """The service is stopping: the grading was not finished."""


class SandboxMissing(RuntimeError):
    """The machine cannot give the isolation ``autograder grade`` gives, and it was required."""


@dataclass(frozen=True)
class Question:
    notebook: str
    grade_id: str
    points: float
    manual: bool


@dataclass(frozen=True)
class AssignmentInfo:
    name: str
    notebooks: tuple[str, ...]
    questions: tuple[Question, ...]
    max_score: float
    key_version: str  # changes with every release (a fresh seed, a fresh key)


@dataclass(frozen=True)
class Upload:
    """One submission to grade, as the queue hands it over."""

    public_id: str
    student_id: str
    assignment: str
    notebook: str
    content: bytes
    uploaded_at: dt.datetime
    #: Service processes that died while grading it (the queue requeued it): they count in the
    #: one failure policy together with the sandbox workers lost (``Job.prior_losses``).
    losses: int = 0


@dataclass(frozen=True)
class Outcome:
    """One grading's result, ready to store."""

    result: StudentResult
    key_version: str
    #: Grading processes and sandbox workers lost while it was graded (the policy ran it again).
    workers_lost: int = 0

    @property
    def status(self) -> Status:
        return self.result.status

    @property
    def score(self) -> float | None:
        return self.result.score if self.result.scored else None

    @property
    def max_score(self) -> float:
        return self.result.max_score

    @property
    def result_json(self) -> str:
        """The core's result as stored in the service's tables (never sent to a browser)."""
        return json.dumps(self.result.to_json())


@dataclass(frozen=True)
class QuestionView:
    notebook: str
    grade_id: str
    manual: bool
    score: float | None  # None: waiting for a mark by hand
    max_score: float
    checks: tuple[CheckView, ...] = ()
    error_type: str | None = None  # the type of an error the test cell raised


@dataclass(frozen=True)
class ResultView:
    status: Status
    status_words: str
    reason: str
    advice: str | None
    scored: bool
    score: float | None
    max_score: float
    notes: tuple[str, ...] = ()
    questions: tuple[QuestionView, ...] = ()


def status_words(status: str | None) -> str:
    """A stored status in plain words (``results.Status.words``)."""
    try:
        return Status(status or "").words
    except ValueError:
        return status or ""


def is_normal(status: str | None) -> bool:
    """Whether a stored status is a normal grading (graded, or repaired first)."""
    try:
        return Status(status or "").normal
    except ValueError:
        return False


@dataclass
class _Loaded:
    info: AssignmentInfo
    grader: Grader
    redact: Redactor


def _info(assignment: Assignment, version: str) -> AssignmentInfo:
    questions = []
    for notebook, grade_id in assignment.questions():
        key = assignment.key.notebooks[notebook]
        if grade_id in key.cells:
            questions.append(Question(notebook, grade_id, key.cells[grade_id].points, False))
        elif grade_id in key.manual:
            questions.append(Question(notebook, grade_id, key.manual[grade_id], True))
    return AssignmentInfo(
        assignment.name,
        tuple(assignment.key.notebook_names),
        tuple(questions),
        assignment.key.max_score,
        version,
    )


@dataclass
class GradingCore:
    course: Course
    workers: int = 1
    #: Seconds per notebook (default: each assignment's, stored with its answer key).
    timeout: float | None = None
    memory_bytes: int | None = None
    allow_unsandboxed: bool = False
    #: Grade on this Dask cluster (its workers' sandboxes are checked when it starts).
    cluster: Cluster | None = None

    def __post_init__(self) -> None:
        self.isolation: Isolation = detect(require_sandbox=False)
        if self.cluster is None and not self.sandboxed and not self.allow_unsandboxed:
            raise SandboxMissing(
                "the service grades only with the sandbox `autograder grade` uses (bubblewrap, "
                "and root for a user per run): "
                + "; ".join(self.isolation.warnings)
                + ". Pass --allow-unsandboxed for a local trial without it."
            )
        self.staging = self.course.private_dir / "service-staging"
        self._assignments: dict[str, _Loaded] = {}
        self._lock = threading.Lock()
        self._pool: JobRunner | None = None
        self._closed = threading.Event()

    # --- the sandbox ------------------------------------------------------------------------
    @property
    def sandboxed(self) -> bool:
        """Whether runs are sandboxed: on a cluster, every worker used has bubblewrap unless
        --allow-unsandboxed (``DaskRunner`` refuses the others)."""
        if self.cluster is not None:
            return not self.allow_unsandboxed
        return bool(self.isolation.bubblewrap) and self.isolation.root

    @property
    def isolation_text(self) -> str:
        pool = self._pool
        if self.cluster is not None:
            where = f"Dask cluster at {self.cluster.address}"
            return f"{where}: {pool.isolation.describe()}" if pool else f"{where} (starting)"
        return self.isolation.describe()

    def start(self) -> None:
        """Start the sandboxed workers (each imports TensorFlow once: seconds)."""
        self.staging.mkdir(parents=True, exist_ok=True)
        self.staging.chmod(0o700)
        self._pool = start_runner(
            cluster=self.cluster,
            workers=self.workers,
            require_sandbox=not self.allow_unsandboxed,
            isolation=self.isolation,
        )

    def close(self) -> None:
        """Stop taking jobs; gradings under way end with ``PoolClosed`` (their jobs go back to
        the queue). The pool is closed in the background: a run under way may take minutes to
        end, and the process's exit ends its workers (bubblewrap's --die-with-parent)."""
        self._closed.set()
        pool, self._pool = self._pool, None
        if pool is not None:
            threading.Thread(target=pool.close, name="pool-close", daemon=True).start()

    def _run(self, future: Future[RunOutcome]) -> RunOutcome:
        while True:
            if self._closed.is_set():
                future.cancel()
                raise PoolClosed("the grading pool was stopped")
            try:
                return future.result(timeout=POLL_SECONDS)
            except FutureTimeout:
                continue

    # --- assignments ------------------------------------------------------------------------
    def released(self) -> list[str]:
        return [a for a in self.course.released_assignments() if self.course.key_path(a).is_file()]

    def key_version(self, assignment: str) -> str:
        return hashlib.sha256(self.course.key_path(assignment).read_bytes()).hexdigest()[:16]

    def _load(self, assignment: str) -> _Loaded:
        version = self.key_version(assignment)
        with self._lock:
            known = self._assignments.get(assignment)
            if known is not None and known.info.key_version == version:
                return known
            grader = Grader(
                self.course,
                assignment,
                workers=self.workers,
                timeout=self.timeout,
                memory_bytes=self.memory_bytes,
            )
            released = grader.assignment
            redact = Redactor.for_assignment(list(released.notebooks.values()), released.key)
            loaded = _Loaded(_info(released, version), grader, redact)
            self._assignments[assignment] = loaded
            return loaded

    def assignment(self, name: str) -> AssignmentInfo:
        return self._load(name).info

    def exercises(self) -> list[str]:
        """Every assignment that can be released."""
        return sorted(self.course.exercise_sources())

    def release_notebook(self, assignment: str, notebook: str) -> bytes:
        """The student copy (no solutions, no hidden tests) of one notebook."""
        if notebook not in self.assignment(assignment).notebooks:
            raise KeyError(notebook)
        return (self.course.release_dir(assignment) / f"{notebook}.ipynb").read_bytes()

    def notebook_for(self, filename: str) -> tuple[str, str] | None:
        """(assignment, notebook) a file name stands for (browser copies such as
        ``name (1).ipynb`` included), or None."""
        from ..collect import _notebook_key

        for assignment in self.released():
            for notebook in self.assignment(assignment).notebooks:
                if _notebook_key(filename) == _notebook_key(f"{notebook}.ipynb"):
                    return assignment, notebook
        return None

    @staticmethod
    def check_notebook(content: bytes) -> str | None:
        """Why ``content`` is not a notebook the grader can read, or None (refused at upload,
        so a student learns at once, before the queue)."""
        try:
            load_submission(content[: MAX_NOTEBOOK_BYTES + 1])
        except InvalidNotebook as exc:
            return str(exc)
        return None

    # --- grading ----------------------------------------------------------------------------
    def _prepare(self, loaded: _Loaded, upload: Upload) -> list[Prepared]:
        """Each notebook of the assignment read from the upload (the others are missing)."""
        grader = loaded.grader
        folder = Path(tempfile.mkdtemp(prefix=f"{upload.public_id}-", dir=self.staging))
        try:
            (folder / f"{upload.notebook}.ipynb").write_bytes(upload.content)
            prepared = []
            for name in loaded.info.notebooks:
                try:
                    prepared.append(grader.prepare(upload.student_id, name, folder))
                except Exception as exc:  # a fault of the grader: that notebook's status
                    prepared.append(
                        Prepared(upload.student_id, name, result=grader.grader_error(name, exc))
                    )
            return prepared
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _result(
        self,
        loaded: _Loaded,
        upload: Upload,
        notebooks: list[NotebookResult],
        ran_on: IsolationReport | None = None,
    ) -> StudentResult:
        """``ran_on``: the isolation of the worker that ran it (default: this machine's)."""
        stamp = upload.uploaded_at.replace(tzinfo=dt.UTC).isoformat()
        isolation = ran_on or self.isolation.report()
        return loaded.grader.student_result(
            upload.student_id, notebooks, isolation, timestamp=stamp
        )

    def grade(self, upload: Upload) -> Outcome:
        """Grade one upload in the sandbox (blocks until its runs are done)."""
        loaded = self._load(upload.assignment)
        pool = self._pool
        if pool is None or self._closed.is_set():
            raise PoolClosed("the grading pool is not running")
        prepared = self._prepare(loaded, upload)
        futures = {
            p.name: pool.submit(replace(p.job, prior_losses=upload.losses))
            for p in prepared
            if p.job is not None
        }
        notebooks, lost, ran_on = [], upload.losses, None
        for p in prepared:
            if p.result is not None:
                notebooks.append(p.result)
                continue
            outcome = self._run(futures[p.name])
            lost += outcome.lost_workers
            ran_on = ran_on or (outcome.isolation if outcome.worker else None)
            try:
                notebooks.append(loaded.grader.finish(p, outcome))
            except Exception as exc:  # a fault of the grader: that notebook's status
                notebooks.append(loaded.grader.grader_error(p.name, exc))
        return Outcome(
            self._result(loaded, upload, notebooks, ran_on), loaded.info.key_version, lost
        )

    def lost(self, upload: Upload, losses: int) -> Outcome:
        """The result of an upload whose grading lost a second service process: the failure
        policy takes the submission for the cause and does not run it again."""
        loaded = self._load(upload.assignment)
        failed = RunOutcome.not_run(
            RunFailure.WORKERS_LOST,
            "the service processes grading it stopped",
            self.isolation.report(),
            losses,
        )
        notebooks = [
            p.result if p.result is not None else loaded.grader.finish(p, failed)
            for p in self._prepare(loaded, upload)
        ]
        return Outcome(self._result(loaded, upload, notebooks), loaded.info.key_version, losses)

    def grader_error(self, upload: Upload, exc: BaseException) -> Outcome:
        """The result of an upload the grader itself failed on (never the student's fault)."""
        loaded = self._load(upload.assignment)
        notebooks = [loaded.grader.grader_error(name, exc) for name in loaded.info.notebooks]
        return Outcome(self._result(loaded, upload, notebooks), loaded.info.key_version)

    # --- the gradebook ----------------------------------------------------------------------
    def store_counting(self, result_json: str, notebook: bytes) -> None:
        """Put the submission that counts in the gradebook and in ``submitted/`` (where the
        command line and formgrader look), replacing what was there."""
        result = StudentResult.from_json(json.loads(result_json))
        folder = self.course.submitted_dir(result.student, result.assignment)
        folder.mkdir(parents=True, exist_ok=True)
        name = result.notebooks[0].name if result.notebooks else result.assignment
        with tempfile.NamedTemporaryFile(dir=folder, delete=False) as tmp:
            tmp.write(notebook)
        Path(tmp.name).replace(folder / f"{name}.ipynb")
        if result.timestamp:
            (folder / "timestamp.txt").write_text(result.timestamp)
        with CourseGradebook(self.course) as gradebook:
            gradebook.store(result)
        write_autograded(self.course, result)

    def _results(self, assignment: str) -> dict[str, StudentResult]:
        with CourseGradebook(self.course) as gradebook:
            return gradebook.results(assignment)

    def scores(self, assignment: str) -> dict[str, float]:
        """Student -> total in the gradebook (hand-given marks included)."""
        return {s: r.score for s, r in self._results(assignment).items() if r.scored}

    def pending_marks(self, assignment: str) -> dict[str, list[Question]]:
        """Student -> questions still waiting for a mark by hand."""
        info = self.assignment(assignment)
        pending: dict[str, list[Question]] = {}
        for student, result in self._results(assignment).items():
            for question in info.questions:
                notebook = result.notebook(question.notebook)
                cell = notebook.cells.get(question.grade_id) if notebook else None
                if notebook and notebook.scored and cell and cell.score is None:
                    pending.setdefault(student, []).append(question)
        return pending

    def manual_marks(self, assignment: str, student: str) -> dict[str, float | None]:
        """grade id -> the mark of an answer marked by hand, of the counting submission."""
        result = self._results(assignment).get(student)
        if result is None:
            return {}
        return {
            gid: cell.score
            for nb in result.notebooks
            for gid, cell in nb.cells.items()
            if cell.kind is CellKind.MANUAL
        }

    def mark(
        self, assignment: str, notebook: str, student: str, grade_id: str, score: float
    ) -> None:
        """Give an answer of the counting submission its mark by hand (``KeyError``: no such
        graded answer; ``ValueError``: outside 0..max)."""
        with CourseGradebook(self.course) as gradebook:
            try:
                gradebook.mark(assignment, notebook, student, grade_id, score)
            except NoSuchGrade as exc:
                raise KeyError(str(exc)) from None

    def marks_csv(self, assignment: str) -> bytes:
        """The marks CSV of ``autograder export`` for one assignment."""
        with tempfile.TemporaryDirectory() as tmp:
            return export_marks(self.course, [assignment], Path(tmp) / "marks.csv").read_bytes()

    def release(self, assignment: str) -> str:
        """Release (or re-release, with a fresh seed) one assignment; the command's words."""
        key = release(self.course, assignment)
        return f"released {assignment} ({key.check_count()} checks in the answer key)"

    # --- what people are shown --------------------------------------------------------------
    def answers(self, assignment: str, result_json: str) -> dict[str, str]:
        """grade id -> the student's answer (redacted), for an instructor marking by hand."""
        redact = self._load(assignment).redact
        result = StudentResult.from_json(json.loads(result_json))
        return {
            cell.grade_id: redact(cell.source)
            for nb in result.notebooks
            for cell in nb.cells_run
            if cell.origin is Origin.ANSWER and cell.grade_id
        }

    def view(
        self,
        assignment: str,
        result_json: str | None,
        status: str | None,
        marks: dict[str, float | None] | None = None,
    ) -> ResultView | None:
        """The redacted view of a stored result (``marks``: hand-given marks, if it counts)."""
        if result_json is None:
            return None
        loaded = self._load(assignment)
        result = StudentResult.from_json(json.loads(result_json))
        questions = tuple(
            self._question(q, result.notebook(q.notebook), marks, loaded.redact)
            for q in loaded.info.questions
        )
        shown = Status(status) if status else result.status
        return ResultView(
            status=shown,
            status_words=shown.words,
            reason=loaded.redact(result.reason),
            advice=shown.advice,
            scored=result.scored,
            score=sum(q.score or 0.0 for q in questions) if result.scored else None,
            max_score=loaded.info.max_score,
            notes=tuple(loaded.redact(n.text) for nb in result.notebooks for n in nb.notes),
            questions=questions,
        )

    @staticmethod
    def _question(
        question: Question,
        notebook: NotebookResult | None,
        marks: dict[str, float | None] | None,
        redact: Redactor,
    ) -> QuestionView:
        cell = notebook.cells.get(question.grade_id) if notebook else None
        base = QuestionView(
            question.notebook, question.grade_id, question.manual, None, question.points
        )
        if notebook is None or not notebook.scored or cell is None:
            return replace(base, score=None if question.manual else 0.0)
        if question.manual:
            score = (marks or {}).get(question.grade_id, cell.score)
            return replace(base, score=score)
        error = exception_name(cell.error.split(":", 1)[0]) if cell.error else None
        return QuestionView(
            question.notebook,
            question.grade_id,
            False,
            cell.score,
            question.points,
            tuple(check_views(cell.checks, redact)),
            error,
        )
