"""The service's tables, beside nbgrader's in the course's gradebook database, and its engines.

Everything the service keeps is here: people and their sign-in token hashes, instructors'
password hashes, per-assignment policies, every submission (with the uploaded notebook, so
several service processes on several machines can grade it), the grading queue, the service
processes alive, and which result the gradebook holds for each student. nbgrader's tables keep
the scores of the submission that counts, so the command line (``autograder export``,
``feedback``, ``mark``) and formgrader read the same gradebook.

SQLite (the embedded default) has one writer at a time: writes begin with ``BEGIN IMMEDIATE``
so a read-then-write (a rate limit, a queue claim) is serialised rather than failing half-way.
PostgreSQL takes row locks instead (``FOR UPDATE``, ``SKIP LOCKED`` for claims), and its
connections are checked before use, so a restarted server is reconnected to transparently.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Index,
    Insert,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    func,
    insert,
    select,
)
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import NullPool

metadata = MetaData()

settings = Table(
    "service_setting",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

people = Table(
    "service_person",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("student_id", String(128), nullable=False, unique=True),  # the gradebook's id
    Column("name", String(256), nullable=False),
    Column("email", String(256), nullable=False, default=""),
    # What the LMS calls the student, for its gradebook import (Canvas: ID, SIS ids, section).
    Column("lms_id", String(128), nullable=False, default=""),
    Column("sis_user_id", String(128), nullable=False, default=""),
    Column("sis_login_id", String(128), nullable=False, default=""),
    Column("section", String(256), nullable=False, default=""),
    # SHA-256 of the sign-in token: the token itself is shown once, when it is made.
    Column("token_hash", String(64), nullable=True, unique=True),
    Column("token_issued_at", DateTime, nullable=True),
    Column("created_at", DateTime, nullable=False),
)

instructors = Table(
    "service_instructor",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(128), nullable=False, unique=True),
    Column("password_hash", String(256), nullable=False),  # argon2id
    Column("created_at", DateTime, nullable=False),
)

policies = Table(
    "service_policy",
    metadata,
    Column("assignment", String(128), primary_key=True),
    Column("deadline", DateTime, nullable=True),  # UTC
    Column("late", String(16), nullable=False),  # "refuse" or "penalty"
    Column("penalty_per_day", Float, nullable=False),  # share of the score per day late
    Column("per_hour", Integer, nullable=False),  # submissions per student per hour
    Column("counts", String(8), nullable=False),  # "last" or "best"
    Column("max_upload_bytes", Integer, nullable=False),
    Column("canvas_column", String(256), nullable=False, default=""),
    Column("updated_at", DateTime, nullable=False),
)

submissions = Table(
    "service_submission",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("public_id", String(32), nullable=False, unique=True),  # random: URLs name it
    Column("person_id", Integer, ForeignKey("service_person.id"), nullable=False),
    Column("assignment", String(128), nullable=False),
    Column("notebook", String(128), nullable=False),
    Column("filename", String(256), nullable=False),  # as uploaded (shown escaped)
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("uploaded_at", DateTime, nullable=False),
    Column("via", String(8), nullable=False),  # "web" or "api"
    Column("late_days", Integer, nullable=False, default=0),
    Column("penalty", Float, nullable=False, default=0.0),  # share of the score taken off
    Column("state", String(16), nullable=False),  # queued, grading, graded
    Column("status", String(32), nullable=True),  # the core's status of the last grading
    Column("score", Float, nullable=True),
    Column("max_score", Float, nullable=True),
    Column("result", Text, nullable=True),  # the core's StudentResult as JSON
    Column("key_version", String(32), nullable=True),  # of the answer key it was graded with
    Column("graded_at", DateTime, nullable=True),
    Index("ix_service_submission_person", "person_id", "assignment", "uploaded_at"),
)

submission_files = Table(
    "service_submission_file",
    metadata,
    Column("submission_id", Integer, ForeignKey("service_submission.id"), primary_key=True),
    Column("content", LargeBinary, nullable=False),
)

jobs = Table(
    "service_job",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("submission_id", Integer, ForeignKey("service_submission.id"), nullable=False),
    Column("key_version", String(32), nullable=False),
    # 0 for the first grading with a key; an instructor's forced regrade counts up.
    Column("generation", Integer, nullable=False),
    Column("state", String(16), nullable=False),  # queued, grading, done
    Column("claimed_by", String(64), nullable=True),  # a service process id
    Column("claimed_at", DateTime, nullable=True),
    # Service processes that died while grading it (the failure policy: one more run).
    Column("losses", Integer, nullable=False, default=0),
    # Sandbox workers lost while it ran (the grading core ran it once more, or gave up).
    Column("worker_losses", Integer, nullable=False, default=0),
    Column("created_at", DateTime, nullable=False),
    Column("finished_at", DateTime, nullable=True),
    UniqueConstraint("submission_id", "key_version", "generation"),
    Index("ix_service_job_state", "state", "id"),
)

processes = Table(
    "service_process",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("host", String(256), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("pid_started", String(32), nullable=False),  # tells a reused pid apart
    Column("started_at", DateTime, nullable=False),
    Column("heartbeat_at", DateTime, nullable=False),
)

# The submission whose result the gradebook holds for a student and assignment.
gradebook_sync = Table(
    "service_gradebook_sync",
    metadata,
    Column("person_id", Integer, ForeignKey("service_person.id"), primary_key=True),
    Column("assignment", String(128), primary_key=True),
    Column("submission_id", Integer, nullable=False),
    Column("graded_at", DateTime, nullable=False),  # of the result that was stored
    Column("synced", Boolean, nullable=False),
)


def utcnow() -> dt.datetime:
    """Naive UTC, as every DateTime column holds it."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def new_job(submission_id: int, key_version: str, generation: int = 0) -> Insert:
    """A queued grading of a submission with one answer-key version."""
    return insert(jobs).values(
        submission_id=submission_id,
        key_version=key_version,
        generation=generation,
        state="queued",
        losses=0,
        created_at=utcnow(),
    )


