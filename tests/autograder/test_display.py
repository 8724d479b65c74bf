"""display.py and the views that use it: student text reaches the terminal, a spreadsheet and
the HTML pages with control characters, escape sequences and formulas neutralised."""

from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from autograder.cli import result_line
from autograder.display import FORMULA_STARTS, csv_text, printable, quoted
from autograder.marks import CSV_FIXED_COLUMNS, csv_safe
from autograder.pages import _environment
from autograder.results import IsolationReport, NotebookResult, Status, StudentResult

CLEAR_SCREEN = "\x1b[2J\x1b[H"
#: A carriage return that overwrites the line, a bidi override, a bell, a C1 control (CSI).
HOSTILE = f"{CLEAR_SCREEN}ada\r14/14 graded\u202egnp.exe\x07\x9b31m"


@given(st.text())
def test_printable_text_has_no_control_characters(text):
    shown = printable(text)
    assert shown.isprintable()
    assert all(ch.isprintable() or ch in "\n\t" for ch in printable(text, lines=True))
    if text.isprintable():
        assert shown == text


def test_escapes_are_shown_as_escapes():
    assert printable(HOSTILE) == ("\\x1b[2J\\x1b[Hada\\r14/14 graded\\u202egnp.exe\\x07\\x9b31m")
    assert printable("a\nb\tc", lines=True) == "a\nb\tc" and printable("a\nb") == "a\\nb"
    assert printable("bad \udcff byte") == "bad \\xff byte"  # an undecodable byte of a name
    assert quoted("x\x1b") == "'x\\x1b'"


@given(st.text())
def test_a_csv_text_cell_is_never_a_formula(text):
    cell = csv_text(text)
    assert not cell.startswith(FORMULA_STARTS) and cell.isprintable()


def test_the_csv_quotes_formulas_and_keeps_numbers_as_numbers():
    row = {
        "student": '=HYPERLINK("http://x","ada")',
        "assignment": "a",
        "status": "graded",
        "reason": f"-2+3 {HOSTILE}",
        "score": "-1.5",
        "max_score": "17",
        "needs_manual_grading": "@SUM(A1)",
        "q1": "2",
    }
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*CSV_FIXED_COLUMNS, "q1"])
    writer.writerow(csv_safe(row))
    [read] = list(csv.DictReader(io.StringIO(out.getvalue()), fieldnames=writer.fieldnames))
    assert read["student"] == '\'=HYPERLINK("http://x","ada")'
    assert read["reason"].startswith("'-2+3 \\x1b[2J") and "\r" not in read["reason"]
    assert read["needs_manual_grading"] == "'@SUM(A1)"
    assert (read["score"], read["max_score"], read["q1"]) == ("-1.5", "17", "2")


def test_the_terminal_line_of_a_student_is_one_escaped_line():
    notebook = NotebookResult("nb", Status.INVALID, HOSTILE, 17)
    result = StudentResult("a", f"mallory{CLEAR_SCREEN}", [notebook], IsolationReport(()))
    line = result_line(result, 7)
    assert line.isprintable() and "\\x1b[2J" in line and "\\r14/14" in line


def test_pages_escape_control_characters_and_html():
    template = _environment().from_string("<pre>{{ out }}</pre>")
    page = template.render(out=f"<script>x</script>\n{HOSTILE}")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "\x1b" not in page and "\\x1b[2J" in page and "\n" in page
