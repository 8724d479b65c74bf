"""The exercises executed: the instructor's solution passes, the student's release fails unanswered."""
from __future__ import annotations

import re

import pytest

from .exercise_notebooks import ASSIGNMENTS, check_names, is_test_cell, nbgrader_meta

pytestmark = [pytest.mark.kernels, pytest.mark.timeout(900)]


def solution_lines(source: str) -> set[str]:
    """Lines written only inside solution regions (ignoring trivial ones like ``return out``)."""
    inside, outside, current = set(), set(), False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == "### BEGIN SOLUTION":
            current = True
        elif stripped == "### END SOLUTION":
            current = False
        elif stripped:
            (inside if current else outside).add(stripped)
    return {line for line in inside - outside if len(line) > 15}


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_solution_runs_top_to_bottom_and_every_check_passes(name, solution_runs):
    run = solution_runs[name]
    errors = [(c.grade_id, c.error) for c in run.cells if c.error]
    assert not errors
    for cell_run in run.cells:
        cell = run.source.cells[cell_run.index]
        # Every check in the cell ran exactly once, in order (none skipped by a condition).
        assert [r["name"] for r in cell_run.records] == check_names(cell.source)
        kinds = {r["kind"] for r in cell_run.records}
        assert kinds == ({"visible", "hidden"} if is_test_cell(cell) else set())


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_hidden_checks_use_inputs_drawn_from_the_grading_seed(name, solution_runs):
    """A hard-coded answer cannot pass: every hidden value changes with the seed."""
    run = solution_runs[name]
    first = {c.index: c for c in run.cells}
    assert run.rerun
    for index, again in run.rerun.items():
        assert again.error is None, again.error
        before = {r["name"]: r for r in first[index].records}
        after = {r["name"]: r for r in again.records}
        assert before.keys() == after.keys()
        for check_name, record in after.items():
            if record["kind"] == "hidden":
                assert record["value"] != before[check_name]["value"], check_name
            else:  # visible checks do not depend on the seed
                assert record["value"] == before[check_name]["value"], check_name


@pytest.mark.parametrize("copy", ["nbgrader release", "published with the book"])
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_release_has_no_solution_code_and_no_hidden_tests(name, copy, request, source_notebooks):
    """Guards both student copies: nbgrader's release and the one the book publishes for download."""
    import nbformat

    folder = (request.getfixturevalue("release_course") / "release" if copy == "nbgrader release"
              else request.getfixturevalue("published_copies"))
    released = nbformat.read(folder / name / f"{name}.ipynb", as_version=4)
    source = source_notebooks[name]
    assert [nbgrader_meta(c) and nbgrader_meta(c)["grade_id"] for c in released.cells] == \
        [nbgrader_meta(c) and nbgrader_meta(c)["grade_id"] for c in source.cells]
    secret = set()
    for cell in source.cells:
        if nbgrader_meta(cell) and nbgrader_meta(cell)["solution"] and cell.cell_type == "code":
            secret |= solution_lines(cell.source)
    assert secret
    text = "\n".join(c.source for c in released.cells)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN", "END HIDDEN",
                   "check_hidden(", "hidden_array(\"", "hidden_int(\""):
        assert marker not in text, marker
    leaked = [line for line in secret if line in text]
    assert not leaked
    for cell, original in zip(released.cells, source.cells):
        meta = nbgrader_meta(original)
        if meta and meta["solution"]:
            if cell.cell_type == "code":
                assert "raise NotImplementedError()" in cell.source
                assert re.search(r"^def \w+\(", cell.source, flags=re.M)  # the signature stays
            else:  # the model answer of a manually graded question is gone
                assert cell.source == "YOUR ANSWER HERE"
        if meta and is_test_cell(original):
            assert check_names(cell.source), "visible checks stay for students"
            assert cell.metadata["nbgrader"]["points"] == meta["points"]


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_release_test_cells_fail_when_unanswered(name, release_runs):
    run = release_runs[name]
    tests = [c for c in run.cells if is_test_cell(run.notebook.cells[c.index])]
    assert tests
    for cell_run in tests:
        # They fail because the answer is missing, not because the test is broken.
        assert cell_run.error is not None, cell_run.grade_id
        assert cell_run.error[0] == "NotImplementedError", (cell_run.grade_id, cell_run.error)
        assert all(r["kind"] == "visible" for r in cell_run.records)
    # Everything else (setup, function stubs, demonstrations) runs for the student.
    others = [c for c in run.cells if not is_test_cell(run.notebook.cells[c.index])]
    assert others and all(c.error is None for c in others), [c.error for c in others]
