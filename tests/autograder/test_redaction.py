"""redaction.py: hidden tests' lines, hidden checks' names and the seed never reach a student."""

from __future__ import annotations

from autograder.answer_key import AnswerKey, CellKey, ExpectedValue, NotebookKey
from autograder.notebook import InstructorNotebook
from autograder.redaction import HIDDEN, Redactor, hidden_region_lines, visible_text

from .test_notebook import INSTRUCTOR, TESTS

SEED = 20261201


def key(seed: int = SEED) -> AnswerKey:
    cell = CellKey(
        2.0,
        {
            "f": ExpectedValue(2, 1e-5, 1e-6, False),
            "fh": ExpectedValue(6, 1e-5, 1e-6, True),
            "secret-name": ExpectedValue(6, 1e-5, 1e-6, True),
        },
    )
    return AnswerKey("a", seed, {"nb": NotebookKey({"tests": cell}, {})}, "2026-12-01")


def test_hidden_regions_are_found_and_cut():
    assert hidden_region_lines(TESTS.source) == ["check_hidden('fh', f(3))"]
    assert visible_text(TESTS.source) == "check('f', f(1), 2)"
    assert visible_text("a\n## BEGIN HIDDEN TESTS\nb\n# END HIDDEN TESTS\nc") == "a\nc"


def test_the_redactor_blanks_hidden_lines_names_and_the_seed():
    redact = Redactor.for_assignment([INSTRUCTOR], key())
    printed = (
        f"Traceback: check_hidden('fh', f(3))\nseed {SEED}, not {SEED}1\n"
        "secret-name failed; check('f', f(1), 2) is visible"
    )
    shown = redact(printed)
    assert "check_hidden('fh', f(3))" not in shown and "secret-name" not in shown
    assert f"seed {HIDDEN}, not {SEED}1" in shown  # whole numbers only
    assert "check('f', f(1), 2) is visible" in shown  # released lines stay
    assert redact(None) == ""
    # A name shorter than four characters ("fh") would blank ordinary words: it is kept.
    assert "fh" in redact("fh")


def test_a_short_seed_is_not_blanked():
    assert Redactor.for_assignment([INSTRUCTOR], key(seed=42)).seed is None
    assert "42" in Redactor.for_assignment([INSTRUCTOR], key(seed=42))("42")


def test_a_line_the_release_shows_is_not_a_secret():
    instructor = InstructorNotebook.pair("nb", [TESTS], [TESTS])  # released with hidden lines
    redact = Redactor.for_assignment([instructor], key())
    assert redact("check_hidden('fh', f(3))") == "check_hidden('fh', f(3))"
