"""Cluster benchmark: grading on Dask workers against the local pool, in one run.

Run on demand (it is not a test)::

    python -m benchmarks.cluster_benchmark [--students N]

It releases upsampling-by-hand into a temporary course (fixed seed), makes N honest submissions
(full, partial and blank answers; the same every run) and grades the same files three times:

1. on the local sandboxed pool, one worker, pinned to core 0 (the baseline);
2. on a Dask cluster of real processes over TLS on loopback (``cluster.processes``): one
   ``dask worker --nthreads 1`` pinned to core 0 with taskset;
3. the same cluster with a second worker pinned to core 1.

The coordinator (this process: preparing jobs, scoring, the gradebook) and the scheduler are not
pinned: they share the machine with the workers. Each grading starts with warm pools (the
workers' pools have started before the clock starts). It prints each run's wall time,
throughput and the CPU time of the coordinator and of the scheduler per submission; the ratio
of throughputs with two workers and with one (target >= 1.5); the overhead per submission of
one Dask worker over the local pool's one worker (target <= 10 %); an estimate for 1,000
submissions on N workers of 2 cores from those figures; and the machine's load. It exits with
status 1 if any cell's score differs between the runs. Figures go to ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from autograder import simulate
from autograder.cluster import Cluster
from autograder.cluster.certs import make_certificates
from autograder.cluster.processes import LocalCluster
from autograder.cluster.runner import DaskRunner
from autograder.course import Course
from autograder.grader import Grader
from autograder.jobs import JobRunner, Limits
from autograder.release import release
from autograder.sandbox.isolation import detect
from autograder.sandbox.pool import LocalPool
from benchmarks.grading_benchmark import RESULTS_DIR, copy_course, machine, our_scores
from benchmarks.service_benchmark import ASSIGNMENT, submissions

SEED = 20261201
#: Workers of 2 cores the estimate for 1,000 submissions is given for.
ESTIMATE_WORKERS = (1, 2, 5, 10, 25, 50)


@dataclass
class Timing:
    name: str
    seconds: float
    coordinator_cpu: float  # this process, during the grading
    scheduler_cpu: float  # the scheduler process, during the grading (0: no scheduler)
    load: float  # 1-minute load average at the end
    scores: dict

    def per_submission(self, n: int) -> float:
        return self.seconds / n


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cpu_of(process: psutil.Process | None) -> float:
    if process is None:
        return 0.0
    times = process.cpu_times()
    return times.user + times.system


def grade(
    name: str,
    released: Course,
    work: Path,
    files: list[bytes],
    runner: JobRunner,
    scheduler: psutil.Process | None,
) -> Timing:
    course = copy_course(released, work / name)
    for i, data in enumerate(files):
        simulate.place(course, f"student-{i:03d}", ASSIGNMENT, {f"{ASSIGNMENT}.ipynb": data})
    grader = Grader(course, ASSIGNMENT, limits=Limits(wall_seconds=120))
    cpu, scheduler_cpu, started = _own_cpu(), _cpu_of(scheduler), time.monotonic()
    results = grader.grade(progress=False, runner=runner)
    seconds = time.monotonic() - started
    timing = Timing(
        name,
        seconds,
        _own_cpu() - cpu,
        _cpu_of(scheduler) - scheduler_cpu,
        os.getloadavg()[0],
        our_scores(results),
    )
    n = len(files)
    print(
        f"{name:<34} {seconds:7.1f} s  {n / seconds:5.2f} submissions/s  "
        f"coordinator {timing.coordinator_cpu / n * 1000:6.1f} ms CPU/submission  "
        f"scheduler {timing.scheduler_cpu / n * 1000:6.1f} ms CPU/submission  "
        f"load {timing.load:.1f}",
        flush=True,
    )
    return timing


def local_baseline(released: Course, work: Path, files: list[bytes]) -> Timing:
    """The local pool with one worker on core 0 (its thread starts the zygote, which keeps
    that affinity; the coordinator's own threads are not pinned)."""
    everything = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {0})
    try:
        pool = LocalPool(detect(), 1)
    finally:
        os.sched_setaffinity(0, everything)
    with pool:
        return grade("local pool, 1 worker (core 0)", released, work, files, pool, None)


