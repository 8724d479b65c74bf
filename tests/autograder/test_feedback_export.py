"""Feedback pages, the marks CSV and the summary report (issue 4), and what they must never show."""

from __future__ import annotations

import base64
import csv
import dataclasses
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from nbgrader.api import Gradebook

from autograder import simulate
from autograder.answer_key import AnswerKey, NotebookKey
from autograder.assignment import Assignment
from autograder.cli import main
from autograder.course import Course
from autograder.feedback import FeedbackRenderer, write_feedback
from autograder.grader import Grader
from autograder.marks import export_marks
from autograder.redaction import hidden_region_lines
from autograder.results import CellKind, Status, StudentResult
from autograder.summary import write_summary
from upsampling_course.checks import SEED_ENV

from .conftest import ASSIGNMENT, SEED, TEST_LIMITS, fresh_course

pytestmark = pytest.mark.grading

NB = ASSIGNMENT
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(2)>"
BAD_NAME = "<img src=x onerror=alert(3)>.ipynb"  # a file name a student chose


# --- helpers ------------------------------------------------------------------------------------


def page_text(path: Path) -> str:
    """What a reader of the page sees (entities decoded)."""
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser").get_text(" ")


def secrets(course: Course) -> list[str]:
    """Every line of every hidden-test region of the source that the release does not show."""
    source = json.loads((course.source_dir(ASSIGNMENT) / f"{NB}.ipynb").read_text())
    release = (course.release_dir(ASSIGNMENT) / f"{NB}.ipynb").read_text()
    released = {
        line.strip()
        for cell in json.loads(release)["cells"]
        for line in "".join(cell["source"]).splitlines()
    }
    lines = [
        line
        for cell in source["cells"]
        for line in hidden_region_lines("".join(cell["source"]))
        if line not in released and len(line) > 3
    ]
    assert len(lines) >= 6, "the assignment should have hidden tests to hide"
    return lines


def hidden_names(course: Course) -> list[str]:
    cells = key_cells(course).cells.values()
    return [name for cell in cells for name, value in cell.values.items() if value.hidden]


def assert_nothing_hidden(course: Course, path: Path) -> None:
    text, raw = page_text(path), path.read_text(encoding="utf-8")
    for line in secrets(course):
        assert line not in text and line not in raw, (path, line)
    for name in hidden_names(course):
        assert name not in text, (path, name)
    assert "HIDDEN TESTS" not in text and "check_hidden(" not in text
    assert str(SEED) not in text


def read_csv(path: Path, assignment: str = ASSIGNMENT) -> dict[str, dict[str, str]]:
    """Student -> row of one assignment."""
    with path.open(newline="", encoding="utf-8") as f:
        rows = [row for row in csv.DictReader(f) if row["assignment"] == assignment]
    assert len({row["student"] for row in rows}) == len(rows), "one row per student"
    return {row["student"]: row for row in rows}


def manual_score(course: Course, student: str, grade_id: str = "overlap-explanation"):
    with Gradebook(course.db_url, course.course_id) as gb:
        return gb.find_grade(grade_id, NB, ASSIGNMENT, student).manual_score


def key_cells(course: Course) -> NotebookKey:
    return AnswerKey.load(course.key_path(ASSIGNMENT)).notebooks[NB]


# --- the graded class (conftest): ada full, blaise blank, carl partial, dora/emmy broken, felix --


@pytest.fixture(scope="module")
def feedback_pages(graded_class) -> dict[str, Path]:
    paths = write_feedback(graded_class.course, ASSIGNMENT)
    return {p.parent.parent.name: p for p in paths}


def test_a_page_for_every_student(graded_class, feedback_pages):
    course = graded_class.course
    assert set(feedback_pages) == {"ada", "blaise", "carl", "dora", "emmy", "felix"}
    for student, path in feedback_pages.items():
        assert path == course.feedback_dir(student, ASSIGNMENT) / f"{NB}.html"
        assert path.read_text().startswith("<!DOCTYPE html>")