@dataclass(frozen=True)
class GradingTally:
    """What the queue holds for every submission: the promise to check is that each accepted
    upload was graded exactly once (one finished job per answer-key version) and none lost."""

    states: dict[str, str]  # public id -> submission state
    results: dict[str, str | None]  # public id -> stored result (JSON)
    finished_jobs: dict[str, int]  # public id -> jobs finished for it

    def not_graded_once(self) -> list[str]:
        """Public ids of submissions not graded, or graded by other than one finished job."""
        return sorted(
            public_id
            for public_id, state in self.states.items()
            if state != "graded"
            or self.results.get(public_id) is None
            or self.finished_jobs.get(public_id, 0) != 1
        )


def tally(db_url: str) -> GradingTally:
    """Read :class:`GradingTally` (tests and benchmarks check the queue's promise with it)."""
    engine = create_engine(db_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(submissions.c.public_id, submissions.c.state, submissions.c.result)
            )
            states, results = {}, {}
            for public_id, state, result in rows:
                states[public_id], results[public_id] = state, result
            finished = conn.execute(
                select(submissions.c.public_id, func.count())
                .join(jobs, jobs.c.submission_id == submissions.c.id)
                .where(jobs.c.state == "done")
                .group_by(submissions.c.public_id)
            )
            return GradingTally(states, results, dict(finished.all()))
    finally:
        engine.dispose()


@dataclass
class Engines:
    """``read`` for queries, ``write`` for anything that changes rows (serialised on SQLite)."""

    read: Engine
    write: Engine

    @property
    def dialect(self) -> str:
        return self.write.dialect.name

    def dispose(self) -> None:
        self.read.dispose()
        if self.write is not self.read:
            self.write.dispose()


def _sqlite_engine(url: str, immediate: bool) -> Engine:
    parsed = make_url(url)
    timeout = float(str(parsed.query.get("timeout", 60)))
    engine = create_engine(
        parsed.difference_update_query(["timeout"]),
        connect_args={"timeout": timeout, "check_same_thread": False},
        poolclass=NullPool,
    )

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: object) -> None:
        # Transactions are begun by us (below), not by the driver, so BEGIN IMMEDIATE works.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers do not wait for the writer
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def connect(db_url: str) -> Engines:
    """Engines for the course's database; creates the service's tables if needed."""
    if db_url.startswith("sqlite"):
        engines = Engines(_sqlite_engine(db_url, False), _sqlite_engine(db_url, True))
    else:
        engine = create_engine(db_url, pool_pre_ping=True, pool_size=10, max_overflow=10)
        engines = Engines(engine, engine)
    metadata.create_all(engines.write)
    return engines
