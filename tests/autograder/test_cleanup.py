"""sandbox/cleanup.py: a folder a job controlled is emptied whatever it holds, bounded in time,
without recursion; nothing outside it is touched."""

from __future__ import annotations

import os
from pathlib import Path

from autograder.sandbox.cleanup import empty_folder

#: Deeper than Python's recursion limit (shutil.rmtree recursed; paths exceed PATH_MAX).
DEPTH = 3000


def hostile_tree(root: Path, outside: Path) -> None:
    """Every kind of thing a job can leave: depth, width, locked folders, links out, a FIFO,
    names the clean-up itself uses."""
    here = os.getcwd()
    os.chdir(root)
    try:
        for _ in range(DEPTH):
            os.mkdir("d")
            os.chdir("d")
    finally:
        os.chdir(here)
    (root / "many").mkdir()
    for n in range(2000):
        (root / "many" / str(n)).touch()
    (root / "locked" / "inner").mkdir(parents=True)
    (root / "locked" / "inner" / "f").write_text("x")
    (root / "locked" / "inner").chmod(0)
    (root / "locked").chmod(0)
    (root / "out").symlink_to(outside)
    (root / "out-file").symlink_to(outside / "keep.txt")
    os.mkfifo(root / "fifo")
    (root / ".autograder-clean-1" / "z").mkdir(parents=True)
    (root / "cells.json").mkdir()
    os.link(outside / "keep.txt", root / "hard-link")


def test_any_tree_a_job_leaves_is_removed_and_nothing_outside(tmp_path):
    root, outside = tmp_path / "job", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    hostile_tree(root, outside)
    root.chmod(0)
    assert empty_folder(root)
    assert os.listdir(root) == [] and (outside / "keep.txt").read_text() == "keep"


def test_out_of_time_is_a_failure_not_a_hang(tmp_path):
    for n in range(100):
        (tmp_path / str(n)).mkdir()
    assert not empty_folder(tmp_path, seconds=0)
    assert empty_folder(tmp_path) and os.listdir(tmp_path) == []


def test_a_sticky_shared_folder_keeps_its_mode(tmp_path):
    (tmp_path / "x").touch()
    tmp_path.chmod(0o1777)
    assert empty_folder(tmp_path)
    assert tmp_path.stat().st_mode & 0o7777 == 0o1777


def test_what_the_sandbox_placed_is_kept_and_everything_else_goes(tmp_path):
    """Inside the sandbox, a checkout under /tmp is a read-only mount in a folder bubblewrap
    made: the clean-up keeps the mount and that folder, and removes all else, in it too."""
    from autograder.sandbox.zygote import _empty_around

    tmp = tmp_path / "tmp"
    (tmp / "ci" / "code").mkdir(parents=True)
    (tmp / "ci" / "code" / "module.py").write_text("kept")
    (tmp / "ci" / "left-by-a-job").write_text("x")
    (tmp / "job-folder" / "deep").mkdir(parents=True)
    (tmp / "file").write_text("x")
    mounts = {str(tmp / "ci" / "code"), "/proc"}
    assert _empty_around(str(tmp), mounts)
    assert sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*")) == [
        "ci",
        "ci/code",
        "ci/code/module.py",
    ]
    assert empty_folder(tmp, keep=frozenset({"ci"})) and (tmp / "ci").is_dir()
    assert not empty_folder(tmp / "missing")
