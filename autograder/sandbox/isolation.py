"""Which isolation layers this machine allows, and the command that starts a sandboxed worker.

Layers, strongest first (the grading report names the ones in force):

* ``bubblewrap``: the worker runs in new mount, PID, network, IPC and UTS namespaces. It sees the
  system's programs and the Python installation read-only, a private ``/tmp`` and one job folder;
  not the course folder, the gradebook, the answer keys or any other student's files. No network.
* ``separate-user``: (needs root) each submission's process runs as an unprivileged user of its
  own, so it cannot signal, trace or read the grader's processes and files.
* ``private-network``: (needs root, used when bubblewrap is missing) a new empty network namespace.
* ``resource-limits``: always: CPU time, address space, processes, file size, open files, and a
  wall-clock timeout enforced from outside.

Where a layer is missing (an instructor's laptop without bubblewrap, not root), grading still
works and the report warns which protections were not in force.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..results import IsolationReport

#: Unprivileged user ids given to the workers' submission processes: each worker of each
#: grading run takes one that no process is using, so two graders at once never share one
#: (a user's process limit and kill sweeps are per user).
UID_RANGE = range(61000, 65000)

SANDBOX_JOB_DIR = "/job"
#: The sandbox's private temporary folders are RAM-backed: each is capped (and emptied after
#: every job, so the cap is each job's). POSIX shared memory lives in /dev/shm.
TMP_BYTES = 512 * 1024**2
SHM_BYTES = 64 * 1024**2


@dataclass
class Isolation:
    bubblewrap: str | None  # path of bwrap when usable
    root: bool
    layers: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def job_dir_inside(self) -> str | None:
        return SANDBOX_JOB_DIR if self.bubblewrap else None

    @property
    def private_network(self) -> bool:
        """Whether each job gets its own empty network namespace (root without bubblewrap;
        bubblewrap gives the whole worker one)."""
        return self.root and not self.bubblewrap

    def worker_uid(self) -> int | None:
        return free_uid() if self.root else None

    def report(self) -> IsolationReport:
        return IsolationReport(tuple(self.layers), tuple(self.warnings))

    def describe(self) -> str:
        return self.report().describe()

    def worker_command(self, job_dir: Path) -> list[str]:
        """The command that starts one worker (a zygote) whose jobs appear in ``job_dir``."""
        python = [sys.executable, "-I", "-m", "autograder.sandbox.zygote"]
        if not self.bubblewrap:
            return python
        cmd = [
            self.bubblewrap,
            "--die-with-parent",
            "--new-session",
            "--unshare-ipc",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--hostname",
            "sandbox",
        ]
        if not self.root:
            cmd += ["--unshare-user"]
        # The private /tmp first: a package bound below /tmp (a checkout there) must stay
        # visible, not be hidden under the new tmpfs.
        cmd += ["--proc", "/proc", "--dev", "/dev", "--mqueue", "/dev/mqueue"]
        for folder, size in (("/tmp", TMP_BYTES), ("/dev/shm", SHM_BYTES)):
            cmd += ["--perms", "1777", "--size", str(size), "--tmpfs", folder]
        bound = readonly_paths()
        # bubblewrap would create the folders leading to a bind as 0700: the submission's
        # user could not reach the Python installation below /root.
        for parent in sorted(
            {str(a) for p in bound for a in Path(p).parents} - {"/", "/tmp"} - set(bound),
            key=lambda a: a.count("/"),
        ):
            cmd += ["--perms", "0755", "--dir", parent]
        for path in bound:
            cmd += ["--ro-bind", path, path]
        cmd += [
            "--bind",
            str(job_dir),
            SANDBOX_JOB_DIR,
            "--chdir",
            SANDBOX_JOB_DIR,
            "--setenv",
            "HOME",
            SANDBOX_JOB_DIR,
        ]
        if self.root:
            # The worker keeps only what it needs to start each submission as another user,
            # to clean up after it and to kill what it leaves behind.
            cmd += ["--cap-drop", "ALL"]
            for cap in (
                "CAP_SETUID",
                "CAP_SETGID",
                "CAP_KILL",
                "CAP_CHOWN",
                "CAP_DAC_OVERRIDE",
                "CAP_FOWNER",
            ):
                cmd += ["--cap-add", cap]
        return cmd + ["--"] + python


def free_uid() -> int:
    """A user id from UID_RANGE that owns no process now, picked at random."""
    import random

    busy = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                busy.add(os.stat(f"/proc/{entry}").st_uid)
            except OSError:
                pass
    candidates = [uid for uid in UID_RANGE if uid not in busy and uid not in _taken]
    uid = random.SystemRandom().choice(candidates)
    _taken.add(uid)
    return uid


_taken: set[int] = set()  # ids this process already gave to a worker


def readonly_paths() -> list[str]:
    """System folders plus the Python installation and the two packages the worker imports."""
    paths = {
        "/usr",
        "/bin",
        "/lib",
        "/lib64",
        "/sbin",
        "/etc/alternatives",
        "/etc/ld.so.cache",
        "/etc/localtime",
        "/etc/passwd",
        "/etc/group",
        "/etc/nsswitch.conf",
        "/etc/ssl",
        "/etc/fonts",
        "/etc/matplotlibrc",
    }
    for prefix in (sys.prefix, sys.base_prefix, sys.exec_prefix):
        paths.add(os.path.realpath(prefix))
    paths.add(os.path.dirname(os.path.realpath(sys.executable)))
    # Editable installs point outside the prefix: bind just those packages' folders, which hold
    # no answers (the course folder, with keys and solutions, stays invisible).
    for name in ("upsampling_course", "autograder"):
        spec = importlib.util.find_spec(name)
        if spec and spec.submodule_search_locations:
            for location in spec.submodule_search_locations:
                paths.add(os.path.realpath(location))
    existing = sorted(p for p in paths if os.path.exists(p))
    # Drop paths already inside another bound path.
    return [
        p
        for p in existing
        if not any(p != q and p.startswith(q.rstrip("/") + "/") for q in existing)
    ]


def detect(require_sandbox: bool = False) -> Isolation:
    """Probe the machine once; raise if ``require_sandbox`` and bubblewrap is not usable."""
    root = os.geteuid() == 0
    bwrap = shutil.which("bwrap")
    usable = None
    problem = "bubblewrap (bwrap) is not installed"
    if bwrap:
        probe = [
            bwrap,
            "--unshare-pid",
            "--unshare-net",
            "--ro-bind",
            "/",
            "/",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
        ] + ([] if root else ["--unshare-user"])
        try:
            done = subprocess.run(probe + ["true"], capture_output=True, timeout=20)
            if done.returncode == 0:
                usable = bwrap
            else:
                problem = (
                    "bubblewrap cannot create namespaces here: "
                    + done.stderr.decode(errors="replace").strip()
                )
        except (OSError, subprocess.TimeoutExpired) as exc:
            problem = f"bubblewrap failed to start: {exc}"
    iso = Isolation(bubblewrap=usable, root=root)
    if usable:
        iso.layers.append("bubblewrap (private filesystem view, no network, own PID namespace)")
        iso.layers.append(
            f"temporary space capped ({TMP_BYTES // 1024**2} MB /tmp, "
            f"{SHM_BYTES // 1024**2} MB /dev/shm)"
        )
        iso.layers.append("IPC objects a job leaves are removed before the next job")
    else:
        if require_sandbox:
            raise RuntimeError(f"a sandbox is required but {problem}")
        iso.warnings.append(
            f"{problem}: submissions can read files this user can read"
            + ("" if root else " and open network connections")
        )
    if root:
        iso.layers.append("separate unprivileged user per worker")
        if not usable:
            iso.layers.append("private network namespace")
    else:
        iso.warnings.append(
            "not running as root: submissions run as your own user, so they "
            "could signal or read your other processes and files"
        )
    iso.layers.append("resource limits (CPU, memory, processes, file size) and wall-clock timeout")
    iso.warnings.append(
        "the job folder's total size is not capped (each file is): a notebook can fill the "
        "grader's disk up to the file size limit times the files it writes in its time"
    )
    return iso
