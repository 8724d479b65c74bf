"""The gradebook on a real PostgreSQL server, and several graders writing at once (issue 5).

The PostgreSQL server is Debian's (package postgresql, installed by .ci/run), started in a
temporary folder on a free loopback port and stopped at the end (``postgres.py``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from nbgrader.api import Gradebook

from autograder import simulate
from autograder.answer_key import AnswerKey
from autograder.course import Course
from autograder.gradebook import CourseGradebook
from autograder.release import release
from autograder.results import Status

from .conftest import ASSIGNMENT, SEED, partial_answers
from .postgres import PostgresServer

pytestmark = pytest.mark.grading


@pytest.fixture(scope="module")
def postgres_url():
    server = PostgresServer()
    yield server.url
    server.close()


def _class(course: Course, size: int) -> dict[str, float]:
    """``size`` students: alternately full and partial answers; returns expected scores."""
    chosen, partial_points = partial_answers(course)
    full_points = AnswerKey.load(course.key_path(ASSIGNMENT)).notebooks[ASSIGNMENT].auto_score
    expected = {}
    for i in range(size):
        student = f"student{i:02d}"
        answers = None if i % 2 == 0 else chosen
        nb = simulate.answered(course, ASSIGNMENT, ASSIGNMENT, answers)
        simulate.place(course, student, ASSIGNMENT, {f"{ASSIGNMENT}.ipynb": simulate.to_bytes(nb)})
        expected[student] = full_points if answers is None else partial_points
    return expected


def _grade_concurrently(course: Course, groups: list[list[str]]) -> None:
    """Separate `autograder grade` processes at once, one per group of students."""
    procs = []
    for group in groups:
        args = [
            sys.executable,
            "-m",
            "autograder",
            "grade",
            ASSIGNMENT,
            "--course",
            str(course.root),
            "--db-url",
            course.db_url,
            "--no-progress",
            "--workers",
            "1",
            "--timeout",
            "60",
        ]
        for student in group:
            args += ["--student", student]
        procs.append(subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
    for proc in procs:
        out, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, out.decode()


def _assert_all_grades(course: Course, expected: dict[str, float]) -> None:
    with Gradebook(course.db_url, course.course_id) as gb:
        for student, score in expected.items():
            assert gb.find_submission(ASSIGNMENT, student).score == score, student
    with CourseGradebook(course) as gradebook:
        results = gradebook.results(ASSIGNMENT)
    assert {s: r.status for s, r in results.items()} == {s: Status.GRADED for s in expected}
    # Read back through the gradebook, each result's score is the one nbgrader holds.
    assert {s: r.score for s, r in results.items()} == expected


@pytest.mark.parametrize("database", ["postgresql", "sqlite"])
def test_concurrent_graders_lose_no_grade(database, postgres_url, released_course, tmp_path):
    """Two graders at once, with one student in both groups: every grade lands, once."""
    if database == "postgresql":
        course = Course(tmp_path / "course", db_url=postgres_url)
        release(course, ASSIGNMENT, seed=SEED)  # registers the assignment in PostgreSQL
    else:
        root = tmp_path / "course"
        shutil.copytree(released_course.root, root)
        course = Course(root)
    expected = _class(course, 6)
    students = sorted(expected)
    _grade_concurrently(course, [students[:4], students[3:]])
    _assert_all_grades(course, expected)
    # Grading again (another pass of the term) replaces grades rather than adding rows.
    _grade_concurrently(course, [students[:2], students[1:3]])
    _assert_all_grades(course, expected)
    with Gradebook(course.db_url, course.course_id) as gb:
        assert len(gb.find_assignment(ASSIGNMENT).submissions) == len(expected)
