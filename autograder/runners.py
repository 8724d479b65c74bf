"""Which :class:`~autograder.jobs.JobRunner` grades: the local sandboxed pool (the embedded
default) or, given a scheduler's address, a Dask cluster. ``autograder grade`` and the
submission service both start theirs here."""

from __future__ import annotations

from .cluster import Cluster
from .jobs import JobRunner
from .sandbox.isolation import Isolation, detect
from .sandbox.pool import LocalPool


def start_runner(
    *,
    cluster: Cluster | None,
    workers: int,
    require_sandbox: bool,
    isolation: Isolation | None = None,
    wait: bool = True,
) -> JobRunner:
    """A started runner. ``workers``: the local pool's size (a cluster has its own workers);
    ``isolation``: the local machine's, if already probed; ``wait=False``: return while the
    local pool's workers still start (jobs queue meanwhile)."""
    if cluster is None:
        return LocalPool(isolation or detect(require_sandbox), workers, wait=wait)
    from .cluster.runner import DaskRunner  # Dask is needed only for a cluster

    return DaskRunner(cluster, require_sandbox=require_sandbox)
