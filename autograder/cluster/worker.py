"""The Dask worker's side: a plugin that keeps a warm, sandboxed pool, and the task that runs
one job on it.

The plugin starts one :class:`~autograder.sandbox.pool.LocalPool` per Dask worker (as many
zygotes as the worker has threads), in the background: a worker's event loop must keep
answering the scheduler while TensorFlow is imported. The task hands the job to that pool and
waits; student code runs only in the pool's sandboxed processes, never in the Dask worker.
Each attempt runs once (``LocalPool.attempt``): a lost zygote comes back to the coordinator as
``WorkerLost``, where the one failure policy counts it with the Dask workers it lost.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from distributed import WorkerPlugin, get_worker

from ..jobs import Job, NoWorker, RunOutcome
from ..results import IsolationReport
from ..sandbox.isolation import Isolation, detect
from ..sandbox.pool import READY_TIMEOUT, LocalPool

if TYPE_CHECKING:
    from distributed import Worker

PLUGIN_NAME = "autograder-sandbox"


@dataclass(frozen=True)
class WorkerIsolation:
    """The isolation one Dask worker has, as it reports it to the coordinator."""

    name: str  # the Dask worker's name (``dask worker --name``)
    address: str
    sandboxed: bool  # bubblewrap is usable there
    report: IsolationReport


class SandboxPlugin(WorkerPlugin):
    """Starts the worker's sandboxed pool once; registering it again changes nothing."""

    idempotent = True  # a second `grade` keeps the warm pools of the first

    def setup(self, worker: Worker) -> None:
        self._isolation: Isolation = detect(require_sandbox=False)
        self.reported = WorkerIsolation(
            str(worker.name),
            worker.address,
            bool(self._isolation.bubblewrap),
            self._isolation.report(),
        )
        self._ready = threading.Event()
        self._pool: LocalPool | None = None
        self._problem = ""
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(
            target=self._start, args=(worker.state.nthreads,), name=PLUGIN_NAME, daemon=True
        ).start()

    def _start(self, slots: int) -> None:
        pool: LocalPool | None = None
        try:
            pool = LocalPool(self._isolation, slots)
        except Exception as exc:  # noqa: BLE001 - each job then says why it could not run
            self._problem = f"{type(exc).__name__}: {exc}"
        else:
            with self._lock:
                if not self._closed:
                    self._pool, pool = pool, None
            if pool is not None:  # the worker closed while the pool started
                pool.close()
        self._ready.set()

    def wait_ready(self) -> str:
        """Wait until the pool has started: "" once it has, else why it has not."""
        if not self._ready.wait(READY_TIMEOUT):
            return "timed out"
        return self._problem

    def run(self, job: Job, require_sandbox: bool) -> RunOutcome:
        name = self.reported.name
        if require_sandbox and not self.reported.sandboxed:
            raise NoWorker(f"the Dask worker {name} has no sandbox, and one is required")
        problem = self.wait_ready()
        if problem or self._pool is None:
            raise NoWorker(
                f"the Dask worker {name}'s grading pool is not running: {problem or 'closed'}"
            )
        outcome = self._pool.attempt(job).result()
        return replace(outcome, worker=f"{name}/{outcome.worker}")

    def teardown(self, worker: Worker) -> None:
        # No waiting for a pool still starting (the worker's event loop runs this): the
        # starting thread closes it.
        with self._lock:
            self._closed, pool, self._pool = True, self._pool, None
        if pool is not None:
            pool.close()


def run_attempt(job: Job, require_sandbox: bool) -> RunOutcome:
    """The task: run ``job`` once on this worker's pool (``WorkerLost``/``NoWorker`` raised
    here reach the coordinator's policy)."""
    return _plugin_of(get_worker()).run(job, require_sandbox)


def _plugin_of(dask_worker: Worker) -> SandboxPlugin:
    plugin = dask_worker.plugins.get(PLUGIN_NAME)
    if not isinstance(plugin, SandboxPlugin):
        raise NoWorker(f"the Dask worker {dask_worker.name} has no autograder plugin")
    return plugin


def worker_isolation(dask_worker: Worker) -> WorkerIsolation:
    """What ``Client.run`` asks each worker: its isolation."""
    return _plugin_of(dask_worker).reported


def pool_ready(dask_worker: Worker) -> str:
    """What ``Client.run`` asks to wait for each worker's warm pool ("" or the problem)."""
    return _plugin_of(dask_worker).wait_ready()
