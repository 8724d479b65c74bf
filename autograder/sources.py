"""Turn the exercises' MyST sources into the ``.ipynb`` files nbgrader works from.

The exercises are kept as text, ``exercises/source/<assignment>/<assignment>.md`` (jupytext
MyST notebooks carrying nbgrader's cell metadata). nbgrader wants notebooks under
``<course>/source/<assignment>/``; :func:`write_source_notebooks` writes them there. Other
files in an assignment's folder (data files, images) are copied beside the notebooks, so the
course folder holds everything ``nbgrader generate_assignment`` should release.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import jupytext
import nbformat

#: Files in an exercise folder that are not part of the assignment.
_IGNORED = {".ipynb_checkpoints", "__pycache__", ".DS_Store"}


def list_assignments(exercises_dir: str | Path) -> list[str]:
    """The assignment names under ``exercises_dir/source``, sorted.

    An assignment is a folder holding a notebook source of the same name (``<a>/<a>.md``).
    """
    root = Path(exercises_dir) / "source"
    return sorted(p.name for p in root.iterdir() if p.is_dir() and (p / f"{p.name}.md").is_file())


def read_source_notebook(path: str | Path) -> nbformat.NotebookNode:
    """Read one MyST notebook source into an nbformat 4 notebook (metadata included)."""
    nb = jupytext.read(Path(path), fmt="md:myst")
    # jupytext keeps its own header in the metadata; nbgrader and students do not need it.
    nb.metadata.pop("jupytext", None)
    nbformat.validate(nb)
    return nb


def write_source_notebooks(
    exercises_dir: str | Path, course_dir: str | Path, assignments: list[str] | None = None
) -> list[Path]:
    """Write ``course_dir/source/<a>/<notebook>.ipynb`` for each assignment; return their paths.

    ``assignments`` defaults to every assignment in ``exercises_dir`` (see
    :func:`list_assignments`). Each ``.md`` in an assignment's folder becomes a notebook of the
    same stem; other files are copied as they are. Existing files are overwritten, so the
    course folder always matches the sources.
    """
    return write_assignments(
        exercises_dir, Path(course_dir) / "source", assignments, read_source_notebook
    )


def write_assignments(
    exercises_dir: str | Path,
    dest: str | Path,
    assignments: list[str] | None,
    convert: Callable[[Path], nbformat.NotebookNode],
) -> list[Path]:
    """Write ``dest/<a>/<stem>.ipynb`` = ``convert(<a>/<stem>.md)`` for each assignment, and copy
    its other files beside them; return the notebooks' paths."""
    exercises_dir = Path(exercises_dir)
    names = list_assignments(exercises_dir) if assignments is None else list(assignments)
    written: list[Path] = []
    for name in names:
        src = exercises_dir / "source" / name
        if not (src / f"{name}.md").is_file():
            raise FileNotFoundError(f"no exercise source {src / (name + '.md')}")
        target_dir = Path(dest) / name
        target_dir.mkdir(parents=True, exist_ok=True)
        for item in sorted(src.iterdir()):
            if item.name in _IGNORED or item.suffix == ".ipynb":
                continue
            if item.suffix == ".md":
                target = target_dir / f"{item.stem}.ipynb"
                nbformat.write(convert(item), target)
                written.append(target)
            elif item.is_dir():
                shutil.copytree(
                    item,
                    target_dir / item.name,
                    dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(*_IGNORED),
                )
            else:
                shutil.copy2(item, target_dir / item.name)
    return written
