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
from .protocol import (
    MAX_LOG_BYTES,
    MAX_RECORD_BYTES,
    EndRecord,
    Event,
    MarkerRecord,
    Record,
    StartRecord,
    ValueRecord,
    parse_record,
)
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
#: How many of a log's problems are kept (a forged log can have one per line).
MAX_PROBLEMS = 5
UNPROVED = "not counted: the record of the run was tampered with"


@dataclass
class RunLog:
    values: dict[str, list[ValueRecord]] = field(default_factory=dict)  # check name -> reports
    ends: dict[int, EndRecord] = field(default_factory=dict)  # run cell index -> how it ended
    started: list[int] = field(default_factory=list)
    done: bool = False
    unreadable: int = 0  # lines that are not records
    oversized: int = 0  # lines longer than a record may be (a value too large to check)
    problems: list[str] = field(default_factory=list)  # what the honest runner never writes

    @property
    def last_started(self) -> int | None:
        return self.started[-1] if self.started else None


class _Order:
    """The order the runner writes a log in: ``begin``; per cell ``start``, its values and
    ``end``; ``done``. Anything else was written by something other than the runner."""

    def __init__(self, log: RunLog) -> None:
        self.log = log
        self.began = False
        self.running: int | None = None  # the cell started and not ended yet

    def problem(self, text: str) -> None:
        if len(self.log.problems) < MAX_PROBLEMS:
            self.log.problems.append(text)

    def see(self, record: Record) -> None:
        log = self.log
        if log.done:
            self.problem("records follow the end of the run")
        begins = isinstance(record, MarkerRecord) and record.event is Event.BEGIN
        if begins and self.began:
            self.problem("the run began twice")
        elif not begins and not self.began:
            self.problem("the record does not begin where the run began")
        self.began = True
        if isinstance(record, StartRecord):
            if record.cell in log.started:
                self.problem(f"cell {record.cell} started twice")
            elif self.running is not None:
                self.problem(f"cell {record.cell} started while another cell was running")
            self.running = record.cell
        elif isinstance(record, EndRecord):
            if record.cell != self.running:
                self.problem(f"an end for cell {record.cell}, which was not running")
            self.running = None
        elif _reports_a_value(record) and (record.cell is None or record.cell != log.last_started):
            self.problem(f"a checked value names cell {record.cell}, which was not running")


def _reports_a_value(record: Record) -> bool:
    return isinstance(record, ValueRecord) or (
        isinstance(record, MarkerRecord) and record.event is Event.VALUE_ERROR
    )


def parse_log(data: bytes) -> RunLog:
    """A run's log, read strictly; what no honest run writes is listed in ``problems``."""
    log = RunLog()
    order = _Order(log)
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        record = parse_record(line)
        if record is None:
            if len(line) > MAX_RECORD_BYTES:
                log.oversized += 1
            else:
                log.unreadable += 1
                order.problem("a line that is not a record")
            continue
        order.see(record)
        if isinstance(record, ValueRecord):
            log.values.setdefault(record.name, []).append(record)
        elif isinstance(record, StartRecord):
            log.started.append(record.cell)
        elif isinstance(record, EndRecord):
            log.ends[record.cell] = record
        elif isinstance(record, MarkerRecord):
            log.done |= record.event is Event.DONE
    return log


def tampering(log: RunLog, cells: list[int]) -> str | None:
    """What shows that the log of a run of ``cells`` (run cell indexes, in order) was not
    written by the runner alone, or None. The runner runs the cells in order, each once."""
    problems = list(log.problems)
    if log.started != cells[: len(log.started)]:
        problems.append("the cells did not start in the notebook's order")
    if log.done and (len(log.started) != len(cells) or set(log.ends) != set(cells)):
        problems.append("the run claims to have ended before every cell ran")
    return "; ".join(dict.fromkeys(problems)) or None


def score_cell(
    expected: CellKey, log: RunLog, *, trusted: bool = True
) -> tuple[bool, list[CheckResult]]:
    """Whether a test cell earns its points, and why, from the key's entry for that cell.
    Nothing in a log that was tampered with (``trusted=False``) proves anything."""
    results = []
    for name, want in expected.values.items():
        reported = log.values.get(name, [])
        if not trusted:
            results.append(CheckResult(name, want.hidden, Verdict.UNPROVED, UNPROVED))
            continue
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
        why = _compare(want.value, reported[0].value, want.atol, want.rtol, want.hidden)
        if why is None:
            results.append(CheckResult(name, want.hidden, Verdict.PASSED, "passed"))
        else:
            results.append(CheckResult(name, want.hidden, Verdict.WRONG, why))
    return bool(results) and all(r.passed for r in results), results


def _compare(
    expected: object, actual: object, atol: float, rtol: float, hidden: bool
) -> str | None:
    """``mismatch``, and a wrong answer (never an exception) for a value it cannot handle.

    A hidden check's message says only the kind of difference (the two shapes, how many
    values differ), never an expected value (``difference_kind``)."""
    compare = difference_kind if hidden else mismatch
    try:
        return compare(expected, actual, atol=atol, rtol=rtol)
    except Exception as exc:  # noqa: BLE001 - an untrusted value may break anything
        return f"the value could not be compared ({type(exc).__name__})"


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


