"""Helpers of the submission service's tests: a real ``autograder serve`` process, a class of
students with their sign-in links, HTTP clients that keep every response for the secrets scan,
and what must never appear in a response."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests

from autograder.cli import main
from autograder.course import Course
from autograder.redaction import hidden_region_lines
from autograder.service import db

from .postgres import free_port

PASSWORD = "a long instructor password"


def tree(pid: int) -> list[psutil.Process]:
    """A process and every process below it (the service and its sandboxed workers)."""
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def tree_rss(pid: int) -> int:
    total = 0
    for process in tree(pid):
        try:
            total += process.memory_info().rss
        except psutil.Error:
            pass  # it ended meanwhile
    return total


class Service:
    """``autograder serve`` for a course, as an instructor starts it."""

    def __init__(
        self, course: Course, log: Path, *, workers: int = 2, extra: tuple[str, ...] = ()
    ) -> None:
        self.course = course
        self.log = log
        self.workers = workers
        self.extra = extra
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.peak_rss = 0
        self._sampling = False

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def start(self, wait_grading: bool = True) -> Service:
        env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "autograder",
                    "serve",
                    "--course",
                    str(self.course.root),
                    "--db-url",
                    self.course.db_url,
                    "--port",
                    str(self.port),
                    "--workers",
                    str(self.workers),
                    "--timeout",
                    "60",
                    *self.extra,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        try:
            self.wait_ready(wait_grading)
        except BaseException:
            self.stop()  # never leave a server behind a failed test
            raise
        return self

    def wait_ready(self, grading: bool = True, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process and self.process.poll() is None, self.tail()
            try:
                health = requests.get(self.url("/healthz"), timeout=5).json()
                if health["grading"] or not grading:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise AssertionError(f"the service did not start:\n{self.tail()}")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def kill9(self) -> None:
        assert self.process
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        self._sampling = False
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def sample_memory(self) -> None:
        """Keep the peak RSS of the service's process tree, every 0.2 s, until stopped."""
        self._sampling = True

        def loop() -> None:
            while self._sampling and self.process and self.process.poll() is None:
                try:
                    self.peak_rss = max(self.peak_rss, tree_rss(self.process.pid))
                except psutil.Error:
                    return
                time.sleep(0.2)

        threading.Thread(target=loop, daemon=True).start()


@dataclass
class Responses:
    """Every response body the tests received, for the final scan."""

    bodies: list[tuple[str, bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, url: str, body: bytes) -> None:
        with self.lock:
            self.bodies.append((url, body))

    def session(self) -> requests.Session:
        session = requests.Session()
        session.hooks["response"].append(lambda r, *a, **k: self.add(r.url, r.content))
        return session


def make_class(
    course: Course, students: list[tuple[str, str, str]], links: Path, base_url: str
) -> dict[str, str]:
    """Import a roster through the CLI and add an instructor; student id -> sign-in token."""
    roster = links.parent / "roster.csv"
    with roster.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["Student ID", "Name", "Email"])
        writer.writerows(students)
    common = ["--course", str(course.root), "--db-url", course.db_url]
    assert (
        main(
            [
                "roster",
                "import",
                str(roster),
                "--links",
                str(links),
                "--public-url",
                base_url,
                *common,
            ]
        )
        == 0
    )
    with links.open(newline="") as f:
        tokens = {row["student_id"]: row["link"].rsplit("/s/", 1)[1] for row in csv.DictReader(f)}
    import io

    stdin, sys.stdin = sys.stdin, io.StringIO(PASSWORD + "\n")
    try:
        assert main(["instructor", "prof", "--password-stdin", *common]) == 0
    finally:
        sys.stdin = stdin
    return tokens


def secret_strings(course: Course, assignment: str) -> list[str]:
    """What no response may contain: hidden-test lines and check names, the seed, and the key's
    hidden values (as JSON, whole and as a run of their first eight numbers)."""
    key = json.loads(course.key_path(assignment).read_text())
    found = [str(key["seed"]), "BEGIN HIDDEN TESTS", "check_hidden("]
    for name in key["notebooks"]:
        source = json.loads((course.source_dir(assignment) / f"{name}.ipynb").read_text())
        release = json.loads((course.release_dir(assignment) / f"{name}.ipynb").read_text())
        released = {
            line.strip()
            for cell in release["cells"]
            for line in "".join(cell["source"]).splitlines()
        }
        found += [
            line
            for cell in source["cells"]
            for line in hidden_region_lines("".join(cell["source"]))
            if line not in released and len(line) > 3
        ]
        for cell in key["notebooks"][name]["cells"].values():
            for check, value in cell["values"].items():
                if not value["hidden"]:
                    continue
                found.append(check)
                data = value["value"]["data"] if isinstance(value["value"], dict) else None
                if data:
                    found.append(json.dumps(data))
                    if len(data) >= 8:
                        found.append(json.dumps(data[:8])[1:-1])
    return found


def upload(
    session: requests.Session,
    service: Service,
    token: str,
    notebook: bytes,
    filename: str = "upsampling-by-hand.ipynb",
    assignment: str | None = None,
    attempts: int = 60,
) -> requests.Response:
    """``submit()``'s request; waits out a database that is restarting (503)."""
    data = {"assignment": assignment} if assignment else {}
    for _ in range(attempts):
        response = session.post(
            service.url("/api/submissions"),
            headers={"Authorization": f"Bearer {token}"},
            data=data,
            files={"notebook": (filename, notebook)},
            timeout=120,
        )
        if response.status_code != 503:
            return response
        time.sleep(1)
    return response


def wait_graded(
    session: requests.Session, service: Service, token: str, public_id: str, timeout: float = 600
) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = session.get(
            service.url(f"/api/submissions/{public_id}"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        if response.status_code == 200 and response.json()["state"] == "graded":
            return response.json()
        time.sleep(0.2)
    raise AssertionError(f"{public_id} was not graded in {timeout} s:\n{service.tail()}")


def assert_each_graded_once(course: Course, public_ids: list[str]) -> None:
    """The queue's promise: every accepted upload is there, none extra, each graded by exactly
    one finished job."""
    tally = db.tally(course.db_url)
    assert sorted(tally.states) == sorted(public_ids), "lost or extra uploads"
    assert tally.not_graded_once() == []
