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
* ``ipc-limits``: (needs root, with bubblewrap) the worker's IPC namespace allows no System V
  shared memory and few semaphores and message queues (``ipc_namespace.py``).
* ``job-folder cap``: (needs root) each worker's job folder is a size-limited tmpfs of its own,
  so a job's total writes there are capped; without root the worker watches the folder's size
  while the job runs and stops the job at the cap (a check, not a hard limit).

Where a layer is missing (an instructor's laptop without bubblewrap, not root), grading still
works and the report warns which protections were not in force.
"""

from __future__ import annotations

import ctypes
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
#: How often, without root, the worker measures the job folder while a job runs.
FOLDER_WATCH_SECONDS = 0.5

MS_NOSUID, MS_NODEV, MS_REMOUNT, MNT_DETACH = 2, 4, 32, 2
_libc = ctypes.CDLL(None, use_errno=True)


@dataclass
class Isolation:
    bubblewrap: str | None  # path of bwrap when usable
    root: bool
    #: The worker starts in an IPC namespace of its own whose limits forbid System V shared
    #: memory (``ipc_namespace.py``); False: bubblewrap's plain ``--unshare-ipc``, or none.
    ipc_limited: bool = False
    #: Each job folder is a size-limited filesystem of its own (root); False: the worker
    #: watches the folder's size instead.
    folder_filesystems: bool = False
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
        cmd = [sys.executable, "-I", "-m", "autograder.sandbox.ipc_namespace", "--"]
        cmd = (cmd if self.ipc_limited else []) + [
            self.bubblewrap,
            "--die-with-parent",
            "--new-session",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--hostname",
            "sandbox",
        ]
        if not self.ipc_limited:
            cmd += ["--unshare-ipc"]
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


def mount_job_folder(folder: Path, size_bytes: int, entries: int, remount: bool = False) -> None:
    """Make ``folder`` a tmpfs of ``size_bytes`` and ``entries`` inodes (root only); with
    ``remount``, change the limits of the one already there (it must be empty)."""
    options = f"size={size_bytes},nr_inodes={entries},mode=0700".encode()
    flags = MS_NOSUID | MS_NODEV | (MS_REMOUNT if remount else 0)
    if _libc.mount(b"tmpfs", os.fsencode(folder), b"tmpfs", flags, options) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mount tmpfs on {folder}: {os.strerror(errno)}")


def unmount_job_folder(folder: Path) -> None:
    """Detach a job folder's tmpfs: whatever it holds is gone at once (no walk needed)."""
    _libc.umount2(os.fsencode(folder), MNT_DETACH)


#: A pool's scratch folder is named after the grader's process, so that the job folders'
#: filesystems of a grader killed before its pool closed can be told and unmounted.
POOL_PREFIX = "autograder-pool-"


def unmount_orphaned_job_folders() -> None:
    """Unmount the job folders' filesystems left by graders that no longer run (killed with
    SIGKILL, their pools never closed): each holds up to a job folder's cap of RAM."""
    import re
    import tempfile

    pattern = re.compile(
        re.escape(os.path.join(tempfile.gettempdir(), POOL_PREFIX)) + r"(\d+)-[^/]+/worker-[^/]+$"
    )
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
            mounts = [line.split()[4] for line in f]
    except OSError:
        return
    for mounted in mounts:
        # mountinfo writes space, tab, newline and backslash as octal escapes.
        path = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), mounted)
        found = pattern.match(path)
        if found and not os.path.exists(f"/proc/{found.group(1)}"):
            unmount_job_folder(Path(path))


def _folder_filesystems_work() -> bool:
    """Whether a tmpfs can be mounted on a job folder here (root, and allowed to mount)."""
    import tempfile

    probe = Path(tempfile.mkdtemp(prefix="autograder-probe-"))
    try:
        mount_job_folder(probe, 1 << 20, 16)
    except OSError:
        return False
    else:
        unmount_job_folder(probe)
        return True
    finally:
        probe.rmdir()


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
    ipc_limited = False
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
        failed = _runs(probe + ["true"])
        if failed is not None:
            problem = failed
        else:
            usable = bwrap
            if root:  # the IPC namespace's limits, tried as the worker uses them
                wrapper = [sys.executable, "-I", "-m", "autograder.sandbox.ipc_namespace", "--"]
                mqueue = ["--mqueue", "/dev/mqueue", "true"]
                ipc_limited = _runs(wrapper + probe + mqueue) is None
    iso = Isolation(
        bubblewrap=usable,
        root=root,
        ipc_limited=ipc_limited,
        folder_filesystems=root and _folder_filesystems_work(),
    )
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
    if ipc_limited:
        iso.layers.append(
            "no System V shared memory; few semaphores and message queues (own IPC limits)"
        )
    else:
        iso.warnings.append(
            "the kernel's default IPC limits apply: a notebook's System V shared memory is not "
            "counted against its memory limit while it runs"
        )
    if iso.folder_filesystems:
        iso.layers.append("job folder's total capped (a size-limited filesystem per worker)")
    else:
        iso.warnings.append(
            "the job folder's total size is not a hard limit (it needs root): the worker "
            f"measures the folder every {FOLDER_WATCH_SECONDS:g} s and stops a job over the "
            "cap, so a notebook can write past it for that long"
        )
    return iso


def _runs(command: list[str]) -> str | None:
    """None if ``command`` succeeds, else why not."""
    try:
        done = subprocess.run(command, capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap failed to start: {exc}"
    if done.returncode == 0:
        return None
    return (
        "bubblewrap cannot create namespaces here: " + done.stderr.decode(errors="replace").strip()
    )
