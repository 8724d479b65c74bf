"""Checks that the exercises' test cells call.

A test cell in an exercise calls :func:`check` (visible tests: the expected value is in the
cell, the student sees it) or :func:`check_hidden` (hidden tests, stripped from the student's
copy: the expected value is never in the notebook). Both do two things:

* they compare in the kernel and raise an ``AssertionError`` with a readable message, so that
  students checking their own work (and stock ``nbgrader``) see a pass or a failure;
* when the course's autograder runs the notebook, they hand the value out of the kernel as
  plain data (numbers, strings, nested lists; never pickles or objects). The autograder
  compares it, outside the kernel, with the value the instructor's solution produced. The
  in-kernel comparison earns nothing by itself: patching this module cannot earn a point.

This module holds no answers. Hidden inputs come from :func:`hidden_array`, drawn from a
seed that only the grader knows at grading time.
"""

from __future__ import annotations

import math
import os
import reprlib
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

#: The seed of the hidden inputs; set by the grader at grading time.
SEED_ENV = "UPSAMPLING_GRADING_SEED"

#: Whoever runs the notebook to grade it (the course's autograder, a test) sets this before any
#: student code runs; each check then calls it with one record: ``kind`` ("visible" or
#: "hidden"), ``name``, the checked ``value`` as plain data, ``atol`` and ``rtol``.
reporter: Callable[[dict[str, Any]], None] | None = None


# --- plain data ---------------------------------------------------------------------------


def to_plain(value: Any) -> Any:
    """Turn arrays, tensors, shapes and numbers into JSON-ready plain data.

    Arrays become ``{"shape": [...], "data": [flat floats]}``; tuples and lists become lists;
    NumPy scalars become Python numbers. Anything else raises ``TypeError``.
    """
    if hasattr(value, "numpy") and callable(value.numpy):  # a TensorFlow / Keras tensor
        value = value.numpy()
    if hasattr(value, "as_list") and callable(value.as_list):  # a tf.TensorShape
        value = value.as_list()
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise TypeError(f"only numeric arrays can be checked, not dtype {value.dtype}")
        return {"shape": list(value.shape), "data": [float(v) for v in value.ravel()]}
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    raise TypeError(f"cannot check a value of type {type(value).__name__}")


#: Arrays of more dimensions than NumPy allows are not arrays an answer can be.
MAX_DIMENSIONS = 32
#: How many characters of a value a message quotes.
MAX_DESCRIBED_CHARS = 80
#: Errors that a hostile value (huge integers, 70 dimensions, deep nesting) raises while it is
#: converted: such a value is "not an array or number", never an exception of the comparer.
_UNCONVERTIBLE = (OverflowError, ValueError, TypeError, RecursionError, MemoryError)


def _numbers(plain: list[Any]) -> list[float] | None:
    """The numbers of a nested list, flattened without recursion, or None if any is not one."""
    flat: list[float] = []
    stack: list[Any] = [plain]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            if not item:
                return None
            stack.extend(item)
        elif type(item) in (int, float):
            flat.append(float(item))  # OverflowError for an int too large: caught by the caller
        else:
            return None
    return flat


def _as_array(plain: Any) -> np.ndarray | None:
    """The float64 array a plain value stands for, or None if it is not an array or number
    (also when it is too large, too deep or has too many dimensions to be one)."""
    try:
        return _to_array(plain)
    except _UNCONVERTIBLE:
        return None


def _to_array(plain: Any) -> np.ndarray | None:
    if isinstance(plain, dict):
        shape, data = plain.get("shape"), plain.get("data")
        if (
            set(plain) != {"shape", "data"}
            or not isinstance(shape, list)
            or not isinstance(data, list)
            or len(shape) > MAX_DIMENSIONS
            or not all(type(s) is int and s >= 0 for s in shape)
            or not all(type(d) in (int, float) for d in data)
            or math.prod(shape) != len(data)
        ):
            return None
        return np.asarray([float(d) for d in data], dtype=np.float64).reshape(shape)
    if type(plain) in (int, float):
        return np.asarray(float(plain))
    if isinstance(plain, list) and plain and _numbers(plain) is not None:
        array = np.asarray(plain, dtype=np.float64)  # ValueError when ragged
        return array if array.ndim <= MAX_DIMENSIONS else None
    return None


def mismatch(expected: Any, actual: Any, *, atol: float = 1e-5, rtol: float = 1e-6) -> str | None:
    """Why ``actual`` differs from ``expected`` (both plain data), or None when they match.

    The autograder calls this outside the kernel, on data parsed from JSON, so neither side
    can carry its own comparison method. ``actual`` may be anything JSON can hold, of any size
    or depth: this never raises for it.
    """
    return _guarded(expected, actual, atol, rtol, reveal=True)


def difference_kind(
    expected: Any, actual: Any, *, atol: float = 1e-5, rtol: float = 1e-6
) -> str | None:
    """Like :func:`mismatch`, but told without any expected value, for a hidden check: the
    two shapes, how many values differ, or the kind of value expected. None when they match."""
    return _guarded(expected, actual, atol, rtol, reveal=False)


