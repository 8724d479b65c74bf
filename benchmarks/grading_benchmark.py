"""Grading benchmark: the course's autograder against stock ``nbgrader autograde``.

Run on demand (it is not a test)::

    python -m benchmarks.grading_benchmark [--students N] [--assignment A] [--workers W]

It releases an assignment into a temporary course (fixed seed), makes N simulated submissions
(mostly correct or partly correct, some with wrong answers, some blank, a few broken files and
one endless loop; the same ones every run), copies the course twice and grades the same
submissions

* with stock ``nbgrader autograde A --force`` (one run over all students, each cell limited to
  nbgrader's default 30 s; the hidden tests compare with the answer key inside the kernel, as
  stock nbgrader trusts the kernel: ``stock_key_lookup.py`` is installed as the kernels' IPython
  startup file), and
* with ``python -m autograder grade A --workers W`` (the sandboxed pool of forking workers; each
  notebook limited to the answer key's time limit, set at release from the solution's run).

``--timeout T`` gives both the same limit instead. Before grading it measures, in the same run,
a bare ``import tensorflow`` (the floor of the time to the first job) and the floor of one
submission's run (``grading_floor.py``: the solution run in a child forked from an idle worker,
no sandbox, no shell, no files), the same solution as jobs of a one-worker pool with the
full sandbox and with none (what a job pays beyond the floor, and the sandbox's share of it),
and each honest submission's own floor (its cells in the same bare children, as many at once
as ours has workers).

It prints the wall time of each, the median time per submission, the peak memory of each
process tree (sampled from /proc), the ratio, the time from ``autograder grade`` to its first
job running against the bare import, each run's wall and CPU time as ratios to the floor and
to its own floor (by kind of submission), the machine's load, and whether every honest
submission (correct, partial, wrong or blank; not the broken files or the loop) got exactly the
same score per cell from both. It exits with status 1 when any honest score differs, and
with status 2 when none differs but nbgrader gave up on an honest submission (it then logs an
error and records no scores; the benchmark lists each with nbgrader's reason). The figures are
also written as JSON to ``benchmarks/results/`` (not committed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder import simulate
from autograder.assignment import Assignment
from autograder.course import Course
from autograder.release import release
from autograder.results import StudentResult
from autograder.sandbox.isolation import Isolation, detect
from benchmarks import stock_key_lookup
from benchmarks.grading_floor import (
    Costs,
    measure_floors,
    pool_costs,
    solution_cells,
    submission_cells,
)
from tools.toc import BOOK_ROOT as REPO_ROOT
from upsampling_course.checks import SEED_ENV

SEED = 20261201  # the release's hidden-input seed and the submissions' generator
RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"
HONEST_KINDS = {"full", "partial", "blank"}
#: Runs of the floor and of the pool's per-job costs (medians are reported).
FLOOR_REPEAT = 7
#: Rounds of each honest submission's own floor.
OWN_FLOOR_REPEAT = 3

#: Mistakes a student could plausibly make, per answer cell of the default assignment. Other
#: assignments get a generic wrong answer (see ``wrong_answer``).
WRONG_ANSWERS = {
    "upsampling-by-hand": {
        "upsample-nearest": [
            # Hard-coded to the visible example: passes the visible checks, not the hidden ones.
            "def upsample_nearest(x):\n"
            "    return np.array([[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]],\n"
            "                    dtype='float32').reshape(1, 4, 4, 1)\n",
            "def upsample_nearest(x):\n"
            "    return keras.layers.UpSampling2D(interpolation='bilinear')(x).numpy()\n",
        ],
        "upsample-by": [
            "def upsample_by(x, rows, cols):\n"
            "    return keras.layers.UpSampling2D(size=(cols, rows))(x).numpy()\n",
        ],
        "upsample-bilinear": [
            "def upsample_bilinear(x):\n    return keras.layers.UpSampling2D()(x).numpy()\n",
        ],
        "zero-insertion": [
            "def zero_insertion_model(input_shape, weight, bias):\n"
            "    layer = keras.layers.Conv2DTranspose(1, (1, 1), strides=(2, 2))\n"
            "    model = keras.Sequential([keras.Input(shape=input_shape), layer])\n"
            "    layer.set_weights([np.full((1, 1, 1, 1), weight, dtype='float32'),\n"
            "                       np.zeros(1, dtype='float32')])\n"
            "    return model\n",
        ],
        "tiling-model": [
            "def tiling_model(input_shape, kernel):\n"
            "    layer = keras.layers.Conv2DTranspose(1, (2, 2), strides=(2, 2), use_bias=False)\n"
            "    model = keras.Sequential([keras.Input(shape=input_shape), layer])\n"
            "    layer.set_weights([np.asarray(kernel, dtype='float32').T.reshape(2, 2, 1, 1)])\n"
            "    return model\n",
        ],
        "tile-by-hand": [
            "def tile_by_hand(image, kernel):\n"
            "    return np.kron(np.asarray(kernel, dtype='float32'),\n"
            "                   np.asarray(image, dtype='float32'))\n",
        ],
        "overlap-explanation": [
            "The kernel is bigger in the middle, so the middle of the picture gets brighter.",
        ],
    },
}


# --- the submissions -----------------------------------------------------------------------


@dataclass
class Submission:
    student: str
    kind: str  # full, partial, blank, invalid-json, nbformat-3, nbformat-5, endless-loop
    answered: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)


def wrong_answer(assignment: str, grade_id: str, solution: str, rng: random.Random) -> str:
    """A wrong answer for one cell: a listed mistake, or the solution's first line (for a
    function, its ``def`` line) followed by a body that returns nothing useful."""
    listed = WRONG_ANSWERS.get(assignment, {}).get(grade_id)
    if listed:
        return rng.choice(listed)
    lines = [line for line in solution.splitlines() if line.strip()]
    if lines and lines[0].startswith("def "):
        return lines[0] + "\n    return None\n"
    return "I am not sure."


def plan(n: int, rng: random.Random) -> list[str]:
    """The kinds of the ``n`` submissions: every kind at least once (n >= 7), mostly honest."""
    broken_kinds = ["invalid-json", "nbformat-3", "nbformat-5"]
    broken = max(3, round(0.04 * n))
    blank = max(1, round(0.08 * n))
    full = max(1, round(0.30 * n))
    kinds = (
        ["endless-loop"]
        + [broken_kinds[i % 3] for i in range(broken)]
        + ["blank"] * blank
        + ["full"] * full
    )
    if len(kinds) >= n:
        raise SystemExit(f"--students must be at least {len(kinds) + 1}")
    kinds += ["partial"] * (n - len(kinds))
    rng.shuffle(kinds)
    return kinds


def make_submissions(course: Course, assignment: str, n: int, seed: int) -> dict[str, tuple]:
    """Student -> (Submission, {file name: bytes}), deterministic for a given seed."""
    rng = random.Random(seed)
    notebooks = course.notebooks(assignment)
    out = {}
    for i, kind in enumerate(plan(n, rng)):
        student = f"student-{i:03d}"
        sub = Submission(student, kind)
        files = {}
        for nb_name in notebooks:
            ids = simulate.answer_ids(course, assignment, nb_name)
            solution = simulate.answered(course, assignment, nb_name, None)
            solutions = {
                c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"])
                for c in solution["cells"]
                if c["metadata"].get("nbgrader", {}).get("solution")
            }
            wrong: dict[str, str] = {}
            if kind in ("full", "endless-loop", "invalid-json", "nbformat-3", "nbformat-5"):
                chosen = set(ids)
            elif kind == "blank":
                chosen = set()
            else:  # partial: some answers right, some left blank, some wrong
                chosen = set(rng.sample(ids, rng.randint(1, len(ids) - 1)))
                wrong = {
                    gid: wrong_answer(assignment, gid, solutions[gid], rng)
                    for gid in ids
                    if gid not in chosen and rng.random() < 0.4
                }
            if kind == "endless-loop":
                loop_id = rng.choice(ids[: max(1, len(ids) // 2)])
                wrong = {loop_id: "while True:\n    pass\n\n" + solutions[loop_id]}
            nb = simulate.answered(course, assignment, nb_name, chosen, wrong)
            data = simulate.to_bytes(nb)
            if kind == "invalid-json":
                data = data[: len(data) // 2]  # an upload cut short
            elif kind.startswith("nbformat-"):
                nb["nbformat"] = int(kind.rsplit("-", 1)[1])
                data = simulate.to_bytes(nb)
            sub.answered += sorted(chosen - set(wrong))
            sub.wrong += sorted(wrong)
            files[f"{nb_name}.ipynb"] = data
        out[student] = (sub, files)
    return out


def copy_course(released: Course, root: Path) -> Course:
    shutil.copytree(released.root, root, symlinks=True)
    course = Course(root)
    course.set_up_folder()  # rewrites nbgrader_config.py with the new root
    return course


# --- measuring ----------------------------------------------------------------------------


class TreeMemory:
    """Peak memory of a process and all its descendants, sampled from /proc every 0.2 s.

    ``peak_rss`` sums each process's resident set (the usual figure; pages shared between
    forked children count once per process). ``peak_pss`` sums proportional set sizes, so
    shared pages count once in all: the memory the tree really occupies.
    """

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.pid, self.interval = pid, interval
        self.peak_rss = self.peak_pss = 0
        self.peak_processes = 0
        self.cpu_ticks: dict[tuple[int, int], int] = {}  # (pid, start time) -> utime + stime
        self.loads: list[float] = []  # the machine's 1-minute load average, every 5 s
        self.samples: list[tuple[float, int, int]] = []  # (seconds, RSS sum, PSS sum)
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._page = os.sysconf("SC_PAGE_SIZE")

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _tree(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
        tree, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo += children.get(pid, [])
        return tree

    def _sample(self) -> None:
        rss = pss = 0
        tree = self._tree()
        for pid in tree:
            try:
                with open(f"/proc/{pid}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
                self.cpu_ticks[(pid, int(fields[19]))] = int(fields[11]) + int(fields[12])
                with open(f"/proc/{pid}/statm") as f:
                    rss += int(f.read().split()[1]) * self._page
                with open(f"/proc/{pid}/smaps_rollup") as f:
                    for line in f:
                        if line.startswith("Pss:"):
                            pss += int(line.split()[1]) * 1024
                            break
            except (OSError, IndexError, ValueError):
                continue  # the process ended, or its memory map is not readable
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_pss = max(self.peak_pss, pss)
        self.samples.append((time.monotonic() - self._started, rss, pss))
        self.peak_processes = max(self.peak_processes, len(tree))

    @property
    def cpu_seconds(self) -> float:
        """CPU time of every process seen in the tree (a lower bound: the last 0.2 s of each
        process, and processes shorter than that, are missed)."""
        return sum(self.cpu_ticks.values()) / os.sysconf("SC_CLK_TCK")

    def _run(self) -> None:
        last_load = 0.0
        while not self._stop.is_set():
            self._sample()
            if time.monotonic() - last_load >= 5:
                self.loads.append(os.getloadavg()[0])
                last_load = time.monotonic()
            self._stop.wait(self.interval)


@dataclass
class Run:
    name: str
    wall_seconds: float
    returncode: int
    peak_rss: int
    peak_pss: int
    peak_processes: int
    cpu_sampled: float
    cpu_rusage: float  # CPU time of the command and every descendant it waited for
    load_before: tuple
    load_after: tuple
    loads: list[float]  # 1-minute load average every 5 s during the run
    lines: list[tuple[float, str]]  # (seconds since start, line) of the command's output
    launched_at: float  # time.time() just before the command started
    samples: list[tuple[float, int, int]]  # (seconds since start, RSS sum, PSS sum)


def run_measured(name: str, cmd: list[str], cwd: Path, env: dict, log_path: Path, echo=None) -> Run:
    """Run ``cmd``, timestamping each line it writes (stdout and stderr merged)."""
    load_before = os.getloadavg()
    lines: list[tuple[float, str]] = []
    launched_at = time.time()
    started = time.monotonic()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            bufsize=1,
        )
        with TreeMemory(proc.pid) as memory:
            assert proc.stdout is not None
            for line in proc.stdout:
                t = time.monotonic() - started
                lines.append((t, line.rstrip("\n")))
                log.write(f"{t:9.3f} {line}")
                if echo:
                    echo(line)
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - started
    return Run(
        name,
        wall,
        proc.returncode,
        memory.peak_rss,
        memory.peak_pss,
        memory.peak_processes,
        memory.cpu_seconds,
        usage.ru_utime + usage.ru_stime,
        load_before,
        os.getloadavg(),
        memory.loads,
        lines,
        launched_at,
        memory.samples,
    )


# --- the two graders ----------------------------------------------------------------------

_STOCK_SUMMARY = re.compile(
    r"There was an error processing assignment '[^']*' for student '([^']*)'"
)


def stock_sections(run: Run, students: list[str]) -> dict[str, tuple[float, list[str]]]:
    """Student -> (seconds nbgrader spent on it, its log lines): from the first line naming the
    student to the first line naming the next one (the last one ends with the process)."""
    starts: list[tuple[float, str, int]] = []
    seen = set()
    end = (run.wall_seconds, None, len(run.lines))
    for n, (t, line) in enumerate(run.lines):
        if _STOCK_SUMMARY.search(line):  # the closing list of failed students
            end = (t, None, n)
            break
        m = re.search(r"\b(student-\d{3})\b", line)
        if m and m.group(1) in students and m.group(1) not in seen:
            seen.add(m.group(1))
            starts.append((t, m.group(1), n))
    sections = {}
    for (t, s, n), (t_next, _, n_next) in zip(starts, starts[1:] + [end], strict=True):
        sections[s] = (t_next - t, [line for _, line in run.lines[n:n_next]])
    return sections


def stock_failed(run: Run) -> set[str]:
    """The students nbgrader lists at the end as failed (it records no scores for them)."""
    return {m.group(1) for _, line in run.lines for m in [_STOCK_SUMMARY.search(line)] if m}


def stock_failure(lines: list[str]) -> str:
    """Why nbgrader gave up on a submission, from its log lines."""
    errors = [
        line.split("] ", 1)[-1].strip()
        for line in lines
        if "| ERROR]" in line and "There was an error" not in line and "Traceback" not in line
    ]
    exceptions = [line.strip() for line in lines if re.match(r"\s*[\w.]+(Error|Exception): ", line)]
    why = "; ".join(dict.fromkeys(errors + exceptions[-1:])) or "nbgrader reported an error"
    for n, line in enumerate(lines):
        if "preview of the cell contents" in line:
            cell = [
                x.strip() for x in lines[n + 1 : n + 4] if x.strip() and set(x.strip()) != {"-"}
            ]
            if cell:
                why += f" (in the cell that starts {cell[0]!r})"
            break
    return why


def stock_scores(course: Course, assignment: str, students: list[str]) -> dict[str, dict | None]:
    """Student -> {"score": total, "cells": {grade_id: auto_score}} from nbgrader's gradebook,
    or None when nbgrader recorded no submission."""
    from nbgrader.api import Gradebook, MissingEntry

    scores: dict[str, dict | None] = {}
    with Gradebook(course.db_url, course.course_id) as gb:
        for student in students:
            try:
                submission = gb.find_submission(assignment, student)
            except MissingEntry:
                scores[student] = None
                continue
            cells = {}
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    cells[grade.name] = grade.auto_score
            scores[student] = {"score": float(submission.score), "cells": cells}
    return scores


def our_scores(results: list[StudentResult]) -> dict[str, dict]:
    out = {}
    for r in results:
        cells = {gid: c.auto_score for nb in r.notebooks for gid, c in nb.cells.items()}
        out[r.student] = {
            "score": r.score,
            "cells": cells,
            "status": r.status.value,
            "reason": r.reason,
        }
    return out


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(
            int(line.split()[1]) * 1024
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
    except (OSError, StopIteration):
        mem = None
    from importlib.metadata import PackageNotFoundError, version

    def installed(*names: str) -> str | None:
        for name in names:
            try:
                return version(name)
            except PackageNotFoundError:
                continue
        return None

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_bytes": mem,
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "nbgrader": installed("nbgrader"),
        "tensorflow": installed("tensorflow-cpu", "tensorflow"),
    }


def gb(n: int) -> str:
    return f"{n / 1024**3:.2f} GB"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--students", type=int, default=100, help="submissions (default 100)")
    parser.add_argument("--assignment", default="upsampling-by-hand")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="our grader's workers (default: the number of cores)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds per cell (stock) and per notebook (ours); default: each grader's own "
        "(stock: 30 s per cell; ours: the answer key's limit)",
    )
    parser.add_argument(
        "--ours-only",
        action="store_true",
        help="grade with ours only, no stock run and no comparison: for the memory over many "
        "submissions (e.g. --students 500 --ours-only)",
    )
    parser.add_argument(
        "--no-costs",
        action="store_true",
        help="skip the floor and the per-job costs with and without the sandbox",
    )
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--keep", action="store_true", help="keep the temporary courses")
    parser.add_argument(
        "--only",
        action="append",
        metavar="STUDENT",
        help="grade only this one of the N generated students (repeatable; "
        "to look into one submission)",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        help="where to write the figures (default: benchmarks/results/...)",
    )
    return parser.parse_args(argv)


@dataclass
class Setup:
    """The released course, the submissions, and the two copies of the course to grade."""

    seed: int  # the answer key's
    submissions: dict[str, tuple[Submission, dict[str, bytes]]]
    students: list[str]
    stock: Course
    ours: Course
    kinds: dict[str, int]

    def kind(self, student: str) -> str:
        return self.submissions[student][0].kind


def set_up(args: argparse.Namespace, work: Path) -> Setup:
    t = time.monotonic()
    released = Course(work / "released")
    key = release(released, args.assignment, seed=args.seed)
    print(f"released {args.assignment} in {time.monotonic() - t:.1f} s", flush=True)
    submissions = make_submissions(released, args.assignment, args.students, args.seed)
    students = sorted(args.only or submissions)
    unknown = sorted(set(students) - set(submissions))
    if unknown:
        raise SystemExit(f"no such students: {', '.join(unknown)}")
    stock, ours = copy_course(released, work / "stock"), copy_course(released, work / "ours")
    for course in (stock, ours):
        for student in students:
            simulate.place(course, student, args.assignment, submissions[student][1])
    kinds: dict[str, int] = {}
    for sub in (submissions[student][0] for student in students):
        kinds[sub.kind] = kinds.get(sub.kind, 0) + 1
    print(
        f"{len(students)} submissions: " + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())),
        flush=True,
    )
    return Setup(key.seed, submissions, students, stock, ours, kinds)


def run_ours(args: argparse.Namespace, setup: Setup, tag: str) -> tuple[Run, dict[str, Any]]:
    """``autograder grade``; its run and its report (grading-<a>.json)."""
    command = [
        sys.executable,
        "-m",
        "autograder",
        "grade",
        args.assignment,
        "--course",
        str(setup.ours.root),
        "--workers",
        str(args.workers),
    ] + ([] if args.timeout is None else ["--timeout", f"{args.timeout:g}"])
    print("ours:  " + " ".join(command), flush=True)
    run = run_measured(
        "ours", command, REPO_ROOT, dict(os.environ), RESULTS_DIR / f"{tag}-ours.log"
    )
    report = json.loads((setup.ours.reports_dir / f"grading-{args.assignment}.json").read_text())
    return run, report


def run_stock(args: argparse.Namespace, setup: Setup, tag: str, work: Path) -> Run:
    """Stock ``nbgrader autograde``, one run over every student; the hidden checks read the key
    in the kernel (``stock_key_lookup.py``, installed as the kernels' IPython startup file)."""
    stock = setup.stock
    env = stock.nbgrader_env()
    startup = work / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    shutil.copy(stock_key_lookup.__file__, startup / "00-answer-key.py")
    env["IPYTHONDIR"] = str(work / "ipython")
    env[stock_key_lookup.KEY_ENV] = str(stock.key_path(args.assignment))
    env[SEED_ENV] = str(setup.seed)
    command = [
        sys.executable,
        "-m",
        "nbgrader",
        "autograde",
        args.assignment,
        "--force",
        f"--CourseDirectory.root={stock.root}",
        f"--CourseDirectory.db_url={stock.db_url}",
        f"--CourseDirectory.course_id={stock.course_id}",
        "--log-level=INFO",
    ]
    if args.timeout is not None:
        command += [
            f"--ExecutePreprocessor.timeout={args.timeout:g}",
            f"--Execute.timeout={args.timeout:g}",
        ]
    print("stock: " + " ".join(command), flush=True)
    done = set()

    def progress(line: str) -> None:
        m = re.search(r"\b(student-\d{3})\b", line)
        if m and m.group(1) not in done:
            done.add(m.group(1))
            print(
                f"\rstock: {len(done)}/{args.students} students started",
                end="",
                file=sys.stderr,
                flush=True,
            )

    run = run_measured(
        "stock", command, stock.root, env, RESULTS_DIR / f"{tag}-stock.log", echo=progress
    )
    print(file=sys.stderr)
    return run


@dataclass
class Comparison:
    honest: list[str]
    differences: list[dict[str, Any]]
    stock_failed_honest: dict[str, str]  # student -> why nbgrader gave up on it
    others: dict[str, dict[str, Any]]  # broken files and the endless loop: not compared
    ours_by: dict[str, dict[str, Any]]


def _difference(student: str, kind: str, a: dict | None, b: dict | None) -> dict[str, Any] | None:
    if a is None or b is None:
        return {"student": student, "kind": kind, "stock": a, "ours": b}
    if abs(a["score"] - b["score"]) <= 1e-9 and a["cells"] == b["cells"]:
        return None
    cells = {
        g: (a["cells"].get(g), b["cells"].get(g))
        for g in sorted(set(a["cells"]) | set(b["cells"]))
        if a["cells"].get(g) != b["cells"].get(g)
    }
    return {"student": student, "kind": kind, "stock": a, "ours": b, "cells": cells}


def compare(
    args: argparse.Namespace, setup: Setup, stock_run: Run, ours_results: list[StudentResult]
) -> Comparison:
    students = setup.students
    stock_by = stock_scores(setup.stock, args.assignment, students)
    ours_by = our_scores(ours_results)
    sections = stock_sections(stock_run, students)
    honest = [s for s in students if setup.kind(s) in HONEST_KINDS]
    # A submission nbgrader gave up on (it logs the error and records no scores) is not a
    # difference in scoring: it is listed, with nbgrader's reason, and not compared.
    failed = stock_failed(stock_run)
    failed_honest = {s: stock_failure(sections.get(s, (0, []))[1]) for s in honest if s in failed}
    differences = [
        d
        for s in honest
        if s not in failed_honest
        if (d := _difference(s, setup.kind(s), stock_by.get(s), ours_by.get(s)))
    ]
    others = {
        s: {
            "kind": setup.kind(s),
            "stock": (stock_by.get(s) or {}).get("score"),
            "ours_status": ours_by[s]["status"],
            "ours_reason": ours_by[s]["reason"],
            "ours_score": ours_by[s]["score"],
            "stock_error": stock_failure(sections.get(s, (0, []))[1]) if s in failed else None,
        }
        for s in students
        if s not in honest
    }
    return Comparison(honest, differences, failed_honest, others, ours_by)


def run_figures(run: Run) -> dict[str, Any]:
    return {
        "wall_seconds": run.wall_seconds,
        "returncode": run.returncode,
        "peak_rss_bytes": run.peak_rss,
        "peak_pss_bytes": run.peak_pss,
        "peak_processes": run.peak_processes,
        "cpu_seconds_rusage": run.cpu_rusage,
        "cpu_seconds_sampled": run.cpu_sampled,
        "load_before": run.load_before,
        "load_after": run.load_after,
        "load_1min_every_5s": run.loads,
    }


def print_figures(
    args: argparse.Namespace,
    setup: Setup,
    figures: dict[str, Any],
    runs: list[tuple[Run, list[float]]],
    found: Comparison,
) -> None:
    m = figures["machine"]
    print()
    print(
        f"machine: {m['cpu']}, {m['cores']} cores, {gb(m['memory_bytes'] or 0)} RAM, "
        f"{m['system']}; Python {m['python']}, nbgrader {m['nbgrader']}, "
        f"TensorFlow {m['tensorflow']}"
    )
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(setup.kinds.items()))
    print(
        f"{args.students} submissions of {args.assignment} ({kinds}); "
        f"timeout: {'each grader default' if args.timeout is None else f'{args.timeout:g} s'}; "
        f"our workers: {args.workers}"
    )
    print(
        f"{'':6} {'wall':>8} {'wall/N':>7} {'median':>7} {'CPU':>7} {'peak RSS':>9}"
        f" {'peak PSS':>9} {'procs':>5}  1-min load: mean, max during the run"
    )
    for r, per in runs:
        med = median(per)
        loads = r.loads or [r.load_after[0]]
        print(
            f"{r.name:6} {r.wall_seconds:7.1f}s {r.wall_seconds / args.students:6.2f}s "
            f"{med if med is not None else float('nan'):6.2f}s {r.cpu_sampled:6.0f}s"
            f" {gb(r.peak_rss):>9} {gb(r.peak_pss):>9} {r.peak_processes:>5}  "
            f"{statistics.mean(loads):.1f}, {max(loads):.1f}"
        )
    print(f"ratio stock/ours: {figures['ratio_stock_over_ours']:.2f}x")
    print(
        "median: per submission run (not the broken files); stock: from nbgrader's log "
        "naming one student to naming the next; ours: a notebook's run in its forked, "
        "sandboxed process (two at once). CPU: user + system time of the process tree. "
        "Peak RSS: sum over the tree's processes; peak PSS: shared pages counted once."
    )
    codes = {r.name: r.returncode for r, _ in runs}
    if any(codes.values()):
        print(f"exit codes: stock {codes['stock']}, ours {codes['ours']}")
    print_comparison(setup, found)


