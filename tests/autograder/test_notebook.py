"""notebook.py: reading a submission, pairing the instructor's cells, assembling what runs.

Pure: no course folder, no sandbox, no TensorFlow.
"""

from __future__ import annotations

import json

import pytest

from autograder.notebook import (
    Cell,
    InstructorNotebook,
    InvalidNotebook,
    assemble,
    load_submission,
    parse_cells,
)
from autograder.results import NoteKind, Origin


def meta(grade_id: str, *, solution=False, grade=False, locked=False, points=None) -> dict:
    nbgrader = {"grade_id": grade_id, "solution": solution, "grade": grade, "locked": locked}
    return nbgrader | ({"points": points} if points is not None else {})


SETUP = Cell("code", "import numpy as np", "setup", meta("setup", locked=True))
PROSE = Cell("markdown", "# Question 1")
ANSWER = Cell("code", "def f(x):\n    return 2 * x", "answer", meta("answer", solution=True))
STUB = Cell("code", "def f(x):\n    raise NotImplementedError()", "answer", ANSWER.nbgrader)
TESTS = Cell(
    "code",
    "check('f', f(1), 2)\n### BEGIN HIDDEN TESTS\ncheck_hidden('fh', f(3))\n### END HIDDEN TESTS",
    "tests",
    meta("tests", grade=True, locked=True, points=2),
)
RELEASED_TESTS = Cell("code", "check('f', f(1), 2)\n", "tests", TESTS.nbgrader)
INSTRUCTOR = InstructorNotebook.pair(
    "nb", [SETUP, PROSE, ANSWER, TESTS], [SETUP, PROSE, STUB, RELEASED_TESTS]
)


def student(*cells: Cell) -> list[Cell]:
    return list(cells)


def test_pairing_by_grade_id_and_by_position():
    assert [c.release for c in INSTRUCTOR.cells] == [SETUP, PROSE, STUB, RELEASED_TESTS]
    # Without the same number of cells, only cells with a grade id are paired.
    short = InstructorNotebook.pair("nb", [SETUP, PROSE, ANSWER], [STUB, SETUP])
    assert [c.release for c in short.cells] == [SETUP, None, STUB]
    assert [c.grade_id for c in INSTRUCTOR.graded_cells()] == ["tests"]


def test_the_student_answer_runs_between_the_instructors_own_cells():
    mine = Cell("code", "def f(x):\n    return x + x", "answer", ANSWER.nbgrader)
    edited_tests = Cell("code", "print('passed')", "tests", TESTS.nbgrader)
    added = Cell("code", "helper = 1")
    run = assemble(INSTRUCTOR, student(SETUP, PROSE, mine, added, edited_tests))
    assert [(c.origin, c.source) for c in run.cells] == [
        (Origin.INSTRUCTOR, SETUP.source),
        (Origin.INSTRUCTOR, PROSE.source),
        (Origin.ANSWER, mine.source),
        (Origin.STUDENT_ADDED, "helper = 1"),
        (Origin.INSTRUCTOR, TESTS.source),  # the instructor's, hidden tests and all
    ]
    # Every run cell keeps its link to the instructor's cell it stands for.
    assert [c.instructor_index for c in run.cells] == [0, 1, 2, None, 3]
    assert [n.kind for n in run.notes] == [NoteKind.LOCKED_EDITED]
    assert run.repaired and not run.unanswered
    assert [c.index for c in run.code_cells()] == [0, 2, 3, 4]


def test_missing_and_unanswered_answers_are_noted_but_not_repairs():
    run = assemble(INSTRUCTOR, student(SETUP, PROSE, RELEASED_TESTS))
    assert [n.kind for n in run.notes] == [NoteKind.ANSWER_MISSING]
    assert not run.repaired
    assert run.unanswered == {"answer"}
    assert run.cell("answer").source == STUB.source
    left_as_released = assemble(INSTRUCTOR, student(SETUP, PROSE, STUB, RELEASED_TESTS))
    assert left_as_released.notes == [] and left_as_released.unanswered == {"answer"}


