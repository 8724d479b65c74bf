"""The floor of one submission's run, for the grading benchmark (``grading_benchmark.py``).

What no grader can avoid paying per submission: the instructor's solution's cells run in a
child freshly forked from an idle worker (a process that did the sandbox worker's own preload,
``zygote.preload``), with no sandbox, no IPython shell and no files: the cells are ``exec``-ed
in a fresh namespace and the checks' values are kept in memory. Run as::

    python -m benchmarks.grading_floor NOTEBOOKS.json --seed N [--repeat R] [--at-once K]
        [--single-thread]

NOTEBOOKS.json maps a name to the sources of the cells to run; a cell that raises is recorded
(its exception's type name) and the next one runs, as the grader runs every cell. ``--at-once K``
forks K children of the same notebook at the same time in each repeat: K runs sharing the cores,
as K workers of the grading run do. It prints one JSON object: for each notebook, each child's
wall-clock and CPU seconds (the fork to the reaped exit, and the child's user + system time) and
how many values its checks reported.

:func:`pool_costs` measures, for comparison, the same cells run as jobs of the local pool (one
worker, one job at a time) with a given isolation: what a run pays inside its process beyond the
floor (entering the sandbox's limits and user, the IPython shell, the log it writes) and what
each job costs around it (its files written and read back, the folder emptied, the sweeps for
processes and IPC objects it left).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from autograder.assignment import Assignment
from autograder.course import Course
from autograder.jobs import CodeCell, Job, Limits
from autograder.notebook import (
    InstructorNotebook,
    InvalidNotebook,
    assemble,
    load_submission,
    read_cells,
)
from autograder.sandbox.isolation import Isolation
from autograder.sandbox.pool import LocalPool
from tools.toc import BOOK_ROOT as REPO_ROOT


@dataclass(frozen=True)
class Costs:
    """Medians over repeated runs of the same notebook, in seconds."""

    wall: float  # the run's process, from its fork to its reaped exit
    cpu: float  # its user + system time
    round_trip: float | None = None  # the job handed to the pool to its outcome back

    def to_json(self) -> dict[str, float | None]:
        return {"wall": self.wall, "cpu": self.cpu, "round_trip": self.round_trip}


def solution_cells(course: Course, assignment: str) -> dict[str, tuple[CodeCell, ...]]:
    """Notebook name -> the cells the answer key's run ran (the instructor's solution)."""
    cells = {}
    for path in sorted(course.source_dir(assignment).glob("*.ipynb")):
        source = read_cells(path, "the instructor's source")
        instructor = InstructorNotebook.pair(path.stem, source, source)
        cells[path.stem] = assemble(instructor, source).code_cells()
    return cells


def submission_cells(
    assignment: Assignment, files: dict[str, bytes]
) -> dict[str, tuple[CodeCell, ...]]:
    """Notebook name -> the cells the grader runs for a submission (its answers and the hidden
    tests), assembled as ``grader.Grading.prepare`` does; files that are not notebooks are left
    out."""
    cells = {}
    for name, instructor in sorted(assignment.notebooks.items()):
        try:
            submitted = load_submission(files.get(f"{name}.ipynb", b""))
        except InvalidNotebook:
            continue
        cells[name] = assemble(instructor, submitted).code_cells()
    return cells


def measure_floors(
    notebooks: dict[str, tuple[CodeCell, ...]],
    seed: int,
    single_thread: bool,
    folder: Path,
    repeat: int = 7,
    at_once: int = 1,
) -> dict[str, Costs]:
    """Each notebook's floor (see the module's docstring), all in one process of their own:
    medians over ``repeat`` rounds of ``at_once`` children each."""
    path = folder / "floor-notebooks.json"
    path.write_text(json.dumps({n: [c.source for c in cells] for n, cells in notebooks.items()}))
    command = [sys.executable, "-m", "benchmarks.grading_floor", str(path), f"--seed={seed}"]
    command += [f"--repeat={repeat}", f"--at-once={at_once}"]
    command += ["--single-thread"] if single_thread else []
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the floor's run failed: {done.stdout[-2000:]}{done.stderr[-2000:]}")
    found = json.loads(done.stdout.strip().splitlines()[-1])["notebooks"]
    return {
        name: Costs(
            statistics.median(r["wall_seconds"] for r in runs),
            statistics.median(r["cpu_seconds"] for r in runs),
        )
        for name, runs in found.items()
    }


def pool_costs(
    cells: tuple[CodeCell, ...], seed: int, isolation: Isolation, single_thread: bool, repeat: int
) -> Costs:
    """The cells as ``repeat`` jobs of a one-worker pool, one after the other."""
    job = Job("floor/solution", cells, seed, Limits())
    walls, cpus, trips = [], [], []
    with LocalPool(isolation, 1) as pool:
        pool.workers[0].single_thread = single_thread  # as in a pool of several workers
        for _ in range(repeat):
            started = time.monotonic()
            outcome = pool.submit(job).result()
            if outcome.exit_code != 0:
                raise RuntimeError(f"the solution's job failed: {outcome}")
            trips.append(time.monotonic() - started)
            walls.append(outcome.wall_seconds)
            cpus.append(outcome.cpu_seconds or 0.0)
    return Costs(statistics.median(walls), statistics.median(cpus), statistics.median(trips))


def run_child(cells: list[str]) -> None:
    """In the forked child: run the cells, each after the last whether it raised or not; exit 0
    with the count of values on stdout's pipe."""
    import upsampling_course.checks as checks

    values: list[object] = []
    errors: list[str] = []
    checks.reporter = values.append
    sys.stdout = sys.stderr = io.StringIO()  # what the cells print, kept as ours keeps it
    namespace: dict[str, object] = {"__name__": "__main__"}
    for n, source in enumerate(cells):
        try:
            exec(compile(source, f"<cell {n}>", "exec"), namespace)  # noqa: S102 - benchmark
        except BaseException as exc:  # noqa: BLE001 - recorded, as IPython records even SystemExit
            errors.append(type(exc).__name__)
    os.write(3, f"{len(values)} values, {len(errors)} errors".encode())