def print_comparison(setup: Setup, found: Comparison) -> None:
    print(
        f"honest submissions: {len(found.honest)}, of which nbgrader graded "
        f"{len(found.honest) - len(found.stock_failed_honest)}; their scores identical (every "
        f"cell): {'yes' if not found.differences else 'NO'}"
    )
    for s, why in found.stock_failed_honest.items():
        ours = found.ours_by[s]
        print(
            f"  stock nbgrader could not grade {s} ({setup.kind(s)}; ours: "
            f"{ours['score']:g}, {ours['status']}): {why[:300]}"
        )
    for d in found.differences:
        print(
            f"  DIFFERS {d['student']} ({d['kind']}): stock "
            f"{d['stock'] and d['stock']['score']}, ours {d['ours'] and d['ours']['score']}"
            f" {d.get('cells', '')}"
        )
    print("not compared (broken files, endless loop):")
    for s, o in found.others.items():
        error = f" ({o['stock_error'][:100]})" if o["stock_error"] else ""
        print(
            f"  {s} {o['kind']}: stock score {o['stock']}{error}; "
            f"ours {o['ours_status']} ({o['ours_reason'][:100]})"
        )


def bare_import_seconds() -> float:
    """Wall-clock seconds of a bare ``import tensorflow`` in a fresh interpreter: the floor of
    the time to the first job (a worker cannot run one before it has imported TensorFlow)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    started = time.monotonic()
    command = [sys.executable, "-I", "-c", "import tensorflow"]
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.monotonic() - started


@dataclass(frozen=True)
class Floors:
    """One submission's floor, and the same run as a job of the pool, with and without the
    sandbox (``grading_floor.py``); and every honest submission's own floor."""

    notebook: str
    floor: Costs  # the solution's, one run at a time
    sandboxed: Costs
    unsandboxed: Costs
    floor_together: Costs  # the solution's, as many runs at once as ours has workers
    own: dict[str, Costs]  # "student/notebook" -> its floor, as many at once as workers

    def to_json(self) -> dict[str, Any]:
        return {
            "notebook": self.notebook,
            "floor": self.floor.to_json(),
            "job_sandboxed": self.sandboxed.to_json(),
            "job_unsandboxed": self.unsandboxed.to_json(),
            "floor_together": self.floor_together.to_json(),
            "own": {name: costs.to_json() for name, costs in self.own.items()},
        }


