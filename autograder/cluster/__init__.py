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


@dataclass(frozen=True)
class Cluster:
    """Where the scheduler is, and the folder with the coordinator's TLS certificates
    (``ca.pem``, ``client.pem``, ``client-key.pem``: see ``certs``)."""

    address: str  # tls://host:8786
    tls_dir: Path
