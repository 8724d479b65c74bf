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
from autograder.protocol import Event, event_line, parse_record, value_line
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
    could_not = outcome(exit_code=COULD_NOT_START, stdout=b"Traceback\nOSError: no\n")
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
    records = log_of(*RIGHT) + b"garbage\n"
    result = score_notebook("nb", repaired, outcome(records), KEY, LIMITS, notes=[])
    assert result.status is Status.REPAIRED and "'tests' was edited" in result.reason
    assert [n.kind for n in result.notes] == [NoteKind.LOCKED_EDITED, NoteKind.LOG_UNREADABLE]
    cell = result.cells["tests"]
    assert (cell.kind, cell.auto_score, cell.max_score, cell.passed) == (CellKind.AUTO, 2, 2, True)
    assert result.score == 2 and result.max_score == 2
    assert sorted(result.outputs) == [0, 2, 3] and result.cells_run == repaired.cells
