"""Submission service benchmark: time from upload to visible score, and burst throughput.

Run on demand (it is not a test)::

    python -m benchmarks.service_benchmark [--single N] [--burst 200] [--clients 50] [--workers W]

In one run it releases *upsampling-by-hand* into a temporary course (fixed seed), imports a
roster, starts ``autograder serve`` (SQLite, the local sandboxed pool) and measures

1. **latency** on an otherwise idle service: N single submissions one after the other, each
   from upload to its score being visible (the live-status stream says "graded"), against the
   grading time of that notebook alone (its run in the sandbox, as the grader measured it);
2. **throughput** under a burst: ``--burst`` submissions from ``--clients`` clients at once
   (each client within the rate limit), from the first upload to the last score, against
   ``autograder grade`` run on the same submissions in the same run (one folder per
   submission, the same number of workers, its whole command timed).

It prints p50 and p95 of each, the ratios, the machine's load before and after, and writes the
figures as JSON to ``benchmarks/results/`` (not committed).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import requests

from autograder import simulate
from autograder.course import Course
from autograder.release import release
from autograder.service import db
from tools.toc import BOOK_ROOT as REPO_ROOT

SEED = 20261201
ASSIGNMENT = "upsampling-by-hand"
RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"


class PeakMemory:
    """The largest resident memory of a process tree (the server, its sandboxed workers and
    their submissions' processes), sampled twice a second until ``stop``."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            try:
                root = psutil.Process(self.pid)
                processes = [root, *root.children(recursive=True)]
            except psutil.Error:
                continue
            total = 0
            for process in processes:
                try:
                    total += process.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * (len(ordered) - 1) + 0.5))]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    return subprocess.run(
        [sys.executable, "-m", "autograder", *args],
        capture_output=True,
        text=True,
        env=env,
        input="benchmark password\n",
        check=True,
    )


def submissions(course: Course, count: int) -> list[bytes]:
    """Honest submissions: full, partial and blank answers, the same every run."""
    ids = simulate.answer_ids(course, ASSIGNMENT, ASSIGNMENT)
    kinds = [None, set(ids[:2]), set(ids[:4]), set()]
    return [
        simulate.to_bytes(simulate.answered(course, ASSIGNMENT, ASSIGNMENT, kinds[i % len(kinds)]))
        for i in range(count)
    ]


def wait_graded(session: requests.Session, base: str, token: str, public_id: str) -> None:
    """Until the live-status stream (what the result page listens to) says graded."""
    with session.get(
        f"{base}/api/submissions/{public_id}/events",
        stream=True,
        timeout=900,
        headers={"Authorization": f"Bearer {token}"},
    ) as stream:
        for line in stream.iter_lines():
            if line.startswith(b"data:") and json.loads(line[5:])["state"] == "graded":
                return
    raise RuntimeError(f"{public_id}: the stream ended before it was graded")


def upload(session: requests.Session, base: str, token: str, notebook: bytes) -> str:
    reply = session.post(
        f"{base}/api/submissions",
        headers={"Authorization": f"Bearer {token}"},
        files={"notebook": (f"{ASSIGNMENT}.ipynb", notebook)},
        timeout=120,
    )
    reply.raise_for_status()
    return reply.json()["id"]


