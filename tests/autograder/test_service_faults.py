"""The submission service's faults (issue 17), with real processes: ``kill -9`` of a service
process while it grades, a sandboxed worker killed from outside mid-job, and a PostgreSQL
restart mid-run. Every submission must end graded exactly once; none may be lost.
"""

from __future__ import annotations

import signal
import time

import psutil
import pytest
from sqlalchemy import create_engine, select

from autograder import simulate
from autograder.course import Course
from autograder.gradebook import CourseGradebook
from autograder.release import release
from autograder.service import db
from autograder.service.queue import HEARTBEAT_SECONDS
from autograder.service.runner import RECONCILE_BEATS

from .conftest import ASSIGNMENT, SEED, fresh_course, partial_answers
from .postgres import PostgresServer
from .service_helpers import (
    Responses,
    Service,
    assert_each_graded_once,
    make_class,
    tree,
    upload,
    wait_graded,
)

pytestmark = pytest.mark.grading

NB = ASSIGNMENT
#: A cell that keeps a submission's process busy, so it can be caught mid-job.
SLOW = "import time\ntime.sleep({seconds})\n"


@pytest.fixture(scope="module")
def postgres():
    server = PostgresServer()
    yield server
    server.close()


def _slow(course: Course, seconds: float, answers: set[str] | None = None) -> bytes:
    nb = simulate.answered(course, ASSIGNMENT, NB, answers)
    nb["cells"].append(
        {
            "cell_type": "code",
            "metadata": {},
            "outputs": [],
            "execution_count": None,
            "source": SLOW.format(seconds=seconds),
        }
    )
    return simulate.to_bytes(nb)


def _jobs(course: Course) -> list:
    engine = create_engine(course.db_url)
    with engine.connect() as conn:
        rows = list(conn.execute(select(db.jobs)).all())
    engine.dispose()
    return rows


