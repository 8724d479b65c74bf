"""Binder's student copies (autograder.student_copies) equal what nbgrader releases to students."""
from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest

from autograder.locations import find_exercises
from autograder.sources import list_assignments, write_source_notebooks
from autograder.student_copies import write_student_copies

from .binder_env import REPO

EXERCISES = find_exercises(REPO / "exercises")
pytestmark = pytest.mark.kernels  # stock nbgrader releases every assignment for comparison

ASSIGNMENTS = list_assignments(EXERCISES)


@pytest.fixture(scope="module")
def nbgrader_release(tmp_path_factory):
    """Every assignment released by stock ``nbgrader generate_assignment``."""
    course = tmp_path_factory.mktemp("course")
    write_source_notebooks(EXERCISES, course)
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", "generate_assignment", "*", "--log-level=WARN",
         f"--CourseDirectory.root={course}"], cwd=course, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return course / "release"


@pytest.fixture(scope="module")
def student_copies(tmp_path_factory):
    dest = tmp_path_factory.mktemp("student")
    written = write_student_copies(dest, exercises_dir=EXERCISES)
    assert sorted(p.parent.name for p in written) == ASSIGNMENTS
    return dest


def _cells(path):
    nb = nbformat.read(path, as_version=4)
    return [(c.cell_type, c.source, c.metadata.get("nbgrader"), c.get("outputs", []))
            for c in nb.cells]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_student_copy_equals_the_nbgrader_release(nbgrader_release, student_copies, assignment):
    name = f"{assignment}/{assignment}.ipynb"
    assert _cells(student_copies / name) == _cells(nbgrader_release / name)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_student_copy_holds_no_solution(student_copies, assignment):
    text = (student_copies / assignment / f"{assignment}.ipynb").read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "check_hidden(\\\""):
        assert marker not in text
    assert "raise NotImplementedError()" in text
