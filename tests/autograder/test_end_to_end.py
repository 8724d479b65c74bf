"""Release -> submissions -> grade, end to end, on every exercise (issue 4)."""

from __future__ import annotations

import json

import pytest

from autograder import simulate
from autograder.answer_key import AnswerKey
from autograder.cli import main
from autograder.grader import Grader
from autograder.keybuild import time_limit_for
from autograder.release import _solution_lines
from autograder.results import CellKind, Status

from .conftest import ASSIGNMENT, TEST_LIMITS, fresh_course

pytestmark = pytest.mark.grading


def test_release_has_no_solutions_and_no_hidden_tests(released_course):
    for assignment in released_course.exercise_sources():
        for source_path in released_course.source_dir(assignment).glob("*.ipynb"):
            released = (released_course.release_dir(assignment) / source_path.name).read_text()
            assert "BEGIN SOLUTION" not in released and "HIDDEN TESTS" not in released
            assert "check_hidden(" not in released
            source = json.loads(source_path.read_text())
            secret = [
                line
                for cell in source["cells"]
                for line in _solution_lines("".join(cell["source"]))
            ]
            assert secret, f"{source_path.name} has no solution or hidden-test lines to hide"
            released_lines = {
                line.strip()
                for cell in json.loads(released)["cells"]
                for line in "".join(cell["source"]).splitlines()
            }
            leaked = [line for line in secret if line in released_lines and len(line) > 12]
            assert not leaked, leaked


def test_every_answer_key_has_visible_and_hidden_checks(released_course):
    for assignment in released_course.exercise_sources():
        key = AnswerKey.load(released_course.key_path(assignment))
        for notebook in key.notebooks.values():
            assert notebook.cells, "no autograded questions"
            assert notebook.manual or assignment != ASSIGNMENT
            for cell in notebook.cells.values():
                kinds = {v.hidden for v in cell.values.values()}
                assert kinds == {True, False}
        # The default time limit comes from the solution's own run in the sandbox.
        assert key.solution_seconds is not None and key.solution_seconds > 0
        assert key.time_limit == time_limit_for(key.solution_seconds)


def test_every_solution_scores_full_marks_and_every_release_scores_zero(released_course, tmp_path):
    """One grading run per exercise: the instructor's solution and the blank student copy."""
    course = fresh_course(released_course, tmp_path)
    for assignment in course.exercise_sources():
        for notebook in course.notebooks(assignment):
            simulate.place(
                course,
                "solution",
                assignment,
                {
                    f"{notebook}.ipynb": simulate.to_bytes(
                        simulate.answered(course, assignment, notebook, None)
                    )
                },
            )
            simulate.place(
                course,
                "blank",
                assignment,
                {
                    f"{notebook}.ipynb": (
                        course.release_dir(assignment) / f"{notebook}.ipynb"
                    ).read_bytes()
                },
            )
        grader = Grader(course, assignment, limits=TEST_LIMITS)
        results = {r.student: r for r in grader.grade(progress=False)}
        for notebook in results["solution"].notebooks:
            for grade_id, cell in notebook.cells.items():
                if cell.kind is CellKind.AUTO:
                    assert cell.auto_score == cell.max_score > 0, (assignment, grade_id, cell)
                else:  # answered: waits for the instructor
                    assert cell.auto_score is None
        assert results["solution"].status is Status.GRADED, results["solution"].reason
        for notebook in results["blank"].notebooks:
            for grade_id, cell in notebook.cells.items():
                assert cell.auto_score == 0.0, (assignment, grade_id)
        assert results["blank"].score == 0.0


def test_scores_of_the_graded_class(graded_class):
    results, expected = graded_class.results, graded_class.expected
    for student, score in expected.items():
        assert results[student].score == score, (student, results[student].reason)
        assert results[student].status is Status.GRADED, results[student].reason
    assert 0 < expected["carl"] < expected["ada"]


def test_partial_credit_is_per_question(graded_class):
    carl = graded_class.results["carl"].notebooks[0].cells
    earned = {gid for gid, c in carl.items() if c.kind is CellKind.AUTO and c.auto_score}
    chosen = set(simulate.answer_ids(graded_class.course, ASSIGNMENT, ASSIGNMENT)[:2])
    assert earned == {f"{a}-tests" for a in chosen}


def test_broken_submissions_are_reported_not_zeroed(graded_class):
    dora, emmy = graded_class.results["dora"], graded_class.results["emmy"]
    assert dora.status is Status.INVALID and "not valid JSON" in dora.reason
    assert emmy.status is Status.MISSING and "my-work.ipynb" in emmy.reason
    for result in (dora, emmy):
        assert not result.scored


def test_extra_file_is_reported(graded_class):
    notes = graded_class.results["felix"].notebooks[0].notes
    assert any("notes.txt" in note.text for note in notes)


def test_gradebook_holds_the_scores(graded_class):
    from nbgrader.api import Gradebook, MissingEntry

    course = graded_class.course
    with Gradebook(course.db_url, course.course_id) as gb:
        for student, score in graded_class.expected.items():
            submission = gb.find_submission(ASSIGNMENT, student)
            assert submission.score == score
        ada = gb.find_submission(ASSIGNMENT, "ada")
        assert ada.needs_manual_grade  # the written explanation
        with pytest.raises(MissingEntry):
            gb.find_submission(ASSIGNMENT, "dora")  # not silently stored as 0


def test_manual_mark_adds_to_the_score(graded_class, capsys):
    course = graded_class.course
    args = ["--course", str(course.root), "--db-url", course.db_url]
    assert main(["mark", ASSIGNMENT, "ada", "overlap-explanation", "2", *args]) == 0
    assert main(["mark", ASSIGNMENT, "ada", "overlap-explanation", "99", *args]) == 2
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url, course.course_id) as gb:
        assert gb.find_submission(ASSIGNMENT, "ada").score == graded_class.expected["ada"] + 2


def test_grade_command_prints_every_status(graded_class, capsys):
    course = graded_class.course
    code = main(
        [
            "grade",
            ASSIGNMENT,
            "--course",
            str(course.root),
            "--student",
            "dora",
            "--student",
            "emmy",
            "--no-progress",
            "--timeout",
            "20",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "dora" in out and "invalid notebook" in out
    assert "emmy" in out and "missing notebook" in out
    assert "isolation in force" in out
    assert "time limit: 20 s per notebook (--timeout)" in out
    # Without --timeout: the answer key's limit, and where it comes from.
    assert main(["grade", ASSIGNMENT, "--course", str(course.root), "--student", "emmy"]) == 0
    key = AnswerKey.load(course.key_path(ASSIGNMENT))
    assert f"time limit: {key.time_limit:g} s per notebook (the answer key's" in (
        capsys.readouterr().out
    )


@pytest.mark.parametrize("command", ["release", "collect", "grade", "feedback", "export", "mark"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert "--course" in capsys.readouterr().out
