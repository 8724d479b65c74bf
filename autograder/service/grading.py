"""The service's one link to the grading core: a queued submission in, a graded result out.

Everything the service needs from the grader goes through :class:`GradingCore`: the released
assignments and their answer-key versions, grading one uploaded notebook in the sandboxed pool
under the one failure policy, storing the result that counts in the gradebook (nbgrader's
tables, which the command line and formgrader read), manual marks, the marks CSV, and the
redacted view of a result that students and instructors are shown. No other module of the
service imports the grader's modules, so a change of the core's API is adapted here.

What a student is shown of a result (:class:`ResultView`) is built here and nowhere else:
score per question, the visible checks' messages, hidden checks as passed or failed with the
kind of difference (the two shapes, how many values differ, or the type of error the cell
raised), every text that came out of the run redacted (hidden-test lines and names, the seed).
Never a hidden input, an expected value or a hidden test's source.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import queue
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ..course import Course
from ..feedback import ADVICE, Redactor
from ..grade import STATUS_WORDS, Grader
from ..notebook import MAX_NOTEBOOK_BYTES, InvalidNotebook, load_submission, parse_cells
from ..sandbox.isolation import Isolation, Limits, detect
from ..sandbox.pool import Worker, WorkerPool

#: Statuses a student's submission was graded normally with.
NORMAL = ("graded", "repaired")
_NOT_RUN = "this check did not run"  # the core's message for a check that reported nothing
_WORKER_FAILED = "the grading worker failed"  # the core's reason when a worker died


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


@dataclass(frozen=True)
class Outcome:
    """One grading's result, ready to store."""

    status: str
    scored: bool
    score: float | None
    max_score: float
    key_version: str
    result_json: str  # the core's result, stored as it is (never sent to a browser)
    workers_lost: int  # grading workers lost while it ran (the failure policy ran it again)


@dataclass(frozen=True)
class CheckView:
    label: str
    hidden: bool
    passed: bool
    detail: str  # why it failed: a visible check's message, a hidden check's kind of difference


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
    status: str
    status_words: str
    reason: str
    advice: str | None
    scored: bool
    score: float | None
    max_score: float
    notes: tuple[str, ...] = ()
    questions: tuple[QuestionView, ...] = ()


def status_words(status: str | None) -> str:
    return STATUS_WORDS.get(status or "", status or "")


def is_normal(status: str | None) -> bool:
    return status in NORMAL


def _error_type(error: str | None) -> str | None:
    """The type of a cell's error, never its message (which can quote hidden inputs)."""
    if not error:
        return None
    name = error.split(":", 1)[0].strip()
    return name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]{0,60}", name) else "an error"


class _StagedCourse(Course):
    """The course, except that a student's submitted folder is one upload's staging folder."""

    staging: Path

    def submitted_dir(self, student: str, assignment: str) -> Path:  # noqa: ARG002
        return self.staging / student


@dataclass
class _Assignment:
    info: AssignmentInfo
    grader: Grader
    redact: Redactor


