"""Reading files that a student or a job controls: regular files only, never through a link,
with a size cap. ``collect``, the grader and the sandbox pool read such files only through here.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import IO


def open_no_follow(path: str | os.PathLike[str]) -> IO[bytes]:
    """Open for reading; a link in the last component is refused (``OSError``), even one
    swapped in after the caller looked."""
    return os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK), "rb")


def read_capped(path: str | os.PathLike[str], cap: int) -> bytes:
    """The first ``cap`` bytes of a regular file; b"" if it is absent, a link or not regular."""
    try:
        f = open_no_follow(path)
    except OSError:
        return b""
    with f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return b""
        return f.read(cap)


def is_plain_file(path: Path) -> bool:
    """A regular file that is not a link (as far as can be told now)."""
    return not path.is_symlink() and path.is_file()
