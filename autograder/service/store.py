"""What the service reads and writes in its tables (``db``), as typed records.

The grading queue's own operations (claims, finishing, requeueing) are in ``jobs``; this
module holds people, instructors, policies and submissions, and accepts an upload: the rate
limit is checked and the submission, its notebook and its grading job are written in one
transaction, with the student's row locked, so two uploads at once cannot both slip under the
limit.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import secrets
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Select, and_, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from . import auth, db
from .policy import Accepted, Counts, Late, Policy, Refused, decide_upload
from .roster import Roster, RosterEntry


@dataclass(frozen=True)
class Person:
    id: int
    student_id: str
    name: str
    email: str
    lms_id: str
    sis_user_id: str
    sis_login_id: str
    section: str
    token_issued: str  # when the current sign-in token was made (ISO), "" if it has none


@dataclass(frozen=True)
class Submission:
    id: int
    public_id: str
    person_id: int
    student_id: str
    student_name: str
    assignment: str
    notebook: str
    filename: str
    size: int
    uploaded_at: dt.datetime
    via: str
    late_days: int
    penalty: float
    state: str  # queued, grading, graded
    status: str | None
    score: float | None
    max_score: float | None
    result: str | None
    key_version: str | None
    graded_at: dt.datetime | None


@dataclass(frozen=True)
class ImportReport:
    format: str
    added: list[tuple[RosterEntry, str]]  # new students and their sign-in tokens (shown once)
    updated: int
    problems: list[str]


def _person(row: Row[Any]) -> Person:
    return Person(
        row.id,
        row.student_id,
        row.name,
        row.email,
        row.lms_id,
        row.sis_user_id,
        row.sis_login_id,
        row.section,
        row.token_issued_at.isoformat() if row.token_hash and row.token_issued_at else "",
    )


_SUBMISSION_COLUMNS: list[Any] = [
    db.submissions,
    db.people.c.student_id,
    db.people.c.name.label("student_name"),
]


def _submission(row: Row[Any]) -> Submission:
    return Submission(
        row.id,
        row.public_id,
        row.person_id,
        row.student_id,
        row.student_name,
        row.assignment,
        row.notebook,
        row.filename,
        row.size,
        row.uploaded_at,
        row.via,
        row.late_days,
        row.penalty,
        row.state,
        row.status,
        row.score,
        row.max_score,
        row.result,
        row.key_version,
        row.graded_at,
    )


def _submission_query() -> Select[Any]:
    return select(*_SUBMISSION_COLUMNS).join(
        db.people, db.people.c.id == db.submissions.c.person_id
    )


#: First key of the service's PostgreSQL advisory locks (two-key locks never meet one-key ones).
_LOCK_SPACE = 7117


class Store:
    def __init__(self, engines: db.Engines) -> None:
        self.engines = engines
        self._local_locks: dict[str, threading.Lock] = {}

    # --- settings -----------------------------------------------------------------------
    def secret(self, name: str) -> str:
        """A random secret shared by every service process (made by the first one)."""
        with self.engines.read.connect() as conn:
            value = conn.scalar(select(db.settings.c.value).where(db.settings.c.name == name))
        if value is not None:
            return value
        try:
            with self.engines.write.begin() as conn:
                conn.execute(insert(db.settings).values(name=name, value=secrets.token_urlsafe(48)))
        except IntegrityError:
            pass  # another process made it first
        return self.secret(name)

    # --- people -------------------------------------------------------------------------
    def import_roster(self, roster: Roster) -> ImportReport:
        """Add new students (each gets a token, returned once) and update known ones."""
        added, updated, now = [], 0, db.utcnow()
        with self.engines.write.begin() as conn:
            known = {row.student_id: row for row in conn.execute(select(db.people))}
            for entry in roster.entries:
                fields = {
                    "name": entry.name,
                    "email": entry.email,
                    "lms_id": entry.lms_id,
                    "sis_user_id": entry.sis_user_id,
                    "sis_login_id": entry.sis_login_id,
                    "section": entry.section,
                }
                row = known.get(entry.student_id)
                if row is None:
                    token = auth.new_token()
                    conn.execute(
                        insert(db.people).values(
                            student_id=entry.student_id,
                            created_at=now,
                            token_hash=auth.token_hash(token),
                            token_issued_at=now,
                            **fields,
                        )
                    )
                    added.append((entry, token))
                elif any(getattr(row, k) != v for k, v in fields.items()):
                    conn.execute(update(db.people).where(db.people.c.id == row.id).values(**fields))
                    updated += 1
        return ImportReport(roster.format, added, updated, roster.problems)

    def issue_token(self, person_id: int) -> str:
        """A new sign-in token for a student; the old one stops working."""
        token = auth.new_token()
        with self.engines.write.begin() as conn:
            conn.execute(
                update(db.people)
                .where(db.people.c.id == person_id)
                .values(token_hash=auth.token_hash(token), token_issued_at=db.utcnow())
            )
        return token

    def person_by_token(self, token: str) -> Person | None:
        with self.engines.read.connect() as conn:
            row = conn.execute(
                select(db.people).where(db.people.c.token_hash == auth.token_hash(token))
            ).first()
        return _person(row) if row else None

    def person(self, person_id: int) -> Person | None:
        with self.engines.read.connect() as conn:
            row = conn.execute(select(db.people).where(db.people.c.id == person_id)).first()
        return _person(row) if row else None

    def person_by_student_id(self, student_id: str) -> Person | None:
        with self.engines.read.connect() as conn:
            row = conn.execute(
                select(db.people).where(db.people.c.student_id == student_id)
            ).first()
        return _person(row) if row else None

    def people(self) -> list[Person]:
        with self.engines.read.connect() as conn:
            rows = conn.execute(
                select(db.people).order_by(db.people.c.name, db.people.c.student_id)
            )
            return [_person(row) for row in rows]

    # --- instructors --------------------------------------------------------------------
    def add_instructor(self, username: str, password: str) -> None:
        """Add an instructor, or set the password of an existing one."""
        hashed = auth.hash_password(password)
        with self.engines.write.begin() as conn:
            found = conn.scalar(
                select(db.instructors.c.id).where(db.instructors.c.username == username)
            )
            if found is None:
                conn.execute(
                    insert(db.instructors).values(
                        username=username, password_hash=hashed, created_at=db.utcnow()
                    )
                )
            else:
                conn.execute(
                    update(db.instructors)
                    .where(db.instructors.c.id == found)
                    .values(password_hash=hashed)
                )

    def instructor_login(self, username: str, password: str) -> auth.Viewer | None:
        with self.engines.read.connect() as conn:
            row = conn.execute(
                select(db.instructors).where(db.instructors.c.username == username)
            ).first()
        if not auth.verify_password(row.password_hash if row else None, password) or not row:
            return None
        return auth.Viewer(auth.Role.INSTRUCTOR, row.id, row.username)

    def instructor(self, instructor_id: int) -> auth.Viewer | None:
        with self.engines.read.connect() as conn:
            row = conn.execute(
                select(db.instructors).where(db.instructors.c.id == instructor_id)
            ).first()
        return auth.Viewer(auth.Role.INSTRUCTOR, row.id, row.username) if row else None

    def has_instructors(self) -> bool:
        with self.engines.read.connect() as conn:
            return bool(conn.scalar(select(func.count()).select_from(db.instructors)))

    # --- policies -----------------------------------------------------------------------
    def policy(self, assignment: str) -> Policy:
        with self.engines.read.connect() as conn:
            row = conn.execute(
                select(db.policies).where(db.policies.c.assignment == assignment)
            ).first()
        if row is None:
            return Policy(assignment)
        return Policy(
            assignment,
            row.deadline,
            Late(row.late),
            row.penalty_per_day,
            row.per_hour,
            Counts(row.counts),
            row.max_upload_bytes,
            row.canvas_column,
        )

    def set_policy(self, policy: Policy) -> None:
        values = {
            "deadline": policy.deadline,
            "late": policy.late.value,
            "penalty_per_day": policy.penalty_per_day,
            "per_hour": policy.per_hour,
            "counts": policy.counts.value,
            "max_upload_bytes": policy.max_upload_bytes,
            "canvas_column": policy.canvas_column,
            "updated_at": db.utcnow(),
        }
        with self.engines.write.begin() as conn:
            done = conn.execute(
                update(db.policies)
                .where(db.policies.c.assignment == policy.assignment)
                .values(**values)
            )
            if not done.rowcount:
                conn.execute(insert(db.policies).values(assignment=policy.assignment, **values))

    # --- submissions --------------------------------------------------------------------
    def accept_upload(
        self,
        person: Person,
        assignment: str,
        notebook: str,
        filename: str,
        content: bytes,
        via: str,
        key_version: str,
        now: dt.datetime | None = None,
    ) -> Submission | Refused:
        """Check the policy and, if it allows, store the upload and queue its grading."""
        now = now or db.utcnow()
        policy = self.policy(assignment)
        with self.engines.write.begin() as conn:
            if self.engines.dialect == "postgresql":
                # One upload decision per student at a time (SQLite: BEGIN IMMEDIATE does it).
                conn.execute(
                    select(db.people.c.id).where(db.people.c.id == person.id).with_for_update()
                )
            recent = list(
                conn.scalars(
                    select(db.submissions.c.uploaded_at).where(
                        db.submissions.c.person_id == person.id,
                        db.submissions.c.assignment == assignment,
                        db.submissions.c.uploaded_at > now - dt.timedelta(hours=1),
                    )
                )
            )
            decision = decide_upload(policy, now, len(content), recent)
            if isinstance(decision, Refused):
                return decision
            assert isinstance(decision, Accepted)
            public_id = secrets.token_hex(16)
            inserted = conn.execute(
                insert(db.submissions).values(
                    public_id=public_id,
                    person_id=person.id,
                    assignment=assignment,
                    notebook=notebook,
                    filename=filename[:256],
                    size=len(content),
                    sha256=hashlib.sha256(content).hexdigest(),
                    uploaded_at=now,
                    via=via,
                    late_days=decision.late_days,
                    penalty=decision.penalty,
                    state="queued",
                )
            ).inserted_primary_key
            assert inserted is not None
            submission_id = inserted[0]
            conn.execute(
                insert(db.submission_files).values(submission_id=submission_id, content=content)
            )
            conn.execute(db.new_job(submission_id, key_version))
        found = self.submission(public_id)
        assert found is not None
        return found

    def submission(self, public_id: str) -> Submission | None:
        with self.engines.read.connect() as conn:
            row = conn.execute(
                _submission_query().where(db.submissions.c.public_id == public_id)
            ).first()
        return _submission(row) if row else None

    def submissions(
        self, assignment: str | None = None, person_id: int | None = None
    ) -> list[Submission]:
        """Newest first."""
        query = _submission_query()
        if assignment is not None:
            query = query.where(db.submissions.c.assignment == assignment)
        if person_id is not None:
            query = query.where(db.submissions.c.person_id == person_id)
        with self.engines.read.connect() as conn:
            rows = conn.execute(
                query.order_by(db.submissions.c.uploaded_at.desc(), db.submissions.c.id.desc())
            )
            return [_submission(row) for row in rows]

    def notebook_bytes(self, submission_id: int) -> bytes:
        with self.engines.read.connect() as conn:
            content = conn.scalar(
                select(db.submission_files.c.content).where(
                    db.submission_files.c.submission_id == submission_id
                )
            )
            if content is None:
                raise LookupError(f"no notebook of submission {submission_id}")
            return bytes(content)

    def counting_ids(self, assignment: str) -> dict[int, int]:
        """person id -> id of the submission whose result the gradebook holds."""
        with self.engines.read.connect() as conn:
            rows = conn.execute(
                select(db.gradebook_sync).where(db.gradebook_sync.c.assignment == assignment)
            )
            return {row.person_id: row.submission_id for row in rows}

    def recent_count(self, person_id: int, assignment: str, now: dt.datetime) -> int:
        with self.engines.read.connect() as conn:
            return int(
                conn.scalar(
                    select(func.count())
                    .select_from(db.submissions)
                    .where(
                        and_(
                            db.submissions.c.person_id == person_id,
                            db.submissions.c.assignment == assignment,
                            db.submissions.c.uploaded_at > now - dt.timedelta(hours=1),
                        )
                    )
                )
                or 0
            )

    # --- the gradebook's copy -----------------------------------------------------------
    def synced(self, person_id: int, assignment: str) -> tuple[int, dt.datetime] | None:
        """(submission id, its grading time) of the result the gradebook holds, if any."""
        with self.engines.read.connect() as conn:
            row = conn.execute(
                select(db.gradebook_sync).where(
                    db.gradebook_sync.c.person_id == person_id,
                    db.gradebook_sync.c.assignment == assignment,
                    db.gradebook_sync.c.synced.is_(True),
                )
            ).first()
        return (row.submission_id, row.graded_at) if row else None

    def set_synced(
        self, person_id: int, assignment: str, submission_id: int, graded_at: dt.datetime
    ) -> None:
        values = {"submission_id": submission_id, "graded_at": graded_at, "synced": True}
        with self.engines.write.begin() as conn:
            done = conn.execute(
                update(db.gradebook_sync)
                .where(
                    db.gradebook_sync.c.person_id == person_id,
                    db.gradebook_sync.c.assignment == assignment,
                )
                .values(**values)
            )
            if not done.rowcount:
                conn.execute(
                    insert(db.gradebook_sync).values(
                        person_id=person_id, assignment=assignment, **values
                    )
                )

    def graded_pairs(self) -> list[tuple[int, str]]:
        """(person id, assignment) of everyone with a graded submission."""
        with self.engines.read.connect() as conn:
            rows = conn.execute(
                select(db.submissions.c.person_id, db.submissions.c.assignment)
                .where(db.submissions.c.result.is_not(None))
                .distinct()
            ).all()
            return [(row.person_id, row.assignment) for row in rows]

    @contextlib.contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """Held by one thread of one service process at a time (PostgreSQL: an advisory lock,
        in a key space apart from the gradebook's own; SQLite: this process's lock)."""
        if self.engines.dialect != "postgresql":
            with self._local_locks.setdefault(name, threading.Lock()):
                yield
            return
        key = zlib.crc32(name.encode()) - 2**31
        with self.engines.write.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:ns, :k)"), {"ns": _LOCK_SPACE, "k": key})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(
                    text("SELECT pg_advisory_unlock(:ns, :k)"), {"ns": _LOCK_SPACE, "k": key}
                )
                conn.commit()
