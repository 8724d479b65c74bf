"""The sandbox worker's clean-up helper (``sandbox/zygote.UserHelper``): steps run as a job's
user through a lean process, a fork of the worker when the helper is gone, never as root, and
never longer than ``STEP_SECONDS`` whatever a job's leftover process does to the step."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import pytest

from autograder.sandbox import zygote
from autograder.sandbox.isolation import free_uid
from autograder.sandbox.zygote import UserHelper, as_user

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="steps as another user need root")

MARKS = Path("/nonexistent")  # set per test: where the "mark" step writes


def _mark(uid: int) -> None:
    """A step that leaves a file named after the process that ran it, as ``uid``."""
    (MARKS / f"{os.getpid()}-{os.getuid()}").touch()


def _stop_self(uid: int) -> None:
    """A step stopped before it acts, as a job's leftover process of the same user could."""
    os.kill(os.getpid(), signal.SIGSTOP)


@pytest.fixture
def helper(monkeypatch):
    global MARKS
    MARKS = Path(tempfile.mkdtemp(prefix="user-helper-"))  # pytest's folders are root's only
    MARKS.chmod(0o777)
    monkeypatch.setattr(zygote, "STEP_SECONDS", 0.5)
    monkeypatch.setitem(UserHelper.ACTIONS, "mark", _mark)
    monkeypatch.setitem(UserHelper.ACTIONS, "stop", _stop_self)
    started = UserHelper.start()  # after the settings above: the helper is a fork of this
    assert started is not None
    monkeypatch.setattr(zygote, "_helper", started)
    yield started
    started.stop()
    shutil.rmtree(MARKS)


def _marks() -> list[tuple[int, int]]:
    return [tuple(map(int, p.name.split("-"))) for p in MARKS.iterdir()]  # type: ignore[misc]


def test_a_step_runs_as_the_jobs_user_in_a_child_of_the_helper(helper):
    uid = free_uid()
    assert as_user("mark", uid)
    ((pid, ran_as),) = _marks()
    assert ran_as == uid and pid not in (os.getpid(), helper.pid)
    assert zygote._helper is helper  # still in use


def test_without_its_helper_the_worker_runs_the_step_itself(helper):
    os.kill(helper.pid, signal.SIGKILL)
    os.waitpid(helper.pid, 0)
    uid = free_uid()
    assert as_user("mark", uid)
    ((_, ran_as),) = _marks()
    assert ran_as == uid
    assert zygote._helper is None  # the fork of the worker from now on


def test_no_step_runs_as_root_through_the_helper_or_without_it(helper):
    assert not as_user("mark", 0)
    assert helper.run("mark", 0) is False
    zygote._helper = None
    assert not as_user("mark", 0)
    assert _marks() == []


def test_a_stopped_step_is_killed_in_time_and_counts_as_failed(helper):
    started = time.monotonic()
    assert helper.run("stop", free_uid()) is False
    assert time.monotonic() - started < 5
    assert helper.run("mark", free_uid()) is True  # the helper goes on


def test_a_request_the_helper_does_not_know_fails_and_leaves_it_running(helper):
    assert helper.run("format-disk", free_uid()) is False
    assert helper.run("mark", free_uid()) is True