def measure_floors_of(args: argparse.Namespace, setup: Setup, work: Path) -> Floors:
    """The floor and the pool's per-job costs, for the assignment's first notebook, as many
    threads per run as ours uses (one each when several workers share the cores); then the
    solution's floor and each honest submission's, as many runs at once as ours has workers."""
    name, cells = sorted(solution_cells(setup.ours, args.assignment).items())[0]
    single = args.workers > 1
    floor = measure_floors({name: cells}, setup.seed, single, work, FLOOR_REPEAT)[name]
    print(f"floor of {name}: {floor.wall:.3f} s wall, {floor.cpu:.3f} s CPU", flush=True)
    sandboxed = pool_costs(cells, setup.seed, detect(), single, FLOOR_REPEAT)
    bare = Isolation(bubblewrap=None, root=False)  # no bubblewrap, no user of its own
    unsandboxed = pool_costs(cells, setup.seed, bare, single, FLOOR_REPEAT)
    assignment = Assignment.load(setup.ours, args.assignment)
    notebooks = {"solution": cells}
    for student in setup.students:
        if setup.kind(student) in HONEST_KINDS:
            files = setup.submissions[student][1]
            for nb, nb_cells in submission_cells(assignment, files).items():
                notebooks[f"{student}/{nb}"] = nb_cells
    started = time.monotonic()
    own = measure_floors(notebooks, setup.seed, single, work, OWN_FLOOR_REPEAT, args.workers)
    print(
        f"floors of {len(notebooks) - 1} honest submissions, {args.workers} at once: "
        f"{time.monotonic() - started:.0f} s",
        flush=True,
    )
    together = own.pop("solution")
    return Floors(name, floor, sandboxed, unsandboxed, together, own)


