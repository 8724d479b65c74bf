"""answer_key.py: the key type, its JSON, its sums and its lookup."""

from __future__ import annotations

import math
import stat

import pytest

from autograder.answer_key import AnswerKey, CellKey, ExpectedValue, NotebookKey
from autograder.jobs import Limits
from autograder.keybuild import TIME_LIMIT_FACTOR, TIME_LIMIT_FLOOR, time_limit_for

ONE = NotebookKey(
    cells={
        "q1-tests": CellKey(
            2.0,
            {
                "q1": ExpectedValue(1, 1e-5, 1e-6, False),
                "q1h": ExpectedValue([1, 2], 0.0, 0.0, True),
            },
        ),
        "q2-tests": CellKey(
            3.0, {"q2h": ExpectedValue({"shape": [1], "data": [0.5]}, 1e-5, 1e-6, True)}
        ),
    },
    manual={"essay": 4.0},
)
TWO = NotebookKey({"q3-tests": CellKey(1.0, {"q3": ExpectedValue("x", 0, 0, False)})}, {})
KEY = AnswerKey("a", 123456, {"one": ONE, "two": TWO}, "2026-12-01T00:00:00+00:00", 45.0, 4.5)


def test_sums_ids_and_lookup():
    assert (ONE.auto_score, ONE.max_score, KEY.max_score) == (5.0, 9.0, 10.0)
    assert KEY.notebook_names == ["one", "two"] and KEY.check_count() == 4
    assert KEY.manual_ids("one") == {"essay"} and KEY.manual_ids("two") == set()
    assert KEY.hidden_names() == {"q1h", "q2h"}
    assert KEY.lookup("q2h").value == {"shape": [1], "data": [0.5]}
    assert KEY.lookup("q3") == ExpectedValue("x", 0, 0, False)
    with pytest.raises(KeyError):
        KEY.lookup("nowhere")


def test_saved_and_loaded_unchanged_and_private(tmp_path):
    path = tmp_path / "key" / "a.json"
    KEY.save(path)
    assert AnswerKey.load(path) == KEY
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # A key written before the stored time limit existed has none.
    data = KEY.to_json()
    del data["time_limit"], data["solution_seconds"]
    assert AnswerKey.from_json(data).time_limit is None


def test_time_limit_is_a_multiple_of_the_solutions_run_with_a_floor():
    assert time_limit_for(0.4) == TIME_LIMIT_FLOOR  # 10 x 0.4 s is under the floor
    assert time_limit_for(3.21) == math.ceil(TIME_LIMIT_FACTOR * 3.21) > TIME_LIMIT_FLOOR
    assert time_limit_for(0.0) == TIME_LIMIT_FLOOR


def test_timeout_overrides_the_stored_limit():
    assert Limits.chosen(None, KEY.time_limit) == Limits.for_timeout(45.0, Limits.memory_bytes)
    assert Limits.chosen(7.0, KEY.time_limit, 2**30) == Limits.for_timeout(7.0, 2**30)
    assert Limits.chosen(None, None).wall_seconds == Limits().wall_seconds  # an older key
