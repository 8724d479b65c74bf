"""``autograder export``, part one: the CSV of marks (``<course>/autograder/reports/marks.csv``).

One row per student and assignment: status and reason in plain words, the score and each
question's score as the gradebook holds them (manual marks given later included). A student
whose notebook could not be graded has that status and empty scores, never a silent 0; a
student the gradebook knows who has no result is "not submitted".
"""

from __future__ import annotations

import csv
from pathlib import Path

from .assignment import Assignment
from .course import Course
from .display import csv_text
from .gradebook import CourseGradebook
from .pages import number
from .results import StudentResult

#: Status of a student the gradebook knows (from another assignment) with no result here.
NOT_SUBMITTED = "not submitted"
#: Columns of text (the rest are numbers and stay numbers in a spreadsheet).
CSV_TEXT_COLUMNS = ("student", "assignment", "status", "reason", "needs_manual_grading")
CSV_FIXED_COLUMNS = [
    "student",
    "assignment",
    "status",
    "reason",
    "score",
    "max_score",
    "needs_manual_grading",
]


def question_columns(assignment: Assignment) -> dict[tuple[str, str], str]:
    """(notebook, grade id) -> its column: the grade id, or ``notebook/grade id`` when the
    assignment has several notebooks."""
    questions = assignment.questions()
    several = len({nb for nb, _ in questions}) > 1
    return {(nb, gid): f"{nb}/{gid}" if several else gid for nb, gid in questions}


def _row(
    assignment: Assignment,
    student: str,
    result: StudentResult | None,
    columns: dict[tuple[str, str], str],
) -> dict[str, str]:
    row = {
        "student": student,
        "assignment": assignment.name,
        "score": "",
        "max_score": number(assignment.key.max_score),
        "needs_manual_grading": "",
    }
    if result is None:
        return row | {"status": NOT_SUBMITTED, "reason": "no submission was graded"}
    row |= {"status": result.status.words, "reason": result.reason}
    for (nb, gid), column in columns.items():
        notebook = result.notebook(nb) if result.scored else None
        cell = notebook.cells.get(gid) if notebook else None
        row[column] = number(cell.score) if cell else ""
    if result.scored:
        row["score"] = number(result.score)
        row["needs_manual_grading"] = str(result.needs_manual_grading)
    return row


def csv_safe(row: dict[str, str]) -> dict[str, str]:
    """A row as the CSV writes it: text cells escaped and never a formula (``display``)."""
    return {k: csv_text(v) if k in CSV_TEXT_COLUMNS else v for k, v in row.items()}


def marks_rows(
    assignment: Assignment, results: dict[str, StudentResult], students: list[str]
) -> list[dict[str, str]]:
    """One row per student of ``students`` or with a result."""
    columns = question_columns(assignment)
    return [
        _row(assignment, s, results.get(s), columns) for s in sorted(set(students) | set(results))
    ]


def export_marks(
    course: Course, assignments: list[str] | None = None, output: Path | None = None
) -> Path:
    """Write the marks of ``assignments`` (default: every released one) as CSV; return its path."""
    rows: list[dict[str, str]] = []
    columns: list[str] = []
    with CourseGradebook(course) as gradebook:
        students = gradebook.students()
        for name in assignments or course.released_assignments():
            assignment = Assignment.load(course, name)
            rows += marks_rows(assignment, gradebook.results(name), students)
            columns += [c for c in question_columns(assignment).values() if c not in columns]
    output = Path(output) if output else course.reports_dir / "marks.csv"
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_FIXED_COLUMNS + columns, restval="")
        writer.writeheader()
        writer.writerows(csv_safe(row) for row in rows)
    return output
