"""scoring.py and protocol.py: a run's log read strictly, checks scored, the run's status named.

Pure: the logs are written here as the runner would write them (``protocol.value_line`` /
``event_line``); no sandbox, no TensorFlow.
"""

from __future__ import annotations

import json
import math
import signal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograder.answer_key import CellKey, ExpectedValue, NotebookKey
from autograder.jobs import Limits, RunFailure, RunOutcome
from autograder.notebook import Cell, assemble
from autograder.protocol import (
    MAX_LOG_BYTES,
    MAX_RECORD_BYTES,
    Event,
    event_line,
    parse_record,
    value_line,
)
from autograder.results import CellKind, IsolationReport, NoteKind, Status, Verdict
from autograder.scoring import (
    COULD_NOT_START,
    outcome_status,
    parse_log,
    score_cell,
    score_notebook,
)

from .test_notebook import INSTRUCTOR, SETUP, TESTS

LIMITS = Limits(wall_seconds=10, cpu_seconds=20, memory_bytes=2 * 1024**3)
ISOLATION = IsolationReport(("resource limits",))
ARRAY = {"shape": [2], "data": [1.0, 2.0]}
KEY = NotebookKey(
    cells={
        "tests": CellKey(
            2.0,
            {
                "f": ExpectedValue(2, 1e-5, 1e-6, hidden=False),
                "fh": ExpectedValue(ARRAY, 1e-5, 1e-6, hidden=True),
            },
        )
    },
    manual={},
)
ANSWER = Cell("code", "def f(x):\n    return 2 * x", "answer", INSTRUCTOR.cells[2].source.nbgrader)
RUN = assemble(INSTRUCTOR, [SETUP, ANSWER])  # cells: setup 0, prose 1, answer 2, tests 3


def value(cell: int, kind: str, name: str, plain: object, atol: float = 1e-5) -> str:
    return value_line(
        cell, {"kind": kind, "name": name, "value": plain, "atol": atol, "rtol": 1e-6}
    )


def log_of(*lines: str, done: bool = True) -> bytes:
    body = [event_line(Event.BEGIN, pid=1)]
    for i in (0, 2, 3):
        body += [event_line(Event.START, i=i), *[x for x in lines if f'"i": {i}' in x]]
        body += [event_line(Event.END, i=i, ok=True, out="")]
    return "".join(body + ([event_line(Event.DONE)] if done else [])).encode()


def outcome(records: bytes = b"", **fields: object) -> RunOutcome:
    base = {
        "exit_code": 0,
        "signal": None,
        "timed_out": False,
        "wall_seconds": 1.0,
        "cpu_seconds": 1.0,
        "max_rss_kb": 1,
        "records": records,
        "stdout": b"",
        "isolation": ISOLATION,
    }
    return RunOutcome(**(base | fields))  # type: ignore[arg-type]


RIGHT = [value(3, "visible", "f", 2), value(3, "hidden", "fh", ARRAY)]


def test_a_right_answer_earns_the_points():
    log = parse_log(log_of(*RIGHT))
    assert log.done and log.unreadable == 0 and log.started == [0, 2, 3]
    passed, checks = score_cell(KEY.cells["tests"], log)
    assert passed and [c.verdict for c in checks] == [Verdict.PASSED, Verdict.PASSED]


@pytest.mark.parametrize(
    ("lines", "verdicts"),
    [
        ([RIGHT[0]], [Verdict.PASSED, Verdict.NOT_RUN]),
        ([*RIGHT, RIGHT[1]], [Verdict.PASSED, Verdict.REPEATED]),
        (
            [RIGHT[0], value(3, "hidden", "fh", {"shape": [2], "data": [1.0, 2.5]})],
            [Verdict.PASSED, Verdict.WRONG],
        ),
        ([RIGHT[0], value(3, "hidden", "fh", [1.0, 2.0])], [Verdict.PASSED, Verdict.PASSED]),
        ([RIGHT[0], value(3, "hidden", "fh", "1, 2")], [Verdict.PASSED, Verdict.WRONG]),
        # The student's own tolerance is not the instructor's.
        (
            [RIGHT[0], value(3, "hidden", "fh", {"shape": [2], "data": [0.0, 0.0]}, atol=1e9)],
            [Verdict.PASSED, Verdict.WRONG],
        ),
    ],
)
def test_a_check_counts_once_with_the_instructors_value_and_tolerance(lines, verdicts):
    passed, checks = score_cell(KEY.cells["tests"], parse_log(log_of(*lines)))
    assert [c.verdict for c in checks] == verdicts
    assert passed is (verdicts == [Verdict.PASSED, Verdict.PASSED])


