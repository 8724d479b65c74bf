"""The coordinator's side: :class:`DaskRunner`, a :class:`~autograder.jobs.JobRunner` that
runs jobs on a Dask cluster.

The failure policy is the coordinator's (``jobs.run_with_policy``): each attempt is one Dask
task; a task whose worker died (Dask's ``KilledWorker``) or whose sandboxed process was lost
(``WorkerLost`` from the worker's pool) counts as a lost worker, and the policy runs the job
once more or names the loss. The scheduler must not retry by itself: it must run with
``distributed.scheduler.allowed-failures`` at 0 (checked when the runner connects), or a job
that kills its worker would kill several before the policy saw the first.

Which workers may run jobs: every worker, or (``require_sandbox``) only those whose sandbox
works; a worker without one is named in the runner's isolation report either way.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import dask.config
from distributed import Client, KilledWorker

from ..jobs import Job, NoWorker, RunOutcome, WorkerLost, run_with_policy
from ..results import IsolationReport
from . import Cluster
from .certs import security
from .worker import (
    PLUGIN_NAME,
    SandboxPlugin,
    WorkerIsolation,
    pool_ready,
    run_attempt,
    worker_isolation,
)

#: How long the runner waits for the scheduler and a first worker.
CONNECT_SECONDS = 60.0
#: How often a waiting attempt checks that some worker can still run it.
POLL_SECONDS = 5.0
#: Coordinator threads (each waits for one job in flight; jobs beyond queue here).
MAX_IN_FLIGHT = 512


class ClusterRefused(RuntimeError):
    """The cluster cannot grade as asked (no usable worker, or a scheduler that retries)."""


def _allowed_failures(client: Client) -> int:
    return int(client.run_on_scheduler(dask.config.get, "distributed.scheduler.allowed-failures"))


class DaskRunner:
    """Runs jobs on the Dask cluster at ``cluster.address``, over TLS."""

    def __init__(self, cluster: Cluster, *, require_sandbox: bool = False) -> None:
        self.require_sandbox = require_sandbox
        self.client = Client(
            cluster.address,
            security=security(cluster.tls_dir, "client"),
            timeout=CONNECT_SECONDS,
            set_as_default=False,
        )
        try:
            failures = _allowed_failures(self.client)
            if failures != 0:
                raise ClusterRefused(
                    f"the scheduler at {cluster.address} retries a task whose worker died "
                    f"{failures} times by itself (distributed.scheduler.allowed-failures); the "
                    "grader's failure policy must see each loss: start the scheduler with "
                    "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=0"
                )
            self.client.register_plugin(SandboxPlugin(), name=PLUGIN_NAME)
            self.client.wait_for_workers(1, timeout=CONNECT_SECONDS)
            self._lock = threading.Lock()
            self.workers: dict[str, WorkerIsolation] = {}
            self._refresh()
            if not self._usable():
                raise ClusterRefused(
                    "a sandbox is required but no worker of the cluster has one: "
                    + "; ".join(self._missing(w) for w in self.workers.values())
                )
            self._pool = ThreadPoolExecutor(MAX_IN_FLIGHT, "cluster-job")
            self._slots = threading.Condition()
            self._in_flight = 0
        except BaseException:
            self.client.close()
            raise

    # --- the workers -----------------------------------------------------------------------
    def _refresh(self) -> None:
        reports: dict[str, WorkerIsolation] = self.client.run(worker_isolation, on_error="return")
        with self._lock:
            for report in reports.values():
                if isinstance(report, WorkerIsolation):
                    self.workers[report.name] = report

    def _usable(self) -> list[str]:
        with self._lock:
            return [
                w.name for w in self.workers.values() if w.sandboxed or not self.require_sandbox
            ]

    @staticmethod
    def _missing(worker: WorkerIsolation) -> str:
        return f"worker {worker.name}: " + "; ".join(worker.report.warnings)

    @property
    def isolation(self) -> IsolationReport:
        """The protections every usable worker has; each worker's missing ones, by name."""
        with self._lock:
            workers = sorted(self.workers.values(), key=lambda w: w.name)
        usable = set(self._usable())
        used = [w for w in workers if w.name in usable]
        layers = [x for x in used[0].report.layers if all(x in w.report.layers for w in used)]
        shared = [x for x in used[0].report.warnings if all(x in w.report.warnings for w in used)]
        warnings = list(shared)
        for w in workers:
            if w.name not in usable:
                warnings.append(f"worker {w.name} is not used: it has no sandbox, one is required")
            else:
                warnings += [f"worker {w.name}: {x}" for x in w.report.warnings if x not in shared]
        return IsolationReport(tuple(layers), tuple(warnings))

    def wait_until_warm(self) -> dict[str, str]:
        """Wait for every worker's sandboxed pool; the workers whose pool did not start, and
        why (a timing starts warm: the benchmark)."""
        answers: dict[str, object] = self.client.run(pool_ready, on_error="return")
        return {a: str(problem) for a, problem in answers.items() if problem != ""}

    # --- jobs ------------------------------------------------------------------------------
    def submit(self, job: Job) -> Future[RunOutcome]:
        return self._pool.submit(run_with_policy, job, self._attempt, self.isolation)

    def _attempt(self, job: Job) -> RunOutcome:
        """One Dask task; raises ``WorkerLost`` if its worker died (see ``run_with_policy``)."""
        names = None
        if self.require_sandbox:
            present = {str(w["name"]) for w in self.client.scheduler_info()["workers"].values()}
            with self._lock:
                known = set(self.workers)
            if present - known:
                self._refresh()  # workers that joined since: is their sandbox usable?
            names = self._usable()
        self._take_slot(names)
        future = None
        try:
            future = self.client.submit(
                run_attempt,
                job,
                self.require_sandbox,
                key=f"grade-{uuid.uuid4().hex}",  # one task prefix: Dask learns a job's duration
                pure=False,
                retries=0,
                workers=names,
                allow_other_workers=False,
            )
            return self._wait(future.result, names)
        except KilledWorker as exc:
            worker = exc.last_worker
            raise WorkerLost(
                f"the Dask worker {worker.name} ({worker.address}) was lost while it ran the job"
            ) from None
        finally:
            if future is not None:
                future.release()
            with self._slots:
                self._in_flight -= 1
                self._slots.notify()

    def _threads(self, names: list[str] | None) -> int:
        """The threads of the workers present that may run jobs."""
        workers = self.client.scheduler_info()["workers"].values()
        return sum(int(w["nthreads"]) for w in workers if names is None or w["name"] in names)

    def _take_slot(self, names: list[str] | None) -> None:
        """Wait until fewer jobs are in flight than there are threads to run them: a worker
        then holds only the jobs it runs (Dask would queue more on it, and a worker that
        dies would take its queued jobs, innocent, into the failure policy with it)."""
        gone_since = None
        with self._slots:
            while self._in_flight >= (threads := self._threads(names)):
                if threads > 0:
                    gone_since = None
                elif gone_since is None:
                    gone_since = time.monotonic()
                elif time.monotonic() - gone_since > CONNECT_SECONDS:
                    raise NoWorker("no worker that may run the job is left in the cluster")
                self._slots.wait(POLL_SECONDS)
            self._in_flight += 1

    def _wait(self, result: Callable[..., RunOutcome], names: list[str] | None) -> RunOutcome:
        """The task's outcome; ``NoWorker`` if the workers it may run on have all gone."""
        while True:
            try:
                return result(timeout=POLL_SECONDS)
            except (TimeoutError, FutureTimeout):
                if names is not None and not self._threads(names):
                    raise NoWorker(
                        f"no worker with a sandbox is left in the cluster ({', '.join(names)} "
                        "are gone)"
                    ) from None

    def close(self) -> None:
        """Stop (jobs under way end as they are); the workers keep their warm pools."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.client.close()
