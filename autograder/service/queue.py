"""The persisted grading queue: one row per grading of a submission with an answer-key version.

* A job is claimed atomically by one service process: one ``UPDATE ... RETURNING`` whose
  subquery takes the oldest queued job, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (several
  processes claim different jobs without waiting), serialised by ``BEGIN IMMEDIATE`` on SQLite.
* Finishing writes the result and marks the job done in one transaction, only if this process
  still holds the claim; so a result is stored once, even if a slow process comes back after
  its job was given to another.
* Every process keeps a heartbeat row. Jobs claimed by a process that is gone (its pid has
  died on this host, or its heartbeat is stale) are requeued: at start-up and every few
  seconds. That is the failure policy's "lost to the infrastructure": such a job runs once
  more; a job that loses a second process is the cause and is finished as "took down two
  grading workers" without running again. The count is kept with the job (``losses``) and
  handed to the sandbox pool with it, so a process lost and then a sandbox worker lost are
  two losses under the one policy (``autograder.jobs.run_with_policy``), not one each.
* Each submission is graded once per answer-key version: ``(submission, key version,
  generation)`` is unique, and only an instructor's explicit regrade of one submission adds a
  generation.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from . import db
from .grading import PROCESS_RETRIES

#: A process whose heartbeat is older than this is taken for dead (it beats every few seconds).
STALE = dt.timedelta(seconds=30)
HEARTBEAT_SECONDS = 5.0


def _set_submission_state(conn: Connection, job_id: int, state: str) -> None:
    """Set the state of the submission that job ``job_id`` grades."""
    conn.execute(
        update(db.submissions)
        .where(
            db.submissions.c.id
            == select(db.jobs.c.submission_id).where(db.jobs.c.id == job_id).scalar_subquery()
        )
        .values(state=state)
    )


@dataclass(frozen=True)
class Claim:
    job_id: int
    submission_id: int
    public_id: str
    person_id: int
    student_id: str
    assignment: str
    notebook: str
    uploaded_at: dt.datetime
    key_version: str
    losses: int


@dataclass(frozen=True)
class Lost:
    """A job whose process died for the second time: finished without running again."""

    claim: Claim


def _pid_started(pid: int) -> str:
    """The start time of a process (field 22 of /proc/<pid>/stat), or "" if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return ""