@pytest.mark.parametrize(
    ("reported", "message"),
    [
        ({"shape": [2], "data": [7.0, 9.0]}, "2 of 2 values differ"),
        ({"shape": [2], "data": [1.0, 9.0]}, "1 of 2 values differ"),
        ({"shape": [3], "data": [1.0, 2.0, 0.0]}, "expected shape (2,), got shape (3,)"),
        ("1, 2", "expected a number or an array, got '1, 2'"),
    ],
)
def test_a_failed_hidden_check_tells_the_kind_of_difference_only(reported, message):
    """The two shapes or how many values differ; never an expected value or where it differs."""
    line = value(3, "hidden", "fh", reported)
    _, checks = score_cell(KEY.cells["tests"], parse_log(log_of(RIGHT[0], line)))
    assert checks[1].verdict is Verdict.WRONG
    assert checks[1].message == message
    assert "expected 2" not in checks[1].message and "index" not in checks[1].message


def test_unreadable_lines_are_counted_not_believed():
    forged = [
        b'{"e": "value", "i": 3, "kind": "visible", "name": "f", "value": NaN, "atol": 1, '
        b'"rtol": 1}',
        b'{"e": "value", "i": 3, "kind": "sneaky", "name": "f", "value": 2, "atol": 1, "rtol": 1}',
        b'{"e": "value", "i": 3, "kind": "hidden", "name": "fh", "value": 2, "atol": "x", '
        b'"rtol": 1}',
        b'{"e": "end", "i": "3", "ok": true}',
        b"[1, 2]",
        b'{"e": "teleport"}',
        b"\xff\xfe",
        b"[" * 50_000,
    ]
    log = parse_log(b"\n".join(forged))
    assert log.unreadable == len(forged) and not log.values and not log.ends


@given(st.binary(max_size=300))
def test_any_bytes_parse_without_an_exception(data):
    parse_log(data)
    for line in data.split(b"\n"):
        parse_record(line)


def _finite(raw: object) -> bool:
    if isinstance(raw, float):
        return math.isfinite(raw)
    if isinstance(raw, list):
        return all(_finite(v) for v in raw)
    if isinstance(raw, dict):
        return all(_finite(v) for v in raw.values())
    return True


# Values of ordinary size (hostile sizes and depths are the hardening issue's to add).
PLAIN = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats() | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    max_leaves=10,
)


@settings(suppress_health_check=[HealthCheck.too_slow])  # drawing nested data is slow under load
@given(PLAIN)
def test_any_json_record_parses_or_is_refused(raw):
    line = json.dumps(
        {
            "e": "value",
            "i": 3,
            "kind": "hidden",
            "name": "fh",
            "value": raw,
            "atol": 1e-5,
            "rtol": 1e-6,
        }
    ).encode()
    record = parse_record(line)
    if _finite(raw):
        assert record is not None and record.value == raw
    else:  # NaN and Infinity are refused
        assert record is None
    score_cell(KEY.cells["tests"], parse_log(line))


@pytest.mark.parametrize(
    ("fields", "status", "words"),
    [
        (
            {"timed_out": True, "exit_code": None, "signal": signal.SIGKILL},
            Status.TIMEOUT,
            "stopped after 10 s in cell 'tests'",
        ),
        ({"exit_code": None, "signal": signal.SIGXCPU}, Status.TIMEOUT, "20 s of CPU time"),
        ({"exit_code": None, "signal": signal.SIGXFSZ}, Status.OUTPUT_LIMIT, "64 MB"),
        # A full job folder: its records cut (the runner's own write refused), or the job
        # stopped by the worker that measured it.
        ({"exit_code": 70, "folder_full": True}, Status.OUTPUT_LIMIT, "filled its folder"),
        (
            {"exit_code": None, "signal": signal.SIGKILL, "folder_full": True},
            Status.OUTPUT_LIMIT,
            "at most 256 MB and 50000 files",
        ),
        ({"exit_code": None, "signal": signal.SIGKILL}, Status.CRASHED, "killed by SIGKILL"),
        ({"exit_code": 3}, Status.CRASHED, "ended its own process (exit code 3)"),
        ({"exit_code": 134}, Status.MEMORY, "ran out of memory"),
        (
            {"failure": RunFailure.WORKERS_LOST, "lost_workers": 2},
            Status.WORKERS_LOST,
            "two grading workers were lost",
        ),
        ({"failure": RunFailure.NO_WORKER, "failure_detail": "no bwrap"}, Status.ERROR, "no bwrap"),
    ],
)
def test_outcome_status_names_what_happened(fields, status, words):
    got, reason = outcome_status(
        outcome(log_of(*RIGHT), **fields), parse_log(log_of(*RIGHT)), RUN, LIMITS
    )
    assert got is status and words in reason


