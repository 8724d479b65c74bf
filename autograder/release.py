"""``autograder release``: the student version of an assignment, and its answer key.

1. The MyST sources become ``<course>/source/<a>/<a>.ipynb`` (see ``sources.py``).
2. Stock ``nbgrader generate_assignment`` writes ``<course>/release/<a>/`` and registers the
   assignment, its notebooks and grade cells in the gradebook.
3. The release is checked: no solution code and no hidden test may be left in it.
4. The instructor's solution runs in the sandbox with a fresh secret seed; the values its
   checks report become the answer key (``<course>/autograder/key/<a>.json``).
"""

from __future__ import annotations

import re
import subprocess
import sys

from .answer_key import AnswerKey
from .course import Course
from .keybuild import build_key
from .notebook import read_cells
from .sources import write_source_notebooks

_MARKERS = re.compile(r"BEGIN SOLUTION|END SOLUTION|BEGIN HIDDEN TESTS|END HIDDEN TESTS")


class ReleaseError(RuntimeError):
    pass


def _solution_lines(text: str) -> list[str]:
    """Non-blank lines inside solution or hidden-test regions of an instructor's cell."""
    lines, inside = [], False
    for line in text.splitlines():
        if re.search(r"### BEGIN (SOLUTION|HIDDEN TESTS)", line):
            inside = True
        elif re.search(r"### END (SOLUTION|HIDDEN TESTS)", line):
            inside = False
        elif inside and line.strip() and not line.strip().startswith("#"):
            lines.append(line.strip())
    return lines


def check_release_clean(course: Course, assignment: str) -> None:
    """Raise if any solution or hidden-test line of the source survives in the release."""
    for path in sorted(course.source_dir(assignment).glob("*.ipynb")):
        release = course.release_dir(assignment) / path.name
        if not release.is_file():
            raise ReleaseError(f"{release} was not generated")
        released_text = "\n".join(c.source for c in read_cells(release, "the release"))
        if _MARKERS.search(released_text):
            raise ReleaseError(f"{release.name}: solution or hidden-test markers were released")
        released_lines = {line.strip() for line in released_text.splitlines()}
        for cell in read_cells(path, "the source"):
            leaked = [
                line
                for line in _solution_lines(cell.source)
                if line in released_lines and len(line) > 3
            ]
            if leaked:
                raise ReleaseError(
                    f"{release.name}: cell {cell.grade_id!r} releases "
                    f"instructor-only code: {leaked[0]!r}"
                )


def release(
    course: Course, assignment: str, *, seed: int | None = None, require_sandbox: bool = False
) -> AnswerKey:
    """Release one assignment (see the module's docstring); return its new answer key."""
    course.set_up_folder()
    sources = course.exercise_sources()
    if assignment not in sources:
        raise ReleaseError(f"no exercise {assignment!r}; known: {', '.join(sources)}")
    write_source_notebooks(course.exercises, course.root, [assignment])
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "nbgrader",
            "generate_assignment",
            assignment,
            "--force",
            f"--CourseDirectory.root={course.root}",
            f"--CourseDirectory.db_url={course.db_url}",
            f"--CourseDirectory.course_id={course.course_id}",
            "--log-level=WARN",
        ],
        cwd=course.root,
        env=course.nbgrader_env(),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise ReleaseError(f"nbgrader generate_assignment failed:\n{done.stdout}\n{done.stderr}")
    check_release_clean(course, assignment)
    key = build_key(course, assignment, seed=seed, require_sandbox=require_sandbox)
    key.save(course.key_path(assignment))
    course.set_up_folder()  # tighten the gradebook's permissions now that it exists
    return key
