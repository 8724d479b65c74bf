"""answer_key.py: the key type, its JSON, its sums and its lookup."""

from __future__ import annotations

import stat

import pytest

from autograder.answer_key import AnswerKey, CellKey, ExpectedValue, NotebookKey

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
KEY = AnswerKey("a", 123456, {"one": ONE, "two": TWO}, "2026-12-01T00:00:00+00:00", 45.0)


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
    del data["time_limit"]
    assert AnswerKey.from_json(data).time_limit is None