def test_a_process_that_could_not_start_and_one_that_stopped_early():
    could_not = outcome(
        exit_code=COULD_NOT_START, stdout=b"Traceback\nOSError: no\n", reached_cells=False
    )
    assert outcome_status(could_not, parse_log(b""), RUN, LIMITS) == (
        Status.ERROR,
        "the submission's process could not start: OSError: no",
    )
    early = log_of(*RIGHT, done=False)
    assert outcome_status(outcome(early), parse_log(early), RUN, LIMITS)[0] is Status.CRASHED
    memory = log_of(*RIGHT).replace(
        b'"i": 2, "ok": true', b'"i": 2, "ok": false, "ename": "MemoryError", "evalue": ""'
    )
    status, reason = outcome_status(outcome(memory), parse_log(memory), RUN, LIMITS)
    assert status is Status.MEMORY and reason == "hit the 2 GB memory limit in cell 'answer'"
    # A start record with a forged index names no cell.
    forged = log_of(*RIGHT).replace(b'"start", "i": 3', b'"start", "i": -99')
    timed_out = outcome(forged, timed_out=True, exit_code=None, signal=9)
    assert "before the first cell" in outcome_status(timed_out, parse_log(forged), RUN, LIMITS)[1]


def test_score_notebook_puts_it_together():
    repaired = assemble(INSTRUCTOR, [SETUP, ANSWER, Cell("code", "x", "tests", TESTS.nbgrader)])
    records = log_of(*RIGHT)
    result = score_notebook("nb", repaired, outcome(records), KEY, LIMITS, notes=[])
    assert result.status is Status.REPAIRED and "'tests' was edited" in result.reason
    assert [n.kind for n in result.notes] == [NoteKind.LOCKED_EDITED]
    cell = result.cells["tests"]
    assert (cell.kind, cell.auto_score, cell.max_score, cell.passed) == (CellKind.AUTO, 2, 2, True)
    assert result.score == 2 and result.max_score == 2
    assert sorted(result.outputs) == [0, 2, 3] and result.cells_run == repaired.cells


# --- hostile values and forged logs (issue 15) ---------------------------------------------

HUGE_INT = st.integers(min_value=-(10**4299), max_value=10**4299)
HOSTILE = st.recursive(
    st.none()
    | st.booleans()
    | HUGE_INT
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(["shape", "data", "x"]), inner, max_size=3)
    ),
    max_leaves=20,
)
SHAPES = st.lists(st.integers(0, 3) | HUGE_INT, max_size=70)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(HOSTILE | st.builds(lambda s, d: {"shape": s, "data": d}, SHAPES, st.lists(HUGE_INT)))
def test_any_reported_value_is_compared_without_an_exception(raw):
    """Whatever a job reports for a check is scored: passed only when it is the answer."""
    lines = [value(3, "visible", "f", raw), value(3, "hidden", "fh", raw)]
    passed, checks = score_cell(KEY.cells["tests"], parse_log(log_of(*lines)))
    assert not passed and all(c.verdict in (Verdict.PASSED, Verdict.WRONG) for c in checks)
    assert all(len(c.message) < 300 for c in checks)


RECORDS = st.one_of(
    st.builds(lambda i: event_line(Event.START, i=i), st.integers(-2, 5) | HUGE_INT),
    st.builds(
        lambda i, ok: event_line(Event.END, i=i, ok=ok, out="x"), st.integers(-2, 5), st.booleans()
    ),
    st.builds(lambda i, v: value(i, "visible", "f", v), st.integers(-2, 5), HOSTILE),
    st.sampled_from([event_line(Event.BEGIN, pid=1), event_line(Event.DONE), "garbage\n"]),
)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(RECORDS, max_size=12), st.sampled_from([0, 1, COULD_NOT_START]), st.booleans())
def test_any_log_is_scored_without_an_exception(lines, exit_code, reached):
    """Records in any order, forged, repeated or cut short: a status, and never one that
    blames the grader ("grader error") once the job's cells ran."""
    records = "".join(lines).encode()
    run = outcome(records, exit_code=exit_code, reached_cells=reached)
    result = score_notebook("nb", RUN, run, KEY, LIMITS, notes=[])
    if reached:
        assert result.status is not Status.ERROR
    if result.status is Status.TAMPERED:
        assert result.score == 0 and not result.outputs


