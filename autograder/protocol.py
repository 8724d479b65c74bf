"""The grading protocol: what a notebook's run writes, line by line, and the one strict reader.

Inside the sandbox, ``sandbox/runner.py`` writes one JSON object per line to ``records.jsonl``:

=========  ==========================================================================
``e``      what happened: ``begin``, ``start``/``end`` of a cell, a checked ``value``, a
           ``value-error`` (a value that could not be written) and ``done``
``i``      the index of the run cell it belongs to (``start``, ``end``, ``value``)
``kind``   of a value: ``visible`` or ``hidden`` (which check function reported it)
``name``   of a value: the check's name, as the test cell gave it
``value``  plain JSON data (numbers, strings, nested lists, ``{"shape", "data"}`` arrays)
``atol``   ``rtol``: the tolerance the test cell asked for
=========  ==========================================================================

The test cells' side (``upsampling_course.checks``) hands the runner ``kind``, ``name``,
``value``, ``atol`` and ``rtol``; the runner adds ``e`` and ``i``. Everything here is read
outside the sandbox as untrusted data: :func:`parse_record` returns a typed record or ``None``,
never raises, and :func:`loads` (the only JSON reader of untrusted text in the grader) refuses
``NaN`` and ``Infinity``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

#: A longer line is not parsed (a value that large is not an honest answer).
MAX_RECORD_BYTES = 8 * 1024**2
#: How much of a run's log the grader reads; a longer log is cut here (the run wrote too much).
MAX_LOG_BYTES = 32 * 1024**2
MAX_ENAME_CHARS = 200
MAX_EVALUE_CHARS = 2000
MAX_OUTPUT_CHARS = 100_000


class Event(StrEnum):
    BEGIN = "begin"
    START = "start"
    END = "end"
    VALUE = "value"
    VALUE_ERROR = "value-error"
    DONE = "done"


class CheckKind(StrEnum):
    VISIBLE = "visible"  # check(): the expected value is in the test cell
    HIDDEN = "hidden"  # check_hidden(): the expected value never enters the notebook


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def loads(text: str | bytes) -> Any:
    """JSON from untrusted text: ``NaN``/``Infinity`` refused, deep nesting refused.

    Raises ``ValueError`` (also for nesting too deep for the parser)."""
    try:
        return json.loads(text, parse_constant=_no_constants)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None


@dataclass(frozen=True)
class ValueRecord:
    """One value a check reported: the only thing a question's points can come from."""

    cell: int | None
    kind: CheckKind
    name: str
    value: Any
    atol: float
    rtol: float


@dataclass(frozen=True)
class StartRecord:
    cell: int


@dataclass(frozen=True)
class EndRecord:
    """How a cell ended: ``ok``, or the error it raised; and what it printed."""

    cell: int
    ok: bool
    ename: str = ""
    evalue: str = ""
    out: str = ""

    @property
    def error(self) -> str | None:
        return None if self.ok else f"{self.ename}: {self.evalue}"


@dataclass(frozen=True)
class MarkerRecord:
    """``begin``, ``value-error`` and ``done``: events without data the grader keeps (the cell
    a ``value-error`` was reported in, for checking the log's order)."""

    event: Event
    cell: int | None = None


_EVENTS = frozenset(e.value for e in Event)
_KINDS = frozenset(k.value for k in CheckKind)

Record = ValueRecord | StartRecord | EndRecord | MarkerRecord


def value_line(cell: int | None, reported: dict[str, Any]) -> str:
    """The line the runner writes for a value a check reported (raises if not plain JSON)."""
    return _dumps({**reported, "e": Event.VALUE.value, "i": cell})


def event_line(event: Event, **fields: Any) -> str:
    return _dumps({"e": event.value, **fields})


def _dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, allow_nan=False) + "\n"


def _number(value: Any) -> float | None:
    return float(value) if type(value) in (int, float) else None


def _text(raw: dict[str, Any], key: str, cap: int) -> str:
    """A text field, cut to ``cap``; anything but a string (a list nested a thousand deep, a
    number) is not text and reads as empty: ``str()`` of such a value could raise."""
    value = raw.get(key, "")
    return value[:cap] if isinstance(value, str) else ""


def _value_record(raw: dict[str, Any], index: Any) -> ValueRecord | None:
    name, atol, rtol = raw.get("name"), _number(raw.get("atol")), _number(raw.get("rtol"))
    kind_text = raw.get("kind")
    if not isinstance(kind_text, str) or kind_text not in _KINDS:
        return None
    kind = CheckKind(kind_text)
    if not isinstance(name, str) or "value" not in raw or atol is None or rtol is None:
        return None
    cell = index if type(index) is int else None
    return ValueRecord(cell, kind, name, raw["value"], atol, rtol)


def _end_record(raw: dict[str, Any], index: int) -> EndRecord:
    return EndRecord(
        cell=index,
        ok=raw.get("ok") is True,
        ename=_text(raw, "ename", MAX_ENAME_CHARS),
        evalue=_text(raw, "evalue", MAX_EVALUE_CHARS),
        out=_text(raw, "out", MAX_OUTPUT_CHARS),
    )


def parse_record(line: bytes) -> Record | None:
    """One line of a run's log as a typed record, or ``None`` when it is not a valid one."""
    if len(line) > MAX_RECORD_BYTES:
        return None
    try:
        raw = loads(line.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError is a ValueError too
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("e"), str) or raw["e"] not in _EVENTS:
        return None
    event = Event(raw["e"])
    index = raw.get("i")
    if event is Event.VALUE:
        return _value_record(raw, index)
    if event in (Event.START, Event.END):
        if type(index) is not int:
            return None
        return StartRecord(index) if event is Event.START else _end_record(raw, index)
    return MarkerRecord(event, index if type(index) is int else None)
