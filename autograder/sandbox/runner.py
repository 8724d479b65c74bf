"""Runs one notebook's cells inside a submission's own process.

Everything here runs after student code may have changed anything in this process, so nothing
it writes is trusted: it is a best-effort log of what happened (cell starts and ends, errors,
output, checked values) that the grader parses strictly and compares, outside the sandbox, with
the instructor's values. Forging this log earns nothing that the right answer would not.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from typing import TYPE_CHECKING, Any

from ..protocol import Event, event_line, value_line

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell


class CappedText(io.TextIOBase):
    """A stdout that keeps the first ``cap`` characters of a cell's output and drops the rest."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.parts: list[str] = []
        self.size = 0
        self.dropped = 0

    def writable(self) -> bool:
        return True

    def write(self, text: Any) -> int:
        text = str(text)
        room = self.cap - self.size
        if room > 0:
            self.parts.append(text[:room])
            self.size += min(room, len(text))
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def take(self) -> str:
        text = "".join(self.parts)
        if self.dropped:
            text += f"\n[... {self.dropped} more characters of output not kept]"
        self.parts, self.size, self.dropped = [], 0, 0
        return text


def make_shell() -> InteractiveShell:
    """The IPython shell a job's cells run in. The pristine worker makes it once, before any
    job (``zygote.preload``): making one takes 0.16 s of CPU time (measured; 0.5 s of
    wall-clock time at a load of 7 on 2 cores) that each job's process would pay again; forked,
    each job gets its own copy, as untouched as the worker. Without history (its database is a
    file and a thread, and a thread does not survive a fork).

    Tracebacks are Python's plain ones (each frame's file, line and code line, then the error),
    not IPython's default "Context" mode, which parses the source file of every frame to show
    the lines around it: measured in a job's process, 30-220 ms of CPU time per error against
    2-10 ms, paid for each cell that raises, so a partly answered or blank notebook cost up to
    4x its own floor. A test cell's output is never shown; an answer cell's traceback still
    names each frame and line."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    if InteractiveShell.initialized():
        return InteractiveShell.instance()
    config = Config()
    config.HistoryManager.enabled = False
    config.InteractiveShell.xmode = "Plain"
    with tempfile.TemporaryDirectory(prefix="autograder-ipython-") as ipython_dir:
        # The profile folder is only read while the shell is made: nothing is left behind.
        shell = InteractiveShell.instance(colors="nocolor", ipython_dir=ipython_dir, config=config)
    _format_one_traceback(shell)
    return shell


def _format_one_traceback(shell: InteractiveShell) -> None:
    """Format a traceback once, unseen: the first one a process formats loads IPython's
    traceback machinery (measured: 86 ms of CPU time, then 8 ms), which every job whose cells
    raise would pay again. No cell runs: the shell's counts and history stay as they were."""
    import contextlib
    import sys

    try:
        raise ValueError("formatted once by the worker, before any job")
    except ValueError:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            shell.showtraceback()
    for name in ("last_type", "last_value", "last_traceback", "last_exc"):
        if hasattr(sys, name):
            delattr(sys, name)


def run_notebook(job: dict[str, Any], reached_fd: int) -> None:
    """Run the job's cells in one IPython shell, writing the log (``autograder.protocol``);
    one byte to ``reached_fd`` tells the worker that the first cell is about to run."""
    import sys

    records_fd = os.open(
        os.path.join(job["dir"], "records.jsonl"),
        os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC,
        0o600,
    )

    def emit(line: str) -> None:
        os.write(records_fd, line.encode("utf-8"))

    cells_path = os.path.join(job["dir"], "cells.json")
    with open(cells_path, encoding="utf-8") as f:
        cells = json.load(f)["cells"]
    os.unlink(cells_path)  # the hidden tests' code is not left lying about for the notebook

    import upsampling_course.checks as checks

    capture = CappedText(job["limits"]["output_chars"])
    sys.stdout = sys.stderr = capture
    shell = make_shell()
    current: dict[str, int | None] = {"index": None}

    def report(reported: dict[str, Any]) -> None:
        try:
            emit(value_line(current["index"], reported))
        except (TypeError, ValueError):
            name = reported.get("name") if isinstance(reported, dict) else None
            emit(event_line(Event.VALUE_ERROR, i=current["index"], name=str(name)))

    checks.reporter = report
    # As Jupyter does: modules handed in beside the notebook can be imported (the worker runs
    # with -I, which leaves the current folder off sys.path).
    sys.path.insert(0, job["dir"])
    emit(event_line(Event.BEGIN, pid=os.getpid()))
    os.write(reached_fd, b"1")
    os.close(reached_fd)
    for cell in cells:
        current["index"] = cell["index"]
        emit(event_line(Event.START, i=cell["index"]))
        result = shell.run_cell(cell["source"], store_history=True, silent=False)
        error = result.error_before_exec or result.error_in_exec
        end: dict[str, Any] = {"i": cell["index"], "ok": error is None, "out": capture.take()}
        if error is not None:
            end |= {"ename": type(error).__name__, "evalue": str(error)[:2000]}
        emit(event_line(Event.END, **end))
    emit(event_line(Event.DONE))
