"""Grading on a Dask cluster (issue 18), with real processes: a ``dask scheduler`` and
``dask worker`` processes (``--nthreads 1``) over TLS on loopback.

Workers ``a`` and ``b`` have the sandbox; ``nobwrap`` is started with bubblewrap hidden from its
PATH. The tests run in file order on one cluster; the last one kills worker ``b``.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from distributed import Client
from distributed.protocol import pickle as dask_pickle

from autograder import simulate
from autograder.answer_key import AnswerKey
from autograder.cli import main
from autograder.cluster import Cluster
from autograder.cluster.certs import make_certificates, security
from autograder.cluster.processes import LocalCluster
from autograder.cluster.runner import ClusterRefused, DaskRunner
from autograder.gradebook import CourseGradebook
from autograder.grader import Grader
from autograder.jobs import CodeCell, Job, Limits
from autograder.results import Status, StudentResult
from autograder.service.grading import GradingCore, Upload

from .conftest import ASSIGNMENT, TEST_LIMITS, fresh_course, place_class

pytestmark = pytest.mark.grading

SANDBOXED = ("a", "b")
NO_BWRAP = "nobwrap"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cluster")
    make_certificates(folder / "tls", ["localhost", "127.0.0.1"])
    processes = LocalCluster(folder / "tls", folder / "run")
    try:
        processes.start_scheduler()
        for name in SANDBOXED:
            processes.start_worker(name)
        # The virtualenv's bin folder only: python and dask, no bwrap.
        processes.start_worker(NO_BWRAP, path=str(Path(sys.executable).parent))
        with Client(processes.address, security=security(folder / "tls")) as client:
            client.wait_for_workers(3, timeout=120)
        yield processes
    finally:
        processes.close()


def _grade_cli(course, cluster: LocalCluster, *extra: str) -> int:
    argv = [
        "grade",
        ASSIGNMENT,
        "--course",
        str(course.root),
        "--scheduler",
        cluster.address,
        "--tls-dir",
        str(cluster.tls_dir),
        "--timeout",
        str(TEST_LIMITS.wall_seconds),
        "--memory-mb",
        str(TEST_LIMITS.memory_bytes // 1024**2),
        "--no-progress",
        *extra,
    ]
    return main(argv)


def _report(course) -> dict:
    return json.loads((course.reports_dir / f"grading-{ASSIGNMENT}.json").read_text())


def _cell_scores(result: StudentResult) -> dict[str, tuple[Status, dict[str, float | None]]]:
    return {
        n.name: (n.status, {gid: c.score for gid, c in n.cells.items()}) for n in result.notebooks
    }


NETWORK_PROBE = (
    "import socket\nfor port in {ports!r}:\n    try:\n"
    "        socket.create_connection(('127.0.0.1', port), timeout=3).close()\n"
    "        print('CONNECTED', port)\n"
    "    except OSError as e:\n        print('NETWORK', port, type(e).__name__)\n"
)


def _ports(cluster: LocalCluster) -> list[int]:
    with Client(cluster.address, security=security(cluster.tls_dir)) as client:
        addresses = [cluster.address, *client.scheduler_info()["workers"]]
    return [int(a.rsplit(":", 1)[1]) for a in addresses]


@pytest.fixture(scope="module")
def sandboxed_run(cluster, released_course, graded_class, tmp_path_factory):
    """The class of ``graded_class`` and a hostile student, graded with ``--require-sandbox``;
    what the coordinator handed Dask is kept."""
    course = fresh_course(released_course, tmp_path_factory.mktemp("on-cluster"))
    expected = place_class(course)
    ports = _ports(cluster)
    probe = simulate.answered(
        course, ASSIGNMENT, ASSIGNMENT, None, {"upsample-by": NETWORK_PROBE.format(ports=ports)}
    )
    simulate.place(course, "mallory", ASSIGNMENT, {f"{ASSIGNMENT}.ipynb": simulate.to_bytes(probe)})
    sent: list[bytes] = []
    submit = Client.submit

    def recording_submit(self, func, *args, **kwargs):
        sent.append(dask_pickle.dumps((func, args)))
        return submit(self, func, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Client, "submit", recording_submit)
        code = _grade_cli(course, cluster, "--require-sandbox")
    report = _report(course)
    results = {r["student"]: StudentResult.from_json(r) for r in report["results"]}
    return {
        "code": code,
        "course": course,
        "expected": expected,
        "report": report,
        "results": results,
        "sent": sent,
        "ports": ports,
    }


def test_cluster_scores_equal_the_local_pool_per_cell(sandboxed_run, graded_class):
    assert sandboxed_run["code"] == 0
    results = sandboxed_run["results"]
    for student, local in graded_class.results.items():
        assert _cell_scores(results[student]) == _cell_scores(local), student
        assert results[student].score == local.score
    for student, total in sandboxed_run["expected"].items():
        assert results[student].score == total


def test_require_sandbox_runs_nothing_on_the_worker_without_bubblewrap(sandboxed_run):
    report = sandboxed_run["report"]
    assert set(report["workers"]) <= set(SANDBOXED) and report["workers"]
    assert f"worker {NO_BWRAP} is not used: it has no sandbox" in report["isolation"]
    for isolation in report["workers"].values():
        assert "bubblewrap" in isolation
    for result in sandboxed_run["results"].values():
        assert "bubblewrap (private filesystem view" in " ".join(result.isolation.layers)


def test_student_code_cannot_reach_the_scheduler_or_the_workers(sandboxed_run):
    result = sandboxed_run["results"]["mallory"]
    outputs = " ".join(e.out for e in result.notebooks[0].outputs.values())
    for port in sandboxed_run["ports"]:
        assert f"NETWORK {port}" in outputs
    assert "CONNECTED" not in outputs


def _key_signatures(key: AnswerKey) -> set[bytes]:
    """How an expected array could travel: as JSON text, or as float32/float64 bytes."""
    signatures = set()
    for notebook in key.notebooks.values():
        for cell in notebook.cells.values():
            for expected in cell.values.values():
                value = expected.value
                data = value.get("data") if isinstance(value, dict) else value
                if isinstance(data, list) and len(data) >= 8:
                    signatures.add(json.dumps(data).encode())
                    for dtype in ("float32", "float64"):
                        signatures.add(np.asarray(data, dtype).tobytes())
    return signatures


def test_workers_receive_no_answer_key_value(sandboxed_run):
    """What was pickled for the workers: jobs of plain data (cells, files, seed), and none of
    the key's expected arrays in any form."""
    course, sent = sandboxed_run["course"], sandboxed_run["sent"]
    signatures = _key_signatures(AnswerKey.load(course.key_path(ASSIGNMENT)))
    assert len(signatures) > 10  # the key has arrays worth looking for
    assert len(sent) == sum(1 for r in sandboxed_run["results"].values() if r.scored)
    for payload in sent:
        func, (job, require_sandbox) = dask_pickle.loads(payload)
        assert func.__name__ == "run_attempt" and require_sandbox is True
        assert type(job) is Job and type(job.limits) is Limits
        assert all(type(c) is CodeCell and type(c.source) is str for c in job.cells)
        assert all(type(v) is bytes for v in job.files.values())
        assert not [s for s in signatures if s in payload]


