"""Emptying a folder that a job controlled: any depth, any number of entries, any permissions,
links, odd file types, names that collide with anything. Bounded in time, without recursion.

Directories are taken apart from the top: the subfolders of the one being emptied are moved up
to the top folder (a rename: no copy, whatever they hold) and emptied in turn, so the depth of
the tree never matters (no recursion, no path longer than two names, two open folders at most).
Run only once no process of the job is left (nothing changes the tree meanwhile).
"""

from __future__ import annotations

import os
import stat
import time

#: How long emptying a job's folder may take before the worker is replaced instead.
CLEAN_SECONDS = 120.0
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def empty_folder(
    path: str | os.PathLike[str], seconds: float = CLEAN_SECONDS, keep: frozenset[str] = frozenset()
) -> bool:
    """Remove everything inside ``path`` (not ``path`` itself) but the entries named in
    ``keep``; True once nothing else is left, False if that did not happen within ``seconds``
    or something could not be removed."""
    deadline = time.monotonic() + seconds
    try:
        # The owner's rights added, the rest kept (/tmp stays world-writable and sticky).
        _allow(path, stat.S_IMODE(os.lstat(path).st_mode) | stat.S_IRWXU)
        top = os.open(path, _DIRECTORY)
    except OSError:
        return False
    try:
        for _ in range(3):  # a second look finds what a failed removal left; then give up
            names = [name for name in os.listdir(top) if name not in keep]
            if not names:
                return True
            if not _remove_all(top, names, deadline):
                return False
        return not [name for name in os.listdir(top) if name not in keep]
    except OSError:
        return False
    finally:
        os.close(top)


def _remove_all(top: int, names: list[str], deadline: float) -> bool:
    """Remove the entries ``names`` of the folder ``top``; False when time ran out."""
    todo = list(names)
    moved = 0
    while todo:
        if time.monotonic() > deadline:
            return False
        name = todo.pop()
        try:
            if not stat.S_ISDIR(os.lstat(name, dir_fd=top).st_mode):
                os.unlink(name, dir_fd=top)
                continue
            # A directory (not a link: no process of the job is left to swap it).
            _allow(name, 0o700, top)
            inner = os.open(name, _DIRECTORY, dir_fd=top)
        except OSError:
            continue  # the second look in empty_folder tries again, or reports it
        try:
            for entry in os.scandir(inner):
                if entry.is_dir(follow_symlinks=False):
                    moved = _move_up(inner, entry.name, top, moved)
                    todo.append(f".autograder-clean-{moved}")
                else:
                    os.unlink(entry.name, dir_fd=inner)
        except OSError:
            pass
        finally:
            os.close(inner)
        try:
            os.rmdir(name, dir_fd=top)
        except OSError:
            pass
    return True


def _move_up(parent: int, name: str, top: int, moved: int) -> int:
    """Move the folder ``name`` of ``parent`` to ``top`` under a fresh name; its number."""
    while True:
        moved += 1
        target = f".autograder-clean-{moved}"
        try:
            os.lstat(target, dir_fd=top)
        except FileNotFoundError:
            _allow(name, 0o700, parent)  # moving a folder rewrites its ".."
            os.rename(name, target, src_dir_fd=parent, dst_dir_fd=top)
            return moved


def _allow(path: str | os.PathLike[str], mode: int, dir_fd: int | None = None) -> None:
    """Give ourselves the rights to empty a folder, where we may (root may not need to)."""
    try:
        os.chmod(path, mode, dir_fd=dir_fd)
    except OSError:
        pass
