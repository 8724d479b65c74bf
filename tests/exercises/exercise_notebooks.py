"""Helpers of the exercise tests: where the sources are, and a kernel that runs cells one by one.

Running a notebook costs a TensorFlow import (seconds), so each notebook version runs in one
kernel, once per test session (fixtures in conftest.py), and every test reads the results.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from autograder.sources import list_assignments
from upsampling_course.checks import SEED_ENV

REPO = Path(__file__).resolve().parents[2]
EXERCISES = REPO / "exercises"
ASSIGNMENTS = list_assignments(EXERCISES)

#: Seeds of the hidden inputs: the main run, and a second run of the test cells.
SEED, OTHER_SEED = "20261201", "7"

CHECK_CALL = re.compile(r"""\bcheck(?:_hidden)?\(\s*(?:f?["'])([^"']+)["']""")


def nbgrader_meta(cell) -> dict | None:
    return cell.metadata.get("nbgrader")


def is_test_cell(cell) -> bool:
    meta = nbgrader_meta(cell)
    return bool(meta and meta.get("grade") and not meta.get("solution"))


def check_names(source: str) -> list[str]:
    """The names passed to check()/check_hidden() in a cell's source, in order."""
    return CHECK_CALL.findall(source)


@dataclass
class CellRun:
    """One execution of one notebook cell."""
    index: int
    grade_id: str | None
    error: tuple[str, str] | None  # (exception name, message)
    records: list[dict] = field(default_factory=list)  # what check()/check_hidden() reported


class KernelSession:
    """A fresh kernel that runs cells one at a time and collects the checks' reports."""

    # Runs in the kernel before the notebook: the checks hand every record to this list.
    _INSTALL_REPORTER = ("import upsampling_course.checks as _checks_under_test\n"
                         "_records_under_test = []\n"
                         "_checks_under_test.reporter = _records_under_test.append\n")
    _DRAIN = ("import json as _json_under_test\n"
              "print(_json_under_test.dumps(_records_under_test))\n"
              "_records_under_test.clear()\n")

    def __init__(self, nb: nbformat.NotebookNode, workdir: Path, seed: str, kernel_name: str = "python3"):
        self.nb = nb
        self.client = NotebookClient(nb, timeout=300, kernel_name=kernel_name,
                                     resources={"metadata": {"path": str(workdir)}})
        self.env = {**os.environ, SEED_ENV: seed}

    def __enter__(self):
        self._ctx = self.client.setup_kernel(env=self.env)
        self._ctx.__enter__()
        self.client.kc.allow_stdin = False
        self._run_code(self._INSTALL_REPORTER)
        return self

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)

    def _run_code(self, code: str) -> nbformat.NotebookNode:
        # nbclient stores each executed cell back into the notebook: lend it a slot at the end.
        cell = nbformat.v4.new_code_cell(code)
        self.nb.cells.append(cell)
        try:
            self.client.execute_cell(cell, len(self.nb.cells) - 1)
        finally:
            self.nb.cells.pop()
        return cell

    def run_cell(self, index: int) -> CellRun:
        cell = self.nb.cells[index]
        meta = nbgrader_meta(cell) or {}
        error = None
        try:
            self.client.execute_cell(cell, index)
        except CellExecutionError as exc:
            error = (exc.ename, exc.evalue)
        drained = self._run_code(self._DRAIN)
        records = json.loads("".join(o.get("text", "") for o in drained.outputs
                                     if o.output_type == "stream" and o.name == "stdout"))
        return CellRun(index, meta.get("grade_id"), error, records)

    def set_seed(self, seed: str) -> None:
        self._run_code(f"import os\nos.environ[{SEED_ENV!r}] = {seed!r}\n")


@dataclass
class SolutionRun:
    """The instructor's notebook run top to bottom, then its test cells again with another seed."""
    source: nbformat.NotebookNode
    cells: list[CellRun]
    rerun: dict[int, CellRun]  # test cells, re-run with OTHER_SEED


@dataclass
class ReleaseRun:
    notebook: nbformat.NotebookNode
    cells: list[CellRun]


def code_cell_indices(nb) -> list[int]:
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
