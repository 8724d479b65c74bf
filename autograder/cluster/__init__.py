"""Grading on a Dask cluster: the coordinator (``runner``), the Dask workers' side
(``worker``), and the TLS certificates they share (``certs``).

The coordinator (``autograder grade --scheduler``, or ``autograder serve --scheduler``) keeps
the trusted side: answer keys, scoring, the gradebook. It sends each Dask worker assembled jobs
(plain data: cells, files, the hidden inputs' seed; no answer-key value), which the worker runs
in its own warm, sandboxed pool (``sandbox.pool.LocalPool``), and gets the run's outcome back
as plain data. Every connection is TLS with certificates of the instructor's own CA.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: How the grader needs the scheduler to run: TLS only, and no retries of its own (the
#: coordinator's failure policy counts each lost worker: ``runner``).
SCHEDULER_ENV = {
    "DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION": "True",
    "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0",
}
WORKER_ENV = {"DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION": "True"}


@dataclass(frozen=True)
class Cluster:
    """Where the scheduler is, and the folder with the coordinator's TLS certificates
    (``ca.pem``, ``client.pem``, ``client-key.pem``: see ``certs``)."""

    address: str  # tls://host:8786
    tls_dir: Path
