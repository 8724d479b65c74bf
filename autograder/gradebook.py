"""The gradebook: the only module that touches nbgrader's ``Gradebook``.

nbgrader's own tables hold the scores, once (so ``nbgrader export`` and formgrader keep working,
and a mark given by hand is simply there). One more table in the same database,
``autograder_status``, holds each submission's status in plain words and the rest of its
:class:`~autograder.results.StudentResult` (notes, checks, what ran), so that a submission that
could not be graded is never shown as a silent 0. :meth:`CourseGradebook.results` reads both
back as one result whose scores are nbgrader's.

Each student's result is written in one transaction, so parallel grading never contends for the
database; several graders at once are safe on PostgreSQL and, with SQLite's lock timeout, on
SQLite.
"""

from __future__ import annotations

import datetime as dt
import json
import warnings
import zlib
from dataclasses import replace
from typing import Any

from nbgrader.api import Gradebook, MissingEntry, SubmittedAssignment
from sqlalchemy import Column, DateTime, MetaData, String, Table, Text, delete, insert, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from .course import Course
from .locations import put_scripts_on_path
from .results import CellResult, StudentResult

_metadata = MetaData()
status_table = Table(
    "autograder_status",
    _metadata,
    Column("assignment", String(128), primary_key=True),
    Column("student", String(128), primary_key=True),
    Column("status", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("result", Text, nullable=False),  # StudentResult.to_json(), scores left out
    Column("graded_at", DateTime, nullable=False),
)
SAVE_ATTEMPTS = 5


class NoSuchGrade(LookupError):
    """No graded submission has that cell."""


def _without_scores(result: StudentResult) -> dict[str, Any]:
    """The stored form: scores live in nbgrader's tables only."""
    unscored = [
        replace(
            nb,
            cells={
                gid: CellResult(
                    c.grade_id,
                    c.kind,
                    c.max_score,
                    passed=c.passed,
                    checks=c.checks,
                    error=c.error,
                    ran=c.ran,
                )
                for gid, c in nb.cells.items()
            },
        )
        for nb in result.notebooks
    ]
    data = replace(result, notebooks=unscored).to_json()
    del data["score"]
    return data


class CourseGradebook:
    def __init__(self, course: Course) -> None:
        put_scripts_on_path()  # nbgrader's Gradebook starts alembic by name
        self.gb = Gradebook(course.db_url, course_id=course.course_id)
        _metadata.create_all(self.gb.engine)

    def close(self) -> None:
        self.gb.close()

    def __enter__(self) -> CourseGradebook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing --------------------------------------------------------------------------
    def store(self, result: StudentResult) -> None:
        """Store one student's result in one transaction (replacing an earlier one)."""
        for attempt in range(SAVE_ATTEMPTS):
            with warnings.catch_warnings():
                # nbgrader's update_or_create_submission trips SQLAlchemy's autoflush warnings.
                warnings.simplefilter("ignore")
                try:
                    self._store(result)
                    return
                except (IntegrityError, DBAPIError):
                    # Another grader created the same rows between our read and our write
                    # (SQLite has no row locks): start again from what it committed.
                    self.gb.db.rollback()
                    self.gb.db.expire_all()
                    if attempt == SAVE_ATTEMPTS - 1:
                        raise

    def _store(self, result: StudentResult) -> None:
        gb, assignment, student = self.gb, result.assignment, result.student
        if gb.engine.dialect.name == "postgresql":
            # Two graders writing the same student's rows take turns.
            gb.db.execute(
                text("SELECT pg_advisory_xact_lock(:k)"),
                {"k": zlib.crc32(f"{assignment}/{student}".encode())},
            )
        try:
            gb.update_or_create_student(student)
            if result.scored:
                self._store_scores(result)
            else:
                # Nothing could be run: no scores at all rather than zeros.
                try:
                    gb.remove_submission(assignment, student)
                except MissingEntry:
                    pass
            table = status_table.c
            gb.db.execute(
                delete(status_table).where(table.assignment == assignment, table.student == student)
            )
            gb.db.execute(
                insert(status_table).values(
                    assignment=assignment,
                    student=student,
                    status=result.status.value,
                    reason=result.reason,
                    result=json.dumps(_without_scores(result)),
                    graded_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
                )
            )
            gb.db.commit()
        except Exception:
            gb.db.rollback()
            raise

    def _store_scores(self, result: StudentResult) -> None:
        gb, assignment, student = self.gb, result.assignment, result.student
        stamp = dt.datetime.fromisoformat(result.timestamp) if result.timestamp else None
        submission = gb.update_or_create_submission(assignment, student, timestamp=stamp)
        for notebook in result.notebooks:
            for grade_id, cell in notebook.cells.items():
                grade = gb.find_grade(grade_id, notebook.name, assignment, student)
                grade.auto_score = cell.auto_score
                # An answer marked by hand stays marked when the class is regraded.
                grade.needs_manual_grade = grade.auto_score is None and grade.manual_score is None
        gb.db.add(submission)

    def mark(
        self, assignment: str, notebook: str, student: str, grade_id: str, score: float
    ) -> None:
        """Give an answer its mark by hand (``ValueError`` outside 0..max, ``NoSuchGrade``)."""
        try:
            grade = self.gb.find_grade(grade_id, notebook, assignment, student)
        except MissingEntry:
            raise NoSuchGrade(
                f"no graded submission of {assignment!r} by {student!r} with a cell {grade_id!r}"
            ) from None
        if not 0 <= score <= grade.max_score:
            raise ValueError(f"the score must be between 0 and {grade.max_score:g}")
        grade.manual_score = score
        grade.needs_manual_grade = False
        self.gb.db.commit()

    # --- reading --------------------------------------------------------------------------
    def students(self) -> list[str]:
        """Every student the gradebook knows, from any assignment."""
        return sorted(s.id for s in self.gb.students)

    def results(self, assignment: str) -> dict[str, StudentResult]:
        """Student -> last stored result of ``assignment``, with the gradebook's scores."""
        rows = self.gb.db.execute(
            select(status_table).where(status_table.c.assignment == assignment)
        )
        results = {row.student: StudentResult.from_json(json.loads(row.result)) for row in rows}
        try:
            submissions = self.gb.assignment_submissions(assignment)
        except MissingEntry:
            return results
        for submission in submissions:
            result = results.get(submission.student.id)
            if result is not None and result.scored:
                _read_scores(submission, result)
        return results


def _read_scores(submission: SubmittedAssignment, result: StudentResult) -> None:
    for notebook in submission.notebooks:
        stored = result.notebook(notebook.name)
        if stored is None:
            continue
        comments = {c.name: c.manual_comment for c in notebook.comments}
        for grade in notebook.grades:
            cell = stored.cells.get(grade.name)
            if cell is not None:
                cell.auto_score = grade.auto_score
                cell.manual_score = grade.manual_score
                cell.extra_credit = grade.extra_credit or 0.0
                cell.comment = comments.get(grade.name)