def stored_results(course: Course, expected: int) -> dict[str, str]:
    """Public id -> stored result of every submission, after checking that each of the
    ``expected`` uploads (each was accepted: ``upload`` raises otherwise) was graded exactly
    once and none was lost."""
    tally = db.tally(course.db_url)
    if len(tally.states) != expected:
        raise RuntimeError(f"{len(tally.states)} of {expected} submissions stored")
    if tally.not_graded_once():
        raise RuntimeError(f"not graded exactly once: {', '.join(tally.not_graded_once())}")
    return {public_id: result or "" for public_id, result in tally.results.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--single", type=int, default=20, help="idle-latency submissions")
    parser.add_argument("--burst", type=int, default=200, help="submissions in the burst")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    load_before = os.getloadavg()
    top = Path(tempfile.mkdtemp(prefix="service-bench-"))
    course = Course(top / "course")
    print(f"releasing {ASSIGNMENT} ...", flush=True)
    release(course, ASSIGNMENT, seed=SEED)
    per_client = -(-args.burst // args.clients)
    clients = [(f"c{i:03d}", f"Client {i}", f"c{i}@example.org") for i in range(args.clients)]
    roster = top / "roster.csv"
    with roster.open("w", newline="") as f:
        csv.writer(f).writerows([("student id", "name", "email"), *clients])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    common = ["--course", str(course.root)]
    cli(
        "roster",
        "import",
        str(roster),
        "--links",
        str(top / "links.csv"),
        "--public-url",
        base,
        *common,
    )
    with (top / "links.csv").open(newline="") as f:
        tokens = [row["link"].rsplit("/s/", 1)[1] for row in csv.DictReader(f)]
    notebooks = submissions(course, max(args.burst, args.single))
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    log = open(top / "serve.log", "wb")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "autograder",
            "serve",
            *common,
            "--port",
            str(port),
            "--workers",
            str(args.workers),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=5).json()["grading"]:
                    break
            except requests.RequestException:
                pass
            if server.poll() is not None:
                raise RuntimeError((top / "serve.log").read_text())
            time.sleep(0.5)
        session = requests.Session()
        # 1. one at a time, on an idle service; the first one warms the workers up.
        latencies, ids = [], []
        for i in range(args.single + 1):
            token = tokens[i % len(tokens)]
            started = time.perf_counter()
            public_id = upload(session, base, token, notebooks[0])
            wait_graded(session, base, token, public_id)
            if i:
                latencies.append(time.perf_counter() - started)
                ids.append(public_id)

        # 2. the burst: each upload timed to its visible score; the server's memory sampled.
        def client(index: int) -> list[tuple[str, float]]:
            own = requests.Session()
            sent = [
                (
                    upload(
                        own,
                        base,
                        tokens[index],
                        notebooks[(index * per_client + k) % len(notebooks)],
                    ),
                    time.perf_counter(),
                )
                for k in range(per_client)
                if index * per_client + k < args.burst
            ]
            for public_id, _ in sent:
                wait_graded(own, base, tokens[index], public_id)
            return [(public_id, time.perf_counter() - at) for public_id, at in sent]

        peak = PeakMemory(server.pid)
        started = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            burst = [r for rs in pool.map(client, range(args.clients)) for r in rs]
        burst_seconds = time.perf_counter() - started
        peak.stop()
    finally:
        server.terminate()
        server.wait(timeout=120)
        log.close()
    results = stored_results(course, args.burst + args.single + 1)
    burst_latencies = [seconds for _, seconds in burst]
    alone = [json.loads(results[i])["notebooks"][0]["wall_seconds"] for i in ids]
    # 3. the same burst with `autograder grade`, one folder per submission.
    for index in range(args.burst):
        simulate.place(
            course,
            f"b{index:03d}",
            ASSIGNMENT,
            {f"{ASSIGNMENT}.ipynb": notebooks[index % len(notebooks)]},
        )
    started = time.perf_counter()
    students = [a for i in range(args.burst) for a in ("--student", f"b{i:03d}")]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "autograder",
            "grade",
            ASSIGNMENT,
            *common,
            "--workers",
            str(args.workers),
            "--no-progress",
            *students,
        ],
        check=True,
        capture_output=True,
        env=env,
    )
    grade_seconds = time.perf_counter() - started
    figures = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "workers": args.workers,
        "cores": os.cpu_count(),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "latency_p50": statistics.median(latencies),
        "latency_p95": percentile(latencies, 0.95),
        "grading_alone_p50": statistics.median(alone),
        "latency_ratio": statistics.median(latencies) / statistics.median(alone),
        "burst": args.burst,
        "clients": args.clients,
        "burst_seconds": burst_seconds,
        "grade_seconds": grade_seconds,
        "throughput_ratio": grade_seconds / burst_seconds,
        "burst_latency_p50": statistics.median(burst_latencies),
        "burst_latency_p95": percentile(burst_latencies, 0.95),
        "peak_memory_gb": peak.peak / 1024**3,
    }
    print(
        f"idle latency, upload to visible score, {args.single} submissions: "
        f"p50 {figures['latency_p50']:.2f} s, p95 {figures['latency_p95']:.2f} s; "
        f"the notebook's grading alone p50 {figures['grading_alone_p50']:.2f} s: "
        f"ratio {figures['latency_ratio']:.2f} (target <= 1.5)"
    )
    print(
        f"burst of {args.burst} from {args.clients} clients: {burst_seconds:.1f} s "
        f"({args.burst / burst_seconds:.2f}/s); `autograder grade` on the same: "
        f"{grade_seconds:.1f} s; throughput ratio {figures['throughput_ratio']:.2f} "
        f"(target >= 0.9)"
    )
    print(
        f"in the burst, upload to visible score: p50 {figures['burst_latency_p50']:.1f} s, "
        f"p95 {figures['burst_latency_p95']:.1f} s; every submission graded exactly once; "
        f"peak memory of the service (its process tree) {figures['peak_memory_gb']:.2f} GB"
    )
    print(
        f"load average before {figures['load_before']}, after {figures['load_after']} "
        f"({os.cpu_count()} cores)"
    )
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"service-{figures['when'].replace(':', '')}.json"
    out.write_text(json.dumps(figures, indent=2))
    print(f"figures: {out}")
    shutil.rmtree(top, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
