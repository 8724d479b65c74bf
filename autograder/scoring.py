"""Turning what a sandboxed run left behind into a result, outside the sandbox. Pure: no files,
no processes, no database.

The run's log (``autograder.protocol``) is untrusted: it is parsed strictly, with size caps,
and only plain data is kept. A test cell earns its points when every value that the
instructor's solution reported for it was reported exactly once and equals the instructor's
value (with the instructor's tolerance). Nothing else counts: not the cell's own verdict, not
printed text, not a value reported twice or in the wrong form.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from dataclasses import dataclass, field

from upsampling_course.checks import difference_kind, mismatch

from .answer_key import CellKey, NotebookKey
from .jobs import Limits, RunFailure, RunOutcome
from .notebook import Assembled
from .protocol import EndRecord, Event, MarkerRecord, StartRecord, ValueRecord, parse_record
from .results import (
    CellKind,
    CellOutput,
    CellResult,
    CheckResult,
    Note,
    NotebookResult,
    NoteKind,
    Status,
    Verdict,
)

#: Exit code of a submission's process that failed before its first cell (sandbox/zygote.py).
COULD_NOT_START = 70


@dataclass
class RunLog:
    values: dict[str, list[ValueRecord]] = field(default_factory=dict)  # check name -> reports
    ends: dict[int, EndRecord] = field(default_factory=dict)  # run cell index -> how it ended
    started: list[int] = field(default_factory=list)
    done: bool = False
    unreadable: int = 0  # lines that are not records

    @property
    def last_started(self) -> int | None:
        return self.started[-1] if self.started else None


def parse_log(data: bytes) -> RunLog:
    log = RunLog()
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        record = parse_record(line)
        if isinstance(record, ValueRecord):
            log.values.setdefault(record.name, []).append(record)
        elif isinstance(record, StartRecord):
            log.started.append(record.cell)
        elif isinstance(record, EndRecord):
            log.ends[record.cell] = record
        elif isinstance(record, MarkerRecord):
            log.done |= record.event is Event.DONE
        else:
            log.unreadable += 1
    return log


def score_cell(expected: CellKey, log: RunLog) -> tuple[bool, list[CheckResult]]:
    """Whether a test cell earns its points, and why, from the key's entry for that cell."""
    results = []
    for name, want in expected.values.items():
        reported = log.values.get(name, [])
        if not reported:
            results.append(
                CheckResult(name, want.hidden, Verdict.NOT_RUN, "this check did not run")
            )
            continue
        if len(reported) > 1:
            results.append(
                CheckResult(
                    name,
                    want.hidden,
                    Verdict.REPEATED,
                    f"reported {len(reported)} times; a check counts only once",
                )
            )
            continue
        # A hidden check's message says only the kind of difference (the two shapes, how
        # many values differ), never an expected value.
        compare = difference_kind if want.hidden else mismatch
        why = compare(want.value, reported[0].value, atol=want.atol, rtol=want.rtol)
        if why is None:
            results.append(CheckResult(name, want.hidden, Verdict.PASSED, "passed"))
        else:
            results.append(CheckResult(name, want.hidden, Verdict.WRONG, why))
    return bool(results) and all(r.passed for r in results), results


def _describe_cell(cell_index: int | None, assembled: Assembled) -> str:
    if cell_index is None or not 0 <= cell_index < len(assembled.cells):
        return "before the first cell"
    cell = assembled.cells[cell_index]
    if cell.grade_id:
        return f"in cell {cell.grade_id!r}"
    return f"in a cell you added (cell {cell_index + 1})"


def _out_of_memory(end: EndRecord) -> bool:
    return end.ename == "MemoryError"


def _file_too_large(end: EndRecord) -> bool:
    return "File too large" in end.evalue


def _first_cell(log: RunLog, raised: Callable[[EndRecord], bool]) -> int | None:
    """The first run cell that ended with an error ``raised`` recognises."""
    return next((index for index, end in log.ends.items() if raised(end)), None)


