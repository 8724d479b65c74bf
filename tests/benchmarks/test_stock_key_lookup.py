"""The grading benchmark's in-kernel answer-key lookup for stock nbgrader
(benchmarks/stock_key_lookup.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks import stock_key_lookup
from upsampling_course import checks

KEY = {
    "assignment": "a",
    "seed": 1,
    "built_at": "2026-12-01T00:00:00+00:00",
    "notebooks": {
        "nb": {
            "manual": {},
            "cells": {
                "q1-tests": {
                    "points": 2,
                    "values": {
                        "q1-hidden": {
                            "value": {"shape": [2], "data": [1.0, 2.0]},
                            "atol": 1e-5,
                            "rtol": 1e-6,
                            "hidden": True,
                        },
                        "q1-visible": {"value": 3, "atol": 1e-5, "rtol": 1e-6, "hidden": False},
                    },
                }
            },
        }
    },
}


def test_hidden_check_reads_the_answer_key_under_stock_nbgrader(tmp_path, monkeypatch):
    path = tmp_path / "key.json"
    path.write_text(json.dumps(KEY))
    monkeypatch.setattr(checks, "reporter", None)
    monkeypatch.setenv(stock_key_lookup.KEY_ENV, str(path))
    stock_key_lookup.install()
    checks.check_hidden("q1-hidden", np.array([1.0, 2.0]))
    with pytest.raises(AssertionError, match="q1-hidden"):
        checks.check_hidden("q1-hidden", np.array([1.0, 3.0]))
    with pytest.raises(AssertionError, match="not in the answer key"):
        checks.check_hidden("q9-hidden", np.array([1.0]))
    checks.check("q1-visible", 3, 3)  # visible checks compare in the kernel, as before
    monkeypatch.setattr(checks, "reporter", None)
    checks.check_hidden("q1-hidden", np.array([1.0, 3.0]))  # a student's own run: nothing to say


def test_without_a_key_nothing_is_installed(monkeypatch):
    monkeypatch.setattr(checks, "reporter", None)
    monkeypatch.delenv(stock_key_lookup.KEY_ENV, raising=False)
    stock_key_lookup.install()
    assert checks.reporter is None
