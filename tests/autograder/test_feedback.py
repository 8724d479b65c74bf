"""feedback.py on its own (no grading run): a page never shows a visible check as passed unless
the grader's record of that check proved it, and a tampered record is named, not shown."""

from __future__ import annotations

from bs4 import BeautifulSoup
from markdown_it import MarkdownIt

from autograder.feedback import NOT_PROVED, _NotebookPage
from autograder.notebook import assemble
from autograder.redaction import Redactor
from autograder.results import (
    CellKind,
    CellOutput,
    CellResult,
    CheckResult,
    IsolationReport,
    NotebookResult,
    Status,
    StudentResult,
    Verdict,
)

from .test_notebook import ANSWER, INSTRUCTOR, SETUP, Cell

ADDED = Cell("code", "print('passed: f')\nprint('passed: g')")
RUN = assemble(INSTRUCTOR, [SETUP, ANSWER, ADDED])


def page(status: Status, verdict: Verdict) -> str:
    checks = [CheckResult("f", False, verdict, "")]
    cells = {"tests": CellResult("tests", CellKind.AUTO, 2, 2 * (verdict is Verdict.PASSED))}
    cells["tests"].checks = checks
    added = next(c.index for c in RUN.cells if c.source == ADDED.source)
    result = NotebookResult(
        "nb",
        status,
        "reason",
        2,
        cells=cells,
        cells_run=RUN.cells,
        outputs={}
        if status is Status.TAMPERED
        else {added: CellOutput(True, out="passed: f\npassed: g\n")},
    )
    student = StudentResult("nb", "ada", [result], IsolationReport(()))
    view = _NotebookPage(INSTRUCTOR, result, Redactor(()), MarkdownIt("commonmark"))
    return BeautifulSoup(view.render(student), "html.parser").get_text()


def test_a_printed_pass_is_marked_unless_the_check_proved_it():
    proved = page(Status.GRADED, Verdict.PASSED)
    assert "passed: f\n" in proved and f"passed: g  [{NOT_PROVED}]" in proved
    wrong = page(Status.GRADED, Verdict.WRONG)
    assert f"passed: f  [{NOT_PROVED}]" in wrong


def test_a_tampered_record_is_named_and_nothing_of_it_shown():
    text = page(Status.TAMPERED, Verdict.UNPROVED)
    assert "record of this run was tampered with" in text
    assert "passed: f\npassed: g" not in text and Status.TAMPERED.words in text
