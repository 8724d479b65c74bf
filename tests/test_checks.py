"""The exercise-check API on its own: plain data out, strict comparison, seeded hidden inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from upsampling_course import checks


def test_arrays_tensors_and_shapes_become_plain_json():
    keras = pytest.importorskip("keras")
    tensor = keras.ops.convert_to_tensor(np.arange(6, dtype="float32").reshape(2, 3))
    plain = checks.to_plain(tensor)
    assert plain == {"shape": [2, 3], "data": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]}
    assert checks.to_plain((None, 10, 10, 1)) == [None, 10, 10, 1]
    assert checks.to_plain(np.int64(324353)) == 324353
    json.dumps(checks.to_plain([np.float32(1.5), True, "x"]))


@pytest.mark.parametrize("value", [object(), {"a": 1}, np.array(["a", "b"]), {1, 2}])
def test_objects_cannot_be_checked(value):
    with pytest.raises(TypeError):
        checks.to_plain(value)


def test_mismatch_explains_shapes_values_and_types():
    four = checks.to_plain(np.array([[1, 1, 2, 2]], "float32"))
    assert checks.mismatch(four, four) is None
    assert "shape" in checks.mismatch(four, checks.to_plain(np.ones((2, 2))))
    why = checks.mismatch(four, checks.to_plain(np.array([[1, 1.25, 2, 2]])))
    assert why == "1 of 4 values differ; first at index (0, 1): expected 1, got 1.25"
    assert checks.mismatch(324353, 324353.0) is None
    assert checks.mismatch(3, True) is not None  # a bool is not a number here
    assert checks.mismatch([None, 4, 4, 1], [None, 4, 4, 1]) is None
    assert checks.mismatch([None, 4, 4, 1], [None, 4, 6, 1]).startswith("item 2")
    assert checks.mismatch("same", "valid") is not None


@pytest.mark.parametrize(
    ("expected", "actual", "kind"),
    [
        ([[1.5, 7.25]], [[1.5, 7.25]], None),
        ([[1.5, 7.25]], [[1.5, 7.0]], "1 of 2 values differ"),
        ([[1.5, 7.25]], [1.5, 7.25], "expected shape (1, 2), got shape (2,)"),
        ([None, 4, 4, 1], [None, 4, 6, 1], "item 2: 1 of 1 values differ"),
        ("upsampled", "unpooled", "a different value of the same type (str)"),
        ("upsampled", 3, "expected a value of type str, got 3"),
    ],
)
def test_difference_kind_tells_no_expected_value(expected, actual, kind):
    """What a hidden check's failure may say (the feedback and the service show it)."""
    plain_expected, plain_actual = checks.to_plain(expected), checks.to_plain(actual)
    told = checks.difference_kind(plain_expected, plain_actual)
    assert told == kind
    assert (told is None) is (checks.mismatch(plain_expected, plain_actual) is None)
    for secret in ("7.25", "upsampled", "index"):
        assert secret not in (told or "")


def test_mismatch_rejects_malformed_plain_arrays():
    good = {"shape": [2], "data": [1.0, 2.0]}
    for bad in (
        {"shape": [3], "data": [1.0, 2.0]},
        {"shape": [2], "data": ["1", "2"]},
        {"shape": [2], "data": [1.0, 2.0], "extra": 1},
        {"shape": [-2], "data": []},
        "1, 2",
        None,
    ):
        assert checks.mismatch(good, bad) is not None, bad


def test_tolerance_and_nan():
    a = {"shape": [1], "data": [1.0]}
    assert checks.mismatch(a, {"shape": [1], "data": [1.0 + 1e-7]}) is None
    assert checks.mismatch(a, {"shape": [1], "data": [1.1]}) is not None
    assert checks.mismatch(a, {"shape": [1], "data": [1.1]}, atol=0.2) is None
    assert checks.mismatch(a, {"shape": [1], "data": [float("nan")]}) is not None


def test_check_passes_and_fails_readably(capsys):
    checks.check("ok", np.ones((2, 2)), [[1, 1], [1, 1]])
    assert "passed: ok" in capsys.readouterr().out
    with pytest.raises(AssertionError, match=r"^bad: expected shape \(2, 2\)"):
        checks.check("bad", np.ones((3,)), [[1, 1], [1, 1]])


def test_checks_report_to_the_grader(monkeypatch):
    records = []
    monkeypatch.setattr(checks, "reporter", records.append)
    checks.check("seen", np.zeros(2), [0, 0])
    checks.check_hidden("unseen", np.ones(2))
    assert [(r["kind"], r["name"]) for r in records] == [("visible", "seen"), ("hidden", "unseen")]
    assert records[1]["value"] == {"shape": [2], "data": [1.0, 1.0]}


def test_hidden_inputs_depend_on_seed_and_tag_only(monkeypatch):
    monkeypatch.setenv(checks.SEED_ENV, "7")
    a = checks.hidden_array("x", (2, 3))
    checks.hidden_array("other", (5,))  # drawing something else first changes nothing
    assert np.array_equal(a, checks.hidden_array("x", (2, 3)))
    assert a.dtype == np.float32 and a.min() >= -4 and a.max() <= 4
    assert not np.array_equal(a, checks.hidden_array("y", (2, 3)))
    monkeypatch.setenv(checks.SEED_ENV, "8")
    assert not np.array_equal(a, checks.hidden_array("x", (2, 3)))
    assert -4 <= checks.hidden_int("n", -4, 4) <= 4


def _nested(depth: int, leaf: object) -> object:
    for _ in range(depth):
        leaf = [leaf]
    return leaf


ARRAY_2 = {"shape": [2], "data": [1.0, 2.0]}


@pytest.mark.parametrize(
    ("expected", "actual", "words"),
    [
        (1.0, 10**4000, "an integer of about 4001 digits"),
        ("x", int("9" * 4299), "an integer of about 4300 digits"),
        ([1.0], [10**400], "expected a number or an array"),
        (ARRAY_2, {"shape": [1] * 70, "data": [1.0]}, "expected a number or an array"),
        (ARRAY_2, {"shape": [0, 10**30], "data": []}, "expected a number or an array"),
        (ARRAY_2, _nested(3000, 1.0), "[[[[...]]]]"),
        ([[1.0]], [_nested(3000, 1.0)], "expected a number or an array"),
        ("s", _nested(3000, "s"), "[[[[...]]]]"),
    ],
)
def test_mismatch_describes_hostile_values_without_an_exception(expected, actual, words):
    """Values of any size, depth and number of dimensions are a wrong answer, described
    briefly: never an exception, never a message longer than a line."""
    why = checks.mismatch(expected, actual)
    assert why is not None and words in why and len(why) < 200