def test_a_client_with_another_cas_certificate_is_refused(cluster, tmp_path):
    """Every connection is mutual TLS with the instructor's CA: a certificate of another CA
    gets no connection to the scheduler."""
    make_certificates(tmp_path / "other", ["localhost", "127.0.0.1"])
    with pytest.raises(OSError):
        Client(cluster.address, security=security(tmp_path / "other"), timeout=10)


def test_without_require_sandbox_the_report_names_what_each_worker_lacks(
    cluster, released_course, tmp_path
):
    course = fresh_course(released_course, tmp_path)
    place_class(course)
    code = _grade_cli(course, cluster, "--student", "ada")
    assert code == 0
    isolation = _report(course)["isolation"]
    assert f"worker {NO_BWRAP}: bubblewrap (bwrap) is not installed" in isolation
    for name in SANDBOXED:
        assert f"worker {name}: bubblewrap" not in isolation


def test_the_submission_service_grades_on_the_cluster(cluster, released_course, tmp_path):
    """``serve --scheduler``: the service's grading core starts its runner from the same
    factory, requires the workers' sandbox, and stores the isolation of the worker used."""
    course = fresh_course(released_course, tmp_path)
    core = GradingCore(
        course,
        timeout=TEST_LIMITS.wall_seconds,
        memory_bytes=TEST_LIMITS.memory_bytes,
        cluster=Cluster(cluster.address, cluster.tls_dir),
    )
    core.start()
    try:
        full = simulate.to_bytes(simulate.answered(course, ASSIGNMENT, ASSIGNMENT, None))
        upload = Upload("p1", "ada", ASSIGNMENT, ASSIGNMENT, full, dt.datetime(2026, 12, 1))
        outcome = core.grade(upload)
        assert f"worker {NO_BWRAP} is not used" in core.isolation_text
    finally:
        core.close()
    assert core.sandboxed and outcome.status is Status.GRADED
    key = AnswerKey.load(course.key_path(ASSIGNMENT))
    assert outcome.result.score == key.notebooks[ASSIGNMENT].auto_score
    assert any(layer.startswith("bubblewrap") for layer in outcome.result.isolation.layers)


