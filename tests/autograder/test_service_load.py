"""The submission service under load (issue 17): 60 submissions from 20 concurrent clients over
loopback, each client within the rate limit, against a real ``autograder serve`` on the course's
SQLite gradebook. Every upload must be accepted, scored as expected, graded exactly once, none
lost. Prints the upload-to-score latency (p50, p95) and the service's peak memory (its process
tree: the web server and the sandboxed workers with their submissions' processes).

The 200-submission burst from 50 clients, with throughput against ``autograder grade``, is the
benchmark's job (benchmarks/service_benchmark.py), not a test's.
"""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from autograder import simulate

from .conftest import ASSIGNMENT, fresh_course, partial_answers
from .service_helpers import (
    Responses,
    Service,
    assert_each_graded_once,
    make_class,
    upload,
    wait_graded,
)

pytestmark = pytest.mark.grading

CLIENTS = 20
PER_CLIENT = 3  # within the default policy's 10 per hour


def test_sixty_submissions_from_twenty_clients(released_course, tmp_path):
    course = fresh_course(released_course, tmp_path)
    service = Service(course, tmp_path / "serve.log", workers=2)
    students = [(f"s{i:02d}", f"Student {i}", f"s{i}@example.org") for i in range(CLIENTS)]
    tokens = make_class(course, students, tmp_path / "links.csv", service.base)
    chosen, partial_points = partial_answers(course)
    notebooks = [
        (
            simulate.to_bytes(simulate.answered(course, ASSIGNMENT, ASSIGNMENT, chosen)),
            partial_points,
        ),
        (simulate.to_bytes(simulate.answered(course, ASSIGNMENT, ASSIGNMENT, set())), 0.0),
    ]
    service.start()
    service.sample_memory()
    responses = Responses()

    def client(index: int) -> list[tuple[str, float]]:
        """One student: submit, wait for the score, submit again (upload -> score seconds)."""
        session = responses.session()
        token = tokens[f"s{index:02d}"]
        done = []
        for round_ in range(PER_CLIENT):
            notebook, expected = notebooks[(index + round_) % 2]
            started = time.monotonic()
            sent = upload(session, service, token, notebook)
            assert sent.status_code == 201, sent.text
            result = wait_graded(session, service, token, sent.json()["id"])
            done.append((sent.json()["id"], time.monotonic() - started))
            assert result["result"]["score"] == expected, result
        return done

    started = time.monotonic()
    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            results = [r for rs in pool.map(client, range(CLIENTS)) for r in rs]
        elapsed = time.monotonic() - started
    finally:
        service.stop()
    assert len(results) == CLIENTS * PER_CLIENT
    assert_each_graded_once(course, [public_id for public_id, _ in results])
    latencies = sorted(seconds for _, seconds in results)
    p50 = statistics.median(latencies)
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    print(
        f"\nservice load: {len(results)} submissions from {CLIENTS} clients in {elapsed:.1f} s "
        f"({len(results) / elapsed:.2f}/s, 2 workers); upload to score p50 {p50:.2f} s, "
        f"p95 {p95:.2f} s; peak memory of the service {service.peak_rss / 1024**3:.2f} GB"
    )
