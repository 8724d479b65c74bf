"""jobs.py: the one failure policy, and jobs and outcomes as plain data.

The policy is a function of what each attempt did, so the attempts here are plain functions;
tests/autograder/test_pool.py kills real workers under the local pool.
"""

from __future__ import annotations

import pickle
from dataclasses import replace

from autograder.jobs import (
    RETRIES_AFTER_LOSS,
    CodeCell,
    Job,
    Limits,
    NoWorker,
    RunFailure,
    RunOutcome,
    WorkerLost,
    run_with_policy,
)
from autograder.results import IsolationReport

ISOLATION = IsolationReport(("resource limits",))
JOB = Job("ada/nb", (CodeCell(0, "x = 1"),), seed=7, limits=Limits(), files={"d.csv": b"1,2"})
DONE = RunOutcome(0, None, False, 0.5, 0.4, 100, b"records", b"", ISOLATION, worker="local-0")


def attempts(*results: RunOutcome | Exception):
    """An attempt function that gives ``results`` in turn, and the list of jobs it was given."""
    given: list[Job] = []
    queue = list(results)

    def attempt(job: Job) -> RunOutcome:
        given.append(job)
        result = queue.pop(0)
        if isinstance(result, Exception):
            raise result
        return result

    return attempt, given


def test_a_run_that_ends_is_the_outcome_whatever_the_job_did():
    crashed = RunOutcome(None, 9, False, 0.1, 0.1, 1, b"", b"", ISOLATION)
    for result in (DONE, crashed):
        attempt, given = attempts(result)
        assert run_with_policy(JOB, attempt, ISOLATION) == result
        assert given == [JOB]  # no retry: a job's own death or limit is its outcome


def test_a_job_lost_to_the_infrastructure_runs_once_more():
    attempt, given = attempts(WorkerLost("worker local-0 died"), DONE)
    outcome = run_with_policy(JOB, attempt, ISOLATION)
    assert outcome.exit_code == 0 and outcome.lost_workers == 1 and outcome.failure is None
    assert outcome.lost_detail == "worker local-0 died"  # the report names the loss
    assert given == [JOB, JOB]


def test_a_job_that_loses_a_second_worker_is_the_cause():
    attempt, given = attempts(WorkerLost("first"), WorkerLost("second"), DONE)
    outcome = run_with_policy(JOB, attempt, ISOLATION)
    assert outcome.failure is RunFailure.WORKERS_LOST and outcome.lost_workers == 2
    assert outcome.failure_detail == "first; second" and outcome.records == b""
    assert len(given) == 1 + RETRIES_AFTER_LOSS == 2


def test_losses_before_the_runner_count_in_the_same_policy():
    """A job a service process was lost with has used its one retry: losing a sandbox worker
    too makes it the cause (one policy across layers, not one retry per layer)."""
    requeued = replace(JOB, prior_losses=1)
    attempt, given = attempts(WorkerLost("worker local-1 died"), DONE)
    outcome = run_with_policy(requeued, attempt, ISOLATION)
    assert outcome.failure is RunFailure.WORKERS_LOST and outcome.lost_workers == 1
    assert outcome.failure_detail == "lost 1 time(s) before; worker local-1 died"
    assert given == [requeued]
    # A requeued job whose run goes well is simply its outcome.
    attempt, given = attempts(DONE)
    assert run_with_policy(requeued, attempt, ISOLATION) == DONE and given == [requeued]


def test_no_worker_is_the_graders_failure():
    attempt, _ = attempts(WorkerLost("died"), NoWorker("bubblewrap failed"))
    outcome = run_with_policy(JOB, attempt, ISOLATION)
    assert (outcome.failure, outcome.failure_detail) == (RunFailure.NO_WORKER, "bubblewrap failed")
    assert outcome.lost_workers == 1


def test_jobs_and_outcomes_are_plain_data():
    assert pickle.loads(pickle.dumps(JOB)) == JOB
    assert pickle.loads(pickle.dumps(DONE)) == DONE
    assert Limits.for_timeout(30, 2**30) == Limits(
        wall_seconds=30, cpu_seconds=60, memory_bytes=2**30
    )
