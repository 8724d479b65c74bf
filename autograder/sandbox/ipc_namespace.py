"""Starts a worker (``python -m autograder.sandbox.ipc_namespace -- bwrap ...``) in an IPC
namespace of its own whose System V limits forbid shared memory and keep semaphores and
message queues small, then becomes bubblewrap (``exec``: same process, so ``--die-with-parent``
still follows the thread that started it).

System V shared memory is memory no address-space limit counts: a job could create segments,
fill each while attached and detach it, and hold any amount of RAM until the worker removes
them after the job. No notebook of the course needs it, so a segment cannot be created at all
(``shmget`` fails with EINVAL). The limits are the namespace's own (set from outside, before
bubblewrap starts: inside, ``/proc/sys`` is read-only and the worker keeps no CAP_SYS_ADMIN).

Root only. Without root, a user namespace of the grader's own could own such an IPC namespace,
but bubblewrap's user namespace, nested in it, may then not mount the namespace's POSIX message
queues (``--mqueue``), which the worker lists to remove what a job left: bubblewrap's own IPC
namespace, with the kernel's limits, is used instead (the report says so).
"""

from __future__ import annotations

import ctypes
import os
import sys

CLONE_NEWIPC = 0x08000000

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
    """Make this process's IPC namespace a new one with ``IPC_LIMITS`` (OSError if refused:
    not root)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWIPC) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"unshare: {os.strerror(errno)}")
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