def _disk_full(end: EndRecord) -> bool:
    return "No space left on device" in end.evalue


def _first_cell(log: RunLog, raised: Callable[[EndRecord], bool]) -> int | None:
    """The first run cell that ended with an error ``raised`` recognises."""
    return next((index for index, end in log.ends.items() if raised(end)), None)


def _killed_status(outcome: RunOutcome, limits: Limits, where: str) -> tuple[Status, str] | None:
    """The status when the process was stopped from outside (a limit, a signal)."""
    file_mb = limits.file_bytes // 1024**2
    if outcome.folder_full:  # its records may be cut short: the cap is the cause
        return Status.OUTPUT_LIMIT, (
            f"filled its folder (at most {limits.folder_bytes // 1024**2} MB and "
            f"{limits.folder_entries} files and folders, its temporary folder included) {where}"
        )
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
            f"the process was killed by {_signal_name(outcome.signal)} {where}",
        )
    return None


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _exit_status(outcome: RunOutcome, log: RunLog, where: str) -> tuple[Status, str] | None:
    """The status when the process ended by itself before the end of the run."""
    if outcome.exit_code == COULD_NOT_START and not outcome.reached_cells:
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


def _log_status(
    outcome: RunOutcome, log: RunLog, assembled: Assembled, where: str
) -> tuple[Status, str] | None:
    """The status when the log itself is too long to read or was not the runner's alone."""
    if len(outcome.records) >= MAX_LOG_BYTES:
        return Status.OUTPUT_LIMIT, (
            f"reported more than {MAX_LOG_BYTES // 1024**2} MB of checked values {where}"
        )
    tampered = tampering(log, [c.index for c in assembled.code_cells()])
    return None if tampered is None else (Status.TAMPERED, tampered)


def _limit_raised(log: RunLog, assembled: Assembled, limits: Limits) -> tuple[Status, str] | None:
    """The status when a cell raised the error of a limit (and the run went on)."""
    too_large = _first_cell(log, _file_too_large)
    if too_large is not None:
        return Status.OUTPUT_LIMIT, (
            f"wrote more than {limits.file_bytes // 1024**2} MB to one "
            "file (printed output counts) "
            f"{_describe_cell(too_large, assembled)}"
        )
    full = _first_cell(log, _disk_full)
    if full is not None:
        return Status.OUTPUT_LIMIT, (
            f"filled the space its temporary files may take {_describe_cell(full, assembled)}"
        )
    memory = _first_cell(log, _out_of_memory)
    if memory is not None:
        return Status.MEMORY, (
            f"hit the {limits.memory_bytes // 1024**3} GB memory limit "
            f"{_describe_cell(memory, assembled)}"
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
    where = _describe_cell(log.last_started, assembled)
    killed = _killed_status(outcome, limits, where)
    if killed is not None:
        return killed
    untrusted = _log_status(outcome, log, assembled, where)
    if untrusted is not None:
        return untrusted
    ended = _exit_status(outcome, log, where)
    if ended is not None:
        return ended
    limit = _limit_raised(log, assembled, limits)
    if limit is not None:
        return limit
    if assembled.repaired:
        return Status.REPAIRED, "; ".join(n.text for n in assembled.notes if n.kind.is_repair)
    if all(end.ok for end in log.ends.values()):
        return Status.GRADED, "all cells ran"
    return Status.GRADED, "all cells ran; some raised errors (see feedback)"


def _auto_cell(
    grade_id: str, expected: CellKey, log: RunLog, assembled: Assembled, trusted: bool
) -> CellResult:
    passed, checks = score_cell(expected, log, trusted=trusted)
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


def score_cells(
    assembled: Assembled, log: RunLog, key: NotebookKey, *, trusted: bool = True
) -> dict[str, CellResult]:
    """Every graded cell's result: test cells from their checks; answers marked by hand get 0
    when left unanswered, and wait for the instructor otherwise."""
    cells = {
        gid: _auto_cell(gid, expected, log, assembled, trusted)
        for gid, expected in key.cells.items()
    }
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
    if log.oversized:
        notes.append(
            Note(
                NoteKind.LOG_UNREADABLE,
                f"{log.oversized} checked values larger than "
                f"{MAX_RECORD_BYTES // 1024**2} MB were not read",
            )
        )
    trusted = status is not Status.TAMPERED
    if not trusted:  # what the job claimed it printed is not shown either
        log = RunLog()
    return NotebookResult(
        name=name,
        status=status,
        reason=reason,
        max_score=key.max_score,
        notes=notes,
        cells=score_cells(assembled, log, key, trusted=trusted),
        cells_run=assembled.cells,
        outputs={i: CellOutput(e.ok, e.ename, e.evalue, e.out) for i, e in log.ends.items()},
        wall_seconds=outcome.wall_seconds,
        cpu_seconds=outcome.cpu_seconds,
    )
