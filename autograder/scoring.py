"""Turning what a sandboxed run left behind into points, outside the sandbox.

A run leaves a log of JSON lines (see ``sandbox/runner.py``). The log is untrusted: it is parsed
strictly, with size caps, and only plain data is kept. A test cell earns its points when every
value that the instructor's solution reported for it was reported exactly once and equals the
instructor's value (with the instructor's tolerance). Nothing else counts: not the cell's own
verdict, not printed text, not a value reported twice or in the wrong form.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from upsampling_course.checks import difference_kind, mismatch

MAX_RECORD_BYTES = 8 * 1024**2


@dataclass
class RunLog:
    values: dict[str, list] = field(default_factory=dict)  # name -> every value reported
    value_cells: dict[str, list] = field(default_factory=dict)  # name -> cells it came from
    records: dict[str, list] = field(default_factory=dict)  # name -> the whole value records
    ends: dict[int, dict] = field(default_factory=dict)  # cell index -> its end record
    started: list[int] = field(default_factory=list)
    done: bool = False
    malformed: int = 0

    @property
    def last_started(self) -> int | None:
        return self.started[-1] if self.started else None


def _no_constants(name):
    raise ValueError(f"{name} is not allowed")


def parse_log(data: bytes) -> RunLog:
    log = RunLog()
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        if len(line) > MAX_RECORD_BYTES:
            log.malformed += 1
            continue
        try:
            record = json.loads(line.decode("utf-8"), parse_constant=_no_constants)
        except (ValueError, RecursionError):
            log.malformed += 1
            continue
        if not isinstance(record, dict):
            log.malformed += 1
            continue
        kind = record.get("e")
        index = record.get("i")
        if kind == "value" and isinstance(record.get("name"), str) and "value" in record:
            log.values.setdefault(record["name"], []).append(record["value"])
            log.value_cells.setdefault(record["name"], []).append(index)
            log.records.setdefault(record["name"], []).append(record)
        elif kind == "start" and type(index) is int:
            log.started.append(index)
        elif kind == "end" and type(index) is int:
            log.ends[index] = {
                "ok": record.get("ok") is True,
                "ename": str(record.get("ename", ""))[:200],
                "evalue": str(record.get("evalue", ""))[:2000],
                "out": str(record.get("out", ""))[:100_000],
            }
        elif kind == "done":
            log.done = True
        elif kind in ("begin", "value-error"):
            pass
        else:
            log.malformed += 1
    return log


@dataclass
class CheckResult:
    name: str
    hidden: bool
    passed: bool
    message: str  # shown to the student: never a hidden test's values

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def score_cell(expected: dict, log: RunLog) -> tuple[bool, list[CheckResult]]:
    """Whether a test cell earns its points, and why, from the key's entry for that cell."""
    results = []
    for name, want in expected["values"].items():
        reported = log.values.get(name, [])
        hidden = bool(want["hidden"])
        if not reported:
            results.append(CheckResult(name, hidden, False, "this check did not run"))
            continue
        if len(reported) > 1:
            results.append(CheckResult(name, hidden, False,
                                       f"reported {len(reported)} times; a check counts only once"))
            continue
        # A hidden check's message says only the kind of difference (the two shapes, how
        # many values differ), never an expected value.
        compare = difference_kind if hidden else mismatch
        why = compare(want["value"], reported[0], atol=float(want["atol"]),
                      rtol=float(want["rtol"]))
        if why is None:
            results.append(CheckResult(name, hidden, True, "passed"))
        else:
            results.append(CheckResult(name, hidden, False, why))
    passed = bool(results) and all(r.passed for r in results)
    return passed, results


def finite_points(value) -> float:
    points = float(value)
    if not math.isfinite(points) or points < 0:
        raise ValueError(f"invalid points {value!r}")
    return points
