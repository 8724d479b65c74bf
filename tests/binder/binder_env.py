"""Build the environment the way Binder (repo2docker) does, and run JupyterLab from it.

repo2docker, for a repository with ``runtime.txt`` and ``requirements.txt`` at the top:
installs the Python of ``runtime.txt``, runs ``pip install -r requirements.txt`` in the
repository (``-e .`` then installs the course package from it), runs the executable
``postBuild`` there, and starts JupyterLab with the repository as its root folder. Here the
same steps run on a snapshot of the repository's files in a temporary folder: a fresh
virtual environment, those two files only, and a HOME of its own, so no Jupyter setting or
kernel from this machine can leak in (pip keeps its usual download cache).
"""
from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def repository_files(repo: Path = REPO) -> list[str]:
    """The files a commit of the work tree would hold (tracked, plus new files not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=repo, capture_output=True, text=True, check=True).stdout
    return [name for name in listed.split("\0") if name and (repo / name).is_file()]


def snapshot(dest: Path, repo: Path = REPO) -> Path:
    """Copy the repository's files (not its build outputs or caches) to ``dest``."""
    for name in repository_files(repo):
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / name, target)
    return dest


def runtime_python(repo: Path) -> str:
    """The ``python-X.Y`` of runtime.txt, checked against the Python running the tests."""
    wanted = (repo / "runtime.txt").read_text().strip()
    running = f"python-{sys.version_info.major}.{sys.version_info.minor}"
    if wanted != running:
        raise RuntimeError(f"runtime.txt asks for {wanted}, but the tests run on {running}")
    return sys.executable


@dataclass
class BinderEnv:
    repo: Path
    venv: Path
    home: Path
    install_seconds: float
    postbuild_seconds: float

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def environ(self) -> dict[str, str]:
        """The environment of processes run "inside the image"."""
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("PYTHON", "JUPYTER", "VIRTUAL_ENV", "CONDA"))}
        env.update(PATH=f"{self.bin}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(self.venv),
                   HOME=str(self.home), PYTHONNOUSERSITE="1")
        return env


def build_binder_env(root: Path, repo: Path = REPO) -> BinderEnv:
    """Snapshot, venv, ``pip install -r requirements.txt``, ``postBuild``: about 2 GB in ``root``."""
    snap = snapshot(root / "repo", repo)
    python = runtime_python(snap)
    venv, home = root / "venv", root / "home"
    home.mkdir()
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    env = BinderEnv(snap, venv, home, 0.0, 0.0)
    pip_env = {**env.environ(), "HOME": os.environ.get("HOME", str(home))}  # pip's own cache
    started = time.perf_counter()
    _run([str(env.bin / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
          "-r", "requirements.txt"], snap, pip_env, "pip install -r requirements.txt")
    env.install_seconds = time.perf_counter() - started
    postbuild = snap / "postBuild"
    if not os.access(postbuild, os.X_OK):
        raise RuntimeError("postBuild must be executable (repo2docker runs it as a program)")
    started = time.perf_counter()
    _run([str(postbuild)], snap, env.environ(), "postBuild")
    env.postbuild_seconds = time.perf_counter() - started
    return env


def _run(command: list[str], cwd: Path, env: dict, what: str) -> None:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class JupyterLab:
    """``jupyter lab`` from the Binder environment on 127.0.0.1 with a random token."""

    def __init__(self, env: BinderEnv, log_path: Path):
        self.env = env
        self.token = secrets.token_hex(16)
        self.port = _free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def url(self, path: str) -> str:
        """The address of ``path`` (e.g. the ``urlpath`` of a Binder link), logged in by token."""
        joiner = "&" if "?" in path else "?"
        return f"{self.origin}/{path.lstrip('/')}{joiner}token={self.token}"

    def __enter__(self):
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [str(self.env.bin / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1",
             f"--port={self.port}", f"--IdentityProvider.token={self.token}",
             f"--ServerApp.root_dir={self.env.repo}",
             # Lets the test read cell outputs from the notebook model the UI shows.
             "--LabApp.expose_app_in_browser=True",
             # No news or update checks (they would reach the internet).
             "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
             # Binder runs as an ordinary user; CI machines may run the tests as root.
             *(["--allow-root"] if os.geteuid() == 0 else [])],
            cwd=self.env.repo, env=self.env.environ(), stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited: {self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url("api/status"), timeout=2) as reply:
                    if reply.status == 200:
                        return self
            except OSError:
                time.sleep(0.5)
        self.__exit__()
        raise RuntimeError(f"jupyter lab did not start: {self.log_path.read_text()[-3000:]}")

    def get_json(self, path: str):
        import json

        with urllib.request.urlopen(self.url(path), timeout=10) as reply:
            return json.load(reply)

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