def _guarded(expected: Any, actual: Any, atol: float, rtol: float, reveal: bool) -> str | None:
    try:
        return _compare(expected, actual, atol, rtol, reveal)
    except _UNCONVERTIBLE as exc:
        return f"the value could not be compared ({type(exc).__name__})"


def _compare_arrays(
    exp_arr: np.ndarray, actual: Any, atol: float, rtol: float, reveal: bool
) -> str | None:
    act_arr = _as_array(actual)
    if act_arr is None:
        return f"expected a number or an array, got {_describe(actual)}"
    if exp_arr.shape != act_arr.shape:
        return f"expected shape {tuple(exp_arr.shape)}, got shape {tuple(act_arr.shape)}"
    bad = ~np.isclose(act_arr, exp_arr, atol=atol, rtol=rtol, equal_nan=False)
    if not bad.any():
        return None
    differ = f"{int(bad.sum())} of {bad.size} values differ"
    if not reveal:
        return differ
    where = tuple(int(i) for i in np.argwhere(bad)[0])
    at = f" at index {where}" if where else ""
    return f"{differ}; first{at}: expected {exp_arr[where]:g}, got {act_arr[where]:g}"


def _compare(expected: Any, actual: Any, atol: float, rtol: float, reveal: bool) -> str | None:
    exp_arr = _as_array(expected)
    if exp_arr is not None and not (type(expected) in (int, float) and type(actual) is bool):
        return _compare_arrays(exp_arr, actual, atol, rtol, reveal)
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return f"expected a list of {len(expected)} items, got {_describe(actual)}"
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            why = _compare(e, a, atol, rtol, reveal)
            if why:
                return f"item {i}: {why}"
        return None
    if type(expected) is not type(actual) or expected != actual:
        if reveal:
            return f"expected {_describe(expected)}, got {_describe(actual)}"
        if type(expected) is type(actual):
            return f"a different value of the same type ({type(actual).__name__})"
        return f"expected a value of type {type(expected).__name__}, got {_describe(actual)}"
    return None


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother = 3, MAX_DESCRIBED_CHARS, MAX_DESCRIBED_CHARS


def _describe(plain: Any) -> str:
    arr = _as_array(plain)
    if arr is not None and arr.ndim:
        return f"an array of shape {tuple(arr.shape)}"
    if type(plain) is int and plain.bit_length() > 64:
        return f"an integer of about {int(plain.bit_length() * math.log10(2)) + 1} digits"
    text = _SHORT.repr(plain)  # bounded depth and length, whatever the value
    limit = MAX_DESCRIBED_CHARS
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- what test cells call ------------------------------------------------------------------


def _report(kind: str, name: str, value: Any, atol: float, rtol: float) -> None:
    if reporter is not None:
        reporter({"kind": kind, "name": name, "value": value, "atol": atol, "rtol": rtol})


def check(name: str, actual: Any, expected: Any, *, atol: float = 1e-5, rtol: float = 1e-6) -> None:
    """A visible test: ``actual`` must equal ``expected`` (arrays: within ``atol``/``rtol``)."""
    __tracebackhide__ = True  # IPython shows the student's cell and the message, not this code
    plain_actual = to_plain(actual)
    _report("visible", name, plain_actual, atol, rtol)
    why = mismatch(to_plain(expected), plain_actual, atol=atol, rtol=rtol)
    if why:
        raise AssertionError(f"{name}: {why}")
    print(f"passed: {name}")


def check_hidden(name: str, actual: Any, *, atol: float = 1e-5, rtol: float = 1e-6) -> None:
    """A hidden test: ``actual`` is compared with what the instructor's solution gives.

    The expected value is never in the notebook: the grader compares, outside the kernel, the
    value handed to :data:`reporter`. A student's own run has nothing to compare with.
    """
    __tracebackhide__ = True
    _report("hidden", name, to_plain(actual), atol, rtol)


def hidden_array(
    tag: str, shape: tuple[int, ...], *, low: float = -4.0, high: float = 4.0, integers: bool = True
) -> np.ndarray:
    """A float32 array of unseen test values (integers in [low, high] by default).

    Drawn from ``$UPSAMPLING_GRADING_SEED`` and ``tag`` only, so the grader's run of the
    solution and of each submission see the same inputs whatever else the notebook does.
    """
    seed = int(os.environ.get(SEED_ENV, "0"))
    rng = np.random.default_rng([seed, zlib.crc32(tag.encode("utf-8"))])
    if integers:
        return rng.integers(int(low), int(high), size=shape, endpoint=True).astype(np.float32)
    return rng.uniform(low, high, size=shape).astype(np.float32)


def hidden_int(tag: str, low: int, high: int) -> int:
    """One unseen integer in [low, high], drawn like :func:`hidden_array`."""
    return int(hidden_array(tag, (), low=low, high=high, integers=True))
