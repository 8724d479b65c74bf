"""protocol.py: any line a job writes is read as a typed record or refused, never an exception.

Hostile shapes come from hypothesis: integers of thousands of digits, nesting as deep as the JSON
reader allows, fields of the wrong type in every position.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograder.protocol import (
    MAX_ENAME_CHARS,
    EndRecord,
    Event,
    MarkerRecord,
    StartRecord,
    ValueRecord,
    parse_record,
)

#: Integers up to the 4300 digits Python's JSON reader accepts.
HUGE_INT = st.integers(min_value=-(10**4299), max_value=10**4299)
LEAF = (
    st.none()
    | st.booleans()
    | HUGE_INT
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
HOSTILE = st.recursive(
    LEAF,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner),
    max_leaves=20,
)
FIELD_NAMES = st.sampled_from(["e", "i", "kind", "name", "value", "atol", "rtol", "ok", "ename"])
EVENTS = st.sampled_from([e.value for e in Event]) | HOSTILE


def nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(EVENTS, st.dictionaries(FIELD_NAMES, HOSTILE))
def test_any_record_of_any_shape_is_typed_or_refused(event, fields):
    record = parse_record(json.dumps({**fields, "e": event}).encode())
    assert record is None or isinstance(
        record, ValueRecord | StartRecord | EndRecord | MarkerRecord
    )
    if isinstance(record, EndRecord):
        assert all(isinstance(t, str) for t in (record.ename, record.evalue, record.out))
        assert len(record.ename) <= MAX_ENAME_CHARS
    if isinstance(record, StartRecord | EndRecord):
        assert type(record.cell) is int


def test_fields_nested_as_deep_as_json_allows_are_not_text():
    """``str()`` of a list nested hundreds deep can exceed the recursion limit: such fields are
    refused or read as empty, never turned into text."""
    deep = nested(900)
    for field in ("e", "kind", "i"):
        fields = '"e": "value", "kind": "hidden", "name": "x", "value": 1, "atol": 1, "rtol": 1'
        record = parse_record(f'{{{fields}, "{field}": {deep}}}'.encode())
        assert record is None or isinstance(record, ValueRecord)
    end = parse_record(
        f'{{"e": "end", "i": 1, "ok": true, "ename": {deep}, "out": {deep}}}'.encode()
    )
    assert isinstance(end, EndRecord) and end.ename == "" and end.out == ""
    assert parse_record(nested(100_000).encode()) is None


def test_huge_integers_are_read_or_refused():
    record = parse_record(
        f'{{"e": "start", "i": {"9" * 4000}}}'.encode()
    )  # a forged cell index: a record, naming no cell of the notebook
    assert isinstance(record, StartRecord)
    assert parse_record(f'{{"e": "start", "i": {"9" * 5000}}}'.encode()) is None
