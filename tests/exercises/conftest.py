"""Session fixtures of the exercise tests: the sources, one executed solution and one release each.

The solutions run twice: in the pinned environment and in the second one (TensorFlow 2.19,
``make compat-env``; deselect with ``-m "not compat"``).
"""
from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.sources import read_source_notebook, write_source_notebooks
from autograder.student_copies import write_student_copies
from .exercise_notebooks import (ASSIGNMENTS, EXERCISES, OTHER_SEED, SEED, KernelSession,
                                ReleaseRun, SolutionRun, code_cell_indices, is_test_cell)


@pytest.fixture(scope="session")
def source_notebooks() -> dict[str, nbformat.NotebookNode]:
    return {a: read_source_notebook(EXERCISES / "source" / a / f"{a}.md") for a in ASSIGNMENTS}


@pytest.fixture(scope="session", params=["pinned", pytest.param("compat", marks=pytest.mark.compat)])
def solution_runs(request, source_notebooks, tmp_path_factory) -> dict[str, SolutionRun]:
    """Each source notebook (with its solutions) executed once per environment, lazily."""
    def environment_kernel():
        if request.param == "pinned":
            return contextlib.nullcontext("python3")
        from tools.compat_env import compat_kernel
        return compat_kernel()

    class Lazy(dict):
        def __missing__(self, name):
            nb = nbformat.from_dict(json.loads(json.dumps(source_notebooks[name])))
            workdir = tmp_path_factory.mktemp(f"solution-{request.param}-{name}")
            with environment_kernel() as kernel_name, KernelSession(nb, workdir, SEED, kernel_name) as kernel:
                cells = [kernel.run_cell(i) for i in code_cell_indices(nb)]
                kernel.set_seed(OTHER_SEED)
                rerun = {i: kernel.run_cell(i) for i in code_cell_indices(nb)
                         if is_test_cell(nb.cells[i])}
            self[name] = SolutionRun(nb, cells, rerun)
            return self[name]

    return Lazy()


@pytest.fixture(scope="session")
def release_course(tmp_path_factory) -> Path:
    """A temporary nbgrader course with every assignment released by stock nbgrader."""
    course = tmp_path_factory.mktemp("course")
    write_source_notebooks(EXERCISES, course)
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", "generate_assignment", "*",
         f"--CourseDirectory.root={course}"],
        cwd=course, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return course


@pytest.fixture(scope="session")
def published_copies(tmp_path_factory) -> Path:
    """The exercises' student copies as the book build publishes them (tools/runnable_notebooks.py)."""
    dest = tmp_path_factory.mktemp("published") / "exercises"
    write_student_copies(dest)
    return dest


@pytest.fixture(scope="session")
def release_runs(release_course, tmp_path_factory) -> dict[str, ReleaseRun]:
    """Each released (student) notebook run unanswered in a fresh kernel, lazily."""
    class Lazy(dict):
        def __missing__(self, name):
            nb = nbformat.read(release_course / "release" / name / f"{name}.ipynb", as_version=4)
            workdir = tmp_path_factory.mktemp(f"release-{name}")
            with KernelSession(nb, workdir, SEED) as kernel:
                cells = [kernel.run_cell(i) for i in code_cell_indices(nb)]
            self[name] = ReleaseRun(nb, cells)
            return self[name]

    return Lazy()