def test_feedback_never_shows_hidden_tests(graded_class, feedback_pages, tmp_path):
    course = graded_class.course
    for path in feedback_pages.values():
        assert_nothing_hidden(course, path)
    # The threat is real: a test cell that raises inside its hidden part prints a traceback
    # quoting the hidden line (and the page of a cell that printed it must not show it). Carl's
    # failing test cells printed tracebacks; put every hidden line into them, as such tracebacks
    # would, and render his page again.
    carl = graded_class.results["carl"]
    notebook = carl.notebooks[0]
    quoted = "\n".join(secrets(course))
    outputs = {
        i: dataclasses.replace(e, out=f"{e.out}\n{quoted}") if "Traceback" in e.out else e
        for i, e in notebook.outputs.items()
    }
    assert outputs != notebook.outputs
    leaky = dataclasses.replace(carl, notebooks=[dataclasses.replace(notebook, outputs=outputs)])
    released = Assignment.load(course, ASSIGNMENT)
    page = tmp_path / "carl.html"
    page.write_text(FeedbackRenderer(released).pages(leaky)[notebook.name], encoding="utf-8")
    assert_nothing_hidden(course, page)
    # ... while the visible tests are shown, so the absence above means something.
    text = page_text(feedback_pages["carl"])
    assert 'check("nearest-on-X"' in text and "nearest-on-X" in text
    assert "hidden check 1" in text


def test_feedback_scores_and_check_results(graded_class, feedback_pages):
    expected, results = graded_class.expected, graded_class.results
    key = key_cells(graded_class.course)
    total = key.max_score
    carl = BeautifulSoup(feedback_pages["carl"].read_text(), "html.parser")
    assert f"Score: {expected['carl']:g} / {total:g} points" in carl.get_text(" ")
    table = next(t for t in carl.find_all("table") if "Scores per question" in t.caption.text)
    shown = {
        row.find_all("td")[0].text: row.find_all("td")[2].text for row in table.find_all("tr")[1:]
    }
    for grade_id, cell in results["carl"].notebooks[0].cells.items():
        if cell.kind is CellKind.AUTO:
            assert shown[grade_id] == f"{cell.auto_score:g} / {cell.max_score:g}"
    assert shown["overlap-explanation"] == f"0 / {key.manual['overlap-explanation']:g}"
    text = carl.get_text(" ")
    assert "NotImplementedError" in text and "this check did not run" in text
    assert "You left this answer as it was released" in text
    blank = page_text(feedback_pages["blaise"])
    assert f"Score: 0 / {total:g} points" in blank
    felix = page_text(feedback_pages["felix"])
    assert "notes.txt" in felix and f"Score: {expected['felix']:g} / {total:g}" in felix


def test_feedback_explains_a_notebook_that_could_not_be_graded(feedback_pages):
    dora, emmy = page_text(feedback_pages["dora"]), page_text(feedback_pages["emmy"])
    assert "invalid notebook" in dora and "not valid JSON" in dora
    assert "missing notebook" in emmy and "my-work.ipynb" in emmy
    for text in (dora, emmy):
        assert "not a mark of 0" in text and "/ 17" not in text


def test_marks_csv_holds_the_expected_numbers(graded_class, tmp_path):
    course, expected = graded_class.course, graded_class.expected
    path = export_marks(course, [ASSIGNMENT], tmp_path / "marks.csv")
    rows = read_csv(path)
    assert set(rows) == {"ada", "blaise", "carl", "dora", "emmy", "felix"}
    key = key_cells(course)
    auto_ids = list(key.cells)
    total = key.max_score
    # Another test may have marked ada's explanation by hand: the CSV must follow the gradebook.
    ada_manual = manual_score(course, "ada")
    assert rows["ada"]["score"] == f"{expected['ada'] + (ada_manual or 0):g}"
    assert rows["ada"]["overlap-explanation"] == ("" if ada_manual is None else f"{ada_manual:g}")
    assert rows["blaise"]["score"] == "0" and rows["carl"]["score"] == f"{expected['carl']:g}"
    assert rows["felix"]["score"] == f"{expected['felix']:g}"
    for student in ("ada", "felix"):
        assert [rows[student][g] for g in auto_ids] == [
            f"{key.cells[g].points:g}" for g in auto_ids
        ]
    carl = graded_class.results["carl"].notebooks[0].cells
    assert [rows["carl"][g] for g in auto_ids] == [f"{carl[g].auto_score:g}" for g in auto_ids]
    assert rows["carl"]["overlap-explanation"] == "0"  # left unanswered
    assert rows["blaise"]["needs_manual_grading"] == "False"
    for student, status in (("dora", Status.INVALID), ("emmy", Status.MISSING)):
        row = rows[student]
        assert row["status"] == status.words
        assert row["score"] == "" and row["needs_manual_grading"] == ""
        assert all(row[g] == "" for g in auto_ids + ["overlap-explanation"])
        assert row["reason"] == graded_class.results[student].reason
    assert {row["max_score"] for row in rows.values()} == {f"{total:g}"}
    assert all(row["assignment"] == ASSIGNMENT for row in rows.values())


