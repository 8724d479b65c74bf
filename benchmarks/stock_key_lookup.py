"""The grading benchmark's in-kernel answer-key lookup, for its stock-nbgrader run only.

Stock ``nbgrader autograde`` trusts the kernel: a test cell scores when it raises nothing. So
that stock nbgrader can grade the hidden checks at all, the benchmark installs this file as an
IPython startup file of the kernels nbgrader starts (``$IPYTHONDIR/profile_default/startup``):
it makes each ``check_hidden`` compare its value, inside the kernel, with the answer key named
by ``$BENCHMARK_ANSWER_KEY``. The course's own grader never does this: the key never enters a
submission's process there.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

KEY_ENV = "BENCHMARK_ANSWER_KEY"


def key_reporter(key_path: str | os.PathLike[str]) -> Callable[[dict[str, Any]], None]:
    """A ``checks.reporter`` that raises ``AssertionError`` when a hidden check's value differs
    from the key's (and ignores visible checks, which compare in the kernel anyway)."""
    from autograder.answer_key import AnswerKey
    from upsampling_course.checks import mismatch

    key = AnswerKey.load(Path(key_path))

    def report(record: dict[str, Any]) -> None:
        if record.get("kind") != "hidden":
            return
        name = record["name"]
        try:
            expected = key.lookup(name)
        except KeyError:
            raise AssertionError(f"{name}: not in the answer key") from None
        why = mismatch(expected.value, record["value"], atol=expected.atol, rtol=expected.rtol)
        if why:
            raise AssertionError(f"{name}: {why}")

    return report


def install() -> None:
    """Point the checks at the key named by ``$BENCHMARK_ANSWER_KEY`` (nothing if unset)."""
    path = os.environ.get(KEY_ENV)
    if path:
        import upsampling_course.checks as checks

        checks.reporter = key_reporter(path)


if __name__ == "__main__":  # IPython runs startup files as __main__
    install()