@dataclass
class GradingCore:
    course: Course
    workers: int = 1
    limits: Limits = field(default_factory=Limits)
    allow_unsandboxed: bool = False

    def __post_init__(self) -> None:
        self.isolation: Isolation = detect(require_sandbox=False)
        if not self.sandboxed and not self.allow_unsandboxed:
            raise SandboxMissing(
                "the service grades only with the sandbox `autograder grade` uses (bubblewrap, "
                "and root for a user per run): "
                + "; ".join(self.isolation.warnings)
                + ". Pass --allow-unsandboxed for a local trial without it.")
        self.staging = self.course.private_dir / "service-staging"
        self._assignments: dict[str, _Assignment] = {}
        self._lock = threading.Lock()
        self._pool: WorkerPool | None = None
        self._free: queue.Queue[Worker] = queue.Queue()
        self._closed = threading.Event()

    # --- the sandbox ------------------------------------------------------------------------
    @property
    def sandboxed(self) -> bool:
        return bool(self.isolation.bubblewrap) and self.isolation.root

    @property
    def isolation_text(self) -> str:
        return self.isolation.describe()

    def start(self) -> None:
        """Start the sandboxed workers (each imports TensorFlow once: seconds)."""
        self.staging.mkdir(parents=True, exist_ok=True)
        self.staging.chmod(0o700)
        self._pool = WorkerPool(self.isolation, self.workers)
        for worker in self._pool.workers:
            self._free.put(worker)

    def close(self) -> None:
        """Stop the workers; gradings under way end with ``PoolClosed``."""
        self._closed.set()
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def _take_worker(self) -> Worker:
        while True:
            if self._closed.is_set():
                raise PoolClosed("the grading pool was stopped")
            try:
                return self._free.get(timeout=1.0)
            except queue.Empty:
                continue

    # --- assignments ------------------------------------------------------------------------
    def released(self) -> list[str]:
        return [a for a in self.course.released_assignments() if self.course.key_path(a).is_file()]

    def key_version(self, assignment: str) -> str:
        return hashlib.sha256(self.course.key_path(assignment).read_bytes()).hexdigest()[:16]

    def _load(self, assignment: str) -> _Assignment:
        version = self.key_version(assignment)
        with self._lock:
            known = self._assignments.get(assignment)
            if known is not None and known.info.key_version == version:
                return known
            course = _StagedCourse(self.course.root, db_url=self.course.db_url,
                                   course_id=self.course.course_id,
                                   exercises_dir=self.course.exercises_dir)
            course.staging = self.staging
            grader = Grader(course, assignment, workers=self.workers, limits=self.limits)
            questions = []
            for name in grader.notebooks:
                keyed = grader.key["notebooks"][name]
                for cell in grader.release[name]:
                    if cell.grade_id in keyed["cells"]:
                        questions.append(Question(name, cell.grade_id,
                                                  float(keyed["cells"][cell.grade_id]["points"]),
                                                  False))
                    elif cell.grade_id in keyed["manual"]:
                        questions.append(Question(name, cell.grade_id,
                                                  float(keyed["manual"][cell.grade_id]["points"]),
                                                  True))
            info = AssignmentInfo(assignment, tuple(grader.notebooks), tuple(questions),
                                  sum(grader.max_score(n) for n in grader.notebooks), version)
            loaded = _Assignment(info, grader,
                                 Redactor.for_assignment(grader.source, grader.release,
                                                         grader.key))
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
            parse_cells(load_submission(content[:MAX_NOTEBOOK_BYTES + 1]))
        except InvalidNotebook as exc:
            return str(exc)
        return None

    # --- grading ----------------------------------------------------------------------------
    def grade(self, upload: Upload) -> Outcome:
        """Grade one upload in the sandbox (blocks; one call per free worker at a time)."""
        loaded = self._load(upload.assignment)
        folder = Path(tempfile.mkdtemp(prefix=f"{upload.public_id}-", dir=self.staging))
        try:
            (folder / f"{upload.notebook}.ipynb").write_bytes(upload.content)
            notebooks, lost = [], 0
            worker = self._take_worker()
            try:
                for name in loaded.info.notebooks:
                    result, lost_here = self._grade_notebook(loaded.grader, worker, folder.name,
                                                             name)
                    notebooks.append(result)
                    lost += lost_here
            finally:
                self._free.put(worker)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        result = _student_result(upload, notebooks, self.isolation)
        return Outcome(result["status"], result["scored"],
                       result["score"] if result["scored"] else None, result["max_score"],
                       loaded.info.key_version, json.dumps(result), lost)

    def not_graded(self, upload: Upload, status: str, reason: str) -> Outcome:
        """The result of an upload that was not run: ``workers-lost`` when two service
        processes died while grading it, ``error`` for a fault of the grader."""
        info = self.assignment(upload.assignment)
        grader = self._load(upload.assignment).grader
        notebooks = [{"name": name, "status": status, "reason": reason, "notes": [],
                      "cells": {}, "score": 0.0, "max_score": grader.max_score(name),
                      "scored": False, "outputs": {}} for name in info.notebooks]
        result = _student_result(upload, notebooks, self.isolation)
        return Outcome(status, False, None, info.max_score, info.key_version,
                       json.dumps(result), 0)

    def _grade_notebook(self, grader: Grader, worker: Worker, folder: str,
                        name: str) -> tuple[dict, int]:
        """The failure policy: a worker lost during a job runs it once more; a second loss
        makes the submission the cause."""
        lost = 0
        while True:
            result = grader.grade_notebook(worker, folder, name)
            if not (result["status"] == "error" and result["reason"].startswith(_WORKER_FAILED)):
                return result, lost
            if self._closed.is_set():
                raise PoolClosed("the grading pool was stopped")
            lost += 1
            if lost > 1:
                result.update(status="workers-lost", scored=False,
                              reason="two grading workers were lost while they ran this "
                                     "notebook, so it was not run again")
                return result, lost

    # --- the gradebook ----------------------------------------------------------------------
    def store_counting(self, result_json: str, notebook: bytes) -> None:
        """Put the submission that counts in the gradebook and in ``submitted/`` (where the
        command line and formgrader look), replacing what was there."""
        from ..gradebook import GradebookWriter

        result = json.loads(result_json)
        folder = self.course.submitted_dir(result["student"], result["assignment"])
        folder.mkdir(parents=True, exist_ok=True)
        name = result["notebooks"][0]["name"] if result["notebooks"] else result["assignment"]
        with tempfile.NamedTemporaryFile(dir=folder, delete=False) as tmp:
            tmp.write(notebook)
        Path(tmp.name).replace(folder / f"{name}.ipynb")
        if result.get("timestamp"):
            (folder / "timestamp.txt").write_text(result["timestamp"])
        with GradebookWriter(self.course.db_url, self.course.course_id) as writer:
            writer.save(result)

    def scores(self, assignment: str) -> dict[str, float]:
        """Student -> total in the gradebook (hand-given marks included)."""
        from ..export import read_scores

        return {student: sum(nb.score for nb in notebooks.values())
                for student, notebooks in read_scores(self.course, assignment).items()}

    def pending_marks(self, assignment: str) -> dict[str, list[Question]]:
        """Student -> questions still waiting for a mark by hand."""
        from ..export import read_scores

        info = self.assignment(assignment)
        pending: dict[str, list[Question]] = {}
        for student, notebooks in read_scores(self.course, assignment).items():
            for question in info.questions:
                score = notebooks.get(question.notebook)
                q = score.questions.get(question.grade_id) if score else None
                if question.manual and q is not None and q.score is None:
                    pending.setdefault(student, []).append(question)
        return pending

    def manual_marks(self, assignment: str, student: str) -> dict[str, float | None]:
        """grade id -> the mark given by hand, of one student's counting submission."""
        from ..export import read_scores

        notebooks = read_scores(self.course, assignment).get(student, {})
        return {gid: q.score for nb in notebooks.values() for gid, q in nb.questions.items()
                if q.manual}

    def mark(self, assignment: str, notebook: str, student: str, grade_id: str,
             score: float) -> None:
        """Give an answer of the counting submission its mark by hand."""
        from nbgrader.api import Gradebook, MissingEntry

        with Gradebook(self.course.db_url, self.course.course_id) as gb:
            try:
                grade = gb.find_grade(grade_id, notebook, assignment, student)
            except MissingEntry:
                raise KeyError(f"no graded submission of {assignment!r} by {student!r} with a "
                               f"cell {grade_id!r}") from None
            if not 0 <= score <= grade.max_score:
                raise ValueError(f"the mark must be between 0 and {grade.max_score:g}")
            grade.manual_score = score
            grade.needs_manual_grade = False
            gb.db.commit()

    def marks_csv(self, assignment: str) -> bytes:
        """The marks CSV of ``autograder export`` for one assignment."""
        from ..export import export_marks

        with tempfile.TemporaryDirectory() as tmp:
            path = export_marks(self.course, [assignment], Path(tmp) / "marks.csv")
            return path.read_bytes()

    def release(self, assignment: str) -> str:
        """Release (or re-release, with a fresh seed) one assignment; the command's words."""
        from ..release import release

        key = release(self.course, assignment)
        checks = sum(len(c["values"]) for nb in key["notebooks"].values()
                     for c in nb["cells"].values())
        return f"released {assignment} ({checks} checks in the answer key)"

    # --- what people are shown --------------------------------------------------------------
    def answers(self, assignment: str, result_json: str) -> dict[str, str]:
        """grade id -> the student's answer (redacted), for an instructor marking by hand."""
        return _answers_of(result_json, self._load(assignment).redact)

    def view(self, assignment: str, result_json: str | None, status: str | None,
             marks: dict[str, float | None] | None = None) -> ResultView | None:
        """The redacted view of a stored result (``marks``: hand-given marks, if it counts)."""
        if result_json is None:
            return None
        result = json.loads(result_json)
        redact = self._load(assignment).redact
        info = self.assignment(assignment)
        questions = []
        for question in info.questions:
            notebook = next((n for n in result["notebooks"] if n["name"] == question.notebook),
                            None)
            cell = (notebook or {}).get("cells", {}).get(question.grade_id)
            if not (notebook and notebook.get("scored") and cell):
                questions.append(QuestionView(question.notebook, question.grade_id,
                                              question.manual, None if question.manual else 0.0,
                                              question.points))
                continue
            if question.manual:
                score = (marks or {}).get(question.grade_id, cell.get("auto_score"))
                questions.append(QuestionView(question.notebook, question.grade_id, True, score,
                                              question.points))
                continue
            error = _error_type(cell.get("error"))
            checks, hidden = [], 0
            for check in cell["checks"]:
                if check["hidden"]:
                    hidden += 1
                    label = f"hidden check {hidden}"
                    detail = check["message"]
                    if check["message"] == _NOT_RUN and error:
                        detail = f"did not run: the cell raised {error}"
                else:
                    label = check["name"]
                    detail = check["message"]
                checks.append(CheckView(label, check["hidden"], check["passed"],
                                        "" if check["passed"] else redact(detail)))
            questions.append(QuestionView(question.notebook, question.grade_id, False,
                                          cell["auto_score"], question.points, tuple(checks),
                                          error))
        scored = bool(result["scored"])
        score = sum(q.score or 0.0 for q in questions) if scored else None
        return ResultView(
            status=status or result["status"], status_words=status_words(status or result["status"]),
            reason=redact(result["reason"]), advice=ADVICE.get(status or result["status"]),
            scored=scored, score=score, max_score=info.max_score,
            notes=tuple(redact(n) for nb in result["notebooks"] for n in nb.get("notes", [])),
            questions=tuple(questions))


def _answers_of(result_json: str, redact: Redactor) -> dict[str, str]:
    """grade id -> the student's answer, of the answer cells (for marking by hand)."""
    result = json.loads(result_json)
    return {cell["grade_id"]: redact(cell["source"]) for nb in result["notebooks"]
            for cell in nb.get("cells_run", []) if cell["origin"] == "answer"}


def _student_result(upload: Upload, notebooks: list[dict], isolation: Isolation) -> dict:
    """The core's per-student result of one upload (its format: grade.Grader)."""
    from ..grade import _SEVERITY

    worst = max(notebooks, key=lambda n: _SEVERITY.index(n["status"]))
    return {
        "assignment": upload.assignment, "student": upload.student_id,
        "status": worst["status"], "status_words": STATUS_WORDS[worst["status"]],
        "reason": "; ".join(f"{n['name']}: {n['reason']}" for n in notebooks if n["reason"]),
        "scored": any(n["scored"] for n in notebooks),
        "score": sum(n["score"] for n in notebooks),
        "max_score": sum(n["max_score"] for n in notebooks),
        "notebooks": notebooks, "isolation": isolation.describe(),
        "timestamp": upload.uploaded_at.replace(tzinfo=dt.timezone.utc).isoformat(),
    }
