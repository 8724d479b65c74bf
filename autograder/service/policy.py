"""Per-assignment rules, and the decisions they make. Pure: no database, no clock of its own.

* deadline (UTC, optional) and what happens after it: refuse, or take a share of the score off
  per day late (a started day counts, up to the whole score);
* submissions per student per hour, so the grader cannot be used as an oracle for the hidden
  checks: each graded submission tells the student the kind of each hidden difference;
* which submission counts: the last one, or the best one;
* the largest notebook accepted.

Every refusal says why, in plain words, and when the student may try again.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from enum import StrEnum

from ..notebook import MAX_NOTEBOOK_BYTES

WINDOW = dt.timedelta(hours=1)


class Late(StrEnum):
    REFUSE = "refuse"
    PENALTY = "penalty"


class Counts(StrEnum):
    LAST = "last"
    BEST = "best"


@dataclass(frozen=True)
class Policy:
    assignment: str
    deadline: dt.datetime | None = None  # naive UTC
    late: Late = Late.REFUSE
    penalty_per_day: float = 0.1
    per_hour: int = 10
    counts: Counts = Counts.LAST
    max_upload_bytes: int = 8 * 1024**2
    canvas_column: str = ""  # Canvas's "Name (id)" of the assignment column, if known

    def __post_init__(self) -> None:
        if not 0 <= self.penalty_per_day <= 1:
            raise ValueError("the penalty per day must be between 0 and 100 %")
        if not 1 <= self.per_hour <= 1000:
            raise ValueError("submissions per hour must be between 1 and 1000")
        if not 1024 <= self.max_upload_bytes <= MAX_NOTEBOOK_BYTES:
            raise ValueError(
                f"the upload limit must be between 1 KB and {MAX_NOTEBOOK_BYTES // 1024**2} MB"
            )


@dataclass(frozen=True)
class Accepted:
    late_days: int
    penalty: float  # share of the score taken off


@dataclass(frozen=True)
class Refused:
    reason: str  # plain words, shown to the student
    http_status: int = 400


def _when(moment: dt.datetime, now: dt.datetime) -> str:
    minutes = max(1, math.ceil((moment - now).total_seconds() / 60))
    return f"{moment:%H:%M} UTC (in {minutes} minute{'s' if minutes != 1 else ''})"


def decide_upload(
    policy: Policy, now: dt.datetime, size: int, recent: list[dt.datetime]
) -> Accepted | Refused:
    """Whether a new upload of ``size`` bytes is accepted; ``recent``: the student's earlier
    uploads of this assignment within the last hour."""
    if size > policy.max_upload_bytes:
        return Refused(
            f"The file is {size / 1024**2:.1f} MB; this assignment accepts notebooks "
            f"of at most {policy.max_upload_bytes / 1024**2:.1f} MB. Clear large "
            "outputs (Edit > Clear Outputs of All Cells), save, and submit again.",
            413,
        )
    if len(recent) >= policy.per_hour:
        again = min(recent) + WINDOW
        return Refused(
            f"You have submitted {len(recent)} times in the last hour, the limit for "
            f"this assignment. You can submit again at {_when(again, now)}.",
            429,
        )
    if policy.deadline is None or now <= policy.deadline:
        return Accepted(0, 0.0)
    if policy.late is Late.REFUSE:
        return Refused(
            f"The deadline was {policy.deadline:%Y-%m-%d %H:%M} UTC; this assignment "
            "does not accept late submissions. Ask your instructor if you need more "
            "time.",
            403,
        )
    days = math.ceil((now - policy.deadline) / dt.timedelta(days=1))
    return Accepted(days, min(1.0, days * policy.penalty_per_day))


@dataclass(frozen=True)
class Graded:
    """One graded submission, as the choice of the one that counts sees it."""

    submission_id: int
    uploaded_at: dt.datetime
    score: float | None  # None: could not be scored
    penalty: float

    @property
    def final(self) -> float:
        return (self.score or 0.0) * (1 - self.penalty)


def counting(policy: Policy, graded: list[Graded]) -> Graded | None:
    """The submission that counts among the graded ones (the latest wins a tie)."""
    if not graded:
        return None
    latest_first = sorted(graded, key=lambda g: (g.uploaded_at, g.submission_id), reverse=True)
    if policy.counts is Counts.LAST:
        return latest_first[0]
    return max(latest_first, key=lambda g: (g.score is not None, g.final))