def _forge(log: bytes, old: bytes, new: bytes) -> bytes:
    assert old in log
    return log.replace(old, new, 1)


HONEST = log_of(*RIGHT)
RUN_STATUS = Status.REPAIRED  # RUN lacks the instructor's test cell
END_3 = event_line(Event.END, i=3, ok=True, out="").encode()


@pytest.mark.parametrize(
    ("records", "words"),
    [
        # A cell wrote an end record for itself, then the real one came.
        (
            _forge(HONEST, b'{"e": "start", "i": 2}\n', b'{"e": "start", "i": 2}\n' + END_3),
            "an end for cell 3, which was not running",
        ),
        # The answer cell reported the test cell's values in its place.
        (
            _forge(
                HONEST, b'{"e": "start", "i": 2}\n', b'{"e": "start", "i": 2}\n' + RIGHT[1].encode()
            ),
            "names cell 3, which was not running",
        ),
        # The run claimed to be done after the answer cell, and the process left quietly.
        (
            HONEST[: HONEST.index(b'{"e": "start", "i": 3}')] + event_line(Event.DONE).encode(),
            "claims to have ended before every cell ran",
        ),
        (HONEST + b"garbage\n", "a line that is not a record"),
        (HONEST + RIGHT[0].encode(), "records follow the end of the run"),
        (HONEST[HONEST.index(b"\n") + 1 :], "does not begin where the run began"),
        (_forge(HONEST, b'"start", "i": 2', b'"start", "i": 3'), "started twice"),
    ],
)
def test_a_log_written_by_anything_but_the_runner_proves_nothing(records, words):
    result = score_notebook("nb", RUN, outcome(records), KEY, LIMITS, notes=[])
    assert result.status is Status.TAMPERED and words in result.reason
    assert result.score == 0 and not result.outputs
    checks = result.cells["tests"].checks
    assert [c.verdict for c in checks] == [Verdict.UNPROVED, Verdict.UNPROVED]
    assert (
        Status.TAMPERED.words == "the notebook's record of its run was unreadable or tampered with"
    )
    assert Status.TAMPERED.scored and Status.CRASHED.severity < Status.TAMPERED.severity


def test_a_job_cannot_pass_its_own_exit_for_one_that_could_not_start():
    """Exit code 70 with an emptied log, after the cells were reached: the notebook's doing."""
    forged = outcome(b"", exit_code=COULD_NOT_START, stdout=b"OSError: grader broke")
    status, reason = outcome_status(forged, parse_log(b""), RUN, LIMITS)
    assert status is Status.CRASHED and "exit code 70" in reason
    cut = HONEST[: len(HONEST) // 2]
    status, _ = outcome_status(outcome(cut, exit_code=0), parse_log(cut), RUN, LIMITS)
    assert status in (Status.CRASHED, Status.TAMPERED)


def test_a_log_longer_than_the_grader_reads_is_the_output_limit():
    records = HONEST + b" " * MAX_LOG_BYTES
    status, reason = outcome_status(outcome(records), parse_log(records), RUN, LIMITS)
    assert status is Status.OUTPUT_LIMIT and "32 MB" in reason


def test_a_value_too_large_to_read_is_a_note_not_tampering():
    huge = b'{"e": "value", "i": 3, "x": "' + b"y" * MAX_RECORD_BYTES + b'"}\n'
    records = _forge(HONEST, END_3, huge + END_3)
    result = score_notebook("nb", RUN, outcome(records), KEY, LIMITS, notes=[])
    assert result.status is RUN_STATUS and result.score == 2
    assert NoteKind.LOG_UNREADABLE in [n.kind for n in result.notes]


def test_a_full_temporary_folder_is_the_output_limit():
    full = _forge(
        HONEST,
        b'{"e": "end", "i": 2, "ok": true',
        b'{"e": "end", "i": 2, "ok": false, "ename": "OSError", '
        b'"evalue": "[Errno 28] No space left on device"',
    )
    status, reason = outcome_status(outcome(full), parse_log(full), RUN, LIMITS)
    assert status is Status.OUTPUT_LIMIT and "temporary files" in reason
