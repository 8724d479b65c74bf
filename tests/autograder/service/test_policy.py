"""service/policy.py: each assignment's rules and the decisions they make (pure functions of
the rule, the time and the student's history), with refusals in plain words."""

from __future__ import annotations

import datetime as dt

import pytest

from autograder.service.policy import (
    Accepted,
    Counts,
    Graded,
    Late,
    Policy,
    Refused,
    counting,
    decide_upload,
)

DEADLINE = dt.datetime(2026, 12, 1, 12, 0)
BEFORE = DEADLINE - dt.timedelta(hours=2)


def test_an_upload_in_time_within_the_limits_is_accepted():
    policy = Policy("a", deadline=DEADLINE, per_hour=3)
    assert decide_upload(policy, BEFORE, 1000, [BEFORE - dt.timedelta(minutes=5)]) == Accepted(
        0, 0.0
    )
    assert decide_upload(Policy("a"), BEFORE, 1000, []) == Accepted(0, 0.0)  # no deadline


def test_an_oversize_notebook_is_refused_with_what_to_do():
    refused = decide_upload(Policy("a", max_upload_bytes=1024**2), BEFORE, 3 * 1024**2, [])
    assert isinstance(refused, Refused) and refused.http_status == 413
    assert refused.reason.startswith(
        "The file is 3.0 MB; this assignment accepts notebooks of at most 1.0 MB."
    )
    assert "Clear Outputs of All Cells" in refused.reason


def test_the_rate_limit_says_when_to_try_again():
    recent = [BEFORE - dt.timedelta(minutes=m) for m in (50, 20, 1)]
    refused = decide_upload(Policy("a", per_hour=3), BEFORE, 10, recent)
    assert refused == Refused(
        "You have submitted 3 times in the last hour, the limit for this assignment. "
        "You can submit again at 10:10 UTC (in 10 minutes).",
        429,
    )


def test_late_uploads_are_refused_or_lose_a_share_per_started_day():
    late = DEADLINE + dt.timedelta(days=1, minutes=1)
    refused = decide_upload(Policy("a", deadline=DEADLINE), late, 10, [])
    assert isinstance(refused, Refused) and refused.http_status == 403
    assert "2026-12-01 12:00 UTC" in refused.reason and "does not accept late" in refused.reason
    penalty = Policy("a", deadline=DEADLINE, late=Late.PENALTY, penalty_per_day=0.25)
    assert decide_upload(penalty, late, 10, []) == Accepted(2, 0.5)
    weeks_late = DEADLINE + dt.timedelta(days=30)
    assert decide_upload(penalty, weeks_late, 10, []) == Accepted(30, 1.0)  # never below 0


def test_which_submission_counts():
    day = dt.timedelta(days=1)
    early = Graded(1, BEFORE - day, 9.0, 0.0)
    late_penalised = Graded(2, BEFORE, 10.0, 0.5)  # 5 after its penalty
    broken = Graded(3, BEFORE + day, None, 0.0)
    graded = [early, late_penalised, broken]
    assert counting(Policy("a", counts=Counts.LAST), graded) == broken
    assert counting(Policy("a", counts=Counts.BEST), graded) == early
    tie = Graded(4, BEFORE + 2 * day, 9.0, 0.0)
    assert counting(Policy("a", counts=Counts.BEST), [*graded, tie]) == tie  # the latest wins a tie
    assert counting(Policy("a", counts=Counts.BEST), [broken]) == broken
    assert counting(Policy("a"), []) is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"penalty_per_day": 1.5}, "penalty per day must be between 0 and 100 %"),
        ({"per_hour": 0}, "submissions per hour must be between 1 and 1000"),
        ({"max_upload_bytes": 10}, "the upload limit must be between 1 KB and"),
    ],
)
def test_a_rule_out_of_range_is_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        Policy("a", **changes)
