"""Starts a worker (``python -m autograder.sandbox.ipc_namespace -- bwrap ...``) in an IPC
namespace of its own whose System V limits forbid shared memory and keep semaphores and
message queues small, then becomes bubblewrap (``exec``: same process, so ``--die-with-parent``
still follows the thread that started it).

System V shared memory is memory no address-space limit counts: a job could create segments,
fill each while attached and detach it, and hold any amount of RAM until the worker removes
them after the job. No notebook of the course needs it, so a segment cannot be created at all
(``shmget`` fails with EINVAL). The limits are the namespace's own (set from outside, before
bubblewrap starts: inside, ``/proc/sys`` is read-only and the worker keeps no CAP_SYS_ADMIN).
Without root a user namespace is made first, whose root is the grader's own user: the owner of
an IPC namespace may set its limits; bubblewrap then maps the sandbox's user back to that user.
"""

from __future__ import annotations

import ctypes
import os
import sys

CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000

#: Per-namespace limits (``/proc/sys/kernel``): no shared memory segment of any size; at most
#: 128 semaphore sets of 32 and 4096 semaphores in all; 16 message queues (16 KiB each by the
#: kernel's default ``msgmnb``). POSIX message queues are bounded per user (RLIMIT_MSGQUEUE,
#: 800 KiB) and POSIX shared memory is the capped /dev/shm.
IPC_LIMITS = {
    "shmmax": "0",
    "shmall": "0",
    "shmmni": "0",
    "sem": "32 4096 32 128",
    "msgmni": "16",
}


def enter_limited_namespace() -> None:
    """Make this process's IPC namespace a new one with ``IPC_LIMITS`` (OSError if refused)."""
    libc = ctypes.CDLL(None, use_errno=True)
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(CLONE_NEWIPC | (CLONE_NEWUSER if uid else 0)) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"unshare: {os.strerror(errno)}")
    if uid:
        for name, text in (
            ("setgroups", "deny"),
            ("uid_map", f"0 {uid} 1"),
            ("gid_map", f"0 {gid} 1"),
        ):
            with open(f"/proc/self/{name}", "w", encoding="ascii") as f:
                f.write(text)
    for name, value in IPC_LIMITS.items():
        with open(f"/proc/sys/kernel/{name}", "w", encoding="ascii") as f:
            f.write(value)


def main() -> None:
    command = sys.argv[1:]
    if command[:1] == ["--"]:
        command = command[1:]
    try:
        enter_limited_namespace()
    except OSError as exc:
        print(f"autograder: no IPC namespace of its own for the worker: {exc}", file=sys.stderr)
        sys.exit(71)
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