@pytest.mark.parametrize(
    ("submitted", "kinds"),
    [
        ([SETUP, PROSE, ANSWER, RELEASED_TESTS, RELEASED_TESTS], [NoteKind.DUPLICATED]),
        ([SETUP, PROSE, ANSWER], [NoteKind.LOCKED_DELETED]),
        (
            [SETUP, PROSE, ANSWER, Cell("markdown", "x", "tests", TESTS.nbgrader)],
            [NoteKind.LOCKED_RETYPED],
        ),
        (
            [
                SETUP,
                PROSE,
                ANSWER,
                Cell("code", RELEASED_TESTS.source, "tests", TESTS.nbgrader | {"points": 100}),
            ],
            [NoteKind.METADATA_CHANGED],
        ),
        (
            [SETUP, PROSE, ANSWER, RELEASED_TESTS, Cell("code", "x = 1", "mine", meta("mine"))],
            [NoteKind.UNKNOWN_ID],
        ),
        (
            [SETUP, PROSE, Cell("markdown", "f = 1", "answer", ANSWER.nbgrader), RELEASED_TESTS],
            [NoteKind.ANSWER_RETYPED],
        ),
    ],
)
def test_each_kind_of_tampering_is_named(submitted, kinds):
    run = assemble(INSTRUCTOR, submitted)
    assert [n.kind for n in run.notes] == kinds
    assert all(c.source == TESTS.source for c in run.cells if c.grade_id == "tests")
    assert sum(c.grade_id == "tests" for c in run.cells) == 1


def test_a_submission_is_read_strictly():
    good = {"nbformat": 4, "cells": [{"cell_type": "code", "source": ["a", "b"]}]}
    assert load_submission(json.dumps(good).encode()) == [Cell("code", "ab")]
    for data, why in [
        (b"\xff\xfe{}", "not UTF-8"),
        (b"{ not json", "not valid JSON"),
        (b'{"nbformat": 4, "cells": [], "x": NaN}', "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        (b"[]", "no top-level object"),
        (b'{"nbformat": 3, "cells": []}', "format version 3"),
        (b'{"nbformat": 4, "cells": {}}', "no list of cells"),
        (b'{"nbformat": 4, "cells": [{"cell_type": "code", "source": 3}]}', "not text"),
        (b'{"nbformat": 4, "cells": [7]}', "not a notebook cell"),
    ]:
        with pytest.raises(InvalidNotebook, match=why):
            load_submission(data)


def test_odd_metadata_is_ignored_not_trusted():
    cells = parse_cells(
        {
            "cells": [
                {"cell_type": "code", "source": "x", "metadata": {"nbgrader": "yes"}},
                {"cell_type": "code", "source": "y", "metadata": {"nbgrader": {"grade_id": 5}}},
                {"cell_type": "code", "source": "z", "metadata": []},
            ]
        }
    )
    assert [(c.grade_id, c.nbgrader) for c in cells] == [
        (None, {}),
        (None, {"grade_id": 5}),
        (None, {}),
    ]


# --- nbgrader metadata lost (Colab and some editors drop it; issue 15) ----------------------


def bare(cell: Cell) -> Cell:
    """The cell as an editor that drops nbgrader's metadata saves it."""
    return Cell(cell.cell_type, cell.source)


def test_without_metadata_the_answer_is_the_one_cell_defining_its_function():
    helper = Cell("code", "def double(x):\n    return x + x")
    mine = Cell(
        "code", "%matplotlib inline\ndef f(x):\n    return double(x)"
    )  # a magic: not Python
    crlf_tests = Cell("code", RELEASED_TESTS.source.replace("\n", "\r\n"))
    run = assemble(INSTRUCTOR, [bare(SETUP), bare(PROSE), helper, mine, crlf_tests])
    assert [(c.origin, c.grade_id, c.source) for c in run.cells if c.cell_type == "code"] == [
        (Origin.INSTRUCTOR, "setup", SETUP.source),
        (Origin.STUDENT_ADDED, None, helper.source),  # after the cell it followed
        (Origin.ANSWER, "answer", mine.source),
        (Origin.INSTRUCTOR, "tests", TESTS.source),  # the instructor's, hidden tests and all
    ]
    answer = run.cell("answer")
    assert answer is not None and answer.source == mine.source and not run.unanswered
    assert run.repaired and [n.kind for n in run.notes] == [NoteKind.METADATA_LOST]
    assert "metadata was lost" in run.notes[0].text and "Jupyter" in run.notes[0].text
    assert [c.source for c in run.cells].count(RELEASED_TESTS.source) == 0  # no copy ran


@pytest.mark.parametrize("copies", [0, 2])
def test_without_metadata_an_answer_defined_by_no_cell_or_by_several_is_unanswered(copies):
    mine = [Cell("code", f"def f(x):\n    return {n}") for n in range(copies)]
    run = assemble(INSTRUCTOR, [bare(SETUP), *mine, bare(RELEASED_TESTS)])
    assert run.unanswered == {"answer"} and run.repaired
    kinds = [n.kind for n in run.notes]
    assert kinds == [NoteKind.METADATA_LOST, NoteKind.ANSWER_MISSING]
    assert ("no cell" if copies == 0 else "2 cells") in run.notes[1].text
    assert not any("deleted" in n.text for n in run.notes)
