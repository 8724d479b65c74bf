"""Simulated submissions, made from an assignment's own notebooks, for tests and benchmarks.

``make_submission(course, assignment, kind)`` returns the bytes of a notebook as a student might
hand it in: the full solution, the blank release, or the release with some answers filled in
from the solution. Hostile variants live with the tests that use them.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from .course import Course


def _load(path: Path) -> dict:
    return json.loads(path.read_text())


def answered(
    course: Course,
    assignment: str,
    notebook: str,
    answers: set[str] | None,
    wrong: dict[str, str] | None = None,
) -> dict:
    """The release notebook with the solution's text in the answer cells named by ``answers``
    (all when None), and ``wrong[grade_id]`` as the text of the cells listed there."""
    release = _load(course.release_dir(assignment) / f"{notebook}.ipynb")
    source = _load(course.source_dir(assignment) / f"{notebook}.ipynb")
    solutions = {
        c["metadata"]["nbgrader"]["grade_id"]: c
        for c in source["cells"]
        if c.get("metadata", {}).get("nbgrader", {}).get("solution")
    }
    nb = copy.deepcopy(release)
    for cell in nb["cells"]:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in solutions and (answers is None or gid in answers):
            cell["source"] = _strip_markers(solutions[gid]["source"])
        if wrong and gid in wrong:
            cell["source"] = wrong[gid]
    return nb


def _strip_markers(source: str | list[str]) -> str:
    text = "".join(source) if isinstance(source, list) else source
    return "\n".join(
        line
        for line in text.splitlines()
        if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line
    )


def answer_ids(course: Course, assignment: str, notebook: str) -> list[str]:
    """The grade ids of the answer cells, in notebook order."""
    source = _load(course.source_dir(assignment) / f"{notebook}.ipynb")
    return [
        c["metadata"]["nbgrader"]["grade_id"]
        for c in source["cells"]
        if c.get("metadata", {}).get("nbgrader", {}).get("solution")
    ]


def to_bytes(nb: dict) -> bytes:
    return json.dumps(nb, indent=1).encode("utf-8")


def place(course: Course, student: str, assignment: str, files: dict[str, bytes]) -> Path:
    """Put a student's files where ``collect`` would have put them."""
    folder = course.submitted_dir(student, assignment)
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder
