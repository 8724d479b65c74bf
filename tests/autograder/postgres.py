"""A real PostgreSQL server for the tests: Debian's binaries (package postgresql, installed by
.ci/run), started in a temporary folder on a free loopback port; it can be restarted (the
service's fault tests) and is stopped at the end."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self) -> None:
        binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        assert binaries, (
            "PostgreSQL is not installed (Debian package postgresql; .ci/run installs it)"
        )
        self.bindir = Path(binaries[-1]).parent
        # PostgreSQL refuses to run as root: as root, run it as Debian's postgres user, in a
        # folder of its own (pytest's temporary folders are private to root).
        self.top = Path(tempfile.mkdtemp(prefix="autograder-pg-"))
        self.data = self.top / "data"
        self.run_as = []
        if os.geteuid() == 0:
            self.run_as = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.top, "postgres")
        subprocess.run(
            self.run_as
            + [str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"],
            check=True,
            capture_output=True,
        )
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.start()
        self.create_database("gradebook")

    @property
    def url(self) -> str:
        return self.database_url("gradebook")

    def database_url(self, name: str) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{name}"

    def create_database(self, name: str) -> str:
        subprocess.run(
            self.run_as
            + [
                str(self.bindir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                name,
            ],
            check=True,
        )
        return self.database_url(name)

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.run_as
            + [
                str(self.bindir / "postgres"),
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"unix_socket_directories={self.data}",
                "-c",
                "max_connections=200",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(150):
            ready = subprocess.run(
                [str(self.bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.2)
        self.process.kill()
        raise RuntimeError("PostgreSQL did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()  # "smart" shutdown would wait for clients: fast instead
            subprocess.run(
                self.run_as
                + [str(self.bindir / "pg_ctl"), "-D", str(self.data), "stop", "-m", "fast"],
                capture_output=True,
            )
            self.process.wait(timeout=60)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.top, ignore_errors=True)
