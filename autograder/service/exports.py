"""Exports of one assignment: the marks CSV of ``autograder export`` (with the late penalties the
service applied), and a CSV that Canvas's gradebook imports.

Scores are the gradebook's (so marks given by hand count), of the submission that counts, with
its late penalty taken off. Text that came from people (names, sections) is written so that a
spreadsheet never reads it as a formula.
"""

from __future__ import annotations

import csv
import io

from .grading import GradingCore
from .store import Store, Submission

CANVAS_FIXED = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def _text(value: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _counting(store: Store, assignment: str) -> dict[str, Submission]:
    """student id -> the submission that counts."""
    counted = store.counting_ids(assignment)
    return {
        s.student_id: s for s in store.submissions(assignment) if counted.get(s.person_id) == s.id
    }


def marks_csv_with_penalties(core: GradingCore, store: Store, assignment: str) -> bytes:
    """``autograder export``'s CSV, with two more columns: days late and the final score."""
    rows = list(csv.DictReader(io.StringIO(core.marks_csv(assignment).decode("utf-8"))))
    counting = _counting(store, assignment)
    out = io.StringIO()
    fields = list(rows[0].keys()) if rows else ["student", "assignment", "score"]
    writer = csv.DictWriter(out, fieldnames=fields + ["late_days", "score_after_late_penalty"])
    writer.writeheader()
    for row in rows:
        sub = counting.get(row["student"])
        row["late_days"] = str(sub.late_days) if sub else ""
        score = row.get("score", "")
        row["score_after_late_penalty"] = (
            f"{float(score) * (1 - sub.penalty):g}" if sub and score else score
        )
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


def canvas_csv(core: GradingCore, store: Store, assignment: str) -> bytes:
    """Canvas's gradebook import format: the fixed columns, a "Points Possible" row, then one
    row per student with the final score (empty when nothing was scored)."""
    info = core.assignment(assignment)
    column = store.policy(assignment).canvas_column or assignment
    scores = core.scores(assignment)
    counting = _counting(store, assignment)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CANVAS_FIXED + [column])
    writer.writerow(["Points Possible", "", "", "", "", f"{info.max_score:g}"])
    for person in store.people():
        sub = counting.get(person.student_id)
        total = scores.get(person.student_id) if sub and sub.score is not None else None
        first, _, last = person.name.rpartition(" ")
        sortable = f"{last}, {first}" if first else person.name
        # Canvas matches a row by ID, SIS User ID or SIS Login ID: a plain roster's student id
        # is taken for the SIS User ID.
        writer.writerow(
            [
                _text(sortable),
                _text(person.lms_id),
                _text(person.sis_user_id or person.student_id),
                _text(person.sis_login_id),
                _text(person.section),
                "" if total is None or sub is None else f"{total * (1 - sub.penalty):g}",
            ]
        )
    return out.getvalue().encode("utf-8")
