"""The executed notebooks nbgrader's formgrader shows: ``<course>/autograded/<student>/<a>/``.

Built from a result, not from the run: a test cell's own output can quote its hidden lines
(tracebacks), so it gets the trusted verdicts of its checks instead, and feedback made from these
notebooks by stock nbgrader cannot leak them either.
"""

from __future__ import annotations

import nbformat
from nbformat import NotebookNode

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


def _cell(run: RunCell, result: NotebookResult) -> NotebookNode:
    if run.cell_type == "markdown":
        new = nbformat.v4.new_markdown_cell(run.source)
    elif run.cell_type != "code":
        new = nbformat.v4.new_raw_cell(run.source)
    else:
        new = nbformat.v4.new_code_cell(run.source)
        graded = result.cells.get(run.grade_id or "")
        end = result.outputs.get(run.index)
        text = (
            _verdicts(result, graded.grade_id)
            if graded and graded.kind is CellKind.AUTO
            else end.out
            if end
            else ""
        )
        if text:
            new.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=text))
    if run.nbgrader:
        new.metadata["nbgrader"] = run.nbgrader
    return new


def write_autograded(course: Course, result: StudentResult) -> None:
    folder = course.autograded_dir(result.student, result.assignment)
    folder.mkdir(parents=True, exist_ok=True)
    for notebook in result.notebooks:
        if not notebook.cells_run:
            continue
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = KERNELSPEC
        nb.cells = [_cell(run, notebook) for run in notebook.cells_run]
        nbformat.write(nb, folder / f"{notebook.name}.ipynb")