def test_summary_report(graded_class):
    course, results = graded_class.course, graded_class.results
    path = write_summary(course, ASSIGNMENT)
    assert path == course.reports_dir / f"summary-{ASSIGNMENT}.html"
    soup = BeautifulSoup(path.read_text(), "html.parser")
    text = soup.get_text(" ")
    img = soup.find("img")
    assert img["src"].startswith("data:image/png;base64,")
    assert base64.b64decode(img["src"].split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Histogram of the total scores of 4 graded submissions" in img["alt"]
    counts = next(t for t in soup.find_all("table") if "per status" in t.caption.text)
    assert {
        r.find_all("td")[0].text: r.find_all("td")[1].text for r in counts.find_all("tr")[1:]
    } == {"graded": "4", "invalid notebook": "1", "missing notebook": "1"}
    rates = next(t for t in soup.find_all("table") if "per question" in t.caption.text)
    shown = {r.find_all("td")[0].text: r.find_all("td")[3].text for r in rates.find_all("tr")[1:]}
    graded = [r for r in results.values() if r.scored]
    for grade_id in key_cells(course).cells:
        passed = sum(bool(r.notebooks[0].cells[grade_id].passed) for r in graded)
        assert shown[grade_id] == f"pass rate {100 * passed / 4:.0f}% ({passed} of 4)", grade_id
    assert shown["overlap-explanation"].startswith(("mean", "no marks yet"))
    assert graded_class.grader.isolation.describe().splitlines()[0] in text


# --- a second class, graded once: hostile text, a late manual mark, the CLI ---------------------


@dataclass
class EscapedClass:
    course: Course
    results: dict[str, StudentResult]


@pytest.fixture(scope="module")
def escaped_class(released_course, tmp_path_factory) -> EscapedClass:
    """mallory's answers print HTML and her added cell prints the run's history (hidden tests
    included) and the seed; hugo's answer fails on hidden inputs only; oscar submits only a file
    with HTML in its name; wanda's answers give a wrong shape and wrong values on hidden inputs."""
    course = fresh_course(released_course, tmp_path_factory.mktemp("escaped"))
    full = simulate.answered(course, ASSIGNMENT, NB, None)
    solution = {
        c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"])
        for c in full["cells"]
        if c["metadata"].get("nbgrader", {}).get("solution")
    }
    mallory = simulate.answered(
        course,
        ASSIGNMENT,
        NB,
        None,
        wrong={
            "upsample-nearest": f"print({SCRIPT!r})\n" + solution["upsample-nearest"],
            "overlap-explanation": f"{IMG} The kernels overlap where the stride is smaller.",
        },
    )
    mallory["cells"].append(
        {
            "cell_type": "code",
            "metadata": {},
            "outputs": [],
            "execution_count": None,
            "source": f"import os\nprint('\\n'.join(In))\n"
            f"print('seed', os.environ.get({SEED_ENV!r}))",
        }
    )
    simulate.place(course, "mallory", ASSIGNMENT, {f"{NB}.ipynb": simulate.to_bytes(mallory)})
    # hugo's answer works on the visible inputs only; its error quotes the hidden input.
    hugo = simulate.answered(
        course,
        ASSIGNMENT,
        NB,
        None,
        wrong={
            "upsample-nearest": (
                "def upsample_nearest(x):\n"
                "    if x.shape not in ((1, 2, 2, 1), (2, 3, 5, 4)):\n"
                "        raise ValueError(f'unexpected input {x.tolist()}')\n"
                "    return keras.layers.UpSampling2D()(x).numpy()\n"
            )
        },
    )
    simulate.place(course, "hugo", ASSIGNMENT, {f"{NB}.ipynb": simulate.to_bytes(hugo)})
    simulate.place(course, "oscar", ASSIGNMENT, {BAD_NAME: simulate.to_bytes(full)})
    # wanda's answers are right on the visible inputs only: a wrong shape, then wrong values.
    wanda = simulate.answered(
        course,
        ASSIGNMENT,
        NB,
        None,
        wrong={
            "upsample-nearest": "def upsample_nearest(x):\n    if x.shape[-1] == 2:\n"
            "        return x\n    return keras.layers.UpSampling2D()(x).numpy()\n",
            "upsample-by": "def upsample_by(x, rows, cols):\n"
            "    y = np.repeat(np.repeat(x, rows, axis=1), cols, axis=2)\n"
            "    return y + 1 if x.shape[-1] == 2 else y\n",
        },
    )
    simulate.place(course, "wanda", ASSIGNMENT, {f"{NB}.ipynb": simulate.to_bytes(wanda)})
    results = Grader(course, ASSIGNMENT, limits=TEST_LIMITS, workers=1).grade(progress=False)
    with Gradebook(course.db_url, course.course_id) as gb:
        gb.add_student("nadia")  # on the class list, never submitted
    return EscapedClass(course, {r.student: r for r in results})


def cli_args(course: Course) -> list[str]:
    return ["--course", str(course.root), "--db-url", course.db_url]


def test_student_text_is_escaped(escaped_class, capsys):
    course = escaped_class.course
    assert escaped_class.results["mallory"].status is Status.GRADED
    assert main(["feedback", ASSIGNMENT, *cli_args(course)]) == 0
    printed = capsys.readouterr().out.split()
    mallory = course.feedback_dir("mallory", ASSIGNMENT) / f"{NB}.html"
    oscar = course.feedback_dir("oscar", ASSIGNMENT) / f"{NB}.html"
    assert sorted(printed) == sorted(
        str(course.feedback_dir(s, ASSIGNMENT) / f"{NB}.html")
        for s in ("hugo", "mallory", "oscar", "wanda")
    )
    for path in (mallory, oscar):
        raw = path.read_text()
        soup = BeautifulSoup(raw, "html.parser")
        assert SCRIPT not in raw and IMG not in raw
        assert soup.find_all(["script", "img", "iframe"]) == []
        assert not [
            tag for tag in soup.find_all(True) if any(attr.startswith("on") for attr in tag.attrs)
        ]
    text = page_text(mallory)
    assert SCRIPT in text and IMG in text  # shown, as text
    assert BAD_NAME in page_text(oscar) and "missing notebook" in page_text(oscar)


def test_hidden_tests_printed_by_a_student_are_blanked(escaped_class):
    course = escaped_class.course
    run = escaped_class.results["mallory"].notebooks[0]
    printed = "".join(e.out for e in run.outputs.values())
    assert str(SEED) in printed and any(line in printed for line in secrets(course))
    paths = write_feedback(course, ASSIGNMENT, ["mallory"])
    assert len(paths) == 1
    assert_nothing_hidden(course, paths[0])
    assert "[hidden]" in page_text(paths[0])


def test_an_error_on_hidden_inputs_shows_its_type_only(escaped_class):
    course = escaped_class.course
    cells = escaped_class.results["hugo"].notebooks[0].cells
    assert cells["upsample-nearest-tests"].auto_score == 0
    assert "unexpected input [" in (cells["upsample-nearest-tests"].error or "")  # hidden values
    path = write_feedback(course, ASSIGNMENT, ["hugo"])[0]
    soup = BeautifulSoup(path.read_text(), "html.parser")
    section = soup.find(id="upsample-nearest-tests")
    text = " ".join(section.get_text(" ").split())
    assert "ValueError" in text and "while the hidden tests ran" in text
    assert "unexpected input [" not in soup.get_text(" ")
    assert text.count("✓ passed") == 2 and "hidden check 1: ✗ failed" in text
    assert_nothing_hidden(course, path)


def test_a_failed_hidden_check_tells_the_kind_of_difference_only(escaped_class):
    """The two shapes, or how many values differ: never an input, a value or an index."""
    course = escaped_class.course
    path = write_feedback(course, ASSIGNMENT, ["wanda"])[0]
    soup = BeautifulSoup(path.read_text(), "html.parser")

    def checks(grade_id: str) -> str:
        # The text as read: "hidden check 1: ✗ failed: <kind>" (no separator between tags).
        return " ".join(soup.find(id=grade_id).find("ul", class_="checks").get_text().split())

    assert (
        "hidden check 1: ✗ failed: expected shape (2, 6, 8, 2), got shape (2, 3, 4, 2)"
        in checks("upsample-nearest-tests")
    )
    by = checks("upsample-by-tests")
    assert re.search(r"hidden check 1: ✗ failed: \d+ of \d+ values differ$", by), by
    assert "expected" not in by and "index" not in by
    assert checks("upsample-nearest-tests").count("✓ passed") == 2
    assert_nothing_hidden(course, path)


def test_manual_mark_shows_in_csv_and_feedback(escaped_class, tmp_path, capsys):
    course, args = escaped_class.course, cli_args(escaped_class.course)
    mallory = course.feedback_dir("mallory", ASSIGNMENT) / f"{NB}.html"
    auto_total = key_cells(course).auto_score
    write_feedback(course, ASSIGNMENT, ["mallory"])
    assert "not marked yet" in page_text(mallory)
    before = read_csv(export_marks(course, [ASSIGNMENT], tmp_path / "before.csv"))["mallory"]
    assert before["score"] == f"{auto_total:g}" and before["overlap-explanation"] == ""
    assert before["needs_manual_grading"] == "True"

    assert main(["mark", ASSIGNMENT, "mallory", "overlap-explanation", "2.5", *args]) == 0
    out = tmp_path / "marks.csv"
    assert main(["export", ASSIGNMENT, "--output", str(out), *args]) == 0
    assert main(["feedback", ASSIGNMENT, "--student", "mallory", *args]) == 0
    printed = capsys.readouterr().out
    assert f"marks: {out}" in printed and f"summary-{ASSIGNMENT}.html" in printed
    rows = read_csv(out)
    assert rows["mallory"]["overlap-explanation"] == "2.5"
    assert rows["mallory"]["score"] == f"{auto_total + 2.5:g}"
    assert rows["mallory"]["needs_manual_grading"] == "False"
    text = page_text(mallory)
    assert "2.5 / 3" in text and f"Score: {auto_total + 2.5:g} / {auto_total + 3:g} points" in text
    summary = page_text(course.reports_dir / f"summary-{ASSIGNMENT}.html")
    assert "mean 2.50 of 3 over 1 with a mark" in summary


def test_students_without_a_graded_submission_have_no_score(escaped_class):
    course = escaped_class.course
    path = export_marks(course)  # every released assignment
    assert path == course.reports_dir / "marks.csv"
    rows = read_csv(path)
    assert rows["oscar"]["status"] == "missing notebook" and rows["oscar"]["score"] == ""
    assert BAD_NAME in rows["oscar"]["reason"]
    assert rows["nadia"]["status"] == "not submitted" and rows["nadia"]["score"] == ""
    assert rows["nadia"]["max_score"] == rows["mallory"]["max_score"]
    others = [a for a in course.released_assignments() if a != ASSIGNMENT]
    assert others
    for assignment in others:  # released, never submitted by anyone
        other = read_csv(path, assignment)
        assert set(other) == {"hugo", "mallory", "nadia", "oscar", "wanda"}
        assert {(r["status"], r["score"]) for r in other.values()} == {("not submitted", "")}


def test_feedback_for_a_student_never_graded_is_an_error(escaped_class, capsys):
    course = escaped_class.course
    assert main(["feedback", ASSIGNMENT, "--student", "nadia", *cli_args(course)]) == 1
    assert "nadia" in capsys.readouterr().err
