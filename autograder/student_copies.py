"""Student copies of the exercises, for learners who work in Binder or on their own machine.

    python -m autograder.student_copies                  # -> exercises/student/<a>/<a>.ipynb
    python -m autograder.student_copies --dest DIR [--exercises DIR] [ASSIGNMENT ...]

A student copy is what ``nbgrader generate_assignment`` releases, made without a course
folder, a gradebook or a kernel: the MyST source goes through nbgrader's own preprocessors
that lock the read-only cells, replace the solutions with ``# YOUR CODE HERE`` /
``raise NotImplementedError()`` stubs, drop the hidden tests and outputs, and record the
cells' checksums, in the order ``generate_assignment`` runs them. Nothing is executed, so it
takes about a second (``autograder release`` also runs the solution to build an answer key;
Binder's post-build step must not). Grading still goes through ``autograder release``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearHiddenTests,
    ClearMarkScheme,
    ClearOutput,
    ClearSolutions,
    ComputeChecksums,
    LockCells,
)

from .locations import EXERCISES_ENV, find_exercises
from .sources import read_source_notebook, write_assignments

#: Where the copies go by default, in the exercises folder (gitignored; Binder's postBuild
#: writes them there).
DEFAULT_DEST = "student"

#: generate_assignment's preprocessors, minus those that need a gradebook (SaveCells), a header
#: file (IncludeHeaderFooter) or a kernel (InstantiateTests, unused by these exercises).
_PIPELINE = (
    LockCells,
    ClearSolutions,
    ClearOutput,
    CheckCellMetadata,
    ComputeChecksums,
    ClearHiddenTests,
    ClearMarkScheme,
    ComputeChecksums,
    CheckCellMetadata,
)


def student_notebook(source: str | Path) -> nbformat.NotebookNode:
    """The student version of one MyST exercise source (no solutions, no hidden tests)."""
    nb = read_source_notebook(source)
    resources: dict[str, object] = {}
    for preprocessor in _PIPELINE:
        nb, resources = preprocessor().preprocess(nb, resources)
    nbformat.validate(nb)
    return nb


def write_student_copies(
    dest: str | Path, assignments: list[str] | None = None, exercises_dir: str | Path | None = None
) -> list[Path]:
    """Write ``dest/<a>/<notebook>.ipynb`` (plus the assignment's other files) for each
    assignment of ``exercises_dir`` (default: see ``locations.find_exercises``)."""
    exercises = find_exercises(exercises_dir)
    return write_assignments(exercises, dest, assignments, student_notebook)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("assignments", nargs="*", help="assignment names (default: all)")
    parser.add_argument(
        "--exercises",
        type=Path,
        default=None,
        help=f"the exercises folder (default: ${EXERCISES_ENV}, else exercises/ "
        "of the repository the current folder is in)",
    )
    parser.add_argument(
        "--dest",
        type=Path,
        default=None,
        help=f"folder that receives <assignment>/ (default: <exercises>/{DEFAULT_DEST})",
    )
    args = parser.parse_args(argv)
    dest = args.dest or find_exercises(args.exercises) / DEFAULT_DEST
    written = write_student_copies(dest, args.assignments or None, args.exercises)
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