def _wait_for(condition, what: str, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


RECONCILE_SECONDS = RECONCILE_BEATS * HEARTBEAT_SECONDS


def _assert_graded_once(course: Course, sent: list[tuple[str, str]]) -> None:
    """Every upload graded, each by exactly one finished job, and in the gradebook."""
    assert_each_graded_once(course, [public_id for _, public_id in sent])
    # The gradebook follows the queue: each result is synced right after it is stored, and a
    # sync that failed (two processes creating the same gradebook rows at once) is redone by
    # the periodic reconciliation (runner.RECONCILE_BEATS heartbeats).
    students = {student for student, _ in sent}

    def in_gradebook() -> bool:
        with CourseGradebook(course) as gradebook:
            return set(gradebook.results(ASSIGNMENT)) == students

    _wait_for(in_gradebook, "every graded student in the gradebook", timeout=3 * RECONCILE_SECONDS)


def test_kill_9_of_a_service_process_while_grading(released_course, tmp_path, postgres):
    """Two service processes share PostgreSQL; one is killed while it grades. Its job runs
    again (the other process requeues it at once: same host, dead pid), then the killed one is
    restarted; every submission is graded exactly once."""
    course, first, tokens = _start(
        released_course, tmp_path, "kay", 4, 1, postgres.create_database("kill9")
    )
    session = Responses().session()
    sent = []
    for student in tokens:
        reply = upload(session, first, tokens[student], _slow(course, 4))
        assert reply.status_code == 201, reply.text
        sent.append((student, reply.json()["id"]))
    _wait_for(lambda: any(j.state == "grading" for j in _jobs(course)), "a job in grading")
    # The second process's pages and queue are up at once; its sandboxed workers start in the
    # background (minutes on a loaded machine), while the first still holds a job.
    second = Service(course, tmp_path / "second.log", workers=1).start(wait_grading=False)
    try:
        engine = create_engine(course.db_url)
        with engine.connect() as conn:
            first_id = conn.scalar(
                select(db.processes.c.id).where(db.processes.c.pid == first.process.pid)
            )
        engine.dispose()
        first.kill9()
        # Its job, still claimed by it, or already requeued by the second process (a loss is
        # counted only when a process dies, and none had died before).
        killed = [
            j.id
            for j in _jobs(course)
            if (j.state == "grading" and j.claimed_by == first_id) or j.losses
        ]
        assert killed, "the killed process held no job"
        first.start()  # restarted: it and the second process share the queue
        for student, public_id in sent:
            wait_graded(session, second, tokens[student], public_id)
        _assert_graded_once(course, sent)
        jobs = {j.id: j for j in _jobs(course)}
        assert [jobs[j].losses for j in killed] == [1] * len(killed)
        # The loss travels with the job into the one failure policy, and is what the
        # submission's page reports ("ran again after 1 grading worker(s) were lost").
        assert [jobs[j].worker_losses for j in killed] == [1] * len(killed)
    finally:
        first.stop()
        second.stop()


def _is_zygote(process: psutil.Process) -> bool:
    return "autograder.sandbox.zygote" in process.cmdline() and process.name() != "bwrap"


def _zygote(service: Service) -> psutil.Process | None:
    """The pristine worker (inside bubblewrap) of a one-worker service, if it runs: not its
    clean-up helper or a job's process, which are forks of it."""
    assert service.process is not None
    for process in tree(service.process.pid):
        try:
            if _is_zygote(process) and not _is_zygote(process.parent()):
                return process
        except (psutil.Error, AttributeError):  # gone, or no parent any more
            continue
    return None


def _runs_a_job(worker: psutil.Process) -> bool:
    """Whether the worker has forked a job's process. As root it also has its clean-up helper,
    a root child that runs no job; a job's process runs as the worker's user of its own."""
    root = worker.uids().real == 0
    return any(not root or child.uids().real != 0 for child in worker.children())


def _kill_worker_mid_job(service: Service, not_this: int | None = None) -> int:
    """Wait until a worker (other than ``not_this``) runs a job (it has forked the job's
    process), then kill it from outside; returns its pid."""
    found: list[psutil.Process] = []

    def busy() -> bool:
        worker = _zygote(service)
        try:
            if worker is not None and worker.pid != not_this and _runs_a_job(worker):
                found.append(worker)
                return True
        except psutil.Error:
            pass
        return False

    _wait_for(busy, "a worker running a job")
    found[-1].send_signal(signal.SIGKILL)
    return found[-1].pid


def _start(
    released_course, tmp_path, name: str, count: int, workers: int, db_url: str | None = None
) -> tuple[Course, Service, dict[str, str]]:
    """A course with ``count`` students and its service, started. On PostgreSQL the
    assignment is released again, which registers it in that database."""
    course = fresh_course(released_course, tmp_path, db_url=db_url or "")
    if db_url is not None:
        release(course, ASSIGNMENT, seed=SEED)
    service = Service(course, tmp_path / f"{name}.log", workers=workers)
    students = [
        (f"{name}{i}", f"{name.title()} {i}", f"{name}{i}@example.org") for i in range(count)
    ]
    tokens = make_class(course, students, tmp_path / "links.csv", service.base)
    return course, service.start(), tokens


def test_a_sandbox_worker_killed_mid_job(released_course, tmp_path):
    """Killed once: the job runs again on a fresh worker and is graded. Killed twice: the
    submission is taken for the cause and not run again (the one failure policy)."""
    course, service, tokens = _start(released_course, tmp_path, "wanda", 2, 1)
    session = Responses().session()
    chosen, points = partial_answers(course)
    try:
        once = upload(session, service, tokens["wanda0"], _slow(course, 5, chosen)).json()["id"]
        _kill_worker_mid_job(service)
        graded = wait_graded(session, service, tokens["wanda0"], once)
        assert graded["result"]["status"] == "graded" and graded["result"]["score"] == points
        twice = upload(session, service, tokens["wanda1"], _slow(course, 5, chosen)).json()["id"]
        killed = _kill_worker_mid_job(service)
        _kill_worker_mid_job(service, not_this=killed)  # the fresh worker running it again
        lost = wait_graded(session, service, tokens["wanda1"], twice)["result"]
        # The submission is the cause, as if its own process had died: 0 for what it did not
        # prove (results.Status.WORKERS_LOST is scored, as in `autograder grade`).
        assert lost["status"] == "workers-lost" and lost["scored"] and lost["score"] == 0
        assert lost["status_words"] == "took down two grading workers"
        losses = {j.submission_id: j.worker_losses for j in _jobs(course)}
        assert sorted(losses.values()) == [1, 2]
    finally:
        service.stop()


def test_postgres_restarted_mid_run(released_course, tmp_path, postgres):
    course, service, tokens = _start(
        released_course, tmp_path, "pat", 5, 2, postgres.create_database("restart")
    )
    session = Responses().session()
    chosen, _ = partial_answers(course)
    sent = []
    try:
        for student in tokens:
            reply = upload(session, service, tokens[student], _slow(course, 2, chosen))
            assert reply.status_code == 201, reply.text
            sent.append((student, reply.json()["id"]))
        _wait_for(lambda: any(j.state == "grading" for j in _jobs(course)), "a job in grading")
        postgres.restart()
        for student in tokens:  # uploads right after the restart: retried until accepted
            reply = upload(session, service, tokens[student], _slow(course, 0, chosen))
            assert reply.status_code == 201, reply.text
            sent.append((student, reply.json()["id"]))
        for student, public_id in sent:
            wait_graded(session, service, tokens[student], public_id)
        _assert_graded_once(course, sent)
    finally:
        service.stop()
