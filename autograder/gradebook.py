"""Writing results into nbgrader's gradebook, and the grading status of every submission.

nbgrader's own tables hold the scores (so ``nbgrader export`` and formgrader keep working). One
more table in the same database, ``autograder_status``, holds each submission's status in plain
words (graded, timed out, invalid notebook, ...) and the full result, so that a submission that
could not be graded is never shown as a silent 0. Only the grading process writes, one
transaction per submission, so parallel grading never contends for the database; several
graders at once are safe on PostgreSQL and, with SQLite's lock timeout, on SQLite.
"""
from __future__ import annotations

import datetime as dt
import json
import warnings
import zlib

from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy import (Column, DateTime, MetaData, String, Table, Text, delete, insert, select,
                        text)
from sqlalchemy.exc import DBAPIError, IntegrityError

_metadata = MetaData()
status_table = Table(
    "autograder_status", _metadata,
    Column("assignment", String(128), primary_key=True),
    Column("student", String(128), primary_key=True),
    Column("status", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("result", Text, nullable=False),  # the StudentResult as JSON
    Column("graded_at", DateTime, nullable=False),
)


class GradebookWriter:
    def __init__(self, db_url: str, course_id: str) -> None:
        self.gb = Gradebook(db_url, course_id=course_id)
        _metadata.create_all(self.gb.engine)

    def close(self) -> None:
        self.gb.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def save(self, result: dict) -> None:
        """Store one student's result (see grade.StudentResult.as_dict) in one transaction."""
        gb = self.gb
        assignment, student = result["assignment"], result["student"]
        for attempt in range(5):
            with warnings.catch_warnings():
                # nbgrader's update_or_create_submission trips SQLAlchemy's autoflush warnings.
                warnings.simplefilter("ignore")
                try:
                    self._save(gb, assignment, student, result)
                    return
                except (IntegrityError, DBAPIError):
                    # Another grader created the same rows between our read and our write
                    # (SQLite has no row locks): start again from what it committed.
                    gb.db.rollback()
                    gb.db.expire_all()
                    if attempt == 4:
                        raise

    def _save(self, gb, assignment: str, student: str, result: dict) -> None:
        if gb.engine.dialect.name == "postgresql":
            # Two graders writing the same student's rows take turns.
            gb.db.execute(text("SELECT pg_advisory_xact_lock(:k)"),
                          {"k": zlib.crc32(f"{assignment}/{student}".encode())})
        try:
            gb.update_or_create_student(student)
            if result["scored"]:
                timestamp = result.get("timestamp")
                submission = gb.update_or_create_submission(
                    assignment, student,
                    timestamp=dt.datetime.fromisoformat(timestamp) if timestamp else None)
                for notebook in result["notebooks"]:
                    for grade_id, cell in notebook["cells"].items():
                        grade = gb.find_grade(grade_id, notebook["name"], assignment, student)
                        grade.auto_score = cell["auto_score"]
                        # An answer marked by hand stays marked when the class is regraded.
                        grade.needs_manual_grade = (grade.auto_score is None
                                                    and grade.manual_score is None)
                gb.db.add(submission)
            else:
                # Nothing could be run: no scores at all rather than zeros.
                try:
                    gb.remove_submission(assignment, student)
                except MissingEntry:
                    pass
            gb.db.execute(delete(status_table).where(status_table.c.assignment == assignment,
                                                     status_table.c.student == student))
            gb.db.execute(insert(status_table).values(
                assignment=assignment, student=student, status=result["status"],
                reason=result["reason"], result=json.dumps(result),
                graded_at=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)))
            gb.db.commit()
        except Exception:
            gb.db.rollback()
            raise


def read_statuses(db_url: str, course_id: str, assignment: str) -> dict[str, dict]:
    """Student -> last stored result of ``assignment``."""
    gb = Gradebook(db_url, course_id=course_id)
    try:
        _metadata.create_all(gb.engine)
        rows = gb.db.execute(select(status_table).where(status_table.c.assignment == assignment))
        return {row.student: json.loads(row.result) for row in rows}
    finally:
        gb.close()
