"""Shared fixtures: a released course in a temporary folder, and one graded class.

Releasing (nbgrader + a sandboxed run of the solution) and starting the grading workers are
the slow parts, so each is done once per session and shared by the tests that only read them.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from autograder import simulate
from autograder.answer_key import AnswerKey
from autograder.course import Course
from autograder.grader import Grader
from autograder.jobs import Limits
from autograder.release import release
from autograder.results import StudentResult

ASSIGNMENT = "upsampling-by-hand"
SEED = 20261201
#: Short limits keep the hostile cases (endless loops, bombs) quick.
TEST_LIMITS = Limits(wall_seconds=25, cpu_seconds=60, memory_bytes=4 * 1024**3)


@pytest.fixture(scope="session")
def released_course(tmp_path_factory) -> Course:
    """A course folder with every exercise released (keys built with a fixed seed)."""
    course = Course(tmp_path_factory.mktemp("course") / "course")
    for assignment in course.exercise_sources():
        release(course, assignment, seed=SEED)
    return course


def fresh_course(released: Course, tmp_path: Path, db_url: str = "") -> Course:
    """A copy of the released course with an empty submitted folder and its own gradebook."""
    root = tmp_path / "course"
    shutil.copytree(released.root, root, symlinks=True)
    course = Course(root, db_url=db_url)
    course.set_up_folder()
    return course


@dataclass
class GradedClass:
    course: Course
    results: dict[str, StudentResult]
    expected: dict[str, float]  # student -> expected total score
    grader: Grader


def partial_answers(course: Course) -> tuple[set[str], float]:
    """Answers for the first two questions, and the points they are worth."""
    ids = simulate.answer_ids(course, ASSIGNMENT, ASSIGNMENT)
    key = AnswerKey.load(course.key_path(ASSIGNMENT)).notebooks[ASSIGNMENT].cells
    chosen = set(ids[:2])
    # Test cells are named after the answer they test: "<answer>-tests".
    points = sum(cell.points for gid, cell in key.items() if gid.removesuffix("-tests") in chosen)
    return chosen, points


def place_class(course: Course) -> dict[str, float]:
    """Submissions of a small class: a full solution, a blank copy, partial work, broken
    files; returns the expected total of each student whose notebook runs."""
    nb = ASSIGNMENT
    chosen, partial_points = partial_answers(course)
    full = simulate.answered(course, ASSIGNMENT, nb, None)
    blank = simulate.answered(course, ASSIGNMENT, nb, set())
    partial = simulate.answered(course, ASSIGNMENT, nb, chosen)
    simulate.place(course, "ada", ASSIGNMENT, {f"{nb}.ipynb": simulate.to_bytes(full)})
    simulate.place(course, "blaise", ASSIGNMENT, {f"{nb}.ipynb": simulate.to_bytes(blank)})
    simulate.place(course, "carl", ASSIGNMENT, {f"{nb}.ipynb": simulate.to_bytes(partial)})
    simulate.place(course, "dora", ASSIGNMENT, {f"{nb}.ipynb": b"{ this is not json"})
    simulate.place(course, "emmy", ASSIGNMENT, {"my-work.ipynb": simulate.to_bytes(full)})
    simulate.place(
        course,
        "felix",
        ASSIGNMENT,
        {f"{nb}.ipynb": simulate.to_bytes(full), "notes.txt": b"an extra file"},
    )
    auto_total = AnswerKey.load(course.key_path(ASSIGNMENT)).notebooks[nb].auto_score
    return {"ada": auto_total, "blaise": 0.0, "carl": partial_points, "felix": auto_total}


@pytest.fixture(scope="session")
def graded_class(released_course, tmp_path_factory) -> GradedClass:
    """One class (``place_class``) graded once on the local pool."""
    course = fresh_course(released_course, tmp_path_factory.mktemp("graded"))
    expected = place_class(course)
    grader = Grader(course, ASSIGNMENT, limits=TEST_LIMITS)
    results = {r.student: r for r in grader.grade(progress=False)}
    return GradedClass(course, results, expected, grader)
