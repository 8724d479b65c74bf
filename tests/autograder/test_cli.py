"""The instructor's first minutes: help that reads as text, and a virtual environment that works
without being activated."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import pytest

from autograder.cli import COMMANDS, build_parser, main
from autograder.course import Course
from autograder.service import cli as service_cli

REST_MARKUP = ("``", ":class:", ":func:", ":meth:", ":data:")


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(subs[0].choices) if subs else {}


def _all_commands(
    parser: argparse.ArgumentParser, prefix: str = ""
) -> dict[str, argparse.ArgumentParser]:
    """Every command and sub-command (``roster import``), by its full name."""
    found = {}
    for name, command in _subparsers(parser).items():
        found[prefix + name] = command
        found.update(_all_commands(command, f"{prefix}{name} "))
    return found


def test_help_is_plain_text_and_names_every_argument():
    parser = build_parser()
    texts = [parser.format_help()]
    commands = _subparsers(parser)
    # The grading commands, and those the submission service adds through its hook.
    service_parser = argparse.ArgumentParser()
    service_cli.add_commands(
        service_parser.add_subparsers(), argparse.ArgumentParser(add_help=False)
    )
    assert set(commands) == set(COMMANDS) | set(_subparsers(service_parser))
    for name, command in _all_commands(parser).items():
        texts.append(command.format_help())
        for action in command._actions:
            assert action.help, f"{name}: {action.dest} has no help"
    for text in texts:
        assert not [m for m in REST_MARKUP if m in text], text
    assert "--student ID" in commands["feedback"].format_help()


def test_a_command_without_a_course_folder_says_what_to_do(tmp_path, capsys):
    assert main(["export", "--course", str(tmp_path / "nowhere")]) == 2
    assert "run 'autograder release'" in capsys.readouterr().err


@pytest.mark.skipif(sys.prefix == sys.base_prefix, reason="needs a virtual environment")
def test_a_virtual_environment_works_without_being_activated(tmp_path):
    """nbgrader starts ``alembic`` by name: found beside the interpreter, not on PATH."""
    course = Course(tmp_path / "course")
    course.set_up_folder()
    bare = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "export", "--course", str(course.root)],
        env=bare,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert "marks:" in done.stdout and os.path.exists(course.reports_dir / "marks.csv")


def test_grade_imports_nothing_heavy_before_its_first_job():
    """The workers' TensorFlow import is the floor of the time to the first job: the command
    and the grader import no TensorFlow, nbgrader or nbformat before then (the gradebook's and
    formgrader's imports wait until a job runs)."""
    heavy = ("tensorflow", "keras", "nbgrader", "nbformat", "sqlalchemy", "jsonschema")
    code = (
        "import sys, autograder.cli, autograder.grader, autograder.sandbox.pool\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