def run_children(cells: list[str], at_once: int) -> list[dict[str, object]]:
    """``at_once`` children forked together, each running ``cells`` in the current folder;
    their costs, each measured when it is reaped."""
    children = {}
    for _ in range(at_once):
        read, write = os.pipe()
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            try:
                os.dup2(write, 3)
                run_child(cells)
                os._exit(0)
            except BaseException as exc:  # noqa: BLE001 - reported by the parent
                os.write(3, f"error: {type(exc).__name__}: {exc}".encode())
                os._exit(1)
        os.close(write)
        children[os.pidfd_open(pid)] = (pid, read, started)
    runs = []
    while children:  # only these children: a host process's others are not ours to reap
        for exited in select.select(list(children), [], [])[0]:
            pid, read, started = children.pop(exited)
            os.close(exited)
            _, status, usage = os.wait4(pid, 0)
            wall = time.monotonic() - started
            said = os.read(read, 4096).decode(errors="replace")
            os.close(read)
            runs.append(
                {
                    "wall_seconds": wall,
                    "cpu_seconds": usage.ru_utime + usage.ru_stime,
                    "exit_code": os.waitstatus_to_exitcode(status),
                    "said": said,
                }
            )
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("notebooks", type=Path, help='JSON: {"name": [source, ...], ...}')
    parser.add_argument("--seed", type=int, required=True, help="of the hidden inputs")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--at-once", type=int, default=1, help="children sharing the cores")
    parser.add_argument("--single-thread", action="store_true", help="as a pool of 2+ workers")
    args = parser.parse_args(argv)
    notebooks = json.loads(args.notebooks.read_text())

    from autograder.sandbox.environment import job_environment
    from autograder.sandbox.zygote import preload

    os.environ.update(job_environment(args.seed, args.single_thread))
    preload()
    with tempfile.TemporaryDirectory(prefix="grading-floor-") as folder:
        os.chdir(folder)  # what the notebooks write goes here, not into the checkout
        found = {
            name: [run for _ in range(args.repeat) for run in run_children(cells, args.at_once)]
            for name, cells in notebooks.items()
        }
        os.chdir("/")
    print(json.dumps({"notebooks": found}))
    failed = [r for runs in found.values() for r in runs if r["exit_code"] != 0]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