def ratios(values: list[float], floor: float) -> dict[str, float | None]:
    """Median and largest of ``values`` over ``floor``."""
    if not values or floor <= 0:
        return {"median": None, "max": None}
    return {"median": statistics.median(values) / floor, "max": max(values) / floor}


def own_floor_ratios(
    setup: Setup, results: list[StudentResult], floors: Floors
) -> dict[str, dict[str, Any]]:
    """Kind (and "all") -> how many runs, and their wall and CPU: each honest run over its own
    floor, median and max."""
    by_kind: dict[str, list[tuple[float, float]]] = {}
    for result in results:
        kind = setup.kind(result.student)
        for nb in result.notebooks:
            own = floors.own.get(f"{result.student}/{nb.name}")
            if own is None or not nb.wall_seconds or nb.cpu_seconds is None:
                continue
            pair = (nb.wall_seconds / own.wall, nb.cpu_seconds / own.cpu)
            by_kind.setdefault(kind, []).append(pair)
            by_kind.setdefault("all", []).append(pair)
    return {
        kind: {
            "runs": len(pairs),
            "wall": ratios([w for w, _ in pairs], 1.0),
            "cpu": ratios([c for _, c in pairs], 1.0),
        }
        for kind, pairs in sorted(by_kind.items())
    }