def _process_status(
    outcome: RunOutcome, log: RunLog, limits: Limits, where: str
) -> tuple[Status, str] | None:
    """The status when the process ended abnormally (a limit, a signal, an early exit)."""
    file_mb = limits.file_bytes // 1024**2
    if outcome.timed_out:
        return Status.TIMEOUT, f"stopped after {limits.wall_seconds:g} s {where}"
    if outcome.signal == signal.SIGXCPU:
        return Status.TIMEOUT, f"used its {limits.cpu_seconds} s of CPU time {where}"
    if outcome.signal == signal.SIGXFSZ:
        return (
            Status.OUTPUT_LIMIT,
            f"wrote more than {file_mb} MB to one file (printed output counts) {where}",
        )
    if outcome.signal is not None:
        return (
            Status.CRASHED,
            f"the process was killed by {signal.Signals(outcome.signal).name} {where}",
        )
    if outcome.exit_code == COULD_NOT_START and not log.started:
        detail = outcome.stdout[-600:].decode("utf-8", "replace").strip().splitlines()
        last = f": {detail[-1]}" if detail else ""
        return Status.ERROR, f"the submission's process could not start{last}"
    if outcome.exit_code != 0 or not log.done:
        if _first_cell(log, _out_of_memory) is not None or outcome.exit_code in (134, -6):
            return Status.MEMORY, f"ran out of memory {where}"
        return Status.CRASHED, (
            f"the notebook ended its own process (exit code {outcome.exit_code}) {where}"
        )
    return None


def outcome_status(
    outcome: RunOutcome, log: RunLog, assembled: Assembled, limits: Limits
) -> tuple[Status, str]:
    """The status of one run and its reason in plain words."""
    if outcome.failure is RunFailure.NO_WORKER:
        return Status.ERROR, outcome.failure_detail
    if outcome.failure is RunFailure.WORKERS_LOST:
        return Status.WORKERS_LOST, (
            "two grading workers were lost while they ran this notebook, so it was not run again"
        )
    ended = _process_status(outcome, log, limits, _describe_cell(log.last_started, assembled))
    if ended is not None:
        return ended
    too_large = _first_cell(log, _file_too_large)
    if too_large is not None:
        return Status.OUTPUT_LIMIT, (
            f"wrote more than {limits.file_bytes // 1024**2} MB to one "
            "file (printed output counts) "
            f"{_describe_cell(too_large, assembled)}"
        )
    memory = _first_cell(log, _out_of_memory)
    if memory is not None:
        return Status.MEMORY, (
            f"hit the {limits.memory_bytes // 1024**3} GB memory limit "
            f"{_describe_cell(memory, assembled)}"
        )
    if assembled.repaired:
        return Status.REPAIRED, "; ".join(n.text for n in assembled.notes if n.kind.is_repair)
    if all(end.ok for end in log.ends.values()):
        return Status.GRADED, "all cells ran"
    return Status.GRADED, "all cells ran; some raised errors (see feedback)"


def _auto_cell(grade_id: str, expected: CellKey, log: RunLog, assembled: Assembled) -> CellResult:
    passed, checks = score_cell(expected, log)
    cell = assembled.cell(grade_id)
    end = log.ends.get(cell.index) if cell else None
    return CellResult(
        grade_id=grade_id,
        kind=CellKind.AUTO,
        max_score=expected.points,
        auto_score=expected.points if passed else 0.0,
        passed=passed,
        checks=checks,
        error=end.error if end else None,
        ran=end is not None,
    )


def score_cells(assembled: Assembled, log: RunLog, key: NotebookKey) -> dict[str, CellResult]:
    """Every graded cell's result: test cells from their checks; answers marked by hand get 0
    when left unanswered, and wait for the instructor otherwise."""
    cells = {gid: _auto_cell(gid, expected, log, assembled) for gid, expected in key.cells.items()}
    for grade_id, points in key.manual.items():
        unanswered = assembled.cell(grade_id) is None or grade_id in assembled.unanswered
        cells[grade_id] = CellResult(
            grade_id, CellKind.MANUAL, points, auto_score=0.0 if unanswered else None
        )
    return cells


def score_notebook(
    name: str,
    assembled: Assembled,
    outcome: RunOutcome,
    key: NotebookKey,
    limits: Limits,
    notes: list[Note],
) -> NotebookResult:
    """The result of one notebook's run: status, notes, scores, what ran and what it printed."""
    log = parse_log(outcome.records)
    status, reason = outcome_status(outcome, log, assembled, limits)
    notes = notes + assembled.notes
    if log.unreadable:
        notes.append(
            Note(
                NoteKind.LOG_UNREADABLE,
                f"{log.unreadable} unreadable lines in the run's log were ignored",
            )
        )
    return NotebookResult(
        name=name,
        status=status,
        reason=reason,
        max_score=key.max_score,
        notes=notes,
        cells=score_cells(assembled, log, key),
        cells_run=assembled.cells,
        outputs={i: CellOutput(e.ok, e.ename, e.evalue, e.out) for i, e in log.ends.items()},
        wall_seconds=outcome.wall_seconds,
    )