def test_a_killed_worker_loses_no_submission_and_doubles_none(cluster, released_course, tmp_path):
    course = fresh_course(released_course, tmp_path)
    full = simulate.to_bytes(simulate.answered(course, ASSIGNMENT, ASSIGNMENT, None))
    students = [f"s{i}" for i in range(4)]
    for student in students:
        simulate.place(course, student, ASSIGNMENT, {f"{ASSIGNMENT}.ipynb": full})
    stored: Counter[str] = Counter()
    grader = Grader(course, ASSIGNMENT, limits=TEST_LIMITS, require_sandbox=True)
    runner = DaskRunner(Cluster(cluster.address, cluster.tls_dir), require_sandbox=True)
    results: list[StudentResult] = []

    def grade() -> None:
        on_result = lambda r: stored.update([r.student])  # noqa: E731
        results.extend(grader.grade(progress=False, runner=runner, on_result=on_result))

    grading = threading.Thread(target=grade)
    with Client(cluster.address, security=security(cluster.tls_dir)) as watcher:
        b = next(a for a, w in watcher.scheduler_info()["workers"].items() if w["name"] == "b")
        grading.start()
        deadline = time.monotonic() + 300
        while not watcher.processing(workers=[b])[b]:  # b is running a job
            assert time.monotonic() < deadline, "no job reached worker b"
            time.sleep(0.05)
        cluster.kill_worker("b")
        grading.join(timeout=600)
    runner.close()
    assert not grading.is_alive()
    assert sorted(r.student for r in results) == students
    assert stored == Counter(students)  # each stored once
    full_score = grader.assignment.key.notebooks[ASSIGNMENT].auto_score
    assert [r.score for r in results] == [full_score] * len(students)
    assert [r.status for r in results] == [Status.GRADED] * len(students)
    assert len(grader.reruns) == 1
    rerun = grader.reruns[0]
    assert rerun.lost == 1 and "the Dask worker b (" in rerun.detail
    assert rerun.worker.startswith("a/")
    with CourseGradebook(course) as gradebook:
        assert sorted(gradebook.results(ASSIGNMENT)) == students


def test_require_sandbox_refuses_a_cluster_without_one(cluster, released_course, tmp_path):
    """With worker b killed above and a stopped here, only the worker without bubblewrap is
    left: --require-sandbox refuses to grade on it and says why."""
    cluster.kill_worker("a")
    course = fresh_course(released_course, tmp_path)
    place_class(course)
    with pytest.raises(ClusterRefused, match=f"worker {NO_BWRAP}: bubblewrap"):
        DaskRunner(Cluster(cluster.address, cluster.tls_dir), require_sandbox=True)
    assert _grade_cli(course, cluster, "--require-sandbox") == 1
    assert not (course.reports_dir / f"grading-{ASSIGNMENT}.json").exists()


def test_a_scheduler_that_retries_by_itself_is_refused(tmp_path):
    """The failure policy must see every loss: a scheduler that reruns a task whose worker
    died (allowed-failures above 0) is refused before any job is sent."""
    make_certificates(tmp_path / "tls", ["127.0.0.1"])
    retrying = LocalCluster(tmp_path / "tls", tmp_path / "run")
    try:
        address = retrying.start_scheduler(
            extra_env={"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "3"}
        )
        with pytest.raises(ClusterRefused, match="ALLOWED_FAILURES=0"):
            DaskRunner(Cluster(address, tmp_path / "tls"))
    finally:
        retrying.close()


def test_cluster_certs_makes_a_ca_and_says_how_to_start(tmp_path, capsys):
    folder = tmp_path / "tls"
    assert main(["cluster-certs", str(folder), "--host", "sched.example.edu"]) == 0
    out = capsys.readouterr().out
    assert "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=0 dask scheduler --protocol tls" in out
    assert "dask worker tls://sched.example.edu:8786" in out
    for key in folder.glob("*-key.pem"):
        assert key.stat().st_mode & 0o077 == 0  # private keys: the owner's only
    assert sorted(p.name for p in folder.glob("*.pem")) == [
        "ca-key.pem",
        "ca.pem",
        "client-key.pem",
        "client.pem",
        "scheduler-key.pem",
        "scheduler.pem",
        "worker-key.pem",
        "worker.pem",
    ]
