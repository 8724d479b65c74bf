"""A pristine worker that forks one fresh process per submission.

Started once per core (inside bubblewrap where available), it pays TensorFlow's import once and
then never runs student code itself: each job is run by a child forked from it, so every
submission starts from the same untouched state and no submission sees another's process.

Protocol, one JSON object per line: the grader sends ``{"job": ..., "dir": ..., "uid": ...,
"env": {...}, "limits": {...}}`` on stdin and reads ``{"job": ..., "exit": ..., ...}`` on the
worker's original stdout. All the child produces (values, cell results, output) goes to files
in the job folder, which the grader reads and checks as untrusted data.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import resource
import select
import signal
import sys
import time
from collections.abc import Callable
from typing import ClassVar

PR_SET_CHILD_SUBREAPER = 36
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
PR_SET_PDEATHSIG = 1
CLONE_NEWNET = 0x40000000
#: How often the worker looks at a running job (its wall-clock limit) at the latest.
WAIT_TICK_SECONDS = 0.02

_libc = ctypes.CDLL(None, use_errno=True)


def preload() -> None:
    """Import what notebooks use, so children start warm. Runs no TensorFlow op (no threads)."""
    # ``autograder/__init__`` keeps jsonschema from importing rfc3987-syntax in the grader's own
    # processes; a notebook may import it, as in Jupyter.
    if "rfc3987_syntax" in sys.modules and sys.modules["rfc3987_syntax"] is None:
        del sys.modules["rfc3987_syntax"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ["MPLBACKEND"] = "Agg"
    import matplotlib

    matplotlib.use("Agg")
    import IPython.core.interactiveshell  # noqa: F401
    import matplotlib.pyplot  # noqa: F401
    import numpy  # noqa: F401

    import upsampling_course

    upsampling_course.setup_keras(0)
    import upsampling_course.checks  # noqa: F401
    from autograder.sandbox.runner import make_shell

    make_shell()  # once here, not in every job's process


def main() -> None:
    global _helper
    control_out = os.fdopen(os.dup(1), "w", buffering=1)
    # Nothing the worker or TensorFlow prints may get mixed into the protocol.
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)
    _helper = UserHelper.start()  # before the preload, while this process is small
    preload()
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)  # orphans of a job come back to us
    _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # no process of the same user may trace us
    control_out.write(json.dumps({"ready": True, "pid": os.getpid(), "uid": os.getuid()}) + "\n")
    for line in sys.stdin:
        job = json.loads(line)
        result = run_job(job, control_out.fileno())
        control_out.write(json.dumps(result) + "\n")


def run_job(job: dict, control_fd: int) -> dict:
    global _helper
    started = time.monotonic()
    limits = job["limits"]
    # The child writes one byte here just before its first cell: once there, no code of the job
    # can take it back, so a job cannot pass its own exit for one that "could not start".
    reached_read, reached_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        try:
            os.close(control_fd)
            os.close(reached_read)
            if _helper is not None:  # no code of the job may ask the helper for anything
                _helper.close()
                _helper = None
            enter_child(job)
            from autograder.sandbox.runner import run_notebook

            run_notebook(job, reached_write)
            os._exit(0)
        except BaseException:  # noqa: BLE001 - the child must never fall back into the loop
            try:
                import traceback

                os.write(2, traceback.format_exc().encode(errors="replace"))
            finally:
                os._exit(70)
    timed_out = folder_full = False
    deadline = started + limits["wall_seconds"]
    # Without a filesystem of its own for the job folder, its size is measured every
    # ``watch_folder`` seconds.
    watch_every: float = job.get("watch_folder") or 0.0
    watch_at = started + watch_every if watch_every else float("inf")
    status = None
    usage = None
    exited = os.pidfd_open(pid)  # readable once the child has exited
    while True:
        waited, status, usage = os.wait4(pid, os.WNOHANG)
        if waited:
            break
        now = time.monotonic()
        if now > watch_at:
            folder_full = folder_over_cap(job["dir"], limits)
            watch_at = time.monotonic() + watch_every
        if now > deadline or folder_full:
            timed_out = not folder_full
            os.kill(pid, signal.SIGKILL)  # SIGKILL: a notebook can ignore SIGINT and SIGTERM
            _, status, usage = os.wait4(pid, 0)
            break
        # Woken at the child's exit, not at the next tick of a sleep (on average 10 ms a job).
        select.select([exited], [], [], WAIT_TICK_SECONDS)
    os.close(exited)
    os.close(reached_write)
    wall = time.monotonic() - started
    clean = _kill_all(pid, job.get("uid"))
    os.set_blocking(reached_read, False)
    try:
        reached_cells = bool(os.read(reached_read, 1))
    except BlockingIOError:
        reached_cells = False
    os.close(reached_read)
    clean = remove_ipc(job.get("uid"), job["dir"]) and clean_private_tmp(job["dir"]) and clean
    if not folder_full:  # what the job's last moments wrote, or its own filesystem's state
        folder_full = (
            folder_over_cap(job["dir"], limits) if watch_every else filesystem_full(job["dir"])
        )
    return {
        "job": job["job"],
        "exit_code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "timed_out": timed_out,
        "wall_seconds": round(wall, 3),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3) if usage else None,
        "max_rss_kb": usage.ru_maxrss if usage else None,
        "clean": clean,
        "reached_cells": reached_cells,
        "folder_full": folder_full,
    }


def enter_child(job: dict) -> None:
    """Limits, privileges and file descriptors of a submission's process."""
    os.setsid()
    limits = job["limits"]
    uid = job.get("uid")
    if uid is not None and job.get("private_network"):
        if _libc.unshare(CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET) failed")
    cpu = int(limits["cpu_seconds"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    resource.setrlimit(resource.RLIMIT_AS, (limits["memory_bytes"],) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_bytes"],) * 2)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits["open_files"],) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if uid is not None:
        # Processes are counted per user, so the limit only binds once we are that user.
        resource.setrlimit(resource.RLIMIT_NPROC, (limits["processes"],) * 2)
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    os.chdir(job["dir"])
    stdin = os.open(os.devnull, os.O_RDONLY)
    os.dup2(stdin, 0)
    out = os.open(
        os.path.join(job["dir"], "stdout.txt"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600
    )
    os.dup2(out, 1)
    os.dup2(out, 2)
    for fd in (stdin, out):
        os.close(fd)
    os.environ.clear()
    os.environ.update(job["env"])
    os.environ.update(
        {
            "HOME": job["dir"],
            "TMPDIR": os.path.join(job["dir"], "tmp"),
            "MPLCONFIGDIR": os.path.join(job["dir"], "tmp"),
        }
    )
    os.makedirs(os.environ["TMPDIR"], exist_ok=True)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _descendants_and_uid(root_pid: int, uid: int | None) -> list[int]:
    """Processes started by the job: the child's group, our other children (orphans are
    re-parented to us as subreaper), and in root mode everything the job's user runs."""
    me = os.getpid()
    helper = _helper.pid if _helper is not None else None
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in (me, helper):
            continue
        pid = int(entry)
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            ppid = int(fields[1])
            proc_uid = os.stat(f"/proc/{pid}").st_uid
        except (OSError, IndexError, ValueError):
            continue
        if pid == root_pid or ppid == me or (uid is not None and proc_uid == uid):
            found.append(pid)
    return found


#: How long one clean-up step as the job's user may take. A process the job left (of the same
#: user) could stop the step's process before it acts: it is then killed, the step counts as
#: failed, and the worker's own sweep (``_kill_all``) goes on.
STEP_SECONDS = 5.0


def _as_user(uid: int, action: Callable[[int], None], close: tuple[int, ...] = ()) -> bool:
    """Run ``action(uid)`` in a short-lived process of user ``uid`` (never root), closing the
    file descriptors ``close`` first; True if it finished, without an error, in time."""
    if uid == 0:
        return False
    child = os.fork()
    if child == 0:
        code = 1
        try:
            for fd in close:
                os.close(fd)
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            action(uid)
            code = 0
        finally:
            os._exit(code)
    exited = os.pidfd_open(child)
    try:
        finished = bool(select.select([exited], [], [], STEP_SECONDS)[0])
        if not finished:
            os.kill(child, signal.SIGKILL)  # as root; a stopped process dies too
    finally:
        os.close(exited)
    _, status = os.waitpid(child, 0)
    return finished and os.waitstatus_to_exitcode(status) == 0


def _kill_everything(uid: int) -> None:
    """As the job's user: ``kill(-1)`` signals every process that user runs at once, which a
    process bomb cannot outrun."""
    os.kill(-1, signal.SIGKILL)


class UserHelper:
    """A lean root process, forked before the worker imports TensorFlow, that runs the clean-up
    steps that must act as a job's user (killing its processes, removing its IPC objects).

    Each step needs a process of that user, and a fork of the worker itself costs about 30 ms
    (measured: its 590 MB of pages and mappings are copied, then torn down), twice per job;
    a fork of this helper costs under 1 ms. Started only as root, where a job's user can
    neither signal, trace nor open it; the job's process closes the helper's pipes before any
    of its code runs, and the step's process closes them before it becomes the job's user.
    When the helper is gone or does not answer, the worker forks as before (``as_user``)."""

    ACTIONS: ClassVar[dict[str, Callable[[int], None]]] = {}

    def __init__(self, pid: int, requests: int, answers: int) -> None:
        self.pid, self.requests, self.answers = pid, requests, answers

    @classmethod
    def start(cls) -> UserHelper | None:
        if os.geteuid() != 0:
            return None  # jobs run as the worker's own user: nothing to act as
        to_helper, requests = os.pipe()
        answers, from_helper = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            for fd in (to_helper, requests, answers, from_helper):
                os.close(fd)
            return None
        if pid == 0:
            try:
                _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
                _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
                # Nothing of the worker's protocol stays open here: the grader sees the
                # worker's output end when the worker dies, whatever the helper does.
                keep = {to_helper, from_helper}
                for fd in map(int, os.listdir("/proc/self/fd")):
                    if fd > 2 and fd not in keep:
                        try:
                            os.close(fd)
                        except OSError:
                            pass
                devnull = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(devnull, fd)
                cls._serve(to_helper, from_helper)
            finally:
                os._exit(0)
        os.close(to_helper)
        os.close(from_helper)
        return cls(pid, requests, answers)

    @classmethod
    def _serve(cls, requests: int, answers: int) -> None:
        """Answer each request ("<action> <uid>") with "done" or "failed", until the worker
        closes its end."""
        with os.fdopen(requests, "r", encoding="ascii") as lines:
            for line in lines:
                action, _, who = line.strip().partition(" ")
                done = (
                    action in cls.ACTIONS
                    and who.isdigit()
                    and _as_user(int(who), cls.ACTIONS[action], close=(requests, answers))
                )
                os.write(answers, b"done\n" if done else b"failed\n")

    def run(self, action: str, uid: int) -> bool | None:
        """Whether ``action`` as ``uid`` was done; None if the helper is gone or did not
        answer in time."""
        try:
            os.write(self.requests, f"{action} {uid}\n".encode())
            ready = select.select([self.answers], [], [], STEP_SECONDS + 5)[0]
            answer = os.read(self.answers, 64) if ready else b""
        except OSError:
            return None
        return answer == b"done\n" if answer in (b"done\n", b"failed\n") else None

    def close(self) -> None:
        """Close the worker's ends (the helper then leaves)."""
        for fd in (self.requests, self.answers):
            try:
                os.close(fd)
            except OSError:
                pass

    def stop(self) -> None:
        self.close()
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


_helper: UserHelper | None = None


def as_user(action: str, uid: int) -> bool:
    """Run a named clean-up step (``UserHelper.ACTIONS``) as ``uid``, through the helper or, when
    there is none or it does not answer, in a fork of this process; True if it was done."""
    global _helper
    if _helper is not None:
        done = _helper.run(action, uid)
        if done is not None:
            return done
        _helper.stop()
        _helper = None
    return _as_user(uid, UserHelper.ACTIONS[action])


def _reap() -> None:
    """Reap whatever became ours (orphans come to us as subreaper)."""
    global _helper
    while True:
        try:
            waited, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if not waited:
            return
        if _helper is not None and waited == _helper.pid:  # its pid is free for a job's now
            _helper.close()
            _helper = None


def _kill_all(root_pid: int, uid: int | None) -> bool:
    """Kill and reap everything the job started; True once nothing of it is left."""
    deadline = time.monotonic() + 30
    while True:
        if uid is not None:
            as_user("kill", uid)
        try:
            os.killpg(root_pid, signal.SIGKILL)
        except OSError:
            pass
        for pid in _descendants_and_uid(root_pid, uid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        _reap()
        if not _descendants_and_uid(root_pid, uid):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)


#: A job folder with less room than this left (or fewer free inodes) was filled by its job.
FULL_MARGIN_BYTES = 1 << 20
FULL_MARGIN_ENTRIES = 16


def filesystem_full(folder: str) -> bool:
    """Whether the job folder's own (size-limited) filesystem is full, or nearly."""
    try:
        fs = os.statvfs(folder)
    except OSError:
        return False
    return fs.f_bavail * fs.f_frsize < FULL_MARGIN_BYTES or fs.f_favail < FULL_MARGIN_ENTRIES


def folder_over_cap(folder: str, limits: dict) -> bool:
    """Whether the job folder holds more than ``folder_bytes`` (allocated, so sparse files count
    what they use) or ``folder_entries`` files and folders. Walks without recursion and stops at
    the cap, so a folder of any size takes bounded time. A folder the job locked is opened up
    first: without root the worker is the job's own user."""
    cap_bytes, cap_entries = limits["folder_bytes"], limits["folder_entries"]
    used = entries = 0
    todo = [folder]
    while todo:
        path = todo.pop()
        try:
            listing = os.scandir(path)
        except PermissionError:
            try:
                os.chmod(path, 0o700)
                listing = os.scandir(path)
            except OSError:
                continue
        except OSError:
            continue
        with listing:
            for entry in listing:
                entries += 1
                try:
                    used += entry.stat(follow_symlinks=False).st_blocks * 512
                    if entry.is_dir(follow_symlinks=False):
                        todo.append(entry.path)
                except OSError:
                    pass
                if used > cap_bytes or entries > cap_entries:
                    return True
    return False


#: System V IPC objects as the kernel lists them, and the call that removes one of each kind.
SYSV_IPC = (
    ("/proc/sysvipc/shm", "shmid"),
    ("/proc/sysvipc/sem", "semid"),
    ("/proc/sysvipc/msg", "msqid"),
)
POSIX_MQUEUES = "/dev/mqueue"
IPC_RMID = 0


def _ipc_objects(uid: int | None) -> list[tuple[str, int]]:
    """The System V IPC objects of the job: its user's, or every one in the worker's own IPC
    namespace (the worker itself creates none)."""
    found = []
    for path, id_column in SYSV_IPC:
        try:
            with open(path, encoding="ascii") as f:
                header, *rows = [line.split() for line in f.read().splitlines()]
        except (OSError, ValueError):
            continue
        for row in rows:
            fields = dict(zip(header, row, strict=False))
            owners = {int(fields.get("uid", -1)), int(fields.get("cuid", -1))}
            if uid is None or uid in owners:
                found.append((id_column, int(fields[id_column])))
    return found


def _remove_ipc_objects(uid: int | None) -> None:
    for kind, ident in _ipc_objects(uid):
        if kind == "shmid":
            _libc.shmctl(ident, IPC_RMID, None)
        elif kind == "semid":
            _libc.semctl(ident, 0, IPC_RMID)
        else:
            _libc.msgctl(ident, IPC_RMID, None)
    if os.path.isdir(POSIX_MQUEUES):
        for name in os.listdir(POSIX_MQUEUES):
            try:
                os.unlink(os.path.join(POSIX_MQUEUES, name))
            except OSError:
                pass


def remove_ipc(uid: int | None, job_dir: str) -> bool:
    """Remove the IPC objects the job left (System V shared memory, semaphores and message
    queues, POSIX message queues; POSIX shared memory is /dev/shm, emptied with /tmp), as the
    job's own user (their owner may remove them; without root the worker is that user). True
    once none is left. Without bubblewrap or a user of its own a job shares them with the
    instructor's: nothing is removed."""
    if uid is None and job_dir != "/job":
        return True
    if uid is None:
        _remove_ipc_objects(None)
    else:
        as_user("ipc", uid)
    return not _ipc_objects(uid) and not (
        os.path.isdir(POSIX_MQUEUES) and os.listdir(POSIX_MQUEUES)
    )


UserHelper.ACTIONS.update(kill=_kill_everything, ipc=_remove_ipc_objects)


def clean_private_tmp(job_dir: str) -> bool:
    """Inside bubblewrap /tmp and /dev/shm are this worker's own: empty them after each job
    (``cleanup.empty_folder``: any depth, bounded in time). False when that failed: the
    worker is then replaced. (The grader empties the job folder itself.)"""
    if job_dir != "/job":
        return True
    mounts = _mount_points()
    return all([_empty_around(target, mounts) for target in ("/tmp", "/dev/shm")])


_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")  # mountinfo writes " " as "\040", and so on


def _unescape(match: re.Match[str]) -> str:
    return chr(int(match.group(1), 8))


def _mount_points() -> set[str]:
    """The mount points this process sees (``/proc/self/mountinfo``, escapes undone)."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8") as f:
            return {_OCTAL_ESCAPE.sub(_unescape, line.split()[4]) for line in f}
    except OSError:
        return set()


def _empty_around(folder: str, mounts: set[str]) -> bool:
    """Empty ``folder`` but for what the sandbox itself placed there: the grader's code or
    Python, when they live under /tmp, are read-only mounts inside it (and the folders bubblewrap
    made to hold them). Inside those folders, whatever else is there is removed too."""
    from autograder.sandbox.cleanup import empty_folder

    if not os.path.isdir(folder):
        return True
    inside = [m for m in mounts if m.startswith(folder.rstrip("/") + "/")]
    held = frozenset(m[len(folder.rstrip("/")) + 1 :].split("/")[0] for m in inside)
    done = empty_folder(folder, keep=held)
    for name in held:
        path = os.path.join(folder, name)
        if path not in mounts:  # a folder that only holds mounts: empty what else it has
            done = _empty_around(path, mounts) and done
    return done


if __name__ == "__main__":
    main()
