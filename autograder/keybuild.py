"""Building the answer key at release: the instructor's solution runs in the sandbox with the
secret seed, and every value its checks report becomes the expected value.

A notebook whose test cells could be fooled is refused: each graded test cell must report at
least one visible and one hidden value, every check must pass (every cell must run without an
error), and each check's name must be reported once.

The same run sets the assignment's default time limit (:func:`time_limit_for`): the solution
runs as a submission is graded (a child of a fresh worker, in the sandbox), so its CPU time is
what an honest submission needs, measured on the grading machine. CPU time, not wall-clock
time: it hardly grows with the machine's load at release (measured: 2.7 s of wall-clock time
for 0.6 s of CPU time at a load of 7 on 2 cores), while the limit must allow for load at grading.
"""

from __future__ import annotations

import datetime as dt
import math
import secrets

from .answer_key import AnswerKey, CellKey, ExpectedValue, NotebookKey
from .course import Course
from .jobs import Job, JobRunner, Limits
from .notebook import Assembled, InstructorNotebook, assemble, read_cells
from .protocol import CheckKind
from .results import Status
from .sandbox.isolation import detect
from .sandbox.pool import LocalPool
from .scoring import RunLog, outcome_status, parse_log

#: The default wall-clock limit is this many times the CPU time of the solution's run. An
#: honest answer may be several times slower than the instructor's (pure Python/NumPy loops
#: instead of one vectorised call, a fresh Keras model per hidden case), and the machine may
#: be loaded when grading happens (a load of 8 on 2 cores: runs 4-5x slower in wall-clock time).
TIME_LIMIT_FACTOR = 10.0
#: ... and never less than this: the solutions take 0.3-1 s of CPU time, where a factor alone
#: would give a limit an honest slow answer on a busy machine could reach; an endless loop
#: still costs only seconds (stock nbgrader: 30 s per cell).
TIME_LIMIT_FLOOR = 10.0


def time_limit_for(solution_seconds: float) -> float:
    """The default wall-clock limit per notebook for a solution whose run took
    ``solution_seconds`` of CPU time: ``TIME_LIMIT_FACTOR`` times that, at least
    ``TIME_LIMIT_FLOOR``, in whole seconds."""
    return max(TIME_LIMIT_FLOOR, float(math.ceil(TIME_LIMIT_FACTOR * solution_seconds)))


class AnswerKeyError(RuntimeError):
    """The instructor's solution does not give a usable answer key."""


def _cell_values(index: int, log: RunLog, problems: list[str]) -> dict[str, ExpectedValue]:
    values = {}
    for name, records in log.values.items():
        mine = [r for r in records if r.cell == index]
        if not mine:
            continue
        if len(records) != 1:
            problems.append(f"check {name!r} is reported {len(records)} times")
            continue
        record = mine[0]
        values[name] = ExpectedValue(
            record.value, record.atol, record.rtol, hidden=record.kind is CheckKind.HIDDEN
        )
    return values


def solution_key(assembled: Assembled, log: RunLog) -> tuple[NotebookKey, list[str]]:
    """The key of one notebook from its solution's run, and what makes it unusable (if any)."""
    problems = [
        f"cell {index + 1} raised {end.ename}: {end.evalue}"
        for index, end in log.ends.items()
        if not end.ok
    ]
    cells, manual = {}, {}
    for cell in assembled.cells:
        if not cell.grade_id or not cell.nbgrader.get("grade"):
            continue
        points = float(cell.nbgrader.get("points", 0))
        if cell.nbgrader.get("solution"):
            manual[cell.grade_id] = points
            continue
        values = _cell_values(cell.index, log, problems)
        if {v.hidden for v in values.values()} != {True, False}:
            problems.append(
                f"test cell {cell.grade_id!r} must make at least one visible check "
                "and one hidden check (a hidden check is what a student's code "
                "cannot fake)"
            )
        cells[cell.grade_id] = CellKey(points, values)
    return NotebookKey(cells, manual), problems


def build_key(
    course: Course,
    assignment: str,
    *,
    seed: int | None = None,
    limits: Limits | None = None,
    require_sandbox: bool = False,
) -> AnswerKey:
    """Run each of the assignment's source notebooks in the sandbox; the key of its values."""
    seed = secrets.randbelow(2**31) if seed is None else seed
    limits = limits or Limits()
    notebooks, seconds = {}, [0.0]
    with LocalPool(detect(require_sandbox), 1) as pool:
        for path in sorted(course.source_dir(assignment).glob("*.ipynb")):
            source = read_cells(path, "the instructor's source")
            instructor = InstructorNotebook.pair(path.stem, source, source)
            notebooks[path.stem], wall = _notebook_key(
                pool, assemble(instructor, source), seed, limits, f"{path.name}"
            )
            seconds.append(wall)
    return AnswerKey(
        assignment,
        seed,
        notebooks,
        dt.datetime.now(dt.UTC).isoformat(),
        time_limit=time_limit_for(max(seconds)),
        solution_seconds=max(seconds),
    )


def _notebook_key(
    runner: JobRunner, assembled: Assembled, seed: int, limits: Limits, name: str
) -> tuple[NotebookKey, float]:
    """The notebook's key, and the CPU seconds its solution's run took."""
    job = Job(f"solution/{name}", assembled.code_cells(), seed, limits)
    outcome = runner.submit(job).result()
    log = parse_log(outcome.records)
    key, problems = solution_key(assembled, log)
    status, reason = outcome_status(outcome, log, assembled, limits)
    if status is not Status.GRADED:
        problems.insert(0, f"the solution did not run to the end ({status.words}: {reason})")
    if problems:
        raise AnswerKeyError(f"{name}: " + "; ".join(problems))
    cpu = outcome.cpu_seconds
    return key, outcome.wall_seconds if cpu is None else cpu