def memory_quarters(run: Run) -> list[dict[str, int]]:
    """The largest RSS and PSS sums in each quarter of the run (growth shows as a rise)."""
    quarters = []
    for q in range(4):
        start, end = run.wall_seconds * q / 4, run.wall_seconds * (q + 1) / 4
        inside = [(rss, pss) for t, rss, pss in run.samples if start <= t < end] or [(0, 0)]
        quarters.append(
            {"rss_bytes": max(r for r, _ in inside), "pss_bytes": max(p for _, p in inside)}
        )
    return quarters


def ours_figures(
    args: argparse.Namespace,
    setup: Setup,
    run: Run,
    report: dict[str, Any],
    results: list[StudentResult],
    floors: Floors | None,
    imports: list[float],
) -> dict[str, Any]:
    """Our run against its floors: time to the first job, each run's cost, memory."""
    honest = {s for s in setup.students if setup.kind(s) in HONEST_KINDS}
    runs = [nb for r in results if r.student in honest for nb in r.notebooks if nb.wall_seconds]
    first = report.get("first_job_started_at")
    to_first = first - run.launched_at if first else None
    bare = min(imports)  # the faster of the two: load only ever slows an import down
    figures: dict[str, Any] = {
        "time_limit": report.get("time_limit"),
        "bare_import_tensorflow_seconds": imports,
        "first_job_seconds": to_first,
        "first_job_over_bare_import": to_first / bare if to_first else None,
        "memory_by_quarter": memory_quarters(run),
    }
    if floors is not None:
        figures["floors"] = floors.to_json()
        figures["run_over_floor"] = {
            "wall": ratios([nb.wall_seconds or 0.0 for nb in runs], floors.floor.wall),
            "cpu": ratios([nb.cpu_seconds or 0.0 for nb in runs], floors.floor.cpu),
        }
        figures["run_over_own_floor"] = own_floor_ratios(setup, results, floors)
    return figures


