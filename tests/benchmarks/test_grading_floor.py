"""The grading benchmark's floor of one run (benchmarks/grading_floor.py): bare forked children
that run every cell as the grader does, also several at once."""

from __future__ import annotations

from benchmarks.grading_floor import run_children

CELLS = [
    "from upsampling_course.checks import check_hidden\nimport numpy as np",
    "raise ValueError('a partly answered notebook')",
    "check_hidden('after-the-error', np.zeros(2))",  # still runs, as in the grader
    "undefined_name",
    "check_hidden('last', 1.0)",
]


def test_each_cell_runs_after_one_that_raised_and_errors_are_counted():
    (run,) = run_children(CELLS, at_once=1)
    assert run["exit_code"] == 0
    assert run["said"] == "2 values, 2 errors"
    assert 0 < run["cpu_seconds"] <= run["wall_seconds"] + 0.5


def test_children_forked_together_are_each_reaped_and_measured():
    runs = run_children(CELLS, at_once=3)
    assert len(runs) == 3
    assert {r["said"] for r in runs} == {"2 values, 2 errors"}
    assert all(r["exit_code"] == 0 and r["wall_seconds"] > 0 for r in runs)


def test_a_child_that_exits_early_is_reported_with_its_exit_code():
    (run,) = run_children(["import os\nos._exit(3)"], at_once=1)
    assert run["exit_code"] == 3