class Queue:
    def __init__(self, engines: db.Engines) -> None:
        self.engines = engines
        self.process_id = uuid.uuid4().hex
        self.host = socket.gethostname()

    # --- this process -------------------------------------------------------------------
    def _insert_process(self, conn: Connection) -> None:
        now = db.utcnow()
        conn.execute(
            insert(db.processes).values(
                id=self.process_id,
                host=self.host,
                pid=os.getpid(),
                pid_started=_pid_started(os.getpid()),
                started_at=now,
                heartbeat_at=now,
            )
        )

    def register(self) -> None:
        with self.engines.write.begin() as conn:
            self._insert_process(conn)

    def heartbeat(self) -> None:
        with self.engines.write.begin() as conn:
            done = conn.execute(
                update(db.processes)
                .where(db.processes.c.id == self.process_id)
                .values(heartbeat_at=db.utcnow())
            )
            if not done.rowcount:  # taken for dead by another process: come back
                self._insert_process(conn)

    def unregister(self) -> None:
        """A clean stop: hand this process's unfinished jobs back to the queue, no loss."""
        with self.engines.write.begin() as conn:
            conn.execute(
                update(db.jobs)
                .where(db.jobs.c.claimed_by == self.process_id, db.jobs.c.state == "grading")
                .values(state="queued", claimed_by=None, claimed_at=None)
            )
            conn.execute(delete(db.processes).where(db.processes.c.id == self.process_id))

    def _dead(self, conn: Connection) -> set[str]:
        now = db.utcnow()
        dead = set()
        for row in conn.execute(select(db.processes)):
            if row.id == self.process_id:
                continue
            gone_here = row.host == self.host and _pid_started(row.pid) != row.pid_started
            if gone_here or now - row.heartbeat_at > STALE:
                dead.add(row.id)
        return dead

    def requeue_orphans(self) -> list[Lost]:
        """Requeue the jobs of dead processes; return those lost for the second time."""
        lost = []
        with self.engines.write.begin() as conn:
            dead = self._dead(conn)
            alive = set(conn.scalars(select(db.processes.c.id))) - dead
            orphans = conn.execute(
                select(db.jobs.c.id, db.jobs.c.losses).where(
                    db.jobs.c.state == "grading",
                    or_(
                        db.jobs.c.claimed_by.is_(None),
                        db.jobs.c.claimed_by.not_in(alive | {self.process_id}),
                    ),
                )
            ).all()
            for job_id, losses in orphans:
                if losses + 1 > PROCESS_RETRIES:
                    # Stays claimed by us until finished as lost (see Runner).
                    conn.execute(
                        update(db.jobs)
                        .where(db.jobs.c.id == job_id)
                        .values(
                            losses=losses + 1, claimed_by=self.process_id, claimed_at=db.utcnow()
                        )
                    )
                    lost.append(job_id)
                else:
                    conn.execute(
                        update(db.jobs)
                        .where(db.jobs.c.id == job_id)
                        .values(state="queued", losses=losses + 1, claimed_by=None, claimed_at=None)
                    )
                    _set_submission_state(conn, job_id, "queued")
            if dead:
                conn.execute(delete(db.processes).where(db.processes.c.id.in_(dead)))
        return [Lost(self._claim(job_id)) for job_id in lost]

    # --- claims -------------------------------------------------------------------------
    def _claim(self, job_id: int) -> Claim:
        query = (
            select(
                db.jobs.c.id,
                db.jobs.c.submission_id,
                db.jobs.c.key_version,
                db.jobs.c.losses,
                db.submissions.c.public_id,
                db.submissions.c.person_id,
                db.submissions.c.assignment,
                db.submissions.c.notebook,
                db.submissions.c.uploaded_at,
                db.people.c.student_id,
            )
            .join(db.submissions, db.submissions.c.id == db.jobs.c.submission_id)
            .join(db.people, db.people.c.id == db.submissions.c.person_id)
            .where(db.jobs.c.id == job_id)
        )
        with self.engines.read.connect() as conn:
            row = conn.execute(query).one()
        return Claim(
            row.id,
            row.submission_id,
            row.public_id,
            row.person_id,
            row.student_id,
            row.assignment,
            row.notebook,
            row.uploaded_at,
            row.key_version,
            row.losses,
        )

    def claim(self) -> Claim | None:
        """Take the oldest queued job for this process, or None if there is none."""
        oldest = (
            select(db.jobs.c.id).where(db.jobs.c.state == "queued").order_by(db.jobs.c.id).limit(1)
        )
        if self.engines.dialect == "postgresql":
            oldest = oldest.with_for_update(skip_locked=True)
        with self.engines.write.begin() as conn:
            job_id = conn.execute(
                update(db.jobs)
                .where(db.jobs.c.id == oldest.scalar_subquery())
                .values(state="grading", claimed_by=self.process_id, claimed_at=db.utcnow())
                .returning(db.jobs.c.id)
            ).scalar()
            if job_id is None:
                return None
            _set_submission_state(conn, job_id, "grading")
        return self._claim(job_id)

    def _held(self, claim: Claim) -> tuple[ColumnElement[bool], ...]:
        """The job of ``claim``, if this process still holds it (a slow process whose job was
        requeued and given to another must not touch it)."""
        return (
            db.jobs.c.id == claim.job_id,
            db.jobs.c.state == "grading",
            db.jobs.c.claimed_by == self.process_id,
        )

    def release(self, claim: Claim) -> None:
        """Hand a claimed job back to the queue, unfinished and without a loss."""
        with self.engines.write.begin() as conn:
            done = conn.execute(
                update(db.jobs)
                .where(*self._held(claim))
                .values(state="queued", claimed_by=None, claimed_at=None)
            )
            if done.rowcount:
                conn.execute(
                    update(db.submissions)
                    .where(db.submissions.c.id == claim.submission_id)
                    .values(state="queued")
                )

    def finish(
        self,
        claim: Claim,
        *,
        status: str,
        score: float | None,
        max_score: float,
        result: str,
        key_version: str,
        worker_losses: int = 0,
    ) -> bool:
        """Store a grading's result, if this process still holds the job; True if stored."""
        now = db.utcnow()
        with self.engines.write.begin() as conn:
            done = conn.execute(
                update(db.jobs)
                .where(*self._held(claim))
                .values(state="done", finished_at=now, worker_losses=worker_losses)
            )
            if not done.rowcount:
                return False
            waiting = conn.scalar(
                select(func.count())
                .select_from(db.jobs)
                .where(
                    db.jobs.c.submission_id == claim.submission_id,
                    db.jobs.c.state.in_(("queued", "grading")),
                )
            )
            conn.execute(
                update(db.submissions)
                .where(db.submissions.c.id == claim.submission_id)
                .values(
                    state="queued" if waiting else "graded",
                    status=status,
                    score=score,
                    max_score=max_score,
                    result=result,
                    key_version=key_version,
                    graded_at=now,
                )
            )
        return True

    # --- regrading ----------------------------------------------------------------------
    def regrade(self, submission_id: int, key_version: str) -> bool:
        """Grade one submission again (an instructor's choice); False if it is already
        waiting for a grading."""
        with self.engines.write.begin() as conn:
            waiting = conn.scalar(
                select(func.count())
                .select_from(db.jobs)
                .where(db.jobs.c.submission_id == submission_id, db.jobs.c.state == "queued")
            )
            if waiting:
                return False
            generation = conn.scalar(
                select(func.max(db.jobs.c.generation)).where(
                    db.jobs.c.submission_id == submission_id, db.jobs.c.key_version == key_version
                )
            )
            conn.execute(
                db.new_job(submission_id, key_version, 0 if generation is None else generation + 1)
            )
            conn.execute(
                update(db.submissions)
                .where(db.submissions.c.id == submission_id, db.submissions.c.state == "graded")
                .values(state="queued")
            )
        return True

    def regrade_stale(self, assignment: str, key_version: str) -> int:
        """Queue every submission of ``assignment`` not yet graded with ``key_version`` (after
        a re-release); returns how many were queued."""
        queued = 0
        with self.engines.write.begin() as conn:
            busy = select(db.jobs.c.submission_id).where(db.jobs.c.state.in_(("queued", "grading")))
            graded = select(db.jobs.c.submission_id).where(db.jobs.c.key_version == key_version)
            stale = conn.scalars(
                select(db.submissions.c.id).where(
                    db.submissions.c.assignment == assignment,
                    db.submissions.c.id.not_in(busy),
                    db.submissions.c.id.not_in(graded),
                )
            ).all()
            for submission_id in stale:
                try:
                    with conn.begin_nested():
                        conn.execute(db.new_job(submission_id, key_version))
                except IntegrityError:
                    continue
                conn.execute(
                    update(db.submissions)
                    .where(db.submissions.c.id == submission_id)
                    .values(state="queued")
                )
                queued += 1
        return queued

    def counts(self) -> dict[str, int]:
        """Jobs per state."""
        with self.engines.read.connect() as conn:
            return dict(
                conn.execute(select(db.jobs.c.state, func.count()).group_by(db.jobs.c.state)).all()
            )
