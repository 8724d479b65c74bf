"""The grading benchmark's floor of one run (benchmarks/grading_floor.py): bare forked children
that run every cell as the grader does, also several at once."""

from __future__ import annotations

import time

from benchmarks.grading_floor import run_children

CELLS = [
    "from upsampling_course.checks import check_hidden\nimport numpy as np",
    "raise ValueError('a partly answered notebook')",
    "raise SystemExit(3)",  # recorded and passed, as IPython does
    "check_hidden('after-the-error', np.zeros(2))",  # still runs, as in the grader
    "undefined_name",
    "check_hidden('last', 1.0)",
]


def test_each_cell_runs_after_one_that_raised_and_errors_are_counted():
    (run,) = run_children(CELLS, at_once=1)
    assert run["exit_code"] == 0
    assert run["said"] == "2 values, 3 errors"
    assert 0 < run["cpu_seconds"] <= run["wall_seconds"] + 0.5


def test_children_forked_together_run_at_the_same_time_and_are_each_measured():
    started = time.monotonic()
    runs = run_children(["import time\ntime.sleep(0.5)"], at_once=3)
    assert time.monotonic() - started < 1.4  # not one after the other (1.5 s)
    assert len(runs) == 3
    assert all(r["exit_code"] == 0 and 0.5 <= r["wall_seconds"] < 1.4 for r in runs)


def test_a_child_that_exits_early_is_reported_with_its_exit_code():
    (run,) = run_children(["import os\nos._exit(3)"], at_once=1)
    assert run["exit_code"] == 3
