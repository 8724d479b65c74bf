"""The service's grading threads: claim a job, grade it in the sandbox, store the result once,
and keep the gradebook holding the submission that counts.

One thread per sandboxed worker. A thread that finds the queue empty sleeps until an upload in
this process wakes it, or for a second (uploads to other processes sharing the database).
A database that goes away (a PostgreSQL restart) is waited for: a finished grading is kept in
memory and stored once the database answers again, so nothing is lost. A stopping service hands
unfinished jobs back to the queue instead of storing a half-run result.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError

from .grading import GradingCore, Outcome, Upload
from .policy import Graded, counting
from .queue import HEARTBEAT_SECONDS, Claim, Queue
from .store import Store

log = logging.getLogger("autograder.service")
DB_ERRORS = (OperationalError, DBAPIError)
T = TypeVar("T")
IDLE_SECONDS = 1.0
#: Every this many heartbeats, the gradebook is checked against the counting submissions.
RECONCILE_BEATS = 12


class Runner:
    def __init__(
        self,
        store: Store,
        queue: Queue,
        core: GradingCore,
        notify: Callable[[str], None] = lambda public_id: None,
    ) -> None:
        self.store = store
        self.queue = queue
        self.core = core
        self.notify = notify
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.ready = threading.Event()  # the sandboxed workers have started
        self.threads: list[threading.Thread] = []
        self.graded = 0

    # --- life ---------------------------------------------------------------------------
    def start(self) -> None:
        """Register, requeue what dead processes left, then start the sandboxed workers in the
        background (seconds: each imports TensorFlow); uploads queue meanwhile."""
        self.queue.register()
        self._requeue()
        self.reconcile()
        heartbeat = threading.Thread(target=self._heartbeat_loop, name="heartbeat", daemon=True)
        starter = threading.Thread(target=self._start_grading, name="grading-start", daemon=True)
        self.threads = [heartbeat, starter]
        heartbeat.start()
        starter.start()

    def _start_grading(self) -> None:
        while True:
            try:
                self.core.start()
                break
            except Exception:  # noqa: BLE001 - the pages keep working; uploads wait in the queue
                log.exception("the grading workers could not start; trying again")
                if self.stopping.wait(5.0):
                    return
        self.ready.set()
        for i in range(self.core.workers):
            thread = threading.Thread(target=self._grade_loop, name=f"grading-{i}", daemon=True)
            self.threads.append(thread)
            thread.start()
        # bubblewrap's --die-with-parent follows the thread that started a worker: this one
        # lives as long as the workers.
        self.stopping.wait()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        self.core.close()  # ends gradings under way: their jobs go back to the queue
        for thread in list(self.threads):
            thread.join(timeout=30)
        try:
            self.queue.unregister()
        except DB_ERRORS:
            log.warning("could not hand unfinished jobs back: other processes will requeue them")

    def _retry(self, what: str, action: Callable[[], T]) -> T:
        """Run a database action until it succeeds (the database may be restarting)."""
        delay = 0.2
        while True:
            try:
                return action()
            except DB_ERRORS as exc:
                if self.stopping.is_set():
                    raise
                log.warning(
                    "database unavailable while %s (%s); retrying", what, type(exc).__name__
                )
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    # --- the loops ----------------------------------------------------------------------
    def _heartbeat_loop(self) -> None:
        beats = 0
        while not self.stopping.wait(HEARTBEAT_SECONDS):
            beats += 1
            try:
                self.queue.heartbeat()
                self._requeue()
                if beats % RECONCILE_BEATS == 0:
                    self.reconcile()
            except DB_ERRORS as exc:
                log.warning("heartbeat failed (%s)", type(exc).__name__)
            except Exception:  # noqa: BLE001 - keep beating; the next round tries again
                log.exception("the gradebook could not be brought up to date")

    def _requeue(self) -> None:
        for lost in self.queue.requeue_orphans():
            self._store(lost.claim, self.core.lost(self._upload(lost.claim), lost.claim.losses))
        self.wake.set()

    def _grade_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                self._grade_one()
            except Exception:  # noqa: BLE001 - a grading thread never dies; the job is requeued
                log.exception("a grading thread failed; its job goes back to the queue")
                self.stopping.wait(IDLE_SECONDS)

    def _grade_one(self) -> None:
        """Claim one job and grade it (or wait a little when the queue is empty)."""
        while not self.stopping.is_set():
            try:
                claim = self.queue.claim()
            except DB_ERRORS as exc:
                log.warning("could not claim a job (%s)", type(exc).__name__)
                self.stopping.wait(IDLE_SECONDS)
                continue
            if claim is None:
                self.wake.wait(IDLE_SECONDS)
                self.wake.clear()
                continue
            try:
                self._grade_claimed(claim)
            except BaseException:
                self._retry("handing a job back", partial(self.queue.release, claim))
                raise
            return

    def _grade_claimed(self, claim: Claim) -> None:
        self.notify(claim.public_id)
        upload = self._retry("reading a submission", lambda: self._upload(claim))
        try:
            outcome = self.core.grade(upload)
        except Exception as exc:  # noqa: BLE001 - a fault of the grader: that job's status
            if self.stopping.is_set():
                return
            log.exception("grading %s failed", claim.public_id)
            outcome = self.core.grader_error(upload, exc)
        if self.stopping.is_set():
            return  # the pool was stopped under it: the job goes back to the queue
        self._store(claim, outcome)

    def _upload(self, claim: Claim) -> Upload:
        return Upload(
            claim.public_id,
            claim.student_id,
            claim.assignment,
            claim.notebook,
            self.store.notebook_bytes(claim.submission_id),
            claim.uploaded_at,
            claim.losses,
        )

    def _store(self, claim: Claim, outcome: Outcome) -> None:
        stored = self._retry(
            "storing a result",
            lambda: self.queue.finish(
                claim,
                status=outcome.status.value,
                score=outcome.score,
                max_score=outcome.max_score,
                result=outcome.result_json,
                key_version=outcome.key_version,
                worker_losses=outcome.workers_lost,
            ),
        )
        if stored:
            self.graded += 1
            try:
                self._retry(
                    "updating the gradebook", lambda: self.sync(claim.person_id, claim.assignment)
                )
            except Exception:  # noqa: BLE001 - the result is stored; reconcile() tries again
                log.exception(
                    "the gradebook could not take the result of %s; it is kept in "
                    "the service's tables and stored again later",
                    claim.public_id,
                )
        self.notify(claim.public_id)

    # --- the gradebook ------------------------------------------------------------------
    def sync(self, person_id: int, assignment: str) -> bool:
        """Make the gradebook hold the submission that counts for one student; True if it
        had to change (idempotent: a second sync of the same result changes nothing)."""
        with self.store.exclusive(f"sync/{person_id}/{assignment}"):
            graded = [
                s
                for s in self.store.submissions(assignment, person_id)
                if s.result is not None and s.graded_at is not None
            ]
            choice = counting(
                self.store.policy(assignment),
                [Graded(s.id, s.uploaded_at, s.score, s.penalty) for s in graded],
            )
            if choice is None:
                return False
            chosen = next(s for s in graded if s.id == choice.submission_id)
            if self.store.synced(person_id, assignment) == (chosen.id, chosen.graded_at):
                return False
            assert chosen.result is not None and chosen.graded_at is not None  # graded above
            self.core.store_counting(chosen.result, self.store.notebook_bytes(chosen.id))
            self.store.set_synced(person_id, assignment, chosen.id, chosen.graded_at)
            return True

    def reconcile(self, assignment: str | None = None) -> None:
        """Bring the gradebook up to date for everyone (after a crash, or a policy change).

        Logged when it had anything to do, so a sync lost between storing a result and the
        gradebook (a process killed there, a gradebook write that failed) shows in the log."""
        behind = [
            f"{name} of person {person_id}"
            for person_id, name in self.store.graded_pairs()
            if (assignment is None or name == assignment) and self.sync(person_id, name)
        ]
        if behind:
            log.info("the gradebook was behind and is now up to date for: %s", ", ".join(behind))