def print_ours(figures: dict[str, Any]) -> None:
    ours = figures["ours"]
    print(ours["time_limit"])
    imports = ", ".join(f"{t:.1f}" for t in ours["bare_import_tensorflow_seconds"])
    if ours["first_job_seconds"] is not None:
        print(
            f"time to the first job: {ours['first_job_seconds']:.1f} s; a bare `import "
            f"tensorflow`: {imports} s (before and after ours); ratio to the faster "
            f"{ours['first_job_over_bare_import']:.2f}"
        )
    if "floors" in ours:
        f = ours["floors"]
        floor, boxed, bare = f["floor"], f["job_sandboxed"], f["job_unsandboxed"]
        print(
            f"floor of one run ({f['notebook']}: its solution in a child forked from an idle "
            f"worker, no sandbox, no shell, no files): {floor['wall']:.3f} s wall, "
            f"{floor['cpu']:.3f} s CPU"
        )
        for name, costs in (("with the sandbox", boxed), ("without any sandbox", bare)):
            print(
                f"  as a job of a one-worker pool {name}: the run {costs['wall']:.3f} s wall "
                f"({costs['wall'] / floor['wall']:.2f}x), {costs['cpu']:.3f} s CPU "
                f"({costs['cpu'] / floor['cpu']:.2f}x); round trip {costs['round_trip']:.3f} s"
            )
        print(
            f"  the sandbox's share per job: {boxed['round_trip'] - bare['round_trip']:+.3f} s "
            f"round trip, {boxed['wall'] - bare['wall']:+.3f} s of the run"
        )
        r = ours["run_over_floor"]
        if r["wall"]["median"] is not None:
            print(
                "each honest run in the grading run over the floor: wall "
                f"{r['wall']['median']:.2f}x median, {r['wall']['max']:.2f}x max; CPU "
                f"{r['cpu']['median']:.2f}x median, {r['cpu']['max']:.2f}x max "
                f"(two runs at once on the cores, beside the grader)"
            )
        together = f["floor_together"]
        print(
            f"  the floor with {figures['workers']} runs at once: {together['wall']:.3f} s wall "
            f"({together['wall'] / floor['wall']:.2f}x alone), {together['cpu']:.3f} s CPU "
            f"({together['cpu'] / floor['cpu']:.2f}x alone)"
        )
        print(
            "each honest run in the grading run over its own floor (the same submission's cells "
            f"in bare forked children, {figures['workers']} at once):"
        )
        for kind, k in ours["run_over_own_floor"].items():
            print(
                f"  {kind:8} {k['runs']:4} runs: wall {k['wall']['median']:.2f}x median, "
                f"{k['wall']['max']:.2f}x max; CPU {k['cpu']['median']:.2f}x median, "
                f"{k['cpu']['max']:.2f}x max"
            )
    print(
        "our memory, largest in each quarter of the run: "
        + "; ".join(
            f"RSS {gb(q['rss_bytes'])}, PSS {gb(q['pss_bytes'])}" for q in ours["memory_by_quarter"]
        )
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    tag = f"grading-{args.assignment}-n{args.students}-{stamp}"
    json_path = args.json or RESULTS_DIR / f"{tag}.json"
    work = Path(tempfile.mkdtemp(prefix="grading-benchmark-"))
    print(f"machine load before (1, 5, 15 min): {os.getloadavg()}", flush=True)
    try:
        setup = set_up(args, work)
        floors = None if args.no_costs else measure_floors_of(args, setup, work)
        imports = [bare_import_seconds()]
        # Ours first: its workers import TensorFlow from a cold page cache, if anyone does.
        ours_run, report = run_ours(args, setup, tag)
        imports.append(bare_import_seconds())
        ours_results = [StudentResult.from_json(r) for r in report["results"]]
        figures: dict[str, Any] = {
            "machine": machine(),
            "students": args.students,
            "assignment": args.assignment,
            "workers": args.workers,
            "timeout_seconds": args.timeout,
            "seed": args.seed,
            "kinds": setup.kinds,
            "started_utc": stamp,
            "isolation": report.get("isolation"),
            "ours": ours_figures(args, setup, ours_run, report, ours_results, floors, imports),
        }
        if args.ours_only:
            figures["runs"] = {"ours": run_figures(ours_run)}
            json_path.write_text(json.dumps(figures, indent=1))
            loads = ours_run.loads or [ours_run.load_after[0]]
            print(
                f"ours: {len(setup.students)} submissions in {ours_run.wall_seconds:.1f} s; "
                f"peak RSS {gb(ours_run.peak_rss)}, peak PSS {gb(ours_run.peak_pss)}; "
                f"1-min load mean {statistics.mean(loads):.1f}, max {max(loads):.1f}"
            )
            print_ours(figures)
            print(f"figures: {json_path}")
            return 0
        stock_run = run_stock(args, setup, tag, work)
        found = compare(args, setup, stock_run, ours_results)
        # Medians over the submissions that were run (not the broken files, which both reject
        # in milliseconds).
        ran = {s for s in setup.students if setup.kind(s) in HONEST_KINDS | {"endless-loop"}}
        ours_per = [
            nb.wall_seconds
            for r in ours_results
            if r.student in ran
            for nb in r.notebooks
            if nb.wall_seconds is not None
        ]
        stock_per = [
            t for s, (t, _) in stock_sections(stock_run, setup.students).items() if s in ran
        ]
        figures |= {
            "load_end": os.getloadavg(),
            "runs": {r.name: run_figures(r) for r in (stock_run, ours_run)},
            "median_seconds_per_submission": {"stock": median(stock_per), "ours": median(ours_per)},
            "ratio_stock_over_ours": stock_run.wall_seconds / ours_run.wall_seconds,
            "honest_submissions": len(found.honest),
            "honest_compared": len(found.honest) - len(found.stock_failed_honest),
            "honest_scores_identical": not found.differences,
            "differences": found.differences,
            "stock_failed_honest": found.stock_failed_honest,
            "not_compared": found.others,
        }
        json_path.write_text(json.dumps(figures, indent=1))
        print_figures(args, setup, figures, [(stock_run, stock_per), (ours_run, ours_per)], found)
        print_ours(figures)
        print(f"figures: {json_path}")
        return 1 if found.differences else 2 if found.stock_failed_honest else 0
    finally:
        if args.keep:
            print(f"courses kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