def estimate(one_core_seconds: float, coordinator_cpu: float) -> list[dict]:
    """1,000 submissions on N workers of 2 cores: the workers' rate (2N runs at once, each as
    long as on one core here) or the coordinator's (one core, its CPU per submission), the
    slower of the two."""
    rows = []
    for n in ESTIMATE_WORKERS:
        workers_rate = 2 * n / one_core_seconds
        coordinator_rate = 1 / coordinator_cpu if coordinator_cpu > 0 else float("inf")
        rate = min(workers_rate, coordinator_rate)
        rows.append(
            {
                "workers": n,
                "submissions_per_second": rate,
                "minutes_for_1000": 1000 / rate / 60,
                "bound_by": "workers" if workers_rate <= coordinator_rate else "coordinator",
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=16, help="submissions (default 16)")
    args = parser.parse_args(argv)
    if len(os.sched_getaffinity(0)) < 2:
        print("error: needs two cores (one per worker)", file=sys.stderr)
        return 2
    n = args.students
    with tempfile.TemporaryDirectory(prefix="cluster-benchmark-") as tmp:
        work = Path(tmp)
        released = Course(work / "released")
        release(released, ASSIGNMENT, seed=SEED)
        files = submissions(released, n)
        print(f"{n} submissions of {ASSIGNMENT}; machine load {os.getloadavg()[0]:.1f}")
        timings = [local_baseline(released, work, files)]
        make_certificates(work / "tls", ["127.0.0.1"])
        cluster = LocalCluster(work / "tls", work / "cluster")
        try:
            address = cluster.start_scheduler()
            assert cluster.scheduler is not None
            scheduler = psutil.Process(cluster.scheduler.pid)
            for count in (1, 2):
                cluster.start_worker(f"w{count}", nthreads=1, cpus={count - 1})
                runner = DaskRunner(Cluster(address, work / "tls"), require_sandbox=True)
                try:
                    runner.client.wait_for_workers(count, timeout=120)
                    problems = runner.wait_until_warm()
                    if problems:
                        print(f"error: workers did not start: {problems}", file=sys.stderr)
                        return 2
                    name = f"Dask, {count} worker{'s' * (count > 1)} (1 core each)"
                    timings.append(grade(name, released, work, files, runner, scheduler))
                finally:
                    runner.close()
        finally:
            cluster.close()
    local, one, two = timings
    ratio = one.seconds / two.seconds
    overhead = one.seconds / local.seconds - 1
    differ = [t.name for t in (one, two) if t.scores != local.scores]
    print(f"\nthroughput, 2 workers / 1 worker: {ratio:.2f} (target >= 1.5)")
    print(f"per-submission overhead of a Dask worker over the local pool: {overhead:+.1%} (<= 10%)")
    rows = estimate(one.per_submission(n), one.coordinator_cpu / n)
    print("\nestimate, 1,000 submissions on N workers of 2 cores:")
    for row in rows:
        print(
            f"  N={row['workers']:>3}: {row['minutes_for_1000']:6.1f} min "
            f"({row['submissions_per_second']:.2f}/s, bound by the {row['bound_by']})"
        )
    print("scores per cell: " + (f"DIFFER in {differ}" if differ else "identical in all runs"))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = RESULTS_DIR / f"cluster-n{n}-{stamp}.json"
    out.write_text(
        json.dumps(
            {
                "machine": machine(),
                "students": n,
                "runs": [{k: v for k, v in asdict(t).items() if k != "scores"} for t in timings],
                "ratio_two_to_one": ratio,
                "overhead_over_local": overhead,
                "estimate_1000": rows,
                "scores_differ": differ,
            },
            indent=2,
        )
    )
    print(f"figures: {out}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
